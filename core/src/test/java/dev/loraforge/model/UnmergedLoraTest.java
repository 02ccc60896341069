package dev.loraforge.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loraforge.adapter.AdapterConfig;
import dev.loraforge.adapter.LoraAdapter;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** stories260K + lora-r4 applied at run time vs the float64 reference merge (rounded once to F32). */
class UnmergedLoraTest {

    static final String DIR = "tinystories-260k/lora-r4/";
    static final int[] TOKENS = Arrays.copyOf(
            Fixtures.i32("tinystories-260k/perplexity/tinystories-valid-head-20k.tokens.i32"), 48);

    static LlamaModel unmerged(AdapterConfig config) {
        return UnmergedLora.load(Fixtures.config("tinystories-260k"),
                Fixtures.safetensors("tinystories-260k/model.safetensors"), adapter(config));
    }

    static LoraAdapter adapter(AdapterConfig config) {
        return LoraAdapter.of(null, config, Fixtures.safetensors(DIR + "adapter_model.safetensors"));
    }

    static AdapterConfig settings() {
        return AdapterConfig.parse(Fixtures.text(DIR + "adapter_config.json"), DIR + "adapter_config.json");
    }

    static AdapterConfig withRslora(AdapterConfig c) {
        return AdapterConfig.parse(c.toJson(Map.of("use_rslora", true)), "flipped");
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
        Compare.Report r = Compare.run(merged, unmerged(withRslora(settings())), TOKENS);
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
    void unusedAdapterModulesAreAnError() {
        var lora = new UnmergedLora(adapter(settings()), LinearFactory.DENSE);
        assertThatThrownBy(lora::requireAllUsed).isInstanceOf(ModelException.class)
                .hasMessageContaining("35 adapter modules/tensors").hasMessageContaining("model.layers.0.mlp.down_proj");
        // rsLoRA flips only the scaling: 8/sqrt(4) = 4 instead of 8/4 = 2
        assertThat(adapter(withRslora(settings())).modules().getFirst().scaling()).isEqualTo(4.0);
        assertThat(adapter(settings()).modules().getFirst().scaling()).isEqualTo(2.0);
    }
}
