package dev.loraforge.convert;

import dev.loraforge.testing.FixtureFiles;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * tiny-llama-v512 (BF16, regenerated) → GGUF for every file type the fixtures list: every KV (type, value,
 * float bits) and every tensor's sha256 as in llama.cpp's file, and the whole file's sha256 from the listing.
 */
class TinyLlamaConversionTest {
    @TempDir
    static Path tmp;
    static Path model;

    @BeforeAll
    static void generate() {
        model = FixtureFiles.tinyLlama(tmp.resolve("tiny-llama-v512"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"f32", "f16", "bf16"})
    void floatTypesMatchConvertHfToGguf(String type) throws Exception {
        Path out = tmp.resolve("tiny-llama-v512-" + type + ".gguf");
        HfToGguf.convert(model, out, OutputType.parse(type).orElseThrow(), null, null, false);
        GgufListing listing = GgufListing.read("tiny-llama-v512/gguf/tiny-llama-v512-" + type + ".gguf.json");
        assertThat(listing.diff(out, Set.of())).isEmpty();
        assertThat(GgufListing.sha256(out)).isEqualTo(listing.fileSha256());
    }

    static String lower(OutputType t) {
        return t.name().toLowerCase(Locale.ROOT);
    }
}
