package dev.loraforge.format.safetensors;

import static dev.loraforge.format.safetensors.StBytes.entry;
import static dev.loraforge.format.safetensors.StBytes.file;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loraforge.format.safetensors.SafetensorsException.Kind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ModelFilesTest {
    static final String S1 = "model-00001-of-00002.safetensors";
    static final String S2 = "model-00002-of-00002.safetensors";

    /** Two shards: a (8 bytes), b (4 bytes) in S1; c (2 bytes BF16) in S2. Total 14. */
    static void twoShards(Path dir, String index) throws IOException {
        Files.write(dir.resolve(S1), file("{\"__metadata__\":{\"format\":\"pt\"}," + entry("a", "F32", "[2]", 0, 8) + ","
                + entry("b", "F32", "[1]", 8, 12) + "}", 12));
        Files.write(dir.resolve(S2), file("{" + entry("c", "BF16", "[1]", 0, 2) + "}", 2));
        Files.writeString(dir.resolve(ShardIndex.FILE_NAME), index);
    }

    static String index(long total, String... pairs) {
        StringBuilder sb = new StringBuilder("{\"metadata\":{\"total_size\":" + total + ",\"total_parameters\":4},\"weight_map\":{");
        for (int i = 0; i < pairs.length; i += 2) {
            sb.append(i == 0 ? "" : ",").append('"').append(pairs[i]).append("\":\"").append(pairs[i + 1]).append('"');
        }
        return sb.append("}}").toString();
    }

    static final String GOOD = index(14, "c", S2, "a", S1, "b", S1);

    @Test
    void opensAShardedFolder(@TempDir Path dir) throws IOException {
        twoShards(dir, GOOD);
        try (ModelFiles m = ModelFiles.open(dir)) {
            assertThat(m.names()).containsExactly("a", "b", "c");
            assertThat(m.files()).hasSize(2);
            assertThat(m.get("c").byteSize()).isEqualTo(2);
            assertThat(m.get("a").data().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 0);
            assertThat(m.get("b").data().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 8);
            assertThat(m.fileOf("c").orElseThrow().path().getFileName().toString()).isEqualTo(S2);
            assertThat(m.index().orElseThrow().totalSize()).hasValue(14);
            assertThat(m.index().orElseThrow().otherMetadata()).containsEntry("total_parameters", 4);
            assertThat(m.metadata()).containsEntry("format", "pt");
            assertThat(m.find("zz")).isEmpty();
        }
        // the index file itself also opens
        try (ModelFiles m = ModelFiles.open(dir.resolve(ShardIndex.FILE_NAME))) {
            assertThat(m.names()).hasSize(3);
        }
    }

    @Test
    void singleFileWinsOverIndexAndFilePathsWork(@TempDir Path dir) throws IOException {
        twoShards(dir, GOOD);
        Files.copy(Fixtures.path(Fixtures.STORIES_MODEL), dir.resolve("model.safetensors"));
        try (ModelFiles m = ModelFiles.open(dir)) {
            assertThat(m.index()).isEmpty();
            assertThat(m.names()).hasSize(47).startsWith("model.embed_tokens.weight");
        }
        try (ModelFiles m = ModelFiles.open(dir.resolve(S2))) {
            assertThat(m.names()).containsExactly("c");
        }
    }

    @Test
    void relativeFolderPathsWork(@TempDir Path dir) throws IOException {
        Path sub = dir.resolve("model");
        Files.createDirectories(sub);
        twoShards(sub, GOOD);
        Path rel = Path.of("").toAbsolutePath().relativize(sub);
        try (ModelFiles m = ModelFiles.open(rel)) {
            assertThat(m.names()).containsExactly("a", "b", "c");
        }
    }

    enum Broken {
        NO_FILES(Kind.NO_MODEL_FILES, null),
        MISSING_SHARD(Kind.SHARD_MISSING, index(14, "a", S1, "b", S1, "c", "model-00003-of-00003.safetensors")),
        WRONG_SHARD(Kind.SHARD_LACKS_TENSOR, index(14, "a", S1, "b", S2, "c", S2)),
        UNMAPPED(Kind.TENSOR_NOT_IN_INDEX, index(12, "a", S1, "c", S2)),
        TOTAL(Kind.TOTAL_SIZE_MISMATCH, index(15, "a", S1, "b", S1, "c", S2)),
        NOT_JSON(Kind.INDEX_INVALID, "{\"weight_map\":"),
        NO_WEIGHT_MAP(Kind.INDEX_INVALID, "{\"metadata\":{}}"),
        DUPLICATE(Kind.INDEX_INVALID, "{\"weight_map\":{\"a\":\"x\",\"a\":\"y\"}}"),
        FRACTIONAL_TOTAL(Kind.INDEX_INVALID, "{\"metadata\":{\"total_size\":1.5},\"weight_map\":{}}"),
        ESCAPE(Kind.INDEX_INVALID, index(14, "a", "../" + S1)),
        IN_TWO_SHARDS(Kind.TENSOR_IN_TWO_SHARDS, null);

        final Kind kind;
        final String index;

        Broken(Kind kind, String index) {
            this.kind = kind;
            this.index = index;
        }
    }

    @ParameterizedTest
    @EnumSource(Broken.class)
    void brokenFoldersAreRejected(Broken b, @TempDir Path dir) throws IOException {
        if (b == Broken.IN_TWO_SHARDS) {
            twoShards(dir, index(16, "a", S1, "b", S1, "c", S2));
            Files.write(dir.resolve(S2), file("{" + entry("c", "BF16", "[1]", 0, 2) + "," + entry("a", "BF16", "[1]", 2, 4) + "}", 4));
        } else if (b.index != null) {
            twoShards(dir, b.index);
        }
        assertThatThrownBy(() -> ModelFiles.open(dir).close())
                .isInstanceOfSatisfying(SafetensorsException.class, e -> assertThat(e.kind()).isEqualTo(b.kind))
                .hasMessageContaining(dir.toString());
    }

    @Test
    void readsTheFixtureIndexLikePython() throws IOException {
        ShardIndex idx = ShardIndex.read(Fixtures.path("tiny-llama-v512/reference-merges/lora-r8/bf16/model.safetensors.index.json"));
        assertThat(idx.totalSize()).hasValue(6291456);
        assertThat(idx.weightMap()).hasSize(28);
        assertThat(idx.shardFiles()).containsExactly(S1, S2);
        assertThat(idx.toJson()).isEqualTo(Files.readString(Fixtures.path(
                "tiny-llama-v512/reference-merges/lora-r8/bf16/model.safetensors.index.json")));
    }
}
