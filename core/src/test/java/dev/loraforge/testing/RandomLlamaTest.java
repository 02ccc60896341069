package dev.loraforge.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Java port of the fixture generator reproduces the shared tiny-llama-v512 model byte for byte. */
class RandomLlamaTest {

    static byte[] resource(String path) throws IOException {
        try (InputStream in = RandomLlamaTest.class.getResourceAsStream(path)) {
            assertThat(in).as(path).isNotNull();
            return in.readAllBytes();
        }
    }

    @Test
    void everyTensorMatchesTheFixtureListing() throws IOException {
        Map<String, Object> listing = JSON.std.mapFrom(resource("/fixtures/tiny-llama-v512/model.listing.json"));
        List<RandomLlama.Tensor> tensors = RandomLlama.tensors(RandomLlama.TINY_LLAMA_V512);
        assertThat(tensors).hasSize(listing.size());
        for (RandomLlama.Tensor t : tensors) {
            @SuppressWarnings("unchecked")
            Map<String, Object> e = (Map<String, Object>) listing.get(t.name());
            assertThat(e).as(t.name()).isNotNull();
            assertThat(e.get("dtype")).isEqualTo(t.dtype().name());
            assertThat(RandomLlama.hex(RandomLlama.sha256(t.data()))).as(t.name()).isEqualTo(e.get("sha256"));
        }
    }

    @Test
    void wholeFileAndConfigAreByteIdentical() throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        RandomLlama.writeSafetensors(RandomLlama.tensors(RandomLlama.TINY_LLAMA_V512), bos);
        // sha256 of tiny-llama-v512/model.safetensors from the fixtures' SHA256SUMS
        assertThat(RandomLlama.hex(RandomLlama.sha256(bos.toByteArray())))
                .isEqualTo("cdf476daf942dcac8fa8b3fb62b5a62a7f40efe2c336b53e1c4b90af268d2c0c");
        assertThat(RandomLlama.configJson(RandomLlama.TINY_LLAMA_V512))
                .isEqualTo(new String(resource("/fixtures/tiny-llama-v512/config.json"), StandardCharsets.UTF_8));
    }

    @Test
    void splitmixIsJavaSplittableRandom() {
        long key = RandomLlama.streamKey(7, "x");
        var rnd = new java.util.SplittableRandom(key);
        for (int i = 0; i < 100; i++) {
            assertThat(RandomLlama.splitmix64(key, i)).isEqualTo(rnd.nextLong());
        }
    }
}
