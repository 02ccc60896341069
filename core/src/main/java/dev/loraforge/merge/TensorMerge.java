package dev.loraforge.merge;

import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.HalfFloat;
import dev.loraforge.tensor.TensorView;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Computes one output tensor: {@code W + Σ scaleᵢ·Lᵢ·Rᵢ} per row in float64, optionally DoRA-rescaled
 * ({@code (m / ‖row‖) · row}), and rounds each element once to the output dtype. Rows are independent, so
 * they are computed in parallel straight into the output segment.
 */
public final class TensorMerge {
    private static final int ROWS_PER_TASK = 16;

    private TensorMerge() {
    }

    /**
     * @param base      the base weight, rows × cols (2-D)
     * @param terms     low-rank updates, each rows × cols
     * @param magnitude DoRA magnitude per row, or null
     * @param out       rows × cols elements of {@code outType}
     */
    public static void merge(TensorView base, List<LowRankTerm> terms, double[] magnitude, DType outType,
                             MemorySegment out, LowRankKernel kernel) {
        if (base.shape().rank() != 2) {
            throw new IllegalArgumentException(base.name() + ": a LoRA merge needs a 2-D weight, has shape " + base.shape());
        }
        int rows = Math.toIntExact(base.shape().dim(0));
        int cols = Math.toIntExact(base.shape().dim(1));
        for (LowRankTerm t : terms) {
            if (t.rows() != rows || t.cols() != cols) {
                throw new IllegalArgumentException(t.name() + ": update is " + t.rows() + "×" + t.cols()
                        + ", base " + base.name() + " is " + rows + "×" + cols);
            }
        }
        if (magnitude != null && magnitude.length != rows) {
            throw new IllegalArgumentException(base.name() + ": DoRA magnitude has " + magnitude.length + " values for " + rows + " rows");
        }
        int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        IntStream.range(0, tasks).parallel().forEach(task -> {
            double[] x = new double[cols];
            int end = Math.min(rows, (task + 1) * ROWS_PER_TASK);
            for (int row = task * ROWS_PER_TASK; row < end; row++) {
                long at = (long) row * cols;
                base.readDoubles(at, x, 0, cols);
                for (LowRankTerm t : terms) {
                    kernel.addRow(x, t.scale(), t.left(), row, t.r(), t.right(), cols);
                }
                if (magnitude != null) {
                    double f = magnitude[row] / PairwiseSum.norm(x, 0, cols);
                    for (int j = 0; j < cols; j++) {
                        x[j] = f * x[j];
                    }
                }
                store(out, outType, at, x, cols);
            }
        });
    }

    /** Copies {@code src} into {@code out} converting to {@code outType} with one rounding (a byte copy when equal). */
    public static void convert(TensorView src, DType outType, MemorySegment out) {
        if (src.dtype() == outType) {
            MemorySegment.copy(src.data(), 0, out, 0, src.byteSize());
            return;
        }
        long n = src.elementCount();
        int chunk = 1 << 16;
        long tasks = (n + chunk - 1) / chunk;
        IntStream.range(0, Math.toIntExact(tasks)).parallel().forEach(task -> {
            long from = (long) task * chunk;
            int len = (int) Math.min(chunk, n - from);
            double[] x = new double[len];
            src.readDoubles(from, x, 0, len);
            store(out, outType, from, x, len);
        });
    }

    /** Rounds {@code x[0, len)} once to {@code type} and stores it at element {@code at}. */
    public static void store(MemorySegment out, DType type, long at, double[] x, int len) {
        switch (type) {
            case BF16 -> {
                for (int j = 0; j < len; j++) {
                    out.setAtIndex(TensorView.I16_LE, at + j, HalfFloat.doubleToBf16(x[j]));
                }
            }
            case F16 -> {
                for (int j = 0; j < len; j++) {
                    out.setAtIndex(TensorView.I16_LE, at + j, HalfFloat.doubleToF16(x[j]));
                }
            }
            case F32 -> {
                for (int j = 0; j < len; j++) {
                    out.setAtIndex(TensorView.F32_LE, at + j, (float) x[j]);
                }
            }
            case F64 -> {
                for (int j = 0; j < len; j++) {
                    out.setAtIndex(TensorView.F64_LE, at + j, x[j]);
                }
            }
            default -> throw new IllegalArgumentException("cannot write merged values as " + type);
        }
    }
}
