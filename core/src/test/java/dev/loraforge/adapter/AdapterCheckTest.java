package dev.loraforge.adapter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loraforge.format.safetensors.ModelFiles;
import dev.loraforge.io.PythonJson;
import dev.loraforge.merge.HfCache;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorView;
import dev.loraforge.testing.FixtureFiles;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdapterCheckTest {
    @TempDir
    Path tmp;

    static TensorView zeros(String name, long... dims) {
        Shape s = Shape.of(dims);
        return new TensorView(name, DType.F32, s, MemorySegment.ofArray(new byte[(int) s.byteCount(DType.F32)]));
    }

    CheckReport check(Path base, Path adapter) throws IOException {
        try (ModelFiles f = ModelFiles.open(base); LoraAdapter a = LoraAdapter.open(adapter)) {
            return AdapterCheck.check(new AdapterCheck.Base(base, f,
                    PythonJson.parseObject(Files.readString(base.resolve("config.json")))), a);
        }
    }

    @Test
    void resizedVocabularyIsReportedWithTheFix() throws IOException {
        Path stories = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        Path adapter = tmp.resolve("a");
        AdapterWriter.write(adapter, "{\"peft_type\":\"LORA\",\"r\":4,\"target_modules\":[\"q_proj\"],\"modules_to_save\":[\"embed_tokens\"],"
                + "\"base_model_name_or_path\":\"tinystories-260k\"}", List.of(zeros("base_model.model.model.embed_tokens.weight", 520, 64)), false);
        CheckReport r = check(stories, adapter);
        assertThat(r.ok()).isFalse();
        assertThat(r.errors().getFirst().kind()).isEqualTo(AdapterException.Kind.VOCAB_RESIZED);
        assertThat(r.errors().getFirst().message()).contains("512").contains("520").contains("resize");
        assertThat(r.findings()).noneMatch(f -> f.severity() == CheckReport.Severity.WARNING); // base name matches
    }

    @Test
    void missingModuleAndOtherBaseNameAreReported() throws IOException {
        Path stories = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        Path adapter = tmp.resolve("a");
        AdapterWriter.write(adapter, "{\"peft_type\":\"LORA\",\"r\":2,\"target_modules\":[\"c_attn\"],\"base_model_name_or_path\":\"gpt2\"}",
                List.of(zeros("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight", 2, 64),
                        zeros("base_model.model.transformer.h.0.attn.c_attn.lora_B.weight", 192, 2)), false);
        CheckReport r = check(stories, adapter);
        assertThat(r.errors()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(AdapterException.Kind.MISSING_BASE_TENSOR);
            assertThat(f.message()).contains("transformer.h.0.attn.c_attn.weight");
        });
        assertThat(r.findings()).anyMatch(f -> f.severity() == CheckReport.Severity.WARNING && f.message().contains("'gpt2'"));
        assertThatThrownBy(r::throwIfErrors).isInstanceOf(AdapterException.class);
    }

    @Test
    void loraOnATiedLmHeadResolvesToTheEmbedding() throws IOException {
        Path stories = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        Path adapter = tmp.resolve("a");
        AdapterWriter.write(adapter, "{\"peft_type\":\"LORA\",\"r\":2,\"target_modules\":[\"lm_head\"]}",
                List.of(zeros("base_model.model.lm_head.lora_A.weight", 2, 64), zeros("base_model.model.lm_head.lora_B.weight", 512, 2)), false);
        assertThat(check(stories, adapter).ok()).isTrue();
    }

    @Test
    void incompleteModuleAndRankMismatch() throws IOException {
        Path a = tmp.resolve("a");
        AdapterWriter.write(a, "{\"peft_type\":\"LORA\",\"r\":2}", List.of(zeros("base_model.model.x.lora_A.weight", 2, 4)), false);
        assertThatThrownBy(() -> LoraAdapter.open(a)).isInstanceOf(AdapterException.class).hasMessageContaining("no lora_B");
        Path b = tmp.resolve("b");
        AdapterWriter.write(b, "{\"peft_type\":\"LORA\",\"r\":3}", List.of(zeros("base_model.model.x.lora_A.weight", 2, 4),
                zeros("base_model.model.x.lora_B.weight", 5, 2)), false);
        assertThatThrownBy(() -> LoraAdapter.open(b)).isInstanceOf(AdapterException.class)
                .hasMessageContaining("rank 2 in its tensors but 3");
    }

    @Test
    void hfCacheNameResolvesOfflineThroughRefsMain() throws IOException {
        Path hub = tmp.resolve("hub");
        Path snap = hub.resolve("models--org--tiny/snapshots/abc123");
        Files.createDirectories(snap);
        Files.createDirectories(hub.resolve("models--org--tiny/refs"));
        Files.writeString(hub.resolve("models--org--tiny/refs/main"), "abc123");
        assertThat(HfCache.resolve("org/tiny", hub)).isEqualTo(snap);
        assertThatThrownBy(() -> HfCache.resolve("org/other", hub)).isInstanceOf(NoSuchFileException.class);
        assertThat(HfCache.hubDir(Map.of("HF_HOME", "/h"), Path.of("/u"))).isEqualTo(Path.of("/h/hub"));
        assertThat(HfCache.hubDir(Map.of(), Path.of("/u"))).isEqualTo(Path.of("/u/.cache/huggingface/hub"));
    }
}
