package dev.loraforge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.format.gguf.GgufFile;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checks the inspect output for llama.cpp files against numbers from their gguf_listing.py listings. */
class GgufInspectTest {
    @TempDir
    Path tmp;

    /** The core test-jar's fixture, copied out (it sits inside a jar when the cli module is tested). */
    Path fixture(String rel) throws Exception {
        Path p = tmp.resolve(rel.replace('/', '_'));
        if (!Files.exists(p)) {
            try (InputStream in = GgufInspectTest.class.getResourceAsStream("/fixtures/" + rel)) {
                Files.copy(in, p);
            }
        }
        return p;
    }

    @Test
    void textShowsHeaderKvsTensorsAndTotals() throws Exception {
        StringWriter sw = new StringWriter();
        try (GgufFile f = GgufFile.open(fixture("tinystories-260k/gguf/stories260k-f16.gguf"))) {
            GgufInspect.printText(f, new PrintWriter(sw));
        }
        String text = sw.toString();
        assertThat(text).contains("GGUF v3, 536,032 bytes, alignment 32, tensor data at byte 14,560");
        assertThat(text).contains("30 metadata pairs:").contains("47 tensors:");
        assertThat(text).contains("STRING     general.architecture = 'llama'");
        assertThat(text).contains("FLOAT32    llama.rope.freq_base = 10000.0");
        assertThat(text).contains("[STRING]   tokenizer.ggml.tokens = ['<unk>', '<s>', '</s>', '<0x00>', '<0x01>', "
                + "'<0x02>', '<0x03>', '<0x04>', …] (512 items)");
        assertThat(text).contains("token_embd.weight").contains("[64, 512]").contains("65,536 B");
        assertThat(text).contains("47 tensors, ");
    }

    @Test
    void jsonListsEveryKvAndTensorWithTotals() throws Exception {
        String json;
        try (GgufFile f = GgufFile.open(fixture("tiny-llama-v512/gguf/tiny-llama-v512-q4_0.gguf"))) {
            json = GgufInspect.toJson(f);
        }
        Map<String, Object> root = JSON.std.mapFrom(json);
        Map<String, Object> listing = JSON.std.mapFrom(
                Files.readString(fixture("tiny-llama-v512/gguf/tiny-llama-v512-q4_0.gguf.json")));
        assertThat(root.get("file_size")).isEqualTo(listing.get("file_size"));
        assertThat(root.get("tensor_data_offset")).isEqualTo(listing.get("tensor_data_offset"));
        assertThat(root.get("architecture")).isEqualTo("llama");
        List<?> kvs = (List<?>) root.get("kv");
        assertThat(kvs).hasSize(((List<?>) listing.get("kv")).size());
        List<?> tensors = (List<?>) root.get("tensors");
        List<?> expected = (List<?>) listing.get("tensors");
        assertThat(tensors).hasSize(expected.size());
        long bytes = 0;
        for (int i = 0; i < tensors.size(); i++) {
            Map<?, ?> t = (Map<?, ?>) tensors.get(i);
            Map<?, ?> e = (Map<?, ?>) expected.get(i);
            assertThat(t.get("name")).isEqualTo(e.get("name"));
            assertThat(t.get("type")).isEqualTo(e.get("ggml_type"));
            assertThat(t.get("ne")).isEqualTo(e.get("ne"));
            assertThat(t.get("n_bytes")).isEqualTo(e.get("n_bytes"));
            bytes += ((Number) e.get("n_bytes")).longValue();
        }
        Map<?, ?> totals = (Map<?, ?>) root.get("totals");
        assertThat(((Number) totals.get("bytes")).longValue()).isEqualTo(bytes);
        assertThat(((Map<?, ?>) totals.get("by_type")).keySet().stream().map(String::valueOf).toList())
                .containsExactlyInAnyOrder("F32", "Q4_0", "Q6_K");
        Map<?, ?> tokens = (Map<?, ?>) kvs.stream().filter(k -> ((Map<?, ?>) k).get("key").equals("tokenizer.ggml.tokens"))
                .findFirst().orElseThrow();
        assertThat(tokens.get("length")).isEqualTo(512);
        assertThat((List<?>) tokens.get("head")).hasSize(8);
    }
}
