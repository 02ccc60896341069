package dev.loraforge.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loraforge.format.gguf.GgufFile;
import dev.loraforge.tensor.RowReader;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** llama.cpp GGUFs run through the HF forward pass: q/k rows un-permuted, quantized tensors dequantized. */
class GgufLlamaTest {

    static GgufFile open(String path) throws IOException {
        return GgufFile.open(Fixtures.path(path));
    }

    @Test
    void rowPermutationInvertsConvertHfToGguf() {
        // convert_hf_to_gguf permute: reshape(heads, 2, d/2) -> swapaxes(1, 2); HF row h*d + j*d/2 + i -> GGUF h*d + 2i + j
        int heads = 3;
        int d = 8;
        int[] gguf = new int[heads * d];
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < 2; j++) {
                for (int i = 0; i < d / 2; i++) {
                    gguf[h * d + 2 * i + j] = h * d + j * d / 2 + i;
                }
            }
        }
        for (int r = 0; r < gguf.length; r++) {
            assertThat(GgufLlama.hfRow(r, heads, heads * d)).isEqualTo(gguf[r]);
        }
        assertThat(GgufLlama.hfRow(5, 0, 24)).isEqualTo(5);
        for (int r = 0; r < gguf.length; r++) {
            assertThat(GgufLlama.ggufRow(GgufLlama.hfRow(r, heads, heads * d), heads, heads * d)).isEqualTo(r);
        }
    }

    @Test
    void storiesF32GgufHasTheSafetensorsWeightsAndLogits() throws IOException {
        try (GgufFile f = open("tinystories-260k/gguf/stories260k-f32.gguf")) {
            LlamaConfig c = GgufLlama.config(f);
            LlamaConfig hf = Fixtures.config("tinystories-260k");
            assertThat(c.hiddenSize()).isEqualTo(hf.hiddenSize());
            assertThat(c.numKeyValueHeads()).isEqualTo(hf.numKeyValueHeads());
            assertThat(c.headDim()).isEqualTo(hf.headDim());
            assertThat(c.tieWordEmbeddings()).isTrue();
            assertThat(c.rmsNormEps()).isEqualTo((double) 1e-5f); // GGUF stores it as float32
            TensorSource g = GgufLlama.tensors(f, c);
            TensorSource st = Fixtures.safetensors("tinystories-260k/model.safetensors");
            for (String name : st.names()) {
                assertThat(g.get(name).toFloatArray()).as(name).containsExactly(st.get(name).toFloatArray());
            }
            float[] logits = GgufLlama.load(f).newSession(8).forward(StoriesLogitsTest.PROMPT)[4];
            double[] numpy = Fixtures.doubles(Fixtures.json("tinystories-260k/numpy-logits/stories260k.json").get("last_logits"));
            float[] llama = Fixtures.f32("tinystories-260k/llamacpp-logits/exact/llamacpp-stories260k-f32.bin");
            double vsNumpy = TinyLlamaLogitsTest.maxAbs(logits, numpy);
            double vsLlama = TinyLlamaLogitsTest.maxAbs(logits, llama);
            System.out.printf("stories260k-f32.gguf: max |d| vs numpy f64 %.3g, vs llama.cpp %.3g%n", vsNumpy, vsLlama);
            assertThat(vsNumpy).isLessThan(1e-5);
            assertThat(vsLlama).isLessThan(1e-4);
        }
    }

    @Test
    void storiesF16Gguf() throws IOException {
        try (GgufFile f = open("tinystories-260k/gguf/stories260k-f16.gguf")) {
            float[] logits = GgufLlama.load(f).newSession(8).forward(StoriesLogitsTest.PROMPT)[4];
            float[] llama = Fixtures.f32("tinystories-260k/llamacpp-logits/exact/llamacpp-stories260k-f16.bin");
            double d = TinyLlamaLogitsTest.maxAbs(logits, llama);
            System.out.printf("stories260k-f16.gguf: max |d| vs llama.cpp %.3g%n", d);
            // llama.cpp rounds activations to F16 for F16 weights; we keep them F32
            assertThat(d).isLessThan(0.05);
            assertThat(Generator.argmax(logits)).isEqualTo(432);
        }
    }

    @Test
    void tinyLlamaQ4KM() throws IOException {
        try (GgufFile f = open("tiny-llama-v512/gguf/tiny-llama-v512-q4_k_m.gguf")) {
            LlamaModel m = GgufLlama.load(f);
            assertThat(m.config().tieWordEmbeddings()).isFalse();
            float[] logits = m.newSession(8).forward(StoriesLogitsTest.PROMPT)[4];
            float[] llama = Fixtures.f32("tiny-llama-v512/llamacpp-logits/exact/llamacpp-tiny-llama-v512-q4_k_m.bin");
            double[] base = Fixtures.doubles(Fixtures.json("tiny-llama-v512/numpy-logits/tiny-llama-v512.json").get("last_logits"));
            double vsLlama = TinyLlamaLogitsTest.maxAbs(logits, llama);
            double vsBase = TinyLlamaLogitsTest.maxAbs(logits, base);
            System.out.printf("tiny-llama-v512-q4_k_m.gguf: max |d| vs llama.cpp Q4_K_M %.3g, vs the BF16 model in f64 %.3g%n",
                    vsLlama, vsBase);
            // llama.cpp also quantizes the activations (Q8_K) for K-quant dot products; we dequantize the weights only
            assertThat(vsLlama).isLessThan(0.1);
            assertThat(Generator.argmax(logits)).isEqualTo(Generator.argmax(llama));
        }
    }

    @Test
    void peftAdapterRunsUnmergedOnAGgufBase() throws IOException {
        try (GgufFile f = open("tinystories-260k/gguf/stories260k-f32.gguf")) {
            LlamaConfig c = GgufLlama.config(f);
            LlamaModel lora = UnmergedLora.load(c, GgufLlama.tensors(f, c), UnmergedLoraTest.adapter(UnmergedLoraTest.settings()));
            Compare.Report r = Compare.run(Fixtures.stories("tinystories-260k/lora-r4-merged/model.safetensors"), lora,
                    UnmergedLoraTest.TOKENS);
            System.out.println("stories260k-f32.gguf + lora-r4 unmerged vs float64 merge: " + r.logits());
            assertThat(r.within(1e-6, 1.0)).isTrue();
            assertThat(r.logits().klMax()).isLessThan(1e-9);
        }
    }

    @Test
    void quantizedInPlaceGivesTheSameBitsAsDequantizedCopies() throws IOException {
        try (GgufFile f = open("tiny-llama-v512/gguf/tiny-llama-v512-q4_k_m.gguf")) {
            float[][] dense = GgufLlama.load(f).newSession(8).forward(StoriesLogitsTest.PROMPT);
            float[][] inPlace = GgufLlama.loadInPlace(f).newSession(8).forward(StoriesLogitsTest.PROMPT);
            for (int i = 0; i < dense.length; i++) {
                assertThat(inPlace[i]).containsExactly(dense[i]);
            }
        }
    }

    /** Row reads of a quantized GGUF matrix (the embedding, and a q_proj with its rows un-permuted) give the bits of the whole copy. */
    @Test
    void rowReaderGivesTheRowsOfTheDequantizedCopy() throws IOException {
        try (GgufFile f = open("tiny-llama-v512/gguf/tiny-llama-v512-q4_k_m.gguf")) {
            TensorSource weights = GgufLlama.tensors(f, GgufLlama.config(f));
            for (String name : new String[] {"model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight"}) {
                TensorView whole = weights.find(name).orElseThrow();
                RowReader rows = weights.rowReader(name).orElseThrow();
                int cols = rows.cols();
                assertThat(rows.rows()).isEqualTo(whole.shape().dim(0));
                float[] expected = new float[cols];
                float[] actual = new float[cols + 3];
                for (long r = 0; r < rows.rows(); r++) {
                    whole.readFloats(r * cols, expected, 0, cols);
                    rows.read(r, actual, 3);
                    assertThat(java.util.Arrays.copyOfRange(actual, 3, cols + 3)).as(name + " row " + r).containsExactly(expected);
                }
            }
            assertThat(weights.contains("lm_head.weight")).isEqualTo(weights.find("lm_head.weight").isPresent());
            assertThat(weights.rowReader("no.such.weight")).isEmpty();
        }
    }
}
