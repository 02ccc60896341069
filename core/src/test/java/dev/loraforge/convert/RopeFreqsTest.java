package dev.loraforge.convert;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Llama 3.1 rope scaling factors against a float64 transcription of the formula (no llama.cpp file has them). */
class RopeFreqsTest {
    @TempDir
    Path tmp;

    @Test
    void llama31Factors() throws Exception {
        Files.writeString(tmp.resolve("config.json"), """
                {"architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "num_attention_heads": 32,
                 "rope_theta": 500000.0, "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                 "original_max_position_embeddings": 8192, "rope_type": "llama3"}}""");
        float[] f = RopeFreqs.factors(HfConfig.read(tmp)).orElseThrow();
        assertThat(f).hasSize(64);
        for (int i = 0; i < 64; i++) {
            double freq = 1.0 / Math.pow(500000.0, 2.0 * i / 128);
            double wavelen = 2 * Math.PI / freq;
            double want = wavelen < 8192 / 4.0 ? 1 : wavelen > 8192 ? 8
                    : 1 / ((1 - (8192 / wavelen - 1) / 3) / 8 + (8192 / wavelen - 1) / 3);
            assertThat((double) f[i]).as("factor %d", i).isCloseTo(want, within(want * 1e-5));
        }
        assertThat(f[0]).isEqualTo(1f);
        assertThat(f[63]).isEqualTo(8f);
    }

    @Test
    void absentWithoutLlama3Scaling() throws Exception {
        Files.writeString(tmp.resolve("config.json"), "{\"architectures\": [\"LlamaForCausalLM\"], \"rope_theta\": 10000.0}");
        assertThat(RopeFreqs.factors(HfConfig.read(tmp))).isEmpty();
    }
}
