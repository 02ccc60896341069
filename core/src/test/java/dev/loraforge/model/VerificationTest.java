package dev.loraforge.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.loraforge.format.safetensors.ModelFiles;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import dev.loraforge.testing.FixtureFiles;
import dev.loraforge.tokenizer.Tokenizers;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VerificationTest {

    @TempDir
    Path tmp;

    /** The streaming metrics of verify equal Compare.run's (the model package's tested comparison) on one sequence. */
    @Test
    void metricsMatchCompareRunOnOneSequence() throws Exception {
        Path base = FixtureFiles.stories(tmp.resolve("stories"));
        Path lora = FixtureFiles.adapter("tinystories-260k/lora-r4", tmp.resolve("lora"));
        Verification.Result r = Verification.run(new Verification.Spec(base, List.of()), new Verification.Spec(base, List.of(lora)),
                List.of(), new Verification.Options(512, null, true));
        int[] ids = Tokenizers.load(base).encode(Verification.DEFAULT_TEXT, true);
        LlamaConfig c = LlamaConfig.read(base);
        try (ModelFiles f = ModelFiles.open(base); dev.loraforge.adapter.LoraAdapter a = dev.loraforge.adapter.LoraAdapter.open(lora)) {
            Compare.Report expected = Compare.run(LlamaModel.load(c, f), UnmergedLora.load(c, f, a), ids);
            assertThat(r.logits()).isEqualTo(expected.logits());
            assertThat(r.layers()).hasSameSizeAs(expected.layers());
            for (int l = 0; l < r.layers().size(); l++) {
                assertThat(r.layers().get(l).meanRelative()).isCloseTo(expected.layers().get(l).meanRelative(), within(1e-15));
                assertThat(r.layers().get(l).maxRelative()).isEqualTo(expected.layers().get(l).maxRelative());
            }
            assertThat(r.pplReference()).isCloseTo(expected.pplReference(), within(1e-12));
            assertThat(r.pplCandidate()).isCloseTo(expected.pplCandidate(), within(1e-12));
        }
        assertThat(r.klPerPosition()).hasSize(ids.length);
        // base vs base + adapter: the adapter's 35 projections differ, embeddings and norms do not
        assertThat(r.structure().differing()).hasSize(35).allMatch(e -> e.name().endsWith("_proj.weight"));
        assertThat(r.candidateKind()).isEqualTo("exact");
        assertThat(r.equivalent()).isFalse();
        assertThat(r.firstJump()).map(Compare.LayerError::layer).contains(0);
    }

    /** Rows decoded in place give the same bits as float32 copies (GGUF quantized rows, safetensors views, adapters). */
    @Test
    void inPlaceWeightsGiveTheSameNumbersAsFloatCopies() throws Exception {
        Path tiny = FixtureFiles.tinyLlama(tmp.resolve("tiny"));
        Path q4 = FixtureFiles.copy("tiny-llama-v512/gguf/tiny-llama-v512-q4_k_m.gguf", tmp.resolve("q4_k_m.gguf"));
        Path lora = FixtureFiles.adapter("lora-r8", tmp.resolve("lora-r8"));
        for (Verification.Spec cand : List.of(new Verification.Spec(q4, List.of(lora)))) {
            Verification.Result dense = Verification.run(new Verification.Spec(tiny, List.of(lora)), cand, List.of(),
                    new Verification.Options(64, null, true, false));
            Verification.Result mapped = Verification.run(new Verification.Spec(tiny, List.of(lora)), cand, List.of(),
                    new Verification.Options(64, null, true, true));
            assertThat(mapped.logits()).isEqualTo(dense.logits());
            assertThat(mapped.layers()).isEqualTo(dense.layers());
            assertThat(mapped.structure().summary()).isEqualTo(dense.structure().summary());
            assertThat(dense.sequences()).hasSizeGreaterThan(1); // 64-token windows
        }
    }

    @Test
    void verdictFailsOnNaNAndOnEachThreshold() {
        VerifyThresholds t = VerifyThresholds.forKind("Q8_0").orElseThrow();
        Compare.LogitStats good = new Compare.LogitStats(10, 0.1, 0.01, 1e-4, 1e-3, 2e-3, 1.0);
        assertThat(Verification.verdict(good, 1.0, t)).isEmpty();
        assertThat(Verification.verdict(new Compare.LogitStats(10, 0.1, 0.01, Double.NaN, Double.NaN, Double.NaN, 1.0), 1.0, t))
                .hasSize(2);
        assertThat(Verification.verdict(new Compare.LogitStats(10, 0.1, 0.01, 2e-2, 1e-3, 5.0, 1.0), 1.0, t))
                .containsExactly("KL mean 0.0200 > 0.0100");
        VerifyThresholds exact = VerifyThresholds.forKind(VerifyThresholds.EXACT).orElseThrow();
        assertThat(Verification.verdict(new Compare.LogitStats(10, 0.1, 0.01, 1e-7, 1e-7, 2e-5, 1.0), 1.0, exact))
                .containsExactly("KL max 2.00e-05 > 1.00e-05");
        assertThat(Verification.verdict(good, 0.9, t)).singleElement().asString().startsWith("top-1 agreement");
        assertThat(VerifyThresholds.forKind("q4_k_m")).map(VerifyThresholds::minTop1).contains(0.80);
        assertThat(VerifyThresholds.forKind("IQ2_XS")).isEmpty();
    }

    @Test
    void tokenMismatchNamesThePosition() {
        assertThat(Verification.tokenMismatch(new int[] {1, 2, 3}, new int[] {1, 2, 3}, "x")).isEmpty();
        assertThat(Verification.tokenMismatch(new int[] {1, 2, 3}, new int[] {1, 5, 3}, "x")).get().asString()
                .contains("at token 1: reference id 2, candidate id 5");
        assertThat(Verification.tokenMismatch(new int[] {1, 2, 3}, new int[] {1, 2}, "x")).get().asString()
                .contains("3 reference tokens, 2 candidate tokens");
    }

    /** Statistics against values computed by hand (float64 over the float32 values). */
    @Test
    void structuralDiffFindsMissingExtraShapeAndValueDifferences() {
        float[] a = {1f, -2f, 3f, 0.5f};
        float[] b = {1f, -2f, 3.25f, 0.5f};
        TensorSource ref = source(Map.of("w", view("w", a, 2, 2), "same", view("same", a, 4), "gone", view("gone", a, 4),
                "shape", view("shape", a, 4)));
        TensorSource cand = source(Map.of("w", view("w", b, 2, 2), "same", view("same", a, 4), "new", view("new", a, 4),
                "shape", view("shape", a, 2, 2)));
        StructuralDiff.Result r = StructuralDiff.compare(new StructuralDiff.Side(ref, Map.of("w", "F32"), List.of()),
                new StructuralDiff.Side(cand, Map.of("w", "Q8_0"), List.of("rope_freqs.weight (GGUF)")));
        assertThat(r.missing()).containsExactly("gone");
        assertThat(r.extra()).containsExactly("new", "rope_freqs.weight (GGUF)");
        assertThat(r.shapeMismatches()).extracting(StructuralDiff.Entry::name).containsExactly("shape");
        assertThat(r.typeMismatches()).extracting(StructuralDiff.Entry::name).containsExactly("w");
        StructuralDiff.Entry w = r.entries().stream().filter(e -> e.name().equals("w")).findFirst().orElseThrow();
        assertThat(w.diffCount()).isEqualTo(1);
        assertThat(w.maxAbsDiff()).isEqualTo(0.25);
        assertThat(w.relRms()).isCloseTo(0.25 / Math.sqrt(1 + 4 + 9 + 0.25), within(1e-15));
        assertThat(w.reference().mean()).isCloseTo(2.5 / 4, within(1e-15));
        double var = (1 + 4 + 9 + 0.25) / 4 - 0.625 * 0.625;
        assertThat(w.reference().std()).isCloseTo(Math.sqrt(var), within(1e-15));
        assertThat(w.candidate().maxAbs()).isEqualTo(3.25);
        assertThat(r.entries().stream().filter(e -> e.name().equals("same")).findFirst().orElseThrow().identical()).isTrue();
        assertThat(r.summary()).isEqualTo("3 tensors compared: 1 identical, 2 differ (1 in shape, 1 in type); 1 missing, 2 extra");
    }

    private static TensorView view(String name, float[] v, long... dims) {
        return new TensorView(name, DType.F32, Shape.of(dims), MemorySegment.ofArray(v.clone()));
    }

    private static TensorSource source(Map<String, TensorView> m) {
        Map<String, TensorView> map = new LinkedHashMap<>(m);
        return new TensorSource() {
            @Override
            public List<String> names() {
                return new ArrayList<>(map.keySet());
            }

            @Override
            public Optional<TensorView> find(String name) {
                return Optional.ofNullable(map.get(name));
            }

            @Override
            public void close() {
            }
        };
    }
}
