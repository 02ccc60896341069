package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * llama.cpp's {@code llama_ftype} values that loraforge can write (every type they pick has a codec),
 * with the ids stored in {@code general.file_type} and the default tensor type of
 * {@code llama_ftype_get_default_type}.
 */
public enum LlamaFileType {
    ALL_F32(0, GgmlType.F32),
    MOSTLY_F16(1, GgmlType.F16),
    MOSTLY_Q4_0(2, GgmlType.Q4_0),
    MOSTLY_Q4_1(3, GgmlType.Q4_1),
    MOSTLY_Q8_0(7, GgmlType.Q8_0),
    MOSTLY_Q5_0(8, GgmlType.Q5_0),
    MOSTLY_Q5_1(9, GgmlType.Q5_1),
    MOSTLY_Q2_K(10, GgmlType.Q2_K),
    MOSTLY_Q3_K_S(11, GgmlType.Q3_K),
    MOSTLY_Q3_K_M(12, GgmlType.Q3_K),
    MOSTLY_Q3_K_L(13, GgmlType.Q3_K),
    MOSTLY_Q4_K_S(14, GgmlType.Q4_K),
    MOSTLY_Q4_K_M(15, GgmlType.Q4_K),
    MOSTLY_Q5_K_S(16, GgmlType.Q5_K),
    MOSTLY_Q5_K_M(17, GgmlType.Q5_K),
    MOSTLY_Q6_K(18, GgmlType.Q6_K),
    MOSTLY_BF16(32, GgmlType.BF16);

    /** Names llama-quantize accepts beyond the type names themselves, and Unsloth's three presets. */
    private static final Map<String, LlamaFileType> ALIASES = Map.of(
            "Q3_K", MOSTLY_Q3_K_M,
            "Q4_K", MOSTLY_Q4_K_M,
            "Q5_K", MOSTLY_Q5_K_M,
            "NOT_QUANTIZED", MOSTLY_F16,
            "FAST_QUANTIZED", MOSTLY_Q8_0,
            "QUANTIZED", MOSTLY_Q4_K_M);

    /** File types llama.cpp has but loraforge cannot write (the IQ and TQ types need codecs, Q2_K_S an imatrix). */
    private static final Map<String, Integer> UNSUPPORTED = Map.ofEntries(
            Map.entry("IQ2_XXS", 19), Map.entry("IQ2_XS", 20), Map.entry("Q2_K_S", 21), Map.entry("IQ3_XS", 22),
            Map.entry("IQ3_XXS", 23), Map.entry("IQ1_S", 24), Map.entry("IQ4_NL", 25), Map.entry("IQ3_S", 26),
            Map.entry("IQ3_M", 27), Map.entry("IQ2_S", 28), Map.entry("IQ2_M", 29), Map.entry("IQ4_XS", 30),
            Map.entry("IQ1_M", 31), Map.entry("TQ1_0", 36), Map.entry("TQ2_0", 37), Map.entry("MXFP4_MOE", 38));

    private final int id;
    private final GgmlType defaultType;

    LlamaFileType(int id, GgmlType defaultType) {
        this.id = id;
        this.defaultType = defaultType;
    }

    /** The {@code general.file_type} value. */
    public int id() {
        return id;
    }

    /** {@code llama_ftype_get_default_type}: the type most tensors get. */
    public GgmlType defaultType() {
        return defaultType;
    }

    /** The name llama-quantize prints and accepts, e.g. {@code Q4_K_M}, {@code F16}, {@code F32}. */
    public String displayName() {
        return this == ALL_F32 ? "F32" : name().substring("MOSTLY_".length());
    }

    public static Optional<LlamaFileType> fromId(int id) {
        for (LlamaFileType t : values()) {
            if (t.id == id) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /**
     * Parses a name as llama-quantize or Unsloth spells it, case-insensitively: {@code q4_k_m},
     * {@code Q8_0}, {@code f16}, {@code bf16}, {@code f32}, {@code q4_k} (= Q4_K_M), {@code mostly_q6_k},
     * the numeric id, or Unsloth's {@code not_quantized}/{@code fast_quantized}/{@code quantized}.
     * @throws QuantException of kind UNKNOWN_FILE_TYPE
     */
    public static LlamaFileType parse(String name) {
        String n = name.strip().toUpperCase(Locale.ROOT).replace('-', '_');
        if (!n.isEmpty() && n.chars().allMatch(Character::isDigit) && n.length() < 6) {
            return fromId(Integer.parseInt(n)).orElseThrow(() -> unknown(name));
        }
        if (n.startsWith("MOSTLY_")) {
            n = n.substring("MOSTLY_".length());
        }
        if (n.equals("F32") || n.equals("ALL_F32")) {
            return ALL_F32;
        }
        LlamaFileType alias = ALIASES.get(n);
        if (alias != null) {
            return alias;
        }
        for (LlamaFileType t : values()) {
            if (t.displayName().equals(n)) {
                return t;
            }
        }
        if (UNSUPPORTED.containsKey(n)) {
            throw new QuantException(QuantException.Kind.UNKNOWN_FILE_TYPE, "file type '" + name + "' (llama.cpp id "
                    + UNSUPPORTED.get(n) + ") is not supported: it needs IQ/TQ/MXFP4 codecs or an importance matrix");
        }
        throw unknown(name);
    }

    private static QuantException unknown(String name) {
        return new QuantException(QuantException.Kind.UNKNOWN_FILE_TYPE, "unknown file type '" + name
                + "'; expected one of F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, "
                + "Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K (any case)");
    }
}
