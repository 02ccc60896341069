package dev.loraforge.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LlamaConfigTest {

    @Test
    void readsStories260k() {
        LlamaConfig c = Fixtures.config("tinystories-260k");
        assertThat(c.architecture()).isEqualTo("LlamaForCausalLM");
        assertThat(c.hiddenSize()).isEqualTo(64);
        assertThat(c.intermediateSize()).isEqualTo(172);
        assertThat(c.numHiddenLayers()).isEqualTo(5);
        assertThat(c.numAttentionHeads()).isEqualTo(8);
        assertThat(c.numKeyValueHeads()).isEqualTo(4);
        assertThat(c.headDim()).isEqualTo(8);
        assertThat(c.vocabSize()).isEqualTo(512);
        assertThat(c.rmsNormEps()).isEqualTo(1e-5);
        assertThat(c.ropeTheta()).isEqualTo(10000.0);
        assertThat(c.ropeScaling()).isNull();
        assertThat(c.tieWordEmbeddings()).isTrue();
        assertThat(c.bosTokenId()).isEqualTo(1);
        assertThat(c.eosTokenIds()).containsExactly(2);
    }

    /** Llama 3.2 1B's config.json (the keys that matter), head_dim defaulted from hidden / heads. */
    static final String LLAMA32 = """
            {"architectures": ["LlamaForCausalLM"], "hidden_size": 2048, "intermediate_size": 8192,
             "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
             "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "max_position_embeddings": 131072,
             "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                              "original_max_position_embeddings": 8192, "rope_type": "llama3"},
             "tie_word_embeddings": true, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
             "hidden_act": "silu"}""";

    @Test
    void readsLlama3WithScalingAndSeveralEos() {
        LlamaConfig c = LlamaConfig.parse(LLAMA32);
        assertThat(c.headDim()).isEqualTo(64);
        assertThat(c.ropeScaling()).isEqualTo(RopeScaling.llama3(32, 1, 4, 8192));
        assertThat(c.eosTokenIds()).containsExactly(128001, 128008, 128009);
        assertThat(c.isEos(128009)).isTrue();
    }

    @Test
    void llama3ScalingKeepsHighFrequenciesAndDividesLowOnes() {
        LlamaConfig c = LlamaConfig.parse(LLAMA32);
        double[] scaled = LlamaModel.inverseFrequencies(c);
        double[] plain = new double[32];
        for (int i = 0; i < 32; i++) {
            plain[i] = 1.0 / Math.pow(500000.0, 2.0 * i / 64);
        }
        // wavelength 2π/f: < 8192/4 = 2048 unchanged, > 8192 divided by 32, blended in between
        for (int i = 0; i < 32; i++) {
            double wavelen = 2 * Math.PI / plain[i];
            if (wavelen < 2048) {
                assertThat(scaled[i]).isEqualTo(plain[i]);
            } else if (wavelen > 8192) {
                assertThat(scaled[i]).isEqualTo(plain[i] / 32);
            } else {
                double smooth = (8192 / wavelen - 1) / (4 - 1);
                assertThat(scaled[i]).isCloseTo((1 - smooth) * plain[i] / 32 + smooth * plain[i],
                        org.assertj.core.api.Assertions.within(1e-18));
                assertThat(scaled[i]).isBetween(plain[i] / 32, plain[i]);
            }
        }
        assertThat(scaled[0]).isEqualTo(1.0);
        assertThat(scaled[31]).isEqualTo(plain[31] / 32);
    }

    @Test
    void linearScalingAndTransformers5RopeParameters() {
        String llama3 = LLAMA32.substring(LLAMA32.indexOf("\"rope_scaling\""), LLAMA32.indexOf("\"tie_word"));
        LlamaConfig lin = LlamaConfig.parse(LLAMA32.replace(llama3,
                "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 4},\n"));
        assertThat(lin.ropeScaling()).isEqualTo(RopeScaling.linear(4));
        assertThat(LlamaModel.inverseFrequencies(lin)[1]).isEqualTo(1.0 / Math.pow(500000.0, 2.0 / 64) / 4);
        LlamaConfig v5 = LlamaConfig.parse("""
                {"model_type": "mistral", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
                 "num_attention_heads": 4, "vocab_size": 32, "sliding_window": 4096,
                 "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"}}""");
        assertThat(v5.architecture()).isEqualTo("MistralForCausalLM");
        assertThat(v5.ropeTheta()).isEqualTo(1e6);
        assertThat(v5.ropeScaling()).isNull();
        assertThat(v5.numKeyValueHeads()).isEqualTo(4);
        assertThat(v5.slidingWindow()).isEqualTo(4096);
        assertThat(v5.bosTokenId()).isEqualTo(-1);
        assertThat(v5.eosTokenIds()).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "not json|nope|BAD_CONFIG|not a JSON object",
            "missing key|{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64}|BAD_CONFIG|lacks num_attention_heads",
            "architecture|{\"architectures\":[\"GPT2LMHeadModel\"]}|UNSUPPORTED|GPT2LMHeadModel",
            "activation|{\"model_type\":\"llama\",\"hidden_act\":\"gelu\"}|UNSUPPORTED|hidden_act gelu",
            "bias|{\"model_type\":\"llama\",\"attention_bias\":true}|UNSUPPORTED|attention_bias",
            "gqa|BASE,\"num_key_value_heads\":3}|INVALID_CONFIG|not a multiple of num_key_value_heads 3",
            "odd head|BASE,\"head_dim\":7}|INVALID_CONFIG|head_dim 7 must be even",
            "eps|BASE,\"rms_norm_eps\":0}|INVALID_CONFIG|rms_norm_eps",
            "theta|BASE,\"rope_theta\":-1}|INVALID_CONFIG|rope_theta",
            "fraction|{\"model_type\":\"llama\",\"hidden_size\":64,\"num_attention_heads\":4,\"intermediate_size\":1.5}|INVALID_CONFIG|intermediate_size must be an integer",
            "eos range|BASE,\"eos_token_id\":99}|INVALID_CONFIG|eos_token_id 99",
            "rope type|BASE,\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":2}}|UNSUPPORTED|yarn",
            "llama3 factors|BASE,\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8,\"low_freq_factor\":4,\"high_freq_factor\":1,\"original_max_position_embeddings\":8192}}|INVALID_CONFIG|low_freq_factor < high_freq_factor",
            "head width|{\"model_type\":\"llama\",\"hidden_size\":66,\"num_attention_heads\":4}|INVALID_CONFIG|hidden_size 66 is not a multiple",
            "negative|{\"model_type\":\"llama\",\"hidden_size\":64,\"num_attention_heads\":4,\"intermediate_size\":-4,\"num_hidden_layers\":1,\"vocab_size\":32}|INVALID_CONFIG|intermediate_size must be positive",
    })
    void rejectsBadConfigs(String what, String json, ModelException.Kind kind, String message) {
        String base = "{\"model_type\":\"llama\",\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":1,"
                + "\"num_attention_heads\":4,\"vocab_size\":32";
        String text = json.startsWith("BASE") ? base + json.substring(4) : json;
        assertThatThrownBy(() -> LlamaConfig.parse(text)).isInstanceOfSatisfying(ModelException.class,
                e -> assertThat(e.kind()).isEqualTo(kind)).hasMessageContaining(message);
    }
}
