/**
 * A pure-Java Llama/Mistral forward pass for verification: {@link dev.loraforge.model.LlamaConfig} (HF
 * config.json), {@link dev.loraforge.model.LlamaModel} over any {@link dev.loraforge.tensor.TensorSource}
 * with HF names, {@link dev.loraforge.model.Session} (KV cache, batched prefill, per-layer hidden states),
 * {@link dev.loraforge.model.Perplexity} (llama-perplexity's procedure), {@link dev.loraforge.model.Generator}
 * and {@link dev.loraforge.model.Compare} (logit, KL, top-1, perplexity and per-layer metrics).
 * <p>
 * Weights enter through the {@link dev.loraforge.model.Linear} seam built by a
 * {@link dev.loraforge.model.LinearFactory}: {@link dev.loraforge.model.DenseLinear} (float32 copies),
 * {@link dev.loraforge.model.UnmergedLora} (a PEFT adapter applied at run time) and
 * {@link dev.loraforge.model.GgufLlama} (llama.cpp GGUFs, dequantized, q/k rows un-permuted).
 * Activations are float32; dot products, norms and softmax accumulate in float64.
 */
package dev.loraforge.model;
