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
    // first: the static tokenizers below are loaded through it
    private static final Map<String, Tokenizer> LOADED = new java.util.concurrent.ConcurrentHashMap<>();
    private static final Tokenizer LLAMA3 = gz("tokenizers/llama3/tokenizer.json.gz");
    private static final Tokenizer QWEN3 = gz("tokenizers/qwen3/tokenizer.json.gz");
    private static final Tokenizer GPT2;

    static {
        Map<String, Object> kv = GgufKv.read(Fixtures.path("tokenizers/llamacpp-vocab/ggml-vocab-gpt-2.gguf"));
        GPT2 = Tokenizers.fromGgufMetadata(kv::get);
    }

    /** A gzipped tokenizer.json, loaded once per test JVM (the large ones take seconds). */
    static Tokenizer gz(String path) {
        return LOADED.computeIfAbsent(path, BpeTokenizerTest::load);
    }

    private static Tokenizer load(String path) {
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

    /**
     * GGUF metadata as convert_hf_to_gguf.py writes it for a byte-level tokenizer.json (tokens by id,
     * added special tokens typed CONTROL, merges as "a b"), so the GGUF path is checked for the
     * llama-bpe and qwen2 vectors although their vocab GGUFs are not in the fixture set.
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> ggufFromTokenizerJson(String path, String pre) {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(Fixtures.path(path)))) {
            Map<String, Object> json = com.fasterxml.jackson.jr.ob.JSON.std.mapFrom(in);
            Map<String, Object> model = (Map<String, Object>) json.get("model");
            Map<String, Object> vocab = (Map<String, Object>) model.get("vocab");
            List<Map<String, Object>> added = (List<Map<String, Object>>) json.get("added_tokens");
            int n = vocab.size() + added.size();
            String[] tokens = new String[n];
            Integer[] types = new Integer[n];
            vocab.forEach((t, id) -> {
                tokens[((Number) id).intValue()] = t;
                types[((Number) id).intValue()] = TokenType.NORMAL.id();
            });
            for (Map<String, Object> a : added) {
                int id = ((Number) a.get("id")).intValue();
                tokens[id] = (String) a.get("content");
                types[id] = Boolean.TRUE.equals(a.get("special")) ? TokenType.CONTROL.id() : TokenType.USER_DEFINED.id();
            }
            List<String> merges = new java.util.ArrayList<>();
            for (Object m : (List<?>) model.get("merges")) {
                merges.add(m instanceof List<?> pair ? pair.get(0) + " " + pair.get(1) : (String) m);
            }
            return Map.of("tokenizer.ggml.model", "gpt2", "tokenizer.ggml.pre", pre,
                    "tokenizer.ggml.tokens", List.of(tokens), "tokenizer.ggml.token_type", List.of(types),
                    "tokenizer.ggml.merges", merges);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void ggufPathForLlamaBpeAndQwen2() {
        Map<String, Object> llama = ggufFromTokenizerJson("tokenizers/llama3/tokenizer.json.gz", "llama-bpe");
        Tokenizer fromGguf = Tokenizers.fromGgufMetadata(llama::get);
        for (Fixtures.VocabCase c : llamaBpe()) {
            assertThat(fromGguf.encode(c.text(), false)).as(c.toString()).containsExactly(c.ids());
        }
        Map<String, Object> qwen = ggufFromTokenizerJson("tokenizers/qwen3/tokenizer.json.gz", "qwen2");
        fromGguf = Tokenizers.fromGgufMetadata(qwen::get);
        for (Fixtures.VocabCase c : qwen2()) {
            assertThat(fromGguf.encode(c.text(), false)).as(c.toString()).containsExactly(c.ids());
        }
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
