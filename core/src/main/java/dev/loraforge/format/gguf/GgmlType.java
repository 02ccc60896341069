package dev.loraforge.format.gguf;

import java.util.Optional;

/**
 * Tensor element types of ggml, with the ids, block sizes and block byte sizes of ggml's type traits.
 * Ids are explicit because ggml has retired some (4, 5, 31-33, 36-38) and a file names types by id.
 * The table is that of llama.cpp 3f545bec's ggml.c type_traits. gguf-py's GGML_QUANT_SIZES agrees except for
 * Q8_1, where it says 40 bytes; ggml's block_q8_1 has 36 (two halves + 32 quants), and ggml decides file layout.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q5_0(6, 32, 22),
    Q5_1(7, 32, 24),
    Q8_0(8, 32, 34),
    Q8_1(9, 32, 36),
    Q2_K(10, 256, 84),
    Q3_K(11, 256, 110),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    Q8_K(15, 256, 292),
    IQ2_XXS(16, 256, 66),
    IQ2_XS(17, 256, 74),
    IQ3_XXS(18, 256, 98),
    IQ1_S(19, 256, 50),
    IQ4_NL(20, 32, 18),
    IQ3_S(21, 256, 110),
    IQ2_S(22, 256, 82),
    IQ4_XS(23, 256, 136),
    I8(24, 1, 1),
    I16(25, 1, 2),
    I32(26, 1, 4),
    I64(27, 1, 8),
    F64(28, 1, 8),
    IQ1_M(29, 256, 56),
    BF16(30, 1, 2),
    TQ1_0(34, 256, 54),
    TQ2_0(35, 256, 66),
    MXFP4(39, 32, 17),
    NVFP4(40, 64, 36),
    Q1_0(41, 128, 18),
    Q2_0(42, 64, 18);

    /** ggml's GGML_TYPE_COUNT at llama.cpp 3f545bec: ids at or above it are unknown. */
    public static final int TYPE_COUNT = 43;

    private static final GgmlType[] BY_ID = new GgmlType[TYPE_COUNT];

    static {
        for (GgmlType t : values()) {
            BY_ID[t.id] = t;
        }
    }

    private final int id;
    private final int blockSize;
    private final int typeSize;

    GgmlType(int id, int blockSize, int typeSize) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
    }

    /** The id stored in a GGUF tensor info. */
    public int id() {
        return id;
    }

    /** Elements per block (1 for plain types, 32 or 256 for quantized ones). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int typeSize() {
        return typeSize;
    }

    public boolean isQuantized() {
        return blockSize > 1;
    }

    /** The type with this id; empty for ids ggml never had or has retired. */
    public static Optional<GgmlType> fromId(long id) {
        if (id < 0 || id >= BY_ID.length) {
            return Optional.empty();
        }
        return Optional.ofNullable(BY_ID[(int) id]);
    }

    /**
     * Bytes of a row of {@code n} elements, overflow-checked.
     * @throws IllegalArgumentException when n is not a multiple of the block size
     */
    public long rowSize(long n) {
        if (n % blockSize != 0) {
            throw new IllegalArgumentException(name() + ": row of " + n + " elements is not a multiple of the block size " + blockSize);
        }
        return Math.multiplyExact(n / blockSize, (long) typeSize);
    }
}
