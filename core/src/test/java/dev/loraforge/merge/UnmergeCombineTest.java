package dev.loraforge.merge;

import dev.loraforge.io.Progress;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loraforge.adapter.AdapterException;
import dev.loraforge.adapter.LoraAdapter;
import dev.loraforge.format.safetensors.ModelFiles;
import dev.loraforge.tensor.HalfFloat;
import dev.loraforge.tensor.TensorView;
import dev.loraforge.testing.FixtureFiles;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UnmergeCombineTest {
    @TempDir
    static Path shared;
    static Path tinyLlama;

    @TempDir
    Path tmp;

    @BeforeAll
    static void base() {
        tinyLlama = FixtureFiles.tinyLlama(shared.resolve("tiny-llama-v512"));
    }

    static ModelMerger.Request req(Path base, List<Path> adapters, List<Double> w, Path out) {
        return new ModelMerger.Request(base, adapters, w, out, null, ModelMerger.DEFAULT_MAX_SHARD_BYTES, false, List.of("test"));
    }

    /** Distance between adjacent bf16 values at x. */
    static double bf16Ulp(float x) {
        short b = HalfFloat.floatToBf16(Math.abs(x));
        return HalfFloat.bf16ToFloat((short) (b + 1)) - HalfFloat.bf16ToFloat(b);
    }

    @Test
    void unmergeRestoresTheBaseWithinTheDocumentedBound() throws IOException {
        Path adapter = FixtureFiles.adapter("lora-r8", tmp.resolve("a"));
        Path merged = tmp.resolve("merged");
        Path restored = tmp.resolve("restored");
        ModelMerger.merge(req(tinyLlama, List.of(adapter), List.of(1.0), merged), Progress.NONE);
        ModelMerger.unmerge(req(merged, List.of(adapter), List.of(1.0), restored), Progress.NONE);
        long total = 0;
        long exact = 0;
        try (ModelFiles w0 = ModelFiles.open(tinyLlama); ModelFiles w1 = ModelFiles.open(merged); ModelFiles u = ModelFiles.open(restored)) {
            for (String n : w0.names()) {
                float[] a = w0.get(n).toFloatArray();
                float[] m = w1.get(n).toFloatArray();
                float[] r = u.get(n).toFloatArray();
                for (int i = 0; i < a.length; i++) {
                    double bound = 0.5 * bf16Ulp(m[i]) + 0.5 * bf16Ulp(a[i]);
                    assertThat(Math.abs((double) r[i] - a[i])).as("%s[%d]", n, i).isLessThanOrEqualTo(bound);
                    total++;
                    exact += r[i] == a[i] ? 1 : 0;
                }
            }
        }
        System.out.printf("unmerge(merge(lora-r8)): %d of %d values equal the base exactly%n", exact, total);
        assertThat(exact).isGreaterThan(total * 8 / 10); // measured: 2,966,431 of 3,410,176
    }

    @Test
    void doraCannotBeUnmerged() {
        Path adapter = FixtureFiles.adapter("lora-dora", tmp.resolve("d"));
        assertThatThrownBy(() -> ModelMerger.unmerge(req(tinyLlama, List.of(adapter), List.of(1.0), tmp.resolve("x")), Progress.NONE))
                .isInstanceOf(AdapterException.class).hasMessageContaining("DoRA");
    }

    @Test
    void weightedSequentialMergeIsTheExactSumRoundedOnce() throws IOException {
        Path r8 = FixtureFiles.adapter("lora-r8", tmp.resolve("r8"));
        Path rs = FixtureFiles.adapter("lora-rslora-patterns", tmp.resolve("rs"));
        Path out = tmp.resolve("both");
        ModelMerger.merge(req(tinyLlama, List.of(r8, rs), List.of(0.7, 0.3), out), Progress.NONE);
        String name = "model.layers.0.self_attn.o_proj";
        try (ModelFiles w0 = ModelFiles.open(tinyLlama); ModelFiles m = ModelFiles.open(out);
             LoraAdapter a1 = LoraAdapter.open(r8); LoraAdapter a2 = LoraAdapter.open(rs)) {
            float[] w = w0.get(name + ".weight").toFloatArray();
            float[] got = m.get(name + ".weight").toFloatArray();
            int rows = 48, cols = 256; // the first 48 rows: BigDecimal is slow
            BigDecimal[] exact = new BigDecimal[w.length];
            for (int i = 0; i < rows * cols; i++) {
                exact[i] = new BigDecimal(w[i]);
            }
            addExact(exact, a1, name, 0.7 * 2.0, rows, cols);       // r=8, alpha 16
            addExact(exact, a2, name, 0.3 * (32 / Math.sqrt(16)), rows, cols); // rsLoRA, alpha_pattern o_proj 32
            for (int i = 0; i < rows * cols; i++) {
                short expect = HalfFloat.doubleToBf16(exact[i].doubleValue());
                assertThat(HalfFloat.floatToBf16(got[i])).as("[%d]", i).isEqualTo(expect);
            }
        }
    }

    private static void addExact(BigDecimal[] acc, LoraAdapter a, String module, double scale, int rows, int cols) {
        TensorView ta = a.tensors().get(LoraAdapter.PREFIX + module + ".lora_A.weight");
        TensorView tb = a.tensors().get(LoraAdapter.PREFIX + module + ".lora_B.weight");
        int r = (int) ta.shape().dim(0);
        BigDecimal s = new BigDecimal(scale);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                BigDecimal d = BigDecimal.ZERO;
                for (int k = 0; k < r; k++) {
                    d = d.add(new BigDecimal(tb.getDouble((long) i * r + k)).multiply(new BigDecimal(ta.getDouble((long) k * cols + j))));
                }
                acc[i * cols + j] = acc[i * cols + j].add(s.multiply(d));
            }
        }
    }

    @Test
    void catConcatenatesScaledFactorsPaddedToOneRank() throws IOException {
        Path r8 = FixtureFiles.adapter("lora-r8", tmp.resolve("r8"));
        Path rs = FixtureFiles.adapter("lora-rslora-patterns", tmp.resolve("rs"));
        Path out = tmp.resolve("cat");
        try (LoraAdapter a1 = LoraAdapter.open(r8); LoraAdapter a2 = LoraAdapter.open(rs)) {
            int n = AdapterCombiner.combine(List.of(new WeightedAdapter(a1, 0.7), new WeightedAdapter(a2, 0.3)),
                    AdapterCombiner.Method.CAT, out, false);
            assertThat(n).isEqualTo(28);
            try (LoraAdapter c = LoraAdapter.open(out)) {
                assertThat(c.config().r()).isEqualTo(24);
                assertThat(c.config().scalingFor("model.layers.0.self_attn.q_proj")).isEqualTo(1.0);
                String q = LoraAdapter.PREFIX + "model.layers.0.self_attn.q_proj";
                TensorView a = c.tensors().get(q + ".lora_A.weight");
                TensorView b = c.tensors().get(q + ".lora_B.weight");
                TensorView a1a = a1.tensors().get(q + ".lora_A.weight");
                TensorView a2a = a2.tensors().get(q + ".lora_A.weight");
                TensorView a1b = a1.tensors().get(q + ".lora_B.weight");
                TensorView a2b = a2.tensors().get(q + ".lora_B.weight");
                for (int k = 0; k < 24; k++) {
                    for (int j = 0; j < 256; j++) {
                        double expect = k < 8 ? a1a.getDouble(k * 256L + j) : a2a.getDouble((k - 8) * 256L + j);
                        assertThat(a.getDouble(k * 256L + j)).isEqualTo(expect);
                    }
                }
                for (int i = 0; i < 256; i++) {
                    for (int k = 0; k < 24; k++) {
                        double expect = k < 8 ? 0.7 * 2.0 * a1b.getDouble(i * 8L + k) : 0.3 * 4.0 * a2b.getDouble(i * 16L + k - 8);
                        assertThat(b.getFloat(i * 24L + k)).isEqualTo((float) expect);
                    }
                }
                // a module only the first adapter has: zero padding beyond its rank 8
                TensorView k1 = c.tensors().get(LoraAdapter.PREFIX + "model.layers.1.self_attn.k_proj.lora_A.weight");
                for (long i = 8 * 256L; i < 24 * 256L; i++) {
                    assertThat(k1.getFloat(i)).isZero();
                }
            }
        }
    }

    @Test
    void mergingTheCatAdapterIsWithinOneUlpOfTheWeightedMerge() throws IOException {
        Path r8 = FixtureFiles.adapter("lora-r8", tmp.resolve("r8"));
        Path rs = FixtureFiles.adapter("lora-rslora-patterns", tmp.resolve("rs"));
        Path cat = tmp.resolve("cat");
        try (LoraAdapter a1 = LoraAdapter.open(r8); LoraAdapter a2 = LoraAdapter.open(rs)) {
            AdapterCombiner.combine(List.of(new WeightedAdapter(a1, 0.7), new WeightedAdapter(a2, 0.3)), AdapterCombiner.Method.CAT, cat, false);
        }
        ModelMerger.merge(req(tinyLlama, List.of(cat), List.of(1.0), tmp.resolve("m1")), Progress.NONE);
        ModelMerger.merge(req(tinyLlama, List.of(r8, rs), List.of(0.7, 0.3), tmp.resolve("m2")), Progress.NONE);
        long same = 0;
        long n = 0;
        try (ModelFiles m1 = ModelFiles.open(tmp.resolve("m1")); ModelFiles m2 = ModelFiles.open(tmp.resolve("m2"))) {
            for (String name : m1.names()) {
                TensorView x = m1.get(name);
                TensorView y = m2.get(name);
                for (long i = 0; i < x.elementCount(); i++) {
                    float a = x.getFloat(i);
                    float b = y.getFloat(i);
                    // B' = w·s·B is rounded to F32 in the cat adapter: far below a bf16 ulp, except where the
                    // sum cancels to near zero, hence the small absolute term
                    double tol = bf16Ulp(Math.max(Math.abs(a), Math.abs(b))) + 1e-8;
                    assertThat(Math.abs((double) a - b)).as("%s[%d]", name, i).isLessThanOrEqualTo(tol);
                    same += a == b ? 1 : 0;
                    n++;
                }
            }
        }
        System.out.printf("cat adapter merge vs weighted merge: %d of %d bf16 values identical, the rest within 1 ulp%n", same, n);
    }

    @Test
    void linearIsPeftTaskArithmeticOnAAndB() throws IOException {
        Path r8 = FixtureFiles.adapter("lora-r8", tmp.resolve("r8"));
        Path rs = FixtureFiles.adapter("lora-rslora-patterns", tmp.resolve("rs"));
        try (LoraAdapter a1 = LoraAdapter.open(r8); LoraAdapter a2 = LoraAdapter.open(rs)) {
            // √(0.5·2) = 1: A' = A + A, B' = B + B
            AdapterCombiner.combine(List.of(new WeightedAdapter(a1, 0.5), new WeightedAdapter(a1, 0.5)),
                    AdapterCombiner.Method.LINEAR, tmp.resolve("lin"), false);
            try (LoraAdapter c = LoraAdapter.open(tmp.resolve("lin"))) {
                String key = LoraAdapter.PREFIX + "model.layers.3.mlp.up_proj.lora_B.weight";
                TensorView b = c.tensors().get(key);
                TensorView b0 = a1.tensors().get(key);
                for (long i = 0; i < b.elementCount(); i++) {
                    assertThat(b.getFloat(i)).isEqualTo(2 * b0.getFloat(i));
                }
            }
            assertThatThrownBy(() -> AdapterCombiner.combine(List.of(new WeightedAdapter(a1, 1), new WeightedAdapter(a2, 1)),
                    AdapterCombiner.Method.LINEAR, tmp.resolve("bad"), false))
                    .isInstanceOf(AdapterException.class).hasMessageContaining("equal ranks");
        }
    }
}
