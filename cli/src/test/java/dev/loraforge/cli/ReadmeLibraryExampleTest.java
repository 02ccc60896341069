package dev.loraforge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loraforge.format.safetensors.ModelFiles;
import dev.loraforge.io.Progress;
import dev.loraforge.merge.ModelMerger;
import dev.loraforge.tensor.TensorView;
import dev.loraforge.testing.FixtureFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's "library in three lines", as written there, so the README stays true. */
class ReadmeLibraryExampleTest {
    @TempDir
    Path tmp;

    @Test
    void readmeSnippetRuns() throws IOException {
        Path baseDir = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        Path adapterDir = FixtureFiles.adapter("tinystories-260k/lora-r4", tmp.resolve("lora-r4"));
        Path outDir = tmp.resolve("merged");
        float first;
        try (ModelFiles base = ModelFiles.open(baseDir)) {
            TensorView q = base.get("model.layers.0.self_attn.q_proj.weight");
            first = q.getFloat(0);
        }
        ModelMerger.merge(new ModelMerger.Request(baseDir, List.of(adapterDir), List.of(1.0), outDir,
                null, 5_000_000_000L, false, List.of()), Progress.NONE);
        assertThat(Float.isFinite(first)).isTrue();
        // the merged q_proj differs from the base (the adapter targets it) and the folder is complete
        try (ModelFiles base = ModelFiles.open(baseDir); ModelFiles merged = ModelFiles.open(outDir)) {
            assertThat(merged.names()).containsExactlyInAnyOrderElementsOf(base.names());
            assertThat(merged.get("model.layers.0.self_attn.q_proj.weight").toFloatArray())
                    .isNotEqualTo(base.get("model.layers.0.self_attn.q_proj.weight").toFloatArray());
        }
    }
}
