package dev.loraforge.convert;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** stories260K (F32 safetensors) → GGUF, compared byte for byte with convert_hf_to_gguf.py's files. */
class StoriesConversionTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"F32, stories260k-f32.gguf", "F16, stories260k-f16.gguf"})
    void wholeFileIsByteIdenticalToLlamaCpp(OutputType type, String expected) throws Exception {
        Path model = GgufListing.fixture("tinystories-260k");
        Path out = tmp.resolve("out.gguf");
        HfToGguf.convert(model, out, type, false);

        GgufListing listing = GgufListing.read("tinystories-260k/gguf/" + expected + ".json");
        assertThat(listing.diff(out, Set.of())).isEmpty();
        assertThat(GgufListing.sha256(out)).isEqualTo(listing.fileSha256());
        assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(model.resolve("gguf/" + expected)));
    }
}
