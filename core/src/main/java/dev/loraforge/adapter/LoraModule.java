package dev.loraforge.adapter;

import dev.loraforge.tensor.TensorView;

/**
 * One module of a LoRA adapter: its factors, PEFT's per-module rank, alpha and scaling, and the base
 * tensor it changes ({@code <module>.weight}).
 *
 * @param module    module name in the base model, e.g. {@code model.layers.0.self_attn.q_proj}
 * @param embedding true for {@code lora_embedding_A/B} (ΔW = (B·A)ᵀ for the [vocab, dim] weight)
 * @param a         lora_A (r × in) or lora_embedding_A (r × vocab)
 * @param b         lora_B (out × r) or lora_embedding_B (dim × r)
 * @param magnitude DoRA's lora_magnitude_vector (out), or null
 */
public record LoraModule(String module, boolean embedding, TensorView a, TensorView b, TensorView magnitude,
                         int rank, double alpha, double scaling) {

    public String baseTensor() {
        return module + ".weight";
    }

    /** True when the update is stored transposed relative to B·A (embedding, or fan_in_fan_out). */
    public boolean transposed(AdapterConfig config) {
        return embedding || config.fanInFanOut();
    }
}
