package dev.loraforge.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SessionTest {

    static final LlamaModel MODEL = Fixtures.stories("tinystories-260k/model.safetensors");
    static final int[] TOKENS = Arrays.copyOf(
            Fixtures.i32("tinystories-260k/perplexity/tinystories-valid-head-20k.tokens.i32"), 40);

    @Test
    void batchAndTokenByTokenGiveTheSameBits() {
        Session one = MODEL.newSession(64);
        float[][] sequential = new float[TOKENS.length][];
        for (int i = 0; i < TOKENS.length; i++) {
            sequential[i] = one.next(TOKENS[i]);
        }
        Session batched = MODEL.newSession(64);
        batched.prefill(Arrays.copyOf(TOKENS, 7));
        float[][] rest = batched.forward(Arrays.copyOfRange(TOKENS, 7, TOKENS.length), 3);
        assertThat(rest[0]).isNull();
        for (int i = 3; i < rest.length; i++) {
            assertThat(rest[i]).as("position %d", 7 + i).containsExactly(sequential[7 + i]);
        }
        assertThat(batched.position()).isEqualTo(TOKENS.length);
    }

    @Test
    void resetStartsOver() {
        Session s = MODEL.newSession(8);
        float[] first = s.forward(StoriesLogitsTest.PROMPT)[4];
        s.reset();
        assertThat(s.forward(StoriesLogitsTest.PROMPT)[4]).containsExactly(first);
        assertThatThrownBy(() -> s.forward(StoriesLogitsTest.PROMPT)).isInstanceOf(ModelException.class)
                .hasMessageContaining("session is full: 5 + 5 tokens > capacity 8");
    }

    @Test
    void slidingWindowOfOneForgetsEverythingButTheCurrentToken() {
        // attending only to itself, a token's output depends on neither its position nor its past
        LlamaConfig c = MODEL.config();
        LlamaConfig windowed = new LlamaConfig("MistralForCausalLM", c.hiddenSize(), c.intermediateSize(),
                c.numHiddenLayers(), c.numAttentionHeads(), c.numKeyValueHeads(), c.headDim(), c.vocabSize(),
                c.rmsNormEps(), c.ropeTheta(), c.ropeScaling(), c.maxPositionEmbeddings(), c.tieWordEmbeddings(),
                1, c.bosTokenId(), List.of(2));
        LlamaModel m = LlamaModel.load(windowed, Fixtures.safetensors("tinystories-260k/model.safetensors"));
        float[] alone = m.newSession(1).next(378);
        float[] late = m.newSession(8).forward(StoriesLogitsTest.PROMPT)[4];
        for (int i = 0; i < alone.length; i++) {
            assertThat(late[i]).isCloseTo(alone[i], org.assertj.core.api.Assertions.within(1e-5f));
        }
        // a window as long as the sequence changes nothing
        LlamaConfig wide = new LlamaConfig("MistralForCausalLM", c.hiddenSize(), c.intermediateSize(),
                c.numHiddenLayers(), c.numAttentionHeads(), c.numKeyValueHeads(), c.headDim(), c.vocabSize(),
                c.rmsNormEps(), c.ropeTheta(), c.ropeScaling(), c.maxPositionEmbeddings(), c.tieWordEmbeddings(),
                5, c.bosTokenId(), List.of(2));
        LlamaModel w = LlamaModel.load(wide, Fixtures.safetensors("tinystories-260k/model.safetensors"));
        assertThat(w.newSession(8).forward(StoriesLogitsTest.PROMPT)[4])
                .containsExactly(MODEL.newSession(8).forward(StoriesLogitsTest.PROMPT)[4]);
    }

    /** The stories260K weights plus a {@code rope_freqs.weight} tensor holding {@code factor} for every frequency. */
    static dev.loraforge.tensor.TensorSource withRopeFactors(float factor) {
        var base = Fixtures.safetensors("tinystories-260k/model.safetensors");
        float[] f = new float[4];
        Arrays.fill(f, factor);
        var view = new dev.loraforge.tensor.TensorView(LlamaModel.ROPE_FACTORS, dev.loraforge.tensor.DType.F32,
                dev.loraforge.tensor.Shape.of(4), java.lang.foreign.MemorySegment.ofArray(f));
        return new dev.loraforge.tensor.TensorSource() {
            @Override
            public List<String> names() {
                return base.names();
            }

            @Override
            public java.util.Optional<dev.loraforge.tensor.TensorView> find(String name) {
                return name.equals(LlamaModel.ROPE_FACTORS) ? java.util.Optional.of(view) : base.find(name);
            }

            @Override
            public void close() {
            }
        };
    }

    @Test
    void ropeFactorTensorActsLikeLinearScaling() {
        // llama.cpp divides each frequency by its factor: all factors 2 = HF's linear rope_scaling with factor 2
        LlamaConfig c = MODEL.config();
        LlamaConfig linear2 = new LlamaConfig(c.architecture(), c.hiddenSize(), c.intermediateSize(),
                c.numHiddenLayers(), c.numAttentionHeads(), c.numKeyValueHeads(), c.headDim(), c.vocabSize(),
                c.rmsNormEps(), c.ropeTheta(), RopeScaling.linear(2), c.maxPositionEmbeddings(), c.tieWordEmbeddings(),
                0, c.bosTokenId(), List.of(2));
        float[] byConfig = LlamaModel.load(linear2, Fixtures.safetensors("tinystories-260k/model.safetensors"))
                .newSession(8).forward(StoriesLogitsTest.PROMPT)[4];
        float[] byTensor = LlamaModel.load(c, withRopeFactors(2)).newSession(8).forward(StoriesLogitsTest.PROMPT)[4];
        float[] plain = MODEL.newSession(8).forward(StoriesLogitsTest.PROMPT)[4];
        assertThat(byTensor).containsExactly(byConfig);
        assertThat(byTensor).isNotEqualTo(plain);
        assertThat(LlamaModel.load(c, withRopeFactors(1)).newSession(8).forward(StoriesLogitsTest.PROMPT)[4])
                .containsExactly(plain);
        assertThatThrownBy(() -> LlamaModel.load(linear2, withRopeFactors(2))).isInstanceOf(ModelException.class)
                .hasMessageContaining("scaled twice");
        assertThatThrownBy(() -> LlamaModel.load(c, withRopeFactors(0))).isInstanceOf(ModelException.class)
                .hasMessageContaining("positive");
    }
}
