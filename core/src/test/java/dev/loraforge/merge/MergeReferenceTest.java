package dev.loraforge.merge;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.adapter.AdapterCheck;
import dev.loraforge.adapter.LoraAdapter;
import dev.loraforge.format.safetensors.ModelFiles;
import dev.loraforge.format.safetensors.SafetensorsFile;
import dev.loraforge.io.PythonJson;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.TensorView;
import dev.loraforge.testing.FixtureFiles;
import dev.loraforge.testing.RandomLlama;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Our merge equals the float64 reference merges (tools/reference_merge.py, one rounding) bit for bit:
 * bf16 against the stored tensors, f32 against the listed sha256 of every changed tensor.
 */
class MergeReferenceTest {
    @TempDir
    static Path tmp;
    static ModelFiles tinyLlama;
    static AdapterCheck.Base base;

    @BeforeAll
    static void generateBase() throws IOException {
        Path dir = FixtureFiles.tinyLlama(tmp.resolve("tiny-llama-v512"));
        tinyLlama = ModelFiles.open(dir);
        base = new AdapterCheck.Base(dir, tinyLlama, PythonJson.parseObject(Files.readString(dir.resolve("config.json"))));
    }

    @AfterAll
    static void close() {
        tinyLlama.close();
    }

    static Stream<Arguments> cases() {
        List<Arguments> a = new ArrayList<>();
        for (String adapter : FixtureFiles.ADAPTERS) {
            a.add(Arguments.of(adapter, LowRankKernel.vector()));
            a.add(Arguments.of(adapter, LowRankKernel.scalar()));
        }
        return a.stream();
    }

    static Map<String, byte[]> mergeChanged(AdapterCheck.Base b, LoraAdapter adapter, DType out, LowRankKernel k, boolean all) {
        MergePlan plan = MergePlan.build(b, List.of(new WeightedAdapter(adapter, 1.0)), out);
        Map<String, byte[]> result = new TreeMap<>();
        for (MergePlan.Op op : plan.ops()) {
            if (!all && !op.changed()) {
                continue;
            }
            byte[] bytes = new byte[Math.toIntExact(op.shape().byteCount(op.outType()))];
            MergePlan.compute(op, MemorySegment.ofArray(bytes), k);
            result.put(op.name(), bytes);
        }
        return result;
    }

