package dev.loraforge.adapter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class AdapterConfigTest {

    static String fixture(String adapter) throws IOException {
        try (InputStream in = AdapterConfigTest.class.getResourceAsStream("/fixtures/tiny-llama-v512/" + adapter + "/adapter_config.json")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lora-r8", "lora-rslora-patterns", "lora-dora", "lora-modules-to-save"})
    void rewritesPeftFilesByteForByte(String adapter) throws IOException {
        String text = fixture(adapter);
        assertThat(AdapterConfig.parse(text, adapter).toJson(Map.of())).isEqualTo(text);
    }

    @Test
    void rsloraWithPatternsGivesTheFixtureScales() throws IOException {
        // fixture README: q,v 16/√16 = 4, o 32/√16 = 8, down 16/√4 = 8
        AdapterConfig c = AdapterConfig.parse(fixture("lora-rslora-patterns"), "x");
        assertThat(c.scalingFor("model.layers.0.self_attn.q_proj")).isEqualTo(4.0);
        assertThat(c.scalingFor("model.layers.2.self_attn.o_proj")).isEqualTo(8.0);
        assertThat(c.rankFor("model.layers.0.mlp.down_proj")).isEqualTo(4);
        assertThat(c.scalingFor("model.layers.0.mlp.down_proj")).isEqualTo(8.0);
        assertThat(c.targets("model.layers.2.self_attn.q_proj")).isTrue();
        assertThat(c.targets("model.layers.1.self_attn.q_proj")).isFalse(); // layers_to_transform [0, 2]
        assertThat(c.targets("model.layers.0.self_attn.k_proj")).isFalse();
    }

    @Test
    void patternKeyIsFirstMatchOnADotBoundary() {
        var patterns = java.util.List.of("q_proj", "layers.1.self_attn.q_proj", "proj");
        assertThat(AdapterConfig.patternKey(patterns, "model.layers.1.self_attn.q_proj")).isEqualTo("q_proj");
        assertThat(AdapterConfig.patternKey(java.util.List.of("layers.1.self_attn.q_proj", "q_proj"),
                "model.layers.1.self_attn.q_proj")).isEqualTo("layers.1.self_attn.q_proj");
        assertThat(AdapterConfig.patternKey(java.util.List.of("proj"), "model.layers.1.self_attn.q_proj")).isNull();
        assertThat(AdapterConfig.patternKey(java.util.List.of("layers\\.[01]\\..*q_proj"), "model.layers.1.self_attn.q_proj"))
                .isNotNull();
    }

    @Test
    void regexTargetIsAFullMatchAndAllLinearSkipsLmHead() {
        AdapterConfig c = AdapterConfig.parse("{\"peft_type\":\"LORA\",\"r\":4,\"target_modules\":\".*\\\\.(q|v)_proj\"}", "x");
        assertThat(c.targets("model.layers.3.self_attn.q_proj")).isTrue();
        assertThat(c.targets("model.layers.3.self_attn.q_proj_x")).isFalse();
        AdapterConfig all = AdapterConfig.parse("{\"peft_type\":\"LORA\",\"r\":4,\"target_modules\":\"all-linear\"}", "x");
        assertThat(all.targets("lm_head")).isFalse();
        assertThat(all.targets("model.layers.0.mlp.up_proj")).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"LOHA", "LOKR", "IA3", "VERA", "ADALORA", "BOFT", "OFT", "SOMETHING_NEW"})
    void otherPeftMethodsAreNamedInTheError(String type) {
        assertThatThrownBy(() -> AdapterConfig.parse("{\"peft_type\":\"" + type + "\",\"r\":8}", "cfg.json"))
                .isInstanceOf(AdapterException.class)
                .hasMessageContaining(type).hasMessageContaining("cfg.json")
                .extracting(e -> ((AdapterException) e).kind()).isEqualTo(AdapterException.Kind.UNSUPPORTED_METHOD);
    }

    @Test
    void badValuesAndDuplicateKeysAreRejected() {
        assertThatThrownBy(() -> AdapterConfig.parse("{\"peft_type\":\"LORA\",\"r\":\"8\"}", "c"))
                .hasMessageContaining("r is 8, expected an integer");
        assertThatThrownBy(() -> AdapterConfig.parse("{\"peft_type\":\"LORA\",\"r\":8,\"r\":4}", "c"))
                .isInstanceOf(AdapterException.class).hasMessageContaining("c: not a JSON object");
        assertThatThrownBy(() -> AdapterConfig.parse("[1]", "c")).isInstanceOf(AdapterException.class);
        assertThatThrownBy(() -> AdapterConfig.parse("{\"r\":8}", "c")).hasMessageContaining("no peft_type");
    }
}
