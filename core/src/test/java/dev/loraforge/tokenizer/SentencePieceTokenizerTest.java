package dev.loraforge.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * SentencePiece (Llama-2 style) against llama.cpp's test-tokenizer-0 vectors for llama-spm, from
 * tokenizer.model, tokenizer.json and the vocab GGUF, and the stories260K prompt ids.
 */
class SentencePieceTokenizerTest {
    private static final Tokenizer FROM_MODEL = Tokenizers.fromSentencePieceModel(Fixtures.path("tokenizers/llama2/tokenizer.model"));
    private static final Tokenizer FROM_JSON = Tokenizers.load(Fixtures.path("tokenizers/llama2"));
    private static final Tokenizer FROM_GGUF;

    static {
        Map<String, Object> kv = GgufKv.read(Fixtures.path("tokenizers/llamacpp-vocab/ggml-vocab-llama-spm.gguf"));
        FROM_GGUF = Tokenizers.fromGgufMetadata(kv::get);
    }

    static List<Fixtures.VocabCase> cases() {
        return Fixtures.vocabCases("llama-spm");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void tokenizerModelMatchesLlamaCpp(Fixtures.VocabCase c) {
        assertThat(FROM_MODEL.encode(c.text(), false)).containsExactly(c.ids());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void tokenizerJsonMatchesLlamaCpp(Fixtures.VocabCase c) {
        assertThat(FROM_JSON.encode(c.text(), false)).containsExactly(c.ids());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void ggufVocabularyMatchesLlamaCpp(Fixtures.VocabCase c) {
        assertThat(FROM_GGUF.encode(c.text(), false)).containsExactly(c.ids());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decodeRoundTrips(Fixtures.VocabCase c) {
        // SentencePiece adds one leading space and decoding removes exactly one
        assertThat(FROM_MODEL.decode(c.ids())).isEqualTo(c.text());
        assertThat(FROM_JSON.decode(c.ids())).isEqualTo(c.text());
        assertThat(FROM_GGUF.decode(c.ids())).isEqualTo(c.text());
    }

    @Test
    void stories260kPromptWithBos() {
        int[] expected = {1, 403, 407, 261, 378};
        Tokenizer model = Tokenizers.fromSentencePieceModel(Fixtures.path("tinystories-260k/tokenizer.model"));
        Tokenizer json = Tokenizers.load(Fixtures.path("tinystories-260k"));
        assertThat(model.encode("Once upon a time", true)).containsExactly(expected);
        assertThat(json.encode("Once upon a time", true)).containsExactly(expected);
        assertThat(model.decode(new int[] {403, 407, 261, 378})).isEqualTo("Once upon a time");
        assertThat(json.decode(new int[] {403, 407, 261, 378})).isEqualTo("Once upon a time");
        assertThat(model.vocabSize()).isEqualTo(512);
        assertThat(json.vocabSize()).isEqualTo(512);
    }

    @Test
    void specialIdsAndFlags() {
        for (Tokenizer t : List.of(FROM_MODEL, FROM_JSON, FROM_GGUF)) {
            assertThat(t.vocabSize()).isEqualTo(32000);
            assertThat(t.bos()).hasValue(1);
            assertThat(t.eos()).hasValue(2);
            assertThat(t.isSpecial(1)).isTrue();
            assertThat(t.isSpecial(15043)).isFalse();
            assertThat(t.tokenText(15043)).isEqualTo("▁Hello");
            assertThat(t.encode("Hello", true)).containsExactly(1, 15043);
            // special tokens written in the text are single tokens
            assertThat(t.encode("Hello</s>", false)).containsExactly(15043, 2);
        }
    }

    @Test
    void corruptModelFilesAreRejected() {
        assertThatThrownBy(() -> SentencePieceModelFile.parse(new byte[] {0x0A, 0x7F}, "bad.model"))
                .isInstanceOf(TokenizerException.class)
                .hasMessageContaining("bad.model")
                .extracting(e -> ((TokenizerException) e).kind()).isEqualTo(TokenizerException.Kind.MALFORMED);
        assertThatThrownBy(() -> SentencePieceModelFile.parse(new byte[0], "empty.model"))
                .extracting(e -> ((TokenizerException) e).kind()).isEqualTo(TokenizerException.Kind.MISSING_FIELD);
        assertThatThrownBy(() -> FROM_MODEL.decode(new int[] {32000}))
                .extracting(e -> ((TokenizerException) e).kind()).isEqualTo(TokenizerException.Kind.BAD_TOKEN_ID);
    }
}
