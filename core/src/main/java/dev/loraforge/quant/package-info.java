/**
 * ggml quantization: {@link dev.loraforge.quant.GgmlCodec} row codecs bit-identical to llama.cpp's reference
 * quantizers and dequantizers (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K),
 * and {@link dev.loraforge.quant.QuantMix}, llama-quantize's per-tensor type choice for a
 * {@link dev.loraforge.quant.LlamaFileType} such as Q4_K_M.
 *
 * <p>Bit-exactness rests on three facts of ggml-base: it is plain IEEE single precision in source order with no
 * FMA contraction (Java float arithmetic in the same order reproduces it), its {@code nearest_int} rounds half
 * to even while Q8_0 uses C's {@code roundf} (half away from zero), and scales are stored through
 * {@code GGML_FP32_TO_FP16} (round to nearest even, NaN to 0x7E00). Inputs are float32: F16/BF16 weights are
 * widened exactly first, as llama-quantize does.
 */
package dev.loraforge.quant;
