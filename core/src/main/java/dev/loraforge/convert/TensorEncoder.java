package dev.loraforge.convert;

import dev.loraforge.format.gguf.GgmlType;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.FloatConversions;
import dev.loraforge.tensor.TensorView;

import java.lang.foreign.MemorySegment;

/**
 * Writes one GGUF tensor from an HF tensor, row by row: the q/k row permutation of
 * {@code LlamaModel.permute}, then the element conversion convert_hf_to_gguf.py applies
 * (F32 widening, numpy {@code astype(float16)} = round to nearest even, gguf-py's BF16 = quiet NaN + RNE)
 * or a quantizer. Only one row is held in memory.
 */
final class TensorEncoder {
    private TensorEncoder() {
    }

    /**
     * Source row of output row {@code r} under {@code permute(w, nHead)}: rows are
     * [head][2][half] in HF order and [head][half][2] in llama.cpp's order.
     */
    static long sourceRow(long r, long rows, long nHead) {
        if (nHead <= 0) {
            return r;
        }
        long perHead = rows / nHead;
        long half = perHead / 2;
        long h = r / perHead;
        long within = r % perHead;
        long i = within / 2;
        long j = within % 2;
        return h * perHead + j * half + i;
    }

    static void checkPermutable(String name, long rows, long nHead) {
        if (nHead > 0 && (rows % nHead != 0 || (rows / nHead) % 2 != 0)) {
            throw new ConvertException(ConvertException.Kind.BAD_SHAPE, "tensor '" + name + "' has " + rows
                    + " rows, which cannot be split into " + nHead + " heads of two rotary halves");
        }
    }

    /** Elements {@code from..from+n} as floats; bulk (vectorized) for the 16-bit types. */
    private static void readRow(TensorView src, long from, float[] row, int n) {
        switch (src.dtype()) {
            case BF16 -> FloatConversions.bf16ToFloat(src.data(), 2 * from, row, 0, n);
            case F16 -> FloatConversions.f16ToFloat(src.data(), 2 * from, row, 0, n);
            case F32 -> MemorySegment.copy(src.data(), TensorView.F32_LE, 4 * from, row, 0, n);
            default -> src.readFloats(from, row, 0, n);
        }
    }

    /** Writes {@code src} as {@code type} into {@code dst} (exactly the tensor's bytes), permuting rows. */
    static void encode(TensorView src, long nHead, GgmlType type, RowQuantizer quantizer, MemorySegment dst) {
        encode(src, nHead, 0f, type, quantizer, dst);
    }

    /** As above, with {@code shift} added to every element in float32 first (Gemma norms: + 1). */
    static void encode(TensorView src, long nHead, float shift, GgmlType type, RowQuantizer quantizer, MemorySegment dst) {
        long[] shape = src.shape().dims();
        long rows = shape.length == 0 ? 1 : shape[0];
        long rowLen = rows == 0 ? 0 : src.elementCount() / rows;
        checkPermutable(src.name(), rows, nHead);
        int n = Math.toIntExact(rowLen);
        float[] row = new float[n];
        long outRowBytes = type.rowSize(rowLen);
        boolean rawCopy = shift == 0f && ((type == GgmlType.F32 && src.dtype() == DType.F32) || (type == GgmlType.F16 && src.dtype() == DType.F16));
        long inRowBytes = rawCopy ? src.dtype().byteCount(rowLen) : 0;
        for (long r = 0; r < rows; r++) {
            long s = sourceRow(r, rows, nHead);
            long out = r * outRowBytes;
            if (rawCopy) {
                MemorySegment.copy(src.data(), s * inRowBytes, dst, out, inRowBytes);
                continue;
            }
            readRow(src, s * rowLen, row, n);
            if (shift != 0f) {
                for (int k = 0; k < n; k++) {
                    row[k] += shift;
                }
            }
            switch (type) {
                case F32 -> {
                    for (int k = 0; k < n; k++) {
                        dst.set(TensorView.F32_LE, out + 4L * k, row[k]);
                    }
                }
                case F16 -> FloatConversions.floatToF16(row, 0, dst, out, n);
                case BF16 -> FloatConversions.floatToBf16(row, 0, dst, out, n);
                default -> {
                    if (quantizer == null) {
                        throw new ConvertException(ConvertException.Kind.UNSUPPORTED_TYPE,
                                "no quantizer for " + type + " (tensor '" + src.name() + "')");
                    }
                    quantizer.quantize(row, n, dst, out);
                }
            }
        }
        if (rows * outRowBytes != dst.byteSize()) {
            throw new IllegalStateException("tensor '" + src.name() + "': wrote " + rows * outRowBytes + " of "
                    + dst.byteSize() + " bytes");
        }
    }
}