    @ParameterizedTest(name = "{0} bf16 {1}")
    @MethodSource("cases")
    void bf16EqualsReferenceTensors(String name, LowRankKernel kernel) throws IOException {
        try (LoraAdapter adapter = LoraAdapter.open(FixtureFiles.adapter(name, tmp.resolve("bf16-" + name + kernel.getClass().getSimpleName())));
             ModelFiles ref = ModelFiles.open(fixtureDir("tiny-llama-v512/reference-merges/" + name + "/bf16"))) {
            Map<String, byte[]> ours = mergeChanged(base, adapter, null, kernel, false);
            assertThat(ours.keySet()).containsExactlyInAnyOrderElementsOf(ref.names());
            for (var e : ours.entrySet()) {
                TensorView r = ref.get(e.getKey());
                assertThat(r.dtype()).isEqualTo(DType.BF16);
                assertSameBits(e.getKey(), e.getValue(), r.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            }
        }
    }

    @ParameterizedTest(name = "{0} f32")
    @MethodSource("dev.loraforge.testing.FixtureFiles#adapters")
    void f32EqualsReferenceSha256(String name) throws IOException {
        Map<String, Object> listing = JSON.std.mapFrom(resource("tiny-llama-v512/reference-merges/" + name + "/f32.listing.json"));
        try (LoraAdapter adapter = LoraAdapter.open(FixtureFiles.adapter(name, tmp.resolve("f32-" + name)))) {
            Map<String, byte[]> ours = mergeChanged(base, adapter, DType.F32, LowRankKernel.preferred(), false);
            assertThat(ours.keySet()).containsExactlyInAnyOrderElementsOf(listing.keySet());
            for (var e : ours.entrySet()) {
                @SuppressWarnings("unchecked")
                Map<String, Object> l = (Map<String, Object>) listing.get(e.getKey());
                assertThat(RandomLlama.hex(RandomLlama.sha256(e.getValue()))).as(e.getKey()).isEqualTo(l.get("sha256"));
            }
        }
    }

    /**
     * llama.cpp's own merge (llama-export-lora, float32 arithmetic, of the F32 base and F32 LoRA GGUFs; its
     * tensors have the sha256 of the fixture listing) agrees with our exact merge rounded to f32 within a few
     * float32 rounding units of the tensor's scale (its sums round in float32; near zero that is many ulps
     * of the tiny result): the "within its own rounding" of issue 4. Three unpermuted tensors are kept.
     */
    @Test
    void llamaExportLoraAgreesWithinItsFloat32Rounding() throws IOException {
        Map<String, String> names = Map.of(
                "blk.0.attn_v.weight", "model.layers.0.self_attn.v_proj.weight",
                "blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight",
                "blk.1.attn_output.weight", "model.layers.1.self_attn.o_proj.weight");
        try (LoraAdapter adapter = LoraAdapter.open(FixtureFiles.adapter("lora-r8", tmp.resolve("export-lora")));
             SafetensorsFile ex = SafetensorsFile.open(fixtureDir("tiny-llama-v512/export-lora")
                     .resolve("lora-r8-merged-f32-excerpt.safetensors"))) {
            Map<String, byte[]> ours = mergeChanged(base, adapter, DType.F32, LowRankKernel.preferred(), false);
            int differing = 0;
            for (var e : names.entrySet()) {
                MemorySegment theirs = ex.find(e.getKey()).orElseThrow().data();
                MemorySegment mine = MemorySegment.ofArray(ours.get(e.getValue()));
                assertThat(theirs.byteSize()).isEqualTo(mine.byteSize());
                long n = mine.byteSize() / 4;
                float max = 0;
                for (long i = 0; i < n; i++) {
                    max = Math.max(max, Math.abs(mine.getAtIndex(TensorView.F32_LE, i)));
                }
                float tol = 4 * Math.ulp(max);
                for (long i = 0; i < n; i++) {
                    float a = theirs.getAtIndex(TensorView.F32_LE, i);
                    float b = mine.getAtIndex(TensorView.F32_LE, i);
                    if (a != b) {
                        differing++;
                        assertThat(Math.abs(a - b)).as("%s[%d]", e.getKey(), i).isLessThanOrEqualTo(tol);
                    }
                }
            }
            assertThat(differing).as("export-lora rounds its float32 sums differently somewhere").isPositive();
        }
    }

    @Test
    void storiesLoraR4EqualsReferenceF32() throws IOException {
        Path dir = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        try (ModelFiles stories = ModelFiles.open(dir);
             LoraAdapter adapter = LoraAdapter.open(FixtureFiles.adapter("tinystories-260k/lora-r4", tmp.resolve("lora-r4")));
             ModelFiles ref = ModelFiles.open(fixtureDir("tinystories-260k/lora-r4-merged/model.safetensors"))) {
            var b = new AdapterCheck.Base(dir, stories, PythonJson.parseObject(Files.readString(dir.resolve("config.json"))));
            Map<String, byte[]> ours = mergeChanged(b, adapter, null, LowRankKernel.preferred(), true);
            assertThat(ours.keySet()).containsExactlyInAnyOrderElementsOf(ref.names());
            for (var e : ours.entrySet()) {
                assertSameBits(e.getKey(), e.getValue(), ref.get(e.getKey()).data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            }
        }
    }

    static void assertSameBits(String name, byte[] ours, byte[] ref) {
        assertThat(ours.length).as(name).isEqualTo(ref.length);
        int diff = 0;
        int first = -1;
        for (int i = 0; i < ours.length; i++) {
            if (ours[i] != ref[i]) {
                diff++;
                if (first < 0) {
                    first = i;
                }
            }
        }
        assertThat(diff).as(name + ": bytes differing from the reference, first at byte " + first).isZero();
    }

    static Path fixtureDir(String rel) {
        try {
            return Path.of(MergeReferenceTest.class.getResource("/fixtures/" + rel).toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] resource(String rel) throws IOException {
        try (InputStream in = MergeReferenceTest.class.getResourceAsStream("/fixtures/" + rel)) {
            return in.readAllBytes();
        }
    }
}
