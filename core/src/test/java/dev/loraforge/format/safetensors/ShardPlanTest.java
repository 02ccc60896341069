package dev.loraforge.format.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ShardPlanTest {
    static final String LR8 = "tiny-llama-v512/reference-merges/lora-r8/";

    /** The fixture's sharded merge: its listing's tensors, split at 3.5 MiB, must give its index byte for byte. */
    @Test
    void reproducesTheFixtureIndex() throws IOException {
        Map<String, Object> listing = JSON.std.mapFrom(Files.readString(Fixtures.path(LR8 + "bf16.listing.json")));
        List<TensorSpec> specs = new ArrayList<>();
        listing.keySet().stream().sorted().forEach(name -> {
            @SuppressWarnings("unchecked")
            Map<String, Object> e = (Map<String, Object>) listing.get(name);
            long[] dims = ((List<?>) e.get("shape")).stream().mapToLong(o -> ((Number) o).longValue()).toArray();
            specs.add(new TensorSpec(name, DType.fromFileName((String) e.get("dtype")).orElseThrow(), Shape.of(dims)));
        });
        ShardPlan plan = ShardPlan.of(specs, (long) (3.5 * (1 << 20)));
        assertThat(plan.shards()).extracting(ShardPlan.Shard::fileName)
                .containsExactly("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors");
        assertThat(plan.index().toJson())
                .isEqualTo(Files.readString(Fixtures.path(LR8 + "bf16/model.safetensors.index.json")));
    }

    @Test
    void oversizedTensorsGetTheirOwnShardAtOnce() {
        // huggingface_hub: a(3) opens a shard; b(10) > 5 is appended as its own shard right away;
        // c(4) does not fit beside a, so a's shard closes; then c, d(1) share the last shard.
        List<TensorSpec> t = List.of(TensorSpec.of("a", DType.U8, 3), TensorSpec.of("b", DType.U8, 10),
                TensorSpec.of("c", DType.U8, 4), TensorSpec.of("d", DType.U8, 1));
        ShardPlan plan = ShardPlan.of(t, 5);
        assertThat(plan.shards()).extracting(s -> s.tensors().stream().map(TensorSpec::name).toList())
                .containsExactly(List.of("b"), List.of("a"), List.of("c", "d"));
        assertThat(plan.shards()).extracting(ShardPlan.Shard::byteSize).containsExactly(10L, 3L, 5L);
        assertThat(plan.totalSize()).isEqualTo(18);
        assertThat(plan.shards().get(2).fileName()).isEqualTo("model-00003-of-00003.safetensors");
        // exactly full is allowed; everything fitting is one model.safetensors
        assertThat(ShardPlan.of(t, 18).shards()).singleElement()
                .satisfies(s -> assertThat(s.fileName()).isEqualTo("model.safetensors"));
        assertThat(ShardPlan.of(List.of(), 5).shards()).singleElement()
                .satisfies(s -> assertThat(s.tensors()).isEmpty());
    }

    @ParameterizedTest
    @CsvSource({"5GB, 5000000000", "500MB, 500000000", "10GiB, 10737418240", "1MiB, 1048576", "3KiB, 3072",
            "2kb, 250", "5Gb, 625000000", "1TB, 1000000000000", "1.5GB, 1500000000", "' 7 MB ', 7000000",
            "123, 123", "1PiB, 1125899906842624", "5gb, 625000000", "5gB, 5000000000"})
    void parsesSizesLikeTransformers(String text, long bytes) {
        assertThat(ShardPlan.parseSize(text)).isEqualTo(bytes);
    }

    @ParameterizedTest
    @ValueSource(strings = {"5G", "GB", "abc", "-1GB", "0", "1e3MB", "99999999999PiB"})
    void rejectsBadSizes(String text) {
        assertThatThrownBy(() -> ShardPlan.parseSize(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(text);
    }

    @Test
    void writesAndReopensAShardedFolder(@TempDir Path dir) throws IOException {
        List<TensorSpec> specs = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            specs.add(TensorSpec.of("layer." + i + ".w", i % 2 == 0 ? DType.F32 : DType.BF16, 10, 10 + i));
        }
        Path out = dir.resolve("m");
        ShardPlan plan;
        try (ShardedWriter w = ShardedWriter.create(out, Map.of("format", "pt"), specs, 1000, false)) {
            plan = w.plan();
            for (TensorSpec s : specs) {
                byte[] b = new byte[(int) s.byteSize()];
                java.util.Arrays.fill(b, (byte) s.name().charAt(6));
                w.write(s.name(), MemorySegment.ofArray(b));
            }
            w.commit();
        }
        assertThat(plan.shards().size()).isGreaterThan(2);
        try (ModelFiles m = ModelFiles.open(out)) {
            assertThat(m.files()).hasSize(plan.shards().size());
            assertThat(m.names()).containsExactlyInAnyOrderElementsOf(specs.stream().map(TensorSpec::name).toList());
            assertThat(m.metadata()).containsEntry("format", "pt");
            for (TensorSpec s : specs) {
                assertThat(m.get(s.name()).shape()).isEqualTo(s.shape());
                assertThat(m.get(s.name()).data().get(java.lang.foreign.ValueLayout.JAVA_BYTE, s.byteSize() - 1))
                        .isEqualTo((byte) s.name().charAt(6));
            }
        }
        // unfinished: nothing is left, not even an index
        Path out2 = dir.resolve("m2");
        try (ShardedWriter w = ShardedWriter.create(out2, null, specs, 1000, false)) {
            w.write(specs.get(0).name(), MemorySegment.ofArray(new byte[(int) specs.get(0).byteSize()]));
            assertThatThrownBy(w::commit).isInstanceOf(IllegalStateException.class).hasMessageContaining("layer.1.w");
        }
        assertThat(out2).isEmptyDirectory();
    }
}
