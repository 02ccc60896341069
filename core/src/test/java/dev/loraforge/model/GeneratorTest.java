package dev.loraforge.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class GeneratorTest {

    static final LlamaModel MODEL = Fixtures.stories("tinystories-260k/model.safetensors");

    @Test
    void greedy64FromBosMatchesFloat64Reference() {
        int[] expected = Fixtures.ints(Fixtures.json("tinystories-260k/reference_outputs.json").get("greedy_from_bos_64"));
        assertThat(expected).hasSize(65).startsWith(1);
        List<Integer> streamed = new ArrayList<>();
        int[] got = Generator.generate(MODEL, new int[] {1}, Generator.Options.greedy(64), streamed::add);
        // throughput in thread CPU time (the shared test machine's wall clock says little); single-threaded here
        var bean = java.lang.management.ManagementFactory.getThreadMXBean();
        long cpu0 = bean.getCurrentThreadCpuTime();
        long wall0 = System.nanoTime();
        int rounds = 8;
        for (int i = 0; i < rounds; i++) {
            Generator.generate(MODEL, new int[] {1}, Generator.Options.greedy(64), null);
        }
        double cpu = (bean.getCurrentThreadCpuTime() - cpu0) / 1e9;
        double wall = (System.nanoTime() - wall0) / 1e9;
        System.out.printf("stories260K greedy decode: %.0f tokens/s per CPU second (%.0f tokens/s wall)%n",
                rounds * 64 / cpu, rounds * 64 / wall);
        assertThat(got).containsExactly(Arrays.copyOfRange(expected, 1, 65));
        assertThat(streamed).containsExactly(Arrays.stream(got).boxed().toArray(Integer[]::new));
    }

    @Test
    void listenerStopsGeneration() {
        int[] got = Generator.generate(MODEL, new int[] {1}, Generator.Options.greedy(64), t -> false);
        assertThat(got).containsExactly(403);
    }

    @Test
    void samplingIsReproducibleBySeedAndTinyTopPIsGreedy() {
        var opts = Generator.Options.sampling(32, 1.0, 0.9, 42);
        int[] a = Generator.generate(MODEL, new int[] {1}, opts, null);
        int[] b = Generator.generate(MODEL, new int[] {1}, opts, null);
        assertThat(a).containsExactly(b);
        int[] nucleusOfOne = Generator.generate(MODEL, new int[] {1, 403, 407, 261, 378},
                Generator.Options.sampling(16, 0.8, 1e-9, 7), null);
        int[] greedy = Generator.generate(MODEL, new int[] {1, 403, 407, 261, 378}, Generator.Options.greedy(16), null);
        assertThat(nucleusOfOne).containsExactly(greedy);
    }

    @Test
    void stopsAtEos() {
        // same weights, but ',' (432, the greedy next token after "Once upon a time") declared as EOS
        LlamaConfig c = MODEL.config();
        LlamaConfig withCommaEos = new LlamaConfig(c.architecture(), c.hiddenSize(), c.intermediateSize(),
                c.numHiddenLayers(), c.numAttentionHeads(), c.numKeyValueHeads(), c.headDim(), c.vocabSize(),
                c.rmsNormEps(), c.ropeTheta(), c.ropeScaling(), c.maxPositionEmbeddings(), c.tieWordEmbeddings(),
                c.slidingWindow(), c.bosTokenId(), java.util.List.of(2, 432));
        LlamaModel m = LlamaModel.load(withCommaEos, Fixtures.safetensors("tinystories-260k/model.safetensors"));
        int[] prompt = {1, 403, 407, 261, 378};
        assertThat(Generator.generate(m, prompt, Generator.Options.greedy(10), null)).containsExactly(432);
        var noStop = new Generator.Options(3, 0, 1, 0, false);
        assertThat(Generator.generate(m, prompt, noStop, null)).hasSize(3).startsWith(432);
    }

    @Test
    void rejectsBadInput() {
        assertThatThrownBy(() -> Generator.generate(MODEL, new int[0], Generator.Options.greedy(4), null))
                .isInstanceOf(ModelException.class);
        assertThatThrownBy(() -> Generator.generate(MODEL, new int[] {512}, Generator.Options.greedy(4), null))
                .isInstanceOf(ModelException.class).hasMessageContaining("token id 512");
        assertThatThrownBy(() -> Generator.Options.sampling(4, 1, 0, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void perplexityRefusesShortTextsLikeLlamaCpp() {
        assertThatThrownBy(() -> Perplexity.compute(MODEL, new int[511], 256, 1)).isInstanceOf(ModelException.class)
                .hasMessageContaining("you need at least 512 tokens to evaluate perplexity with a context of 256");
        // two chunks of 8: positions 4..6 scored in each
        int[] tokens = Arrays.copyOf(Fixtures.i32("tinystories-260k/perplexity/tinystories-valid-head-20k.tokens.i32"), 17);
        Perplexity.Result r = Perplexity.compute(MODEL, tokens, 8, 1);
        assertThat(r.chunks()).isEqualTo(2);
        assertThat(r.scoredTokens()).isEqualTo(6);
        // chunk 2 by hand: BOS replaces its first token, logits of positions 4..6 predict tokens 5..7
        int[] chunk = Arrays.copyOfRange(tokens, 8, 16);
        chunk[0] = 1;
        float[][] logits = MODEL.newSession(8).forward(chunk);
        double nll = 0;
        for (int i = 4; i <= 6; i++) {
            nll -= Perplexity.logSoftmaxAt(logits[i], tokens[8 + i + 1]);
        }
        assertThat(r.chunkMeanNll()[1]).isEqualTo(nll / 3);
    }
}
