package dev.loraforge.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loraforge.format.gguf.GgmlType;
import dev.loraforge.format.gguf.GgufFile;
import dev.loraforge.format.gguf.GgufTensor;
import dev.loraforge.quant.GgmlCodec;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.math.BigDecimal;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The Q8_0 kernels against each other, against an exact sum over the dequantized row, and in a model against llama.cpp. */
class Q8_0DotTest {

    @ParameterizedTest(name = "blocks={0} seed={1}")
    @CsvSource({"1,1", "2,2", "3,3", "8,4", "63,5", "64,6", "256,7"})
    void kernelsAgreeWithTheExactDotOfTheDequantizedRow(int blocks, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int n = blocks * Q8_0Dot.QK;
        // a row at an odd offset (blocks are 34 bytes, so loads are unaligned anyway)
        MemorySegment w = MemorySegment.ofArray(new byte[3 + blocks * Q8_0Dot.BLOCK_BYTES]);
        long off = 3;
        for (int b = 0; b < blocks; b++) {
            long bo = off + (long) b * Q8_0Dot.BLOCK_BYTES;
            short d = Float.floatToFloat16((float) (Math.exp(r.nextDouble(-12, 2)) * (r.nextBoolean() ? 1 : -1)));
            w.set(java.lang.foreign.ValueLayout.JAVA_BYTE, bo, (byte) d);
            w.set(java.lang.foreign.ValueLayout.JAVA_BYTE, bo + 1, (byte) (d >> 8));
            for (int j = 0; j < Q8_0Dot.QK; j++) {
                w.set(java.lang.foreign.ValueLayout.JAVA_BYTE, bo + 2 + j, (byte) r.nextInt(-128, 128));
            }
        }
        float[] x = new float[n + 5];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        float[] deq = new float[n];
        GgmlCodec.of(GgmlType.Q8_0, false).dequantize(w, off, deq, 0, n);
        BigDecimal exact = BigDecimal.ZERO;
        double magnitude = 0;
        for (int i = 0; i < n; i++) {
            exact = exact.add(new BigDecimal(deq[i]).multiply(new BigDecimal(x[5 + i])));
            magnitude += Math.abs((double) deq[i] * x[5 + i]);
        }
        float scalar = Q8_0Dot.dotScalar(w, off, x, 5, blocks);
        float vector = Q8_0Dot.dotVector(w, off, x, 5, blocks);
        // float sums: each of the ≤ 32 + 1 + blocks roundings on the way costs at most 2^-24 of Σ|terms|
        double bound = (Q8_0Dot.QK + 2 + blocks) * 0x1p-24 * magnitude;
        assertThat(Math.abs(scalar - exact.doubleValue())).isLessThanOrEqualTo(bound);
        assertThat(Math.abs(vector - exact.doubleValue())).isLessThanOrEqualTo(bound);
        assertThat((double) Math.abs(vector - scalar)).isLessThanOrEqualTo(2 * bound);
    }

    @ParameterizedTest(name = "heads={0}")
    @CsvSource({"0", "8"})
    void parallelBatchRowsAreTheOneRowDotsInHfOrder(int heads) {
        int rows = 1024;
        int cols = 512; // 2^19 multiply-adds: above the parallel threshold
        int blocks = cols / Q8_0Dot.QK;
        long rb = Q8_0Dot.rowBytes(cols);
        SplittableRandom r = new SplittableRandom(heads + 21);
        byte[] bytes = new byte[(int) (rows * rb)];
        r.nextBytes(bytes);
        MemorySegment w = MemorySegment.ofArray(bytes);
        for (long b = 0; b < rows * (long) blocks; b++) { // finite scales in [2^-10, 2)
            w.set(java.lang.foreign.ValueLayout.JAVA_BYTE, b * Q8_0Dot.BLOCK_BYTES + 1, (byte) r.nextInt(0x14, 0x40));
        }
        GgufTensor t = new GgufTensor("w", GgmlType.Q8_0, new long[] {cols, rows}, 0, bytes.length, w);
        Q8_0Linear linear = new Q8_0Linear(t, rows, cols, heads);
        int n = 3;
        float[] x = new float[n * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        float[] y = new float[n * rows];
        linear.applyBatch(x, y, n);
        float[] one = new float[rows];
        linear.apply(java.util.Arrays.copyOfRange(x, cols, 2 * cols), one);
        for (int k = 0; k < n; k++) {
            for (int row = 0; row < rows; row++) {
                long off = GgufLlama.ggufRow(row, heads, rows) * rb;
                assertThat(y[k * rows + row]).as("x %d row %d", k, row).isEqualTo(Q8_0Dot.dot(w, off, x, k * cols, blocks));
            }
        }
        assertThat(one).containsExactly(java.util.Arrays.copyOfRange(y, rows, 2 * rows));
    }

    @Test
    void linearMatchesTheDequantizedCopyAndTheLogitsMatchLlamaCpp() throws IOException {
        try (GgufFile f = GgufLlamaTest.open("tiny-llama-v512/gguf/tiny-llama-v512-q8_0.gguf")) {
            LlamaConfig c = GgufLlama.config(f);
            GgufTensor t = f.findTensor("blk.0.attn_q.weight").orElseThrow();
            int rows = (int) t.shape()[0];
            int cols = (int) t.shape()[1];
            Linear q8 = new Q8_0Linear(t, rows, cols, c.numAttentionHeads());
            Linear dense = DenseLinear.of(GgufLlama.tensors(f, c).find("model.layers.0.self_attn.q_proj.weight").orElseThrow(),
                    rows, cols);
            SplittableRandom r = new SplittableRandom(11);
            int n = 3;
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            float[] got = new float[n * rows];
            float[] want = new float[n * rows];
            q8.applyBatch(x, got, n);
            dense.applyBatch(x, want, n);
            for (int i = 0; i < got.length; i++) {
                assertThat((double) got[i]).as("output %d", i).isCloseTo(want[i], org.assertj.core.api.Assertions.within(1e-4));
            }

            LlamaModel m = GgufLlama.loadInPlace(f);
            float[] logits = m.newSession(8).forward(StoriesLogitsTest.PROMPT)[4];
            float[] llama = Fixtures.f32("tiny-llama-v512/llamacpp-logits/exact/llamacpp-tiny-llama-v512-q8_0.bin");
            float[] copies = GgufLlama.load(f).newSession(8).forward(StoriesLogitsTest.PROMPT)[4];
            double vsLlama = TinyLlamaLogitsTest.maxAbs(logits, llama);
            double vsCopies = TinyLlamaLogitsTest.maxAbs(logits, copies);
            System.out.printf("tiny-llama-v512-q8_0.gguf in place: max |d| vs llama.cpp Q8_0 %.3g, vs dequantized float copies %.3g%n",
                    vsLlama, vsCopies);
            // llama.cpp also rounds the activations to Q8_0; the kernel keeps them float
            assertThat(vsLlama).isLessThan(0.05);
            assertThat(vsCopies).isLessThan(1e-5);
            assertThat(Generator.argmax(logits)).isEqualTo(Generator.argmax(llama));
        }
    }
}
