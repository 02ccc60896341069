package dev.loraforge.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** llama-perplexity -c 256 on 9,765 stories260K tokens: llama.cpp 3.8157 (F32 KV), numpy float64 3.815743. */
class PerplexityIT {

    @Test
    void matchesLlamaCppAndFloat64Procedure() {
        LlamaModel model = Fixtures.stories("tinystories-260k/model.safetensors");
        int[] tokens = Fixtures.i32("tinystories-260k/perplexity/tinystories-valid-head-20k.tokens.i32");
        assertThat(tokens).hasSize(9765).startsWith(1);
        long t0 = System.nanoTime();
        Perplexity.Result r = Perplexity.compute(model, tokens, 256, model.config().bosTokenId());
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("stories260K %s, ppl %.7f, in %.2f s (%.0f tokens/s)%n", r, r.ppl(), seconds, r.chunks() * 255 / seconds);

        Map<String, Object> ref = Fixtures.json("tinystories-260k/perplexity/perplexity.json");
        @SuppressWarnings("unchecked")
        Map<String, Object> np = (Map<String, Object>) ref.get("numpy_float64");
        assertThat(r.chunks()).isEqualTo(38);
        assertThat(r.scoredTokens()).isEqualTo(38 * 127);
        assertThat(r.ppl()).isCloseTo(3.8157, within(3.8157 * 1e-3));
        assertThat(r.ppl()).isCloseTo(((Number) np.get("ppl")).doubleValue(), within(1e-5));
        double[] chunkRef = Fixtures.doubles(np.get("chunk_mean_nll"));
        double[] chunk = r.chunkMeanNll();
        double worst = 0;
        for (int c = 0; c < chunk.length; c++) {
            worst = Math.max(worst, Math.abs(chunk[c] - chunkRef[c]));
        }
        System.out.printf("per-chunk mean NLL max |d| vs numpy f64: %.3g%n", worst);
        assertThat(worst).isLessThan(1e-5);
        assertThat(r.pplStderr()).isCloseTo(0.09868, within(2e-5));
    }

    @Test
    void f16GgufMatchesLlamaCppF16Perplexity() throws java.io.IOException {
        // llama-perplexity on stories260k-f16.gguf with F32 KV and no flash attention: 3.8156
        try (var f = dev.loraforge.format.gguf.GgufFile.open(Fixtures.path("tinystories-260k/gguf/stories260k-f16.gguf"))) {
            LlamaModel model = GgufLlama.load(f);
            int[] tokens = Fixtures.i32("tinystories-260k/perplexity/tinystories-valid-head-20k.tokens.i32");
            Perplexity.Result r = Perplexity.compute(model, tokens, 256, model.config().bosTokenId());
            System.out.printf("stories260k-f16.gguf %s, ppl %.7f%n", r, r.ppl());
            assertThat(r.ppl()).isCloseTo(3.8156, within(3.8156 * 1e-3));
        }
    }
}
