package dev.loraforge.convert;

import dev.loraforge.format.gguf.GgmlType;
import dev.loraforge.format.gguf.GgufWriter;
import dev.loraforge.io.Piece;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.FloatConversions;
import dev.loraforge.tensor.TensorView;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;

/**
 * Writes one GGUF tensor from an HF tensor, row by row: the q/k row permutation of
 * {@code LlamaModel.permute}, then the element conversion convert_hf_to_gguf.py applies
 * (F32 widening, numpy {@code astype(float16)} = round to nearest even, gguf-py's BF16 = quiet NaN + RNE)
 * or a quantizer. Only one row and one output chunk are held in memory.
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
        long expected = dst.byteSize();
        try {
            encode(src, nHead, shift, type, quantizer, expected, (at, bytes) -> Piece.of(dst.asSlice(at, bytes)));
        } catch (IOException e) {
            throw new UncheckedIOException(e); // copying between segments does no I/O
        }
    }

    /** Output bytes per piece handed to the sink; bounds the memory one encoding thread touches. */
    static final long CHUNK_BYTES = 2L << 20;

    /**
     * Encodes {@code src} into {@code outBytes} bytes written to {@code sink} in row-aligned pieces of about
     * {@link #CHUNK_BYTES}, each filled in place in the sink's buffer. Source pages of a mapped tensor are released as rows are done, so the resident
     * set stays near one chunk per thread however large the tensor.
     */
    static void encode(TensorView src, long nHead, float shift, GgmlType type, RowQuantizer quantizer, long outBytes,
                       GgufWriter.TensorSink sink) throws IOException {
        long[] shape = src.shape().dims();
        long rows = shape.length == 0 ? 1 : shape[0];
        long rowLen = rows == 0 ? 0 : src.elementCount() / rows;
        checkPermutable(src.name(), rows, nHead);
        int n = Math.toIntExact(rowLen);
        float[] row = new float[n];
        long outRowBytes = type.rowSize(rowLen);
        if (rows * outRowBytes != outBytes) {
            throw new IllegalStateException("tensor '" + src.name() + "': " + rows * outRowBytes + " bytes to write, "
                    + outBytes + " expected");
        }
        boolean rawCopy = shift == 0f && ((type == GgmlType.F32 && src.dtype() == DType.F32) || (type == GgmlType.F16 && src.dtype() == DType.F16));
        // the common bf16 model to F16: straight from the mapped row to the output buffer, no float row
        boolean bf16ToF16 = shift == 0f && type == GgmlType.F16 && src.dtype() == DType.BF16;
        long inRowBytes = src.dtype().byteCount(rowLen);
        long chunkRows = Math.max(1, Math.min(rows, CHUNK_BYTES / Math.max(1, outRowBytes)));
        // permuted rows of a head are read out of order: release the source once the head is done
        long releaseRows = nHead > 0 ? rows / nHead : 1;
        boolean release = src.data().isMapped();
        for (long r0 = 0; r0 < rows; r0 += chunkRows) {
            long r1 = Math.min(rows, r0 + chunkRows);
            try (Piece piece = sink.piece(r0 * outRowBytes, (r1 - r0) * outRowBytes)) {
                MemorySegment buf = piece.segment();
                for (long r = r0; r < r1; r++) {
                    long s = sourceRow(r, rows, nHead);
                    long out = (r - r0) * outRowBytes;
                    if (rawCopy) {
                        MemorySegment.copy(src.data(), s * inRowBytes, buf, out, inRowBytes);
                    } else if (bf16ToF16) {
                        FloatConversions.bf16ToF16(src.data(), s * inRowBytes, buf, out, n);
                    } else {
                        encodeRow(src, s * rowLen, row, n, shift, type, quantizer, buf, out);
                    }
                }
                piece.write();
            }
            if (release) {
                long done = r1 / releaseRows * releaseRows; // whole heads only
                long from = r0 / releaseRows * releaseRows;
                if (done > from) {
                    src.data().asSlice(from * inRowBytes, (done - from) * inRowBytes).unload();
                }
            }
        }
    }

    private static void encodeRow(TensorView src, long from, float[] row, int n, float shift, GgmlType type,
                                  RowQuantizer quantizer, MemorySegment dst, long out) {
        readRow(src, from, row, n);
        if (shift != 0f) {
            for (int k = 0; k < n; k++) {
                row[k] += shift;
            }
        }
        switch (type) {
            case F32 -> MemorySegment.copy(row, 0, dst, TensorView.F32_LE, out, n);
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
}
