package dev.loraforge.convert;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The Ollama Modelfile: chat format recognised from the Jinja template, stop tokens, sampling defaults. */
class OllamaModelfileTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"meta-llama-Llama-3.1-8B-Instruct.jinja, llama3", "Qwen-Qwen2.5-7B-Instruct.jinja, chatml",
            "Qwen-Qwen3-0.6B.jinja, chatml", "google-gemma-2-2b-it.jinja, gemma", "microsoft-Phi-3.5-mini-instruct.jinja, phi3",
            "mistralai-Mistral-Nemo-Instruct-2407.jinja, mistral"})
    void recognisesTheFixtureTemplates(String file, String format) throws Exception {
        String jinja = Files.readString(GgufListing.fixture("tokenizers/chat-templates/" + file));
        assertThat(OllamaModelfile.recognise(jinja)).isNotNull().extracting(OllamaModelfile.Format::name).isEqualTo(format);
    }

    @Test
    void llama3Modelfile() throws Exception {
        Path dir = tmp.resolve("m");
        Files.createDirectories(dir);
        Files.copy(GgufListing.fixture("tokenizers/llama3/tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        Files.writeString(dir.resolve("generation_config.json"), "{\"temperature\": 0.6, \"top_p\": 0.9}");
        String mf = OllamaModelfile.build(dir, Path.of("llama.gguf"), List.of());
        assertThat(mf).contains("FROM ./llama.gguf").contains("TEMPLATE \"\"\"").contains("<|start_header_id|>")
                .contains("PARAMETER stop \"<|eot_id|>\"").contains("PARAMETER temperature 0.6").contains("PARAMETER top_p 0.9");
    }
}
