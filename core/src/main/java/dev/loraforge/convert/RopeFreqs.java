package dev.loraforge.convert;

import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorView;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code rope_freqs.weight} tensor LlamaModel.generate_extra_tensors adds for Llama 3.1+ ({@code rope_type
 * llama3}): per rotary frequency a factor 1, {@code factor}, or the smooth blend in between, computed in float32 as
 * the converter does with torch. Not checked against a llama.cpp file (no fixture has llama3 rope scaling); the
 * float32 pow may differ from torch's in the last bit.
 */
final class RopeFreqs {
    private RopeFreqs() {
    }

    /** The HF-side name the plan uses for this generated tensor. */
    static final String SOURCE = "<generated>.rope_freqs";
    static final String NAME = "rope_freqs.weight";

    /** The factors when the config asks for llama3 rope scaling. */
    static Optional<float[]> factors(HfConfig c) {
        Map<String, Object> rope = ModelMetadata.ropeParameters(c);
        if (!(rope.get("rope_type") instanceof String t) || !t.equalsIgnoreCase("llama3")) {
            return Optional.empty();
        }
        double base = rope.get("rope_theta") instanceof Number n ? n.doubleValue() : 10000.0;
        long dim = c.get("head_dim").map(v -> ((Number) v).longValue())
                .orElseGet(() -> c.requireLong("hidden_size") / c.requireLong("num_attention_heads"));
        float factor = num(rope.get("factor"), 8.0);
        float low = num(rope.get("low_freq_factor"), 1.0);
        float high = num(rope.get("high_freq_factor"), 4.0);
        double oldCtx = c.params().get("original_max_position_embeddings") instanceof Number n ? n.doubleValue() : 8192;
        double lowWavelen = oldCtx / low;
        double highWavelen = oldCtx / high;
        int n = (int) ((dim + 1) / 2);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            float exponent = (float) (2 * i) / (float) dim;
            float freq = 1.0f / (float) Math.pow(base, exponent);
            float wavelen = (float) (2 * Math.PI) / freq;
            if (wavelen < highWavelen) {
                out[i] = 1;
            } else if (wavelen > lowWavelen) {
                out[i] = factor;
            } else {
                float smooth = ((float) oldCtx / wavelen - low) / (high - low);
                out[i] = 1 / ((1 - smooth) / factor + smooth);
            }
        }
        return Optional.of(out);
    }

    private static float num(Object o, double dflt) {
        return o instanceof Number n ? n.floatValue() : (float) dflt;
    }

    static TensorView view(float[] f) {
        MemorySegment seg = MemorySegment.ofArray(new byte[f.length * 4]);
        for (int i = 0; i < f.length; i++) {
            seg.setAtIndex(TensorView.F32_LE, i, f[i]);
        }
        return new TensorView(NAME, DType.F32, Shape.of(f.length), seg);
    }
}
