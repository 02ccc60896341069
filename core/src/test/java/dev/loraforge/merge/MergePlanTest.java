package dev.loraforge.merge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loraforge.adapter.AdapterCheck;
import dev.loraforge.adapter.AdapterConfig;
import dev.loraforge.adapter.AdapterException;
import dev.loraforge.adapter.LoraAdapter;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.HalfFloat;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.lang.foreign.MemorySegment;
import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Merge semantics on small in-memory models, against BigDecimal sums. */
class MergePlanTest {

    record Tensors(Map<String, TensorView> map) implements TensorSource {
        static Tensors of(TensorView... views) {
            Map<String, TensorView> m = new LinkedHashMap<>();
            for (TensorView v : views) {
                m.put(v.name(), v);
            }
            return new Tensors(m);
        }

        public List<String> names() {
            return List.copyOf(map.keySet());
        }

        public Optional<TensorView> find(String name) {
            return Optional.ofNullable(map.get(name));
        }

        public void close() {
        }
    }

    static TensorView random(String name, DType dtype, long seed, double std, long... dims) {
        Shape s = Shape.of(dims);
        MemorySegment seg = MemorySegment.ofArray(new byte[(int) s.byteCount(dtype)]);
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] v = new double[(int) s.elementCount()];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextGaussian() * std;
        }
        TensorMerge.store(seg, dtype, 0, v, v.length);
        return new TensorView(name, dtype, s, seg);
    }

    static LoraAdapter adapter(String config, TensorView... views) {
        return LoraAdapter.of(null, AdapterConfig.parse(config, "test"), Tensors.of(views));
    }

    static AdapterCheck.Base base(TensorView... views) {
        return new AdapterCheck.Base(null, Tensors.of(views), Map.of());
    }

    static byte[] run(MergePlan.Op op) {
        byte[] out = new byte[(int) op.shape().byteCount(op.outType())];
        MergePlan.compute(op, MemorySegment.ofArray(out), LowRankKernel.preferred());
        return out;
    }

    @Test
    void fanInFanOutAddsTheTransposedUpdate() {
        // GPT-2 Conv1D stores [in, out]; ΔW = (B·A)ᵀ
        int in = 24, out = 40, r = 3;
        TensorView w = random("h.0.attn.c_attn.weight", DType.BF16, 1, 0.02, in, out);
        TensorView a = random("base_model.model.h.0.attn.c_attn.lora_A.weight", DType.F32, 2, 0.03, r, in);
        TensorView b = random("base_model.model.h.0.attn.c_attn.lora_B.weight", DType.F32, 3, 0.03, out, r);
        LoraAdapter ad = adapter("{\"peft_type\":\"LORA\",\"r\":3,\"lora_alpha\":5,\"fan_in_fan_out\":true,\"target_modules\":[\"c_attn\"]}", a, b);
        MergePlan plan = MergePlan.build(base(w), List.of(new WeightedAdapter(ad, 0.5)), null);
        byte[] got = run(plan.ops().getFirst());
        MemorySegment g = MemorySegment.ofArray(got);
        BigDecimal s = new BigDecimal(0.5 * (5.0 / 3));
        for (int i = 0; i < in; i++) {
            for (int o = 0; o < out; o++) {
                BigDecimal d = BigDecimal.ZERO;
                for (int k = 0; k < r; k++) {
                    d = d.add(new BigDecimal(b.getDouble(o * r + k)).multiply(new BigDecimal(a.getDouble(k * in + i))));
                }
                double exact = new BigDecimal(w.getDouble(i * out + o)).add(s.multiply(d)).doubleValue();
                assertThat(g.getAtIndex(TensorView.I16_LE, i * out + o)).as("[%d][%d]", i, o).isEqualTo(HalfFloat.doubleToBf16(exact));
            }
        }
    }

    @Test
    void doraWithAnotherAdapterOnTheSameWeightIsRefused() {
        TensorView w = random("m.weight", DType.BF16, 1, 0.02, 8, 8);
        TensorView a = random("base_model.model.m.lora_A.weight", DType.F32, 2, 0.03, 2, 8);
        TensorView b = random("base_model.model.m.lora_B.weight", DType.F32, 3, 0.03, 8, 2);
        TensorView mag = random("base_model.model.m.lora_magnitude_vector", DType.F32, 4, 1, 8);
        LoraAdapter dora = adapter("{\"peft_type\":\"LORA\",\"r\":2,\"use_dora\":true,\"target_modules\":[\"m\"]}", a, b, mag);
        LoraAdapter plain = adapter("{\"peft_type\":\"LORA\",\"r\":2,\"target_modules\":[\"m\"]}", a, b);
        assertThatThrownBy(() -> MergePlan.build(base(w), List.of(new WeightedAdapter(dora, 1), new WeightedAdapter(plain, 1)), null))
                .isInstanceOf(AdapterException.class).hasMessageContaining("DoRA");
    }

    @Test
    void twoAdaptersReplacingOneTensorAreRefusedAndWeightZeroIsTheBase() {
        TensorView w = random("m.weight", DType.F32, 1, 0.02, 4, 4);
        TensorView full = random("base_model.model.m.weight", DType.F32, 5, 0.02, 4, 4);
        LoraAdapter x = adapter("{\"peft_type\":\"LORA\",\"r\":2,\"modules_to_save\":[\"m\"]}", full);
        assertThatThrownBy(() -> MergePlan.build(base(w), List.of(new WeightedAdapter(x, 1), new WeightedAdapter(x, 1)), null))
                .isInstanceOf(AdapterException.class).hasMessageContaining("two adapters replace 'm.weight'");
        TensorView a = random("base_model.model.m.lora_A.weight", DType.F32, 2, 0.03, 2, 4);
        TensorView b = random("base_model.model.m.lora_B.weight", DType.F32, 3, 0.03, 4, 2);
        LoraAdapter l = adapter("{\"peft_type\":\"LORA\",\"r\":2}", a, b);
        byte[] got = run(MergePlan.build(base(w), List.of(new WeightedAdapter(l, 0.0)), null).ops().getFirst());
        assertThat(got).isEqualTo(w.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }
}
