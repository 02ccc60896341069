package dev.loraforge.convert;

import dev.loraforge.format.gguf.GgmlType;

import java.util.Locale;
import java.util.Optional;

/**
 * What {@code loraforge gguf --type} can produce: the float types convert_hf_to_gguf.py writes itself, and the
 * llama-quantize file types (written as llama-quantize would write them from the converter's output).
 * {@code fileType} is llama.cpp's {@code llama_ftype} id, stored as {@code general.file_type}.
 */
public enum OutputType {
    F32(0, GgmlType.F32, false),
    F16(1, GgmlType.F16, false),
    BF16(32, GgmlType.BF16, false),
    Q4_0(2, GgmlType.Q4_0, true),
    Q4_1(3, GgmlType.Q4_1, true),
    Q8_0(7, GgmlType.Q8_0, true),
    Q5_0(8, GgmlType.Q5_0, true),
    Q5_1(9, GgmlType.Q5_1, true),
    Q2_K(10, GgmlType.Q2_K, true),
    Q3_K_S(11, GgmlType.Q3_K, true),
    Q3_K_M(12, GgmlType.Q3_K, true),
    Q3_K_L(13, GgmlType.Q3_K, true),
    Q4_K_S(14, GgmlType.Q4_K, true),
    Q4_K_M(15, GgmlType.Q4_K, true),
    Q5_K_S(16, GgmlType.Q5_K, true),
    Q5_K_M(17, GgmlType.Q5_K, true),
    Q6_K(18, GgmlType.Q6_K, true);

    private final int fileType;
    private final GgmlType baseType;
    private final boolean quantized;

    OutputType(int fileType, GgmlType baseType, boolean quantized) {
        this.fileType = fileType;
        this.baseType = baseType;
        this.quantized = quantized;
    }

    public int fileType() {
        return fileType;
    }

    /** The type most weights get (the "default type" of llama-quantize). */
    public GgmlType baseType() {
        return baseType;
    }

    /** True when the file is what llama-quantize writes (its tensor order and KV additions). */
    public boolean quantized() {
        return quantized;
    }

    /** Case-insensitive name as llama-quantize and convert_hf_to_gguf.py spell them ({@code q4_k_m}, {@code f16}). */
    public static Optional<OutputType> parse(String s) {
        try {
            return Optional.of(valueOf(s.trim().toUpperCase(Locale.ROOT)));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
