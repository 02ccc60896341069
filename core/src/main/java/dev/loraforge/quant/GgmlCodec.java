package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * Row codec for one ggml tensor type, bit-identical to llama.cpp's {@code quantize_row_*_ref} (what
 * llama-quantize runs without an importance matrix) and {@code dequantize_row_*}.
 * Implementations are stateless and thread-safe.
 */
public interface GgmlCodec {
    /** System property that forces the scalar kernels when set to {@code false}. */
    String VECTOR_PROPERTY = "loraforge.vector";

    GgmlType type();

    /**
     * Quantizes {@code n} floats (a multiple of the block size) from {@code src[srcOff..]} into
     * {@code dst} at byte offset {@code dstOff}; writes {@code type().rowSize(n)} bytes.
     */
    void quantize(float[] src, int srcOff, int n, MemorySegment dst, long dstOff);

    /** Dequantizes {@code n} values (a multiple of the block size) stored at {@code srcOff}. */
    void dequantize(MemorySegment src, long srcOff, float[] dst, int dstOff, int n);

    /**
     * Quantizes a row-major matrix of {@code rows} × {@code cols} floats row by row (blocks never span
     * rows, as in llama-quantize), optionally on the common fork-join pool. Rows are independent, so the
     * bytes do not depend on {@code parallel}; a parallel run needs a segment that every thread may access
     * (global, auto or shared arena, or a file mapping from one).
     */
    default void quantizeRows(float[] src, int srcOff, int rows, int cols, MemorySegment dst, long dstOff, boolean parallel) {
        long rowBytes = type().rowSize(cols);
        Objects.checkFromIndexSize(srcOff, Math.multiplyExact(rows, cols), src.length);
        Objects.checkFromIndexSize(dstOff, Math.multiplyExact(rowBytes, rows), dst.byteSize());
        IntStream range = IntStream.range(0, rows);
        (parallel ? range.parallel() : range).forEach(r ->
                quantize(src, srcOff + r * cols, cols, dst, dstOff + r * rowBytes));
    }

    /** The codec for {@code t}, vectorized unless {@code -Dloraforge.vector=false}. */
    static GgmlCodec of(GgmlType t) {
        return of(t, !"false".equalsIgnoreCase(System.getProperty(VECTOR_PROPERTY)));
    }

    /**
     * The codec for {@code t}, with the Vector API kernels or the plain scalar reference.
     * @throws QuantException of kind UNSUPPORTED_TYPE for types without a codec
     */
    static GgmlCodec of(GgmlType t, boolean vector) {
        return switch (t) {
            case F32 -> F32Codec.INSTANCE;
            case F16 -> F16Codec.INSTANCE;
            case BF16 -> Bf16Codec.INSTANCE;
            case Q8_0 -> vector ? Q8_0Codec.VECTOR : Q8_0Codec.SCALAR;
            case Q4_0 -> vector ? Q4_0Codec.VECTOR : Q4_0Codec.SCALAR;
            case Q4_1 -> vector ? Q4_1Codec.VECTOR : Q4_1Codec.SCALAR;
            case Q5_0 -> vector ? Q5_0Codec.VECTOR : Q5_0Codec.SCALAR;
            case Q5_1 -> vector ? Q5_1Codec.VECTOR : Q5_1Codec.SCALAR;
            case Q2_K -> vector ? Q2_KCodec.VECTOR : Q2_KCodec.SCALAR;
            case Q3_K -> vector ? Q3_KCodec.VECTOR : Q3_KCodec.SCALAR;
            case Q4_K -> vector ? Q4_KCodec.VECTOR : Q4_KCodec.SCALAR;
            case Q5_K -> vector ? Q5_KCodec.VECTOR : Q5_KCodec.SCALAR;
            case Q6_K -> vector ? Q6_KCodec.VECTOR : Q6_KCodec.SCALAR;
            default -> throw new QuantException(QuantException.Kind.UNSUPPORTED_TYPE,
                    "no quantization codec for ggml type " + t + " (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K)");
        };
    }
}
