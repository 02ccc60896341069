package dev.loraforge.convert;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Base + PEFT adapter → GGUF in one pass, against llama.cpp's conversion of the float64 reference merge. */
class AdapterConversionTest {
    @TempDir
    Path tmp;

    @Test
    void storiesWithLoraR4MatchesTheConvertedReferenceMerge() throws Exception {
        Path model = GgufListing.fixture("tinystories-260k");
        Path out = tmp.resolve("merged.gguf");
        HfToGguf.convert(model, List.of(new HfToGguf.AdapterSpec(model.resolve("lora-r4"), 1.0)), out, OutputType.F32, false);
        GgufListing listing = GgufListing.read("tinystories-260k/gguf/stories260k-lora-r4-merged-f32.gguf.json");
        // the reference was converted from a folder named lora-r4-merged: only the naming keys differ
        assertThat(listing.diff(out, Set.of("general.name", "general.basename"))).isEmpty();
    }
}
