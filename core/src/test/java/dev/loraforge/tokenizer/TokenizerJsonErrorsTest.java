package dev.loraforge.tokenizer;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** One small hostile or unsupported tokenizer.json per rule, each rejected with its kind and a message naming the file. */
class TokenizerJsonErrorsTest {
    private static final String VOCAB = "\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}";

    enum Case {
        NOT_JSON("{\"model\": ", TokenizerException.Kind.MALFORMED, "not valid JSON"),
        NO_MODEL("{\"version\": \"1.0\"}", TokenizerException.Kind.MALFORMED, "model"),
        WORDPIECE("{\"model\": {\"type\": \"WordPiece\", " + VOCAB + "}}", TokenizerException.Kind.UNSUPPORTED, "WordPiece"),
        MERGE_OF_UNKNOWN_TOKEN("{\"model\": {\"type\": \"BPE\", " + VOCAB + ", \"merges\": [\"a c\"]}}",
                TokenizerException.Kind.MALFORMED, "'a c'"),
        MERGE_WITHOUT_SPACE("{\"model\": {\"type\": \"BPE\", " + VOCAB + ", \"merges\": [\"ab\"]}}",
                TokenizerException.Kind.MALFORMED, "no space"),
        NEGATIVE_ID("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}}",
                TokenizerException.Kind.BAD_TOKEN_ID, "-1"),
        HUGE_ID("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 2147483647}, \"merges\": []}}",
                TokenizerException.Kind.MALFORMED, "2147483647"),
        SUBWORD_PREFIX("{\"model\": {\"type\": \"BPE\", " + VOCAB + ", \"merges\": [], \"continuing_subword_prefix\": \"##\"}}",
                TokenizerException.Kind.UNSUPPORTED, "continuing_subword_prefix"),
        UNKNOWN_NORMALIZER("{\"normalizer\": {\"type\": \"BertNormalizer\"}, \"model\": {\"type\": \"BPE\", " + VOCAB + ", \"merges\": []}}",
                TokenizerException.Kind.UNSUPPORTED, "BertNormalizer"),
        INVERTED_SPLIT("{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"}, \"behavior\": \"Isolated\", \"invert\": true},"
                + " \"model\": {\"type\": \"BPE\", " + VOCAB + ", \"merges\": []}}", TokenizerException.Kind.UNSUPPORTED, "invert");

        final String json;
        final TokenizerException.Kind kind;
        final String messagePart;

        Case(String json, TokenizerException.Kind kind, String messagePart) {
            this.json = json;
            this.kind = kind;
            this.messagePart = messagePart;
        }
    }

    @ParameterizedTest
    @EnumSource(Case.class)
    void rejected(Case c, @TempDir Path tmp) throws IOException {
        Path file = Files.writeString(tmp.resolve("tokenizer.json"), c.json);
        assertThatThrownBy(() -> Tokenizers.fromTokenizerJson(file))
                .isInstanceOf(TokenizerException.class)
                .hasMessageContaining("tokenizer.json")
                .hasMessageContaining(c.messagePart)
                .extracting(e -> ((TokenizerException) e).kind()).isEqualTo(c.kind);
    }
}
