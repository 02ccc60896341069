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
        HfToGguf.convert(model, out, OutputType.parse(type).orElseThrow(), false);
        GgufListing listing = GgufListing.read("tiny-llama-v512/gguf/tiny-llama-v512-" + type + ".gguf.json");
        assertThat(listing.diff(out, Set.of())).isEmpty();
        assertThat(GgufListing.sha256(out)).isEqualTo(listing.fileSha256());
    }

    /**
     * llama-quantize types: same KVs (file_type and quantization_version moved to the end), llama.cpp's tensor
     * order, the mix of tensor types, and every tensor's bytes; so the whole file's sha256 too.
     */
    @ParameterizedTest
    @ValueSource(strings = {"q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k_s", "q3_k_m", "q3_k_l", "q4_k_s",
            "q4_k_m", "q5_k_s", "q5_k_m", "q6_k"})
    void quantizedTypesMatchLlamaQuantize(String type) throws Exception {
        Path out = tmp.resolve("tiny-llama-v512-" + type + ".gguf");
        HfToGguf.convert(model, out, OutputType.parse(type).orElseThrow(), false);
        GgufListing listing = GgufListing.read("tiny-llama-v512/gguf/tiny-llama-v512-" + type + ".gguf.json");
        assertThat(listing.diff(out, Set.of())).isEmpty();
        assertThat(GgufListing.sha256(out)).isEqualTo(listing.fileSha256());
    }

    static String lower(OutputType t) {
        return t.name().toLowerCase(Locale.ROOT);
    }
}
