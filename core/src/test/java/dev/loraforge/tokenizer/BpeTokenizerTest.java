package dev.loraforge.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;

/** Byte-level BPE against llama.cpp's test-tokenizer-0 vectors: llama-bpe, qwen2, gpt-2. */
class BpeTokenizerTest {
    private static final Tokenizer LLAMA3 = gz("tokenizers/llama3/tokenizer.json.gz");
    private static final Tokenizer QWEN3 = gz("tokenizers/qwen3/tokenizer.json.gz");
    private static final Tokenizer GPT2;

    static {
        Map<String, Object> kv = GgufKv.read(Fixtures.path("tokenizers/llamacpp-vocab/ggml-vocab-gpt-2.gguf"));
        GPT2 = Tokenizers.fromGgufMetadata(kv::get);
    }

    static Tokenizer gz(String path) {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(Fixtures.path(path)))) {
            return Tokenizers.fromTokenizerJson(in, path);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Fixtures.VocabCase> llamaBpe() {
        return Fixtures.vocabCases("llama-bpe");
    }

    static List<Fixtures.VocabCase> qwen2() {
        return Fixtures.vocabCases("qwen2");
    }

    static List<Fixtures.VocabCase> gpt2() {
        return Fixtures.vocabCases("gpt-2");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("llamaBpe")
    void llama3MatchesLlamaCpp(Fixtures.VocabCase c) {
        assertThat(LLAMA3.encode(c.text(), false)).containsExactly(c.ids());
        assertThat(LLAMA3.decode(c.ids())).isEqualTo(c.text());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("qwen2")
    void qwen3MatchesLlamaCpp(Fixtures.VocabCase c) {
        assertThat(QWEN3.encode(c.text(), false)).containsExactly(c.ids());
        assertThat(QWEN3.decode(c.ids())).isEqualTo(java.text.Normalizer.normalize(c.text(), java.text.Normalizer.Form.NFC));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("gpt2")
    void gpt2GgufMatchesLlamaCpp(Fixtures.VocabCase c) {
        assertThat(GPT2.encode(c.text(), false)).containsExactly(c.ids());
        assertThat(GPT2.decode(c.ids())).isEqualTo(c.text());
    }

    @Test
    void specialTokensAndConfig(@TempDir Path tmp) throws IOException {
        Files.createDirectories(tmp.resolve("llama3"));
        Files.createDirectories(tmp.resolve("qwen3"));
        Tokenizer llama3 = Tokenizers.load(Fixtures.gunzipToDir("tokenizers/llama3/tokenizer.json.gz", tmp.resolve("llama3")));
        Tokenizer qwen3 = Tokenizers.load(Fixtures.gunzipToDir("tokenizers/qwen3/tokenizer.json.gz", tmp.resolve("qwen3")));

        assertThat(llama3.vocabSize()).isEqualTo(128256);
        assertThat(llama3.bos()).hasValue(128000);
        assertThat(llama3.eos()).hasValue(128001); // this config's eos_token is <|end_of_text|>
        assertThat(llama3.isSpecial(128009)).isTrue();
        assertThat(llama3.tokenText(128009)).isEqualTo("<|eot_id|>");
        assertThat(llama3.encode("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", false))
                .containsExactly(128006, 882, 128007, 271, 13347, 128009);

        assertThat(qwen3.vocabSize()).isEqualTo(151669);
        assertThat(qwen3.bos()).isEmpty();
        assertThat(qwen3.eos()).hasValue(151645);
        assertThat(qwen3.encode("Hello", true)).containsExactly(9707);
        assertThat(qwen3.encode("<|im_start|>user\nHi<|im_end|>", false)).containsExactly(151644, 872, 198, 13048, 151645);
        assertThat(qwen3.isSpecial(151644)).isTrue();
        assertThat(qwen3.isSpecial(9707)).isFalse();

        assertThat(GPT2.vocabSize()).isEqualTo(50257);
        assertThat(GPT2.bos()).hasValue(50256);
        assertThat(GPT2.encode("Hello world", false)).containsExactly(15496, 995);
    }
}
