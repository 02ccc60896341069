package dev.loraforge.convert;

import dev.loraforge.format.gguf.GgufValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** SentencePiece vocabulary extraction against llama.cpp's Llama-2 vocab GGUF (ggml-vocab-llama-spm.gguf). */
class VocabularyTest {
    @TempDir
    Path tmp;

    private static Map<String, Object> listingKv(GgufListing l, String key) {
        return l.kvs().stream().filter(k -> key.equals(k.get("key"))).findFirst().orElseThrow();
    }

    private static String sha(MetaKv kv) {
        return GgufListing.arraySha((GgufValue.Array) GgufKvs.kv(kv).value());
    }

    @Test
    void llama2PiecesScoresAndTypesMatchLlamaCpp() throws Exception {
        Path dir = tmp.resolve("llama2");
        Files.createDirectories(dir);
        Files.copy(GgufListing.fixture("tokenizers/llama2/tokenizer.model"), dir.resolve("tokenizer.model"));
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 32000}");
        List<MetaKv> kvs = new ArrayList<>();
        VocabularyKvs.addSentencePiece(dir, HfConfig.read(dir), kvs);
        GgufListing l = GgufListing.read("tokenizers/llamacpp-vocab/ggml-vocab-llama-spm.gguf.json");
        assertThat(kvs.stream().map(MetaKv::key).toList()).containsExactly("tokenizer.ggml.model", "tokenizer.ggml.pre",
                "tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type");
        for (MetaKv kv : kvs.subList(2, 5)) {
            assertThat(sha(kv)).as(kv.key()).isEqualTo(listingKv(l, kv.key()).get("sha256"));
        }
    }

    /** Without tokenizer.model: LlamaHfVocab from tokenizer.json; the same 32000 pieces, in id order. */
    @Test
    void llama2FromTokenizerJsonHasTheSamePieces() throws Exception {
        Path dir = tmp.resolve("llama2-hf");
        Files.createDirectories(dir);
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
            Files.copy(GgufListing.fixture("tokenizers/llama2/" + f), dir.resolve(f));
        }
        List<MetaKv> kvs = new ArrayList<>();
        LlamaHfVocabularyKvs.add(dir, HfConfig.readJson(dir.resolve("tokenizer.json"), ConvertException.Kind.BAD_TOKENIZER), kvs);
        GgufListing l = GgufListing.read("tokenizers/llamacpp-vocab/ggml-vocab-llama-spm.gguf.json");
        assertThat(sha(kvs.get(2))).isEqualTo(listingKv(l, "tokenizer.ggml.tokens").get("sha256"));
        @SuppressWarnings("unchecked")
        List<Object> types = (List<Object>) kvs.get(4).value();
        assertThat(types.subList(0, 4)).containsExactly((Object) 3L, 3L, 3L, 6L); // <unk> <s> </s> specials, <0x00> byte
        assertThat(types.get(500)).isEqualTo(1L);
        assertThat(kvs.stream().map(MetaKv::key)).contains("tokenizer.ggml.bos_token_id", "tokenizer.ggml.add_bos_token");
    }

    @Test
    void specialVocabFromTokenizerJsonConfigAndConfigJson() throws Exception {
        Path dir = GgufListing.fixture("tinystories-260k");
        List<MetaKv> kvs = new ArrayList<>();
        new SpecialVocab(dir, false, null, 512).addTo(kvs);
        assertThat(kvs).extracting(MetaKv::toString).containsExactly(
                "tokenizer.ggml.bos_token_id UINT32 1", "tokenizer.ggml.eos_token_id UINT32 2",
                "tokenizer.ggml.unknown_token_id UINT32 0", "tokenizer.ggml.add_bos_token BOOL true",
                "tokenizer.ggml.add_sep_token BOOL false", "tokenizer.ggml.add_eos_token BOOL false");
    }

    @Test
    void sentencePieceProtobufPieces() {
        SentencePieceModel m = SentencePieceModel.read(GgufListing.fixture("tinystories-260k/tokenizer.model"));
        assertThat(m.size()).isEqualTo(512);
        assertThat(new String(m.pieces().get(1).text())).isEqualTo("<s>");
        assertThat(m.pieces().get(1).type()).isEqualTo(SentencePieceModel.CONTROL);
        assertThat(m.pieces().get(3).type()).isEqualTo(SentencePieceModel.BYTE);
        assertThat(new String(m.pieces().get(3).text())).isEqualTo("<0x00>");
    }
}
