package dev.loraforge.merge;

import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.FloatConversions;
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
    private static final int ROWS_PER_TASK = 64;
    /** Rows widened together: the vector kernel's register block. */
    static final int ROW_GROUP = 4;

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
        int rows = checkShapes(base, terms, magnitude);
        long rowBytes = base.shape().dim(1) * outType.byteSize();
        int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        Rows merger = rows(base, terms, magnitude, outType, kernel);
        IntStream.range(0, tasks).parallel().forEach(task -> {
            int from = task * ROWS_PER_TASK;
            int to = Math.min(rows, from + ROWS_PER_TASK);
            merger.merge(from, to, out.asSlice(from * rowBytes, (to - from) * rowBytes));
        });
    }

    /** Merges rows {@code [from, to)} of one tensor into {@code out}, which starts at row {@code from}. */
    @FunctionalInterface
    interface Rows {
        void merge(int from, int to, MemorySegment out);
    }

    /**
     * The row merger for one tensor: {@link Bf16FastMerge} where it applies (same bytes, faster), else
     * {@link #mergeRows}. Chosen once per tensor, so its per-tensor preparation is not repeated per task.
     */
    static Rows rows(TensorView base, List<LowRankTerm> terms, double[] magnitude, DType outType, LowRankKernel kernel) {
        Bf16FastMerge fast = Bf16FastMerge.of(base, terms, magnitude, outType, kernel);
        return fast != null ? fast::mergeRows
                : (from, to, out) -> mergeRows(base, terms, magnitude, outType, from, to, out, kernel);
    }

    /** Checks the terms and magnitude fit the base; returns its row count. */
    static int checkShapes(TensorView base, List<LowRankTerm> terms, double[] magnitude) {
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
        return rows;
    }

    /**
     * Rows {@code [from, to)} of the merged tensor into {@code out} (which starts at row {@code from}).
     * Tiled: for each band of columns the factors' r × band slices are packed contiguously (they then stay in
     * L1 across all the rows; rows of {@code right} a power of two apart would fight over cache sets), and
     * groups of rows are widened, updated and rounded. DoRA needs whole rows for the norm: one band, unpacked.
     */
    static void mergeRows(TensorView base, List<LowRankTerm> terms, double[] magnitude, DType outType,
                          int from, int to, MemorySegment out, LowRankKernel kernel) {
        int cols = Math.toIntExact(base.shape().dim(1));
        int maxR = terms.stream().mapToInt(LowRankTerm::r).max().orElse(1);
        int tile = magnitude == null ? Math.min(cols, bandWidth(maxR)) : cols;
        boolean pack = tile < cols;
        double[][] packed = new double[terms.size()][];
        double[] x = new double[ROW_GROUP * tile];
        for (int j0 = 0; j0 < cols; j0 += tile) {
            int n = Math.min(tile, cols - j0);
            for (int ti = 0; pack && ti < terms.size(); ti++) {
                LowRankTerm t = terms.get(ti);
                if (packed[ti] == null) {
                    packed[ti] = new double[t.r() * tile];
                }
                for (int k = 0; k < t.r(); k++) {
                    System.arraycopy(t.right(), k * cols + j0, packed[ti], k * tile, n);
                }
            }
            for (int r0 = from; r0 < to; r0 += ROW_GROUP) {
                int g = Math.min(ROW_GROUP, to - r0);
                for (int i = 0; i < g; i++) {
                    base.readDoubles((long) (r0 + i) * cols + j0, x, i * tile, n);
                }
                for (int ti = 0; ti < terms.size(); ti++) {
                    LowRankTerm t = terms.get(ti);
                    if (pack) {
                        kernel.addBlock(x, 0, tile, g, t.scale(), t.exact(), t.left(), r0, t.r(), packed[ti], tile, 0, n);
                    } else {
                        kernel.addBlock(x, 0, tile, g, t.scale(), t.exact(), t.left(), r0, t.r(), t.right(), cols, j0, n);
                    }
                }
                for (int i = 0; i < g; i++) {
                    if (magnitude != null) {
                        double f = magnitude[r0 + i] / PairwiseSum.norm(x, i * tile, cols);
                        for (int j = 0; j < cols; j++) {
                            x[i * tile + j] = f * x[i * tile + j];
                        }
                    }
                    store(out, outType, (long) (r0 - from + i) * cols + j0, x, i * tile, n);
                }
            }
        }
    }

    /** Columns per band so that r × band doubles fill about half of a 32 KiB L1 (128 for r = 16). */
    static int bandWidth(int r) {
        return Math.clamp(2048 / Math.max(1, r) / 16 * 16, 16, 512);
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
            convertRange(src, outType, from, len, out.asSlice(from * outType.byteSize(), len * outType.byteSize()));
        });
    }

    /** Elements {@code [from, from+len)} of {@code src} rounded once to {@code outType} into {@code out}. */
    static void convertRange(TensorView src, DType outType, long from, int len, MemorySegment out) {
        double[] x = new double[Math.min(len, 1 << 14)];
        for (int done = 0; done < len; done += x.length) {
            int n = Math.min(x.length, len - done);
            src.readDoubles(from + done, x, 0, n);
            store(out, outType, done, x, 0, n);
        }
    }

    /** Rounds {@code x[0, len)} once to {@code type} and stores it at element {@code at}. */
    public static void store(MemorySegment out, DType type, long at, double[] x, int len) {
        store(out, type, at, x, 0, len);
    }

    /** Rounds {@code x[off, off+len)} once to {@code type} and stores it at element {@code at}. */
    public static void store(MemorySegment out, DType type, long at, double[] x, int off, int len) {
        switch (type) {
            case BF16 -> FloatConversions.doubleToBf16(x, off, out, 2 * at, len);
            case F16 -> FloatConversions.doubleToF16(x, off, out, 2 * at, len);
            case F32 -> {
                for (int j = 0; j < len; j++) {
                    out.setAtIndex(TensorView.F32_LE, at + j, (float) x[off + j]);
                }
            }
            case F64 -> MemorySegment.copy(x, off, out, TensorView.F64_LE, 8 * at, len);
            default -> throw new IllegalArgumentException("cannot write merged values as " + type);
        }
    }
}
