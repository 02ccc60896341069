package dev.loraforge.merge;

import dev.loraforge.io.Progress;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loraforge.adapter.AdapterException;
import dev.loraforge.adapter.AdapterWriter;
import dev.loraforge.format.safetensors.ModelFiles;
import dev.loraforge.format.safetensors.ShardIndex;
import dev.loraforge.io.PythonJson;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorView;
import dev.loraforge.testing.FixtureFiles;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The streaming merge writes a complete, sharded, atomic model folder whose tensors equal the reference. */
class ModelMergerTest {
    @TempDir
    static Path shared;
    static Path tinyLlama;

    @TempDir
    Path tmp;

    @BeforeAll
    static void base() {
        tinyLlama = FixtureFiles.tinyLlama(shared.resolve("tiny-llama-v512"));
    }

    static ModelMerger.Request request(Path base, Path adapter, Path out, DType dtype, long shard) {
        return new ModelMerger.Request(base, List.of(adapter), List.of(1.0), out, dtype, shard, false, List.of("test"));
    }

    static byte[] bytes(TensorView v) {
        return v.data().toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void shardedMergeEqualsReferenceAndCopiesTheRest() throws IOException {
        Path adapter = FixtureFiles.adapter("lora-r8", tmp.resolve("lora-r8"));
        Path out = tmp.resolve("merged");
        ModelMerger.Result r = ModelMerger.merge(request(tinyLlama, adapter, out, null, 3_500_000), Progress.NONE);
        assertThat(r.tensors()).isEqualTo(39);
        assertThat(r.changed()).isEqualTo(28);
        assertThat(r.files()).contains(ShardIndex.FILE_NAME).hasSizeGreaterThan(2);
        assertThat(out.resolve("model.safetensors")).doesNotExist();
        try (ModelFiles merged = ModelFiles.open(out);
             ModelFiles base = ModelFiles.open(tinyLlama);
             ModelFiles ref = ModelFiles.open(MergeReferenceTest.fixtureDir("tiny-llama-v512/reference-merges/lora-r8/bf16"))) {
            assertThat(merged.names()).containsExactlyInAnyOrderElementsOf(base.names());
            for (String n : merged.names()) {
                byte[] expect = bytes(ref.find(n).orElse(base.get(n)));
                assertThat(bytes(merged.get(n))).as(n).isEqualTo(expect);
            }
            long total = merged.names().stream().mapToLong(n -> merged.get(n).byteSize()).sum();
            assertThat(merged.index().orElseThrow().totalSize().getAsLong()).isEqualTo(total);
        }
        for (String f : List.of("config.json", "generation_config.json", "tokenizer.json", "tokenizer.model",
                "tokenizer_config.json", "special_tokens_map.json", "loraforge.json")) {
            assertThat(out.resolve(f)).exists();
        }
        assertThat(PythonJson.parseObject(Files.readString(out.resolve("config.json"))))
                .isEqualTo(PythonJson.parseObject(Files.readString(tinyLlama.resolve("config.json"))));
        String record = Files.readString(out.resolve("loraforge.json"));
        // the hashes against the JDK's digest of the whole file, not our chunked reader
        assertThat(record).contains(wholeFileSha256(adapter.resolve("adapter_model.safetensors")))
                .contains(wholeFileSha256(adapter.resolve("adapter_config.json")));
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".loraforge-tmp-"));
        }
    }

    @Test
    void singleFileWhenItFitsAndF32DtypeUpdatesConfig() throws IOException {
        Path adapter = FixtureFiles.adapter("lora-dora", tmp.resolve("dora"));
        Path out = tmp.resolve("merged-f32");
        ModelMerger.merge(request(tinyLlama, adapter, out, DType.F32, ModelMerger.DEFAULT_MAX_SHARD_BYTES), Progress.NONE);
        assertThat(out.resolve("model.safetensors")).exists();
        try (ModelFiles merged = ModelFiles.open(out);
             ModelFiles ref = ModelFiles.open(MergeReferenceTest.fixtureDir("tiny-llama-v512/reference-merges/lora-dora/f32"))) {
            for (String n : ref.names()) {
                assertThat(bytes(merged.get(n))).as(n).isEqualTo(bytes(ref.get(n)));
            }
            assertThat(merged.get("model.norm.weight").dtype()).isEqualTo(DType.F32);
        }
        assertThat(PythonJson.parseObject(Files.readString(out.resolve("config.json"))).get("torch_dtype")).isEqualTo("float32");
    }

    @Test
    void tiedLmHeadReplacedByModulesToSaveIsUntied() throws IOException {
        Path stories = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        float[] head = new float[512 * 64];
        for (int i = 0; i < head.length; i++) {
            head[i] = (i % 97) * 0.001f - 0.05f;
        }
        Path adapter = tmp.resolve("mts");
        String cfg = "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,\"target_modules\":[\"q_proj\"],\"modules_to_save\":[\"lm_head\"]}";
        AdapterWriter.write(adapter, cfg, List.of(f32("base_model.model.lm_head.weight", head, 512, 64)), false);
        Path out = tmp.resolve("untied");
        ModelMerger.Result r = ModelMerger.merge(request(stories, adapter, out, null, ModelMerger.DEFAULT_MAX_SHARD_BYTES), Progress.NONE);
        assertThat(r.notes()).anyMatch(n -> n.contains("unties"));
        try (ModelFiles merged = ModelFiles.open(out); ModelFiles base = ModelFiles.open(stories)) {
            assertThat(merged.get("lm_head.weight").toFloatArray()).isEqualTo(head);
            assertThat(bytes(merged.get("model.embed_tokens.weight"))).isEqualTo(bytes(base.get("model.embed_tokens.weight")));
        }
        assertThat(PythonJson.parseObject(Files.readString(out.resolve("config.json"))).get("tie_word_embeddings")).isEqualTo(false);
    }

    @Test
    void embeddingLoraIsTransposedBA() throws IOException {
        // embedding LoRA on the tied stories260K embedding: ΔW[v][d] = s·Σ_k B[d][k]·A[k][v], checked in BigDecimal
        Path stories = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        int r = 2, vocab = 512, dim = 64;
        float[] a = new float[r * vocab];
        float[] b = new float[dim * r];
        for (int i = 0; i < a.length; i++) {
            a[i] = ((i * 37) % 101 - 50) * 0.0007f;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = ((i * 53) % 89 - 44) * 0.0011f;
        }
        Path adapter = tmp.resolve("emb");
        String cfg = "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":3,\"target_modules\":[\"embed_tokens\"]}";
        AdapterWriter.write(adapter, cfg, List.of(f32("base_model.model.model.embed_tokens.lora_embedding_A", a, r, vocab),
                f32("base_model.model.model.embed_tokens.lora_embedding_B", b, dim, r)), false);
        Path out = tmp.resolve("emb-merged");
        ModelMerger.merge(request(stories, adapter, out, null, ModelMerger.DEFAULT_MAX_SHARD_BYTES), Progress.NONE);
        try (ModelFiles merged = ModelFiles.open(out); ModelFiles base = ModelFiles.open(stories)) {
            float[] w = base.get("model.embed_tokens.weight").toFloatArray();
            float[] got = merged.get("model.embed_tokens.weight").toFloatArray();
            java.math.BigDecimal s = new java.math.BigDecimal("1.5");
            for (int v = 0; v < vocab; v++) {
                for (int d = 0; d < dim; d++) {
                    java.math.BigDecimal acc = java.math.BigDecimal.ZERO;
                    for (int k = 0; k < r; k++) {
                        acc = acc.add(new java.math.BigDecimal(b[d * r + k]).multiply(new java.math.BigDecimal(a[k * vocab + v])));
                    }
                    float expect = (float) new java.math.BigDecimal(w[v * dim + d]).add(s.multiply(acc)).doubleValue();
                    assertThat(got[v * dim + d]).as("[%d][%d]", v, d).isEqualTo(expect);
                }
            }
            // only the input side changed: lm_head keeps the base embedding, written explicitly
            assertThat(merged.get("lm_head.weight").toFloatArray()).isEqualTo(w);
        }
    }

    @Test
    void refusesExistingOutputAndInputFoldersAndLeavesNothing() throws IOException {
        Path adapter = FixtureFiles.adapter("lora-r8", tmp.resolve("a"));
        Path out = tmp.resolve("busy");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "user data");
        assertThatThrownBy(() -> ModelMerger.merge(request(tinyLlama, adapter, out, null, 1L << 40), Progress.NONE))
                .isInstanceOf(FileAlreadyExistsException.class).hasMessageContaining("not empty");
        assertThat(Files.readString(out.resolve("keep.txt"))).isEqualTo("user data");
        assertThatThrownBy(() -> ModelMerger.merge(request(tinyLlama, adapter, adapter, null, 1L << 40), Progress.NONE))
                .isInstanceOf(FileAlreadyExistsException.class).hasMessageContaining("input folder");
        assertThatThrownBy(() -> ModelMerger.merge(request(tinyLlama, adapter, adapter.resolve("sub"), null, 1L << 40), Progress.NONE))
                .isInstanceOf(FileAlreadyExistsException.class).hasMessageContaining("inside");
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".loraforge-tmp-"));
        }
    }

    @Test
    void diskFullMidWriteLeavesNoOutput() throws IOException {
        Path adapter = FixtureFiles.adapter("lora-r8", tmp.resolve("a"));
        Path out = tmp.resolve("full");
        assertThatThrownBy(() -> ModelMerger.merge(request(tinyLlama, adapter, out, null, 3_500_000), Progress.NONE,
                dir -> DiskSpace.limited(4_000_000)))
                .isInstanceOf(IOException.class).hasMessageContaining("No space left");
        assertThat(out).doesNotExist();
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".loraforge-tmp-"));
        }
    }

    @Test
    void adapterForAnotherBaseFailsBeforeAnythingIsWritten() {
        Path stories = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        Path adapter = FixtureFiles.adapter("lora-r8", tmp.resolve("a"));
        Path out = tmp.resolve("never");
        assertThatThrownBy(() -> ModelMerger.merge(request(stories, adapter, out, null, 1L << 40), Progress.NONE))
                .isInstanceOf(AdapterException.class)
                .hasMessageContaining("model.layers.0.mlp.down_proj.weight").hasMessageContaining("[256, 768]")
                .hasMessageContaining("[64, 172]");
        assertThat(out).doesNotExist();
    }

    static TensorView f32(String name, float[] v, long... dims) {
        ByteBuffer bb = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            bb.putFloat(f);
        }
        return new TensorView(name, DType.F32, Shape.of(dims), MemorySegment.ofArray(bb.array()));
    }


    static String wholeFileSha256(Path file) throws java.io.IOException {
        try {
            return java.util.HexFormat.of().formatHex(
                    java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Files longer than the reader's 1 MiB buffer, and of no whole number of buffers, hash as a whole. */
    @Test
    void sha256OfAFileOfSeveralBuffers() throws Exception {
        byte[] bytes = new byte[(5 << 19) + 77];
        new java.util.SplittableRandom(9).nextBytes(bytes);
        Path f = tmp.resolve("blob");
        Files.write(f, bytes);
        assertThat(ModelMerger.sha256(f)).isEqualTo(wholeFileSha256(f));
        Files.write(f, new byte[0]);
        assertThat(ModelMerger.sha256(f)).isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
