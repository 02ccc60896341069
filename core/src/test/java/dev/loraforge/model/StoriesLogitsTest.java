package dev.loraforge.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** stories260K last-token logits against llama.cpp (F32 KV, no flash attention) and a float64 numpy forward. */
class StoriesLogitsTest {

    static final int[] PROMPT = {1, 403, 407, 261, 378};

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "tinystories-260k/model.safetensors, stories260k.json, llamacpp-stories260k-f32.bin",
            "tinystories-260k/lora-r4-merged/model.safetensors, stories260k-lora-r4-merged.json, llamacpp-stories260k-lora-r4-merged-f32.bin",
    })
    void lastLogitsMatchOracles(String weights, String numpyJson, String llamaBin) {
        LlamaModel model = Fixtures.stories(weights);
        float[][] logits = model.newSession(16).forward(PROMPT);
        float[] last = logits[PROMPT.length - 1];

        Map<String, Object> numpy = Fixtures.json("tinystories-260k/numpy-logits/" + numpyJson);
        assertThat(Fixtures.ints(numpy.get("ids"))).containsExactly(PROMPT);
        double[] ref64 = Fixtures.doubles(numpy.get("last_logits"));
        float[] llama = Fixtures.f32("tinystories-260k/llamacpp-logits/exact/" + llamaBin);
        assertThat(last).hasSize(512);
        assertThat(ref64).hasSize(512);
        assertThat(llama).hasSize(512);

        double vsNumpy = 0;
        double vsLlama = 0;
        for (int i = 0; i < 512; i++) {
            vsNumpy = Math.max(vsNumpy, Math.abs(last[i] - ref64[i]));
            vsLlama = Math.max(vsLlama, Math.abs(last[i] - llama[i]));
        }
        System.out.printf("%s: max |d| vs numpy f64 %.3g, vs llama.cpp exact %.3g%n", weights, vsNumpy, vsLlama);
        assertThat(vsNumpy).isLessThan(1e-5);
        assertThat(vsLlama).isLessThan(1e-4);
        assertThat(argmax(last)).isEqualTo(432);
    }

    @Test
    void hiddenStatesAreObservedPerLayer() {
        LlamaModel model = Fixtures.stories("tinystories-260k/model.safetensors");
        Session s = model.newSession(8);
        int[] seen = new int[model.config().numHiddenLayers() + 1];
        s.observe((pos, layer, h) -> {
            assertThat(h).hasSize(64);
            seen[layer]++;
        });
        s.forward(PROMPT);
        assertThat(seen).containsOnly(PROMPT.length);
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
