package dev.loraforge.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loraforge.adapter.AdapterConfig;
import dev.loraforge.adapter.LoraAdapter;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import dev.loraforge.testing.RandomLlama;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * tiny-llama-v512 (BF16, hidden 256, untied head), regenerated in memory by {@link RandomLlama}: base logits
 * vs numpy float64 and llama.cpp, and each of the four PEFT adapters applied unmerged vs the float64
 * forward of its float64 reference merge.
 */
class TinyLlamaLogitsTest {

    static final String DIR = "tiny-llama-v512/";
    static final TensorSource BASE = inMemory(RandomLlama.tensors(RandomLlama.TINY_LLAMA_V512));
    static final LlamaConfig CONFIG = Fixtures.config("tiny-llama-v512");

    static TensorSource inMemory(List<RandomLlama.Tensor> tensors) {
        Map<String, TensorView> byName = new LinkedHashMap<>();
        for (RandomLlama.Tensor t : tensors) {
            byName.put(t.name(), new TensorView(t.name(), t.dtype(), new Shape(t.shape()), MemorySegment.ofArray(t.data())));
        }
        return new TensorSource() {
            @Override
            public List<String> names() {
                return new ArrayList<>(byName.keySet());
            }

            @Override
            public Optional<TensorView> find(String name) {
                return Optional.ofNullable(byName.get(name));
            }

            @Override
            public void close() {
            }

            @Override
            public String toString() {
                return "tiny-llama-v512 (RandomLlama)";
            }
        };
    }

    static float[] lastLogits(LlamaModel m) {
        return m.newSession(8).forward(StoriesLogitsTest.PROMPT)[StoriesLogitsTest.PROMPT.length - 1];
    }

    static double maxAbs(float[] got, double[] ref) {
        assertThat(got).hasSize(ref.length);
        double worst = 0;
        for (int i = 0; i < ref.length; i++) {
            worst = Math.max(worst, Math.abs(got[i] - ref[i]));
        }
        return worst;
    }

    static double maxAbs(float[] got, float[] ref) {
        double[] d = new double[ref.length];
        for (int i = 0; i < ref.length; i++) {
            d[i] = ref[i];
        }
        return maxAbs(got, d);
    }

    static double[] numpy(String name) {
        return Fixtures.doubles(Fixtures.json(DIR + "numpy-logits/" + name).get("last_logits"));
    }

    @Test
    void baseMatchesNumpyAndLlamaCpp() {
        LlamaModel m = LlamaModel.load(CONFIG, BASE);
        float[] got = lastLogits(m);
        double vsNumpy = maxAbs(got, numpy("tiny-llama-v512.json"));
        double vsF32 = maxAbs(got, Fixtures.f32(DIR + "llamacpp-logits/exact/llamacpp-tiny-llama-v512-f32.bin"));
        double vsBf16 = maxAbs(got, Fixtures.f32(DIR + "llamacpp-logits/exact/llamacpp-tiny-llama-v512-bf16.bin"));
        System.out.printf("tiny-llama-v512: max |d| vs numpy f64 %.3g, llama.cpp F32 %.3g, llama.cpp BF16 GGUF %.3g%n",
                vsNumpy, vsF32, vsBf16);
        assertThat(vsNumpy).isLessThan(1e-5);
        assertThat(vsF32).isLessThan(1e-4);
        assertThat(vsBf16).isLessThan(1e-2); // llama.cpp rounds activations to bf16 for BF16 weights
    }

    @Test
    void inPlaceBf16WeightsGiveTheSameBitsAsFloatCopies() {
        float[][] dense = LlamaModel.load(CONFIG, BASE).newSession(8).forward(StoriesLogitsTest.PROMPT);
        float[][] inPlace = LlamaModel.load(CONFIG, BASE, LinearFactory.IN_PLACE).newSession(8)
                .forward(StoriesLogitsTest.PROMPT);
        for (int i = 0; i < dense.length; i++) {
            assertThat(inPlace[i]).containsExactly(dense[i]);
        }
        // DoRA reads the base rows in place too
        AdapterConfig c = AdapterConfig.parse(Fixtures.text(DIR + "lora-dora/adapter_config.json"), "lora-dora");
        LoraAdapter a = LoraAdapter.of(null, c, Fixtures.safetensors(DIR + "lora-dora/adapter_model.safetensors"));
        UnmergedLora lora = new UnmergedLora(a, LinearFactory.IN_PLACE);
        float[] got = lastLogits(LlamaModel.load(CONFIG, lora.overlay(BASE), lora));
        assertThat(got).containsExactly(lastLogits(unmerged("lora-dora")));
    }

    static LlamaModel unmerged(String adapter) {
        AdapterConfig c = AdapterConfig.parse(Fixtures.text(DIR + adapter + "/adapter_config.json"), adapter);
        LoraAdapter a = LoraAdapter.of(null, c, Fixtures.safetensors(DIR + adapter + "/adapter_model.safetensors"));
        return UnmergedLora.load(CONFIG, BASE, a);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"lora-r8", "lora-rslora-patterns", "lora-dora", "lora-modules-to-save"})
    void unmergedAdapterMatchesFloat64Merge(String adapter) {
        float[] got = lastLogits(unmerged(adapter));
        double d = maxAbs(got, numpy("tiny-llama-v512-" + adapter + "-merged-f32.json"));
        double moved = maxAbs(lastLogits(LlamaModel.load(CONFIG, BASE)), numpy("tiny-llama-v512-" + adapter + "-merged-f32.json"));
        System.out.printf("%s unmerged: max |d| vs numpy f64 merge %.3g (base alone is %.3g off)%n", adapter, d, moved);
        assertThat(d).isLessThan(1e-5);
        assertThat(moved).isGreaterThan(1e-3); // the adapter really changes the logits
    }

    @Test
    void loraR8MatchesLlamaCppRuntimeLoraAndExportLora() {
        float[] got = lastLogits(unmerged("lora-r8"));
        double d = maxAbs(got, Fixtures.f32(DIR + "llamacpp-logits/runtime-lora-r8/exact/llamacpp-tiny-llama-v512-f32.bin"));
        double merged = maxAbs(got, Fixtures.f32(DIR + "llamacpp-logits/exact/llamacpp-tiny-llama-v512-lora-r8-merged-f32.bin"));
        System.out.printf("lora-r8 unmerged vs llama.cpp --lora: %.3g, vs llama-export-lora F32 merge: %.3g%n", d, merged);
        assertThat(d).isLessThan(1e-4);
        assertThat(merged).isLessThan(1e-4);
    }

    @Test
    void llamaCppRuntimeRsloraIsOffLikeTheFixturesSay() {
        // llama.cpp scales by alpha/rank, ignoring use_rslora and alpha_pattern: ~1.43 off PEFT's semantics
        float[] got = lastLogits(unmerged("lora-rslora-patterns"));
        double d = maxAbs(got, Fixtures.f32(DIR
                + "llamacpp-logits/runtime-lora-rslora-patterns/exact/llamacpp-tiny-llama-v512-f32.bin"));
        System.out.printf("lora-rslora-patterns unmerged vs llama.cpp --lora: %.3g%n", d);
        assertThat(d).isGreaterThan(0.5);
    }
}
