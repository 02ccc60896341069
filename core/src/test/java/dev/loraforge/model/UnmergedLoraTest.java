package dev.loraforge.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** stories260K + lora-r4 applied at run time vs the float64 reference merge (rounded once to F32). */
class UnmergedLoraTest {

    static final String DIR = "tinystories-260k/lora-r4/";
    static final int[] TOKENS = Arrays.copyOf(
            Fixtures.i32("tinystories-260k/perplexity/tinystories-valid-head-20k.tokens.i32"), 48);

    static LlamaModel unmerged(UnmergedLora.Settings settings) {
        return UnmergedLora.load(Fixtures.config("tinystories-260k"),
                Fixtures.safetensors("tinystories-260k/model.safetensors"), settings,
                Fixtures.safetensors(DIR + "adapter_model.safetensors"));
    }

    static UnmergedLora.Settings settings() {
        return UnmergedLora.Settings.parse(Fixtures.text(DIR + "adapter_config.json"));
    }

    @Test
    void settingsFollowAdapterConfig() {
        UnmergedLora.Settings s = settings();
        assertThat(s.r()).isEqualTo(4);
        assertThat(s.loraAlpha()).isEqualTo(8.0);
        assertThat(s.useRslora()).isFalse();
        assertThat(s.scaleOf("model.layers.0.self_attn.q_proj")).isEqualTo(2.0);
        assertThat(s.withRslora(true).scaleOf("model.layers.0.self_attn.q_proj")).isEqualTo(4.0);
    }

    @Test
    void patternsResolveLikePeft() {
        // the rsLoRA + patterns adapter of the fixture set: q,v 16/sqrt(16)=4, o 32/sqrt(16)=8, down 16/sqrt(4)=8
        var s = new UnmergedLora.Settings(16, 16, true, false, Map.of("down_proj", 4), Map.of("o_proj", 32.0));
        assertThat(s.scaleOf("model.layers.0.self_attn.q_proj")).isEqualTo(4.0);
        assertThat(s.scaleOf("model.layers.2.self_attn.v_proj")).isEqualTo(4.0);
        assertThat(s.scaleOf("model.layers.0.self_attn.o_proj")).isEqualTo(8.0);
        assertThat(s.scaleOf("model.layers.2.mlp.down_proj")).isEqualTo(8.0);
        assertThat(s.rankOf("model.layers.2.mlp.down_proj")).isEqualTo(4);
        // a pattern matches whole dotted components only
        assertThat(s.rankOf("model.layers.2.mlp.xdown_proj")).isEqualTo(16);
    }

    @Test
    void unmergedMatchesFloat64MergeAndNumpy() {
        LlamaModel merged = Fixtures.stories("tinystories-260k/lora-r4-merged/model.safetensors");
        LlamaModel lora = unmerged(settings());
        Compare.Report r = Compare.run(merged, lora, TOKENS);
        System.out.println("unmerged lora-r4 vs float64 merge: " + r.logits() + ", ppl " + r.pplReference()
                + " / " + r.pplCandidate() + ", last layer rel err " + r.layers().getLast());
        assertThat(r.logits().positions()).isEqualTo(48);
        assertThat(r.logits().klMax()).isLessThanOrEqualTo(1e-6);
        assertThat(r.logits().top1Agreement()).isEqualTo(1.0);
        assertThat(r.layers()).hasSize(6).allSatisfy(e -> assertThat(e.maxRelative()).isLessThan(1e-5));

        float[] last = lora.newSession(8).forward(StoriesLogitsTest.PROMPT)[4];
        double[] ref = Fixtures.doubles(Fixtures.json("tinystories-260k/numpy-logits/stories260k-lora-r4-merged.json")
                .get("last_logits"));
        double worst = 0;
        for (int i = 0; i < ref.length; i++) {
            worst = Math.max(worst, Math.abs(last[i] - ref[i]));
        }
        System.out.printf("unmerged lora-r4 last logits max |d| vs numpy f64 merge: %.3g%n", worst);
        assertThat(worst).isLessThan(1e-5);
    }

    @Test
    void flippingRsloraIsClearlyDetected() {
        LlamaModel merged = Fixtures.stories("tinystories-260k/lora-r4-merged/model.safetensors");
        Compare.Report r = Compare.run(merged, unmerged(settings().withRslora(true)), TOKENS);
        System.out.println("rsLoRA flipped: " + r.logits());
        assertThat(r.logits().klMean()).isGreaterThan(1e-3);
        assertThat(r.logits().maxAbsDiff()).isGreaterThan(0.1);
    }

    @Test
    void baseAloneDiffersFromMerge() {
        Compare.Report r = Compare.run(Fixtures.stories("tinystories-260k/lora-r4-merged/model.safetensors"),
                Fixtures.stories("tinystories-260k/model.safetensors"), TOKENS);
        assertThat(r.logits().klMean()).isGreaterThan(1e-3);
    }

    @Test
    void unusedAdapterTensorsAreAnError() {
        // an adapter whose rank does not match its config fails on shape; one whose tensors fit no module fails on use
        var wrongRank = new UnmergedLora.Settings(8, 8, false, false, Map.of(), Map.of());
        assertThatThrownBy(() -> unmerged(wrongRank)).isInstanceOf(ModelException.class)
                .hasMessageContaining("lora_A").hasMessageContaining("[8, 64]");
        var lora = new UnmergedLora(settings(), Fixtures.safetensors(DIR + "adapter_model.safetensors"),
                LinearFactory.DENSE);
        assertThatThrownBy(lora::requireAllUsed).isInstanceOf(ModelException.class)
                .hasMessageContaining("70 adapter tensors were not applied");
    }
}
