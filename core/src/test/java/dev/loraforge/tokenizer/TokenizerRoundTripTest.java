package dev.loraforge.tokenizer;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Seeded random text (ASCII, accents, CJK, emoji, odd whitespace) must decode back to itself. */
class TokenizerRoundTripTest {
    private static final int[][] RANGES = {
        {0x20, 0x3B}, {0x3D, 0x7E}, {'\n', '\n'}, {'\t', '\t'}, {0xA0, 0x17F}, {0x400, 0x4FF}, {0x4E00, 0x4FFF},
        {0x3040, 0x30FF}, {0x1F300, 0x1F64F}, {0x2000, 0x206F}, {0x0E00, 0x0E7F}, {0x10000, 0x1007F}
    };

    private static final Map<String, Tokenizer> TOKENIZERS = Map.of(
            "llama2 tokenizer.model", Tokenizers.fromSentencePieceModel(Fixtures.path("tokenizers/llama2/tokenizer.model")),
            "llama2 tokenizer.json", Tokenizers.fromTokenizerJson(Fixtures.path("tokenizers/llama2/tokenizer.json")),
            "stories260K tokenizer.model", Tokenizers.fromSentencePieceModel(Fixtures.path("tinystories-260k/tokenizer.model")),
            "llama3", BpeTokenizerTest.gz("tokenizers/llama3/tokenizer.json.gz"),
            "qwen3", BpeTokenizerTest.gz("tokenizers/qwen3/tokenizer.json.gz"),
            "gpt-2 GGUF", Tokenizers.fromGgufMetadata(GgufKv.read(Fixtures.path("tokenizers/llamacpp-vocab/ggml-vocab-gpt-2.gguf"))::get));

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String name : new java.util.TreeSet<>(TOKENIZERS.keySet())) {
            for (long seed = 1; seed <= 8; seed++) {
                out.add(Arguments.of(name, seed));
            }
        }
        return out.stream();
    }

    static String randomText(SplittableRandom r) {
        StringBuilder sb = new StringBuilder();
        int len = r.nextInt(0, 60);
        while (sb.length() < len) {
            int[] range = RANGES[r.nextInt(RANGES.length)];
            int cp = r.nextInt(range[0], range[1] + 1);
            if (Character.isDefined(cp) && !Character.isISOControl(cp) || cp == '\n' || cp == '\t') {
                sb.appendCodePoint(cp);
            }
        }
        return sb.toString();
    }

    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("cases")
    void decodeOfEncodeIsIdentity(String name, long seed) {
        Tokenizer t = TOKENIZERS.get(name);
        SplittableRandom r = new SplittableRandom(seed);
        for (int k = 0; k < 25; k++) {
            String text = randomText(r);
            // Qwen's tokenizer NFC-normalizes; the others keep the text as is
            String expected = name.equals("qwen3") ? Normalizer.normalize(text, Normalizer.Form.NFC) : text;
            int[] ids = t.encode(text, false);
            assertThat(t.decode(ids)).as("seed %d text %d '%s'", seed, k, text).isEqualTo(expected);
            for (int id : ids) {
                assertThat(id).isBetween(0, t.vocabSize() - 1);
            }
        }
    }
}
