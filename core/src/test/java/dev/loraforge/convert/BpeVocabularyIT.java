package dev.loraforge.convert;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Byte-level BPE vocabularies: the pre-tokenizer is identified the way convert_hf_to_gguf.py does it (sha256 of
 * the ids of its check text), so the hash must be one llama.cpp lists. The llama3 fixture is the first Llama-3
 * release's tokenizer.json, whose post-processor is ByteLevel only (no BOS in encode): llama.cpp's table gives that
 * hash as "smaug-bpe" (same pre-tokenizer regex as llama-bpe); current Llama-3 files add BOS and hash to llama-bpe.
 */
class BpeVocabularyIT {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"llama3, 128256, smaug-bpe, 128000, <|begin_of_text|>", "qwen3, 151936, qwen2, 151643, <|endoftext|>"})
    void preTokenizerHashAndVocabulary(String name, long vocabSize, String pre, int specialId, String special) throws Exception {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        try (InputStream in = new GZIPInputStream(Files.newInputStream(GgufListing.fixture("tokenizers/" + name + "/tokenizer.json.gz")))) {
            Files.copy(in, dir.resolve("tokenizer.json"));
        }
        Files.copy(GgufListing.fixture("tokenizers/" + name + "/tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": " + vocabSize + "}");
        List<MetaKv> kvs = new ArrayList<>();
        BpeVocabularyKvs.addGpt2(dir, HfConfig.read(dir), kvs);
        assertThat(kvs.get(0)).isEqualTo(MetaKv.string("tokenizer.ggml.model", "gpt2"));
        assertThat(kvs.get(1)).isEqualTo(MetaKv.string("tokenizer.ggml.pre", pre));
        List<?> tokens = (List<?>) kvs.get(2).value();
        List<?> types = (List<?>) kvs.get(3).value();
        assertThat(tokens).hasSize((int) vocabSize);
        assertThat(tokens.get(specialId)).isEqualTo(special);
        assertThat(types.get(specialId)).isEqualTo((long) VocabularyKvs.CONTROL);
        assertThat(types.get(100)).isEqualTo((long) VocabularyKvs.NORMAL);
        assertThat(kvs.get(4).key()).isEqualTo("tokenizer.ggml.merges");
        assertThat(kvs.stream().map(MetaKv::key)).contains("tokenizer.chat_template", "tokenizer.ggml.eos_token_id");
    }
}
