package dev.loraforge.model;

import dev.loraforge.format.gguf.GgmlType;
import dev.loraforge.format.gguf.GgufTensor;
import java.lang.foreign.MemorySegment;

/**
 * A projection over a GGUF Q8_0 matrix left in place (the mapped file): every output is a {@link Q8_0Dot}
 * straight on the row's blocks, so decoding reads 34 bytes per 32 weights and never builds a float row.
 * Outputs come in HF order: q/k rows are put back from llama.cpp's interleaved RoPE order ({@code heads} > 0).
 */
final class Q8_0Linear implements Linear {

    /** About this many weight bytes per chunk of rows handed to a thread. */
    private static final int CHUNK_BYTES = 1 << 16;

    private final GgufTensor tensor;
    private final MemorySegment data;
    private final int rows;
    private final int cols;
    private final int blocks;
    private final long rowBytes;
    private final int heads;
    private final int chunk;

    Q8_0Linear(GgufTensor tensor, int rows, int cols, int heads) {
        if (tensor.type() != GgmlType.Q8_0 || cols % Q8_0Dot.QK != 0 || rows <= 0) {
            throw new IllegalArgumentException(tensor.name() + " is " + tensor.type() + " " + rows + "x" + cols
                    + ", a Q8_0 matrix with a multiple of 32 columns is needed");
        }
        this.tensor = tensor;
        this.data = tensor.data();
        this.rows = rows;
        this.cols = cols;
        this.blocks = cols / Q8_0Dot.QK;
        this.rowBytes = Q8_0Dot.rowBytes(cols);
        if (data.byteSize() < Math.multiplyExact(rowBytes, (long) rows)) {
            throw new ModelException(ModelException.Kind.BAD_WEIGHT, tensor.name() + " holds " + data.byteSize()
                    + " bytes, " + rows + " Q8_0 rows of " + cols + " need " + rowBytes * rows);
        }
        this.heads = heads;
        // as llama.cpp's MAP_POPULATE: page the rows in at load, not inside the first token
        if (data.isMapped()) {
            data.load();
        }
        Q8_0Dot.warmUp(data, blocks);
        this.chunk = (int) Math.clamp(CHUNK_BYTES / rowBytes, 4, 256);
    }

    @Override
    public int inFeatures() {
        return cols;
    }

    @Override
    public int outFeatures() {
        return rows;
    }

    @Override
    public void apply(float[] x, float[] y) {
        applyBatch(x, y, 1);
    }

    @Override
    public void applyBatch(float[] x, float[] y, int n) {
        if (n < 0 || (long) n * cols > x.length || (long) n * rows > y.length) {
            throw new IllegalArgumentException("batch of " + n + " rows: x " + x.length + ", y " + y.length
                    + " for " + rows + "x" + cols);
        }
        boolean parallel = (long) rows * cols * n >= MatVec.PARALLEL_THRESHOLD;
        RowChunks.run(rows, chunk, parallel, (from, to) -> rows(x, y, n, from, to));
    }

    /**
     * Several Q8_0 projections of the same {@code x} as one job over their rows laid end to end: one start
     * and one barrier instead of one per projection, and longer streams per thread (q/k/v, gate/up). False,
     * and nothing done, unless all are Q8_0 with the same input width.
     */
    static boolean applyAll(Linear[] ls, float[] x, float[][] ys, int n) {
        int total = 0;
        for (Linear l : ls) {
            if (!(l instanceof Q8_0Linear q) || q.cols != ((Q8_0Linear) ls[0]).cols) {
                return false;
            }
            total += q.rows;
        }
        Q8_0Linear first = (Q8_0Linear) ls[0];
        for (int i = 0; i < ls.length; i++) {
            if (n < 0 || (long) n * first.cols > x.length || (long) n * ls[i].outFeatures() > ys[i].length) {
                throw new IllegalArgumentException("batch of " + n + " rows for " + ls[i]);
            }
        }
        int chunk = first.chunk;
        boolean parallel = (long) total * first.cols * n >= MatVec.PARALLEL_THRESHOLD;
        RowChunks.run(total, chunk, parallel, (from, to) -> {
            int base = 0;
            for (int i = 0; i < ls.length && from < to; i++) {
                Q8_0Linear q = (Q8_0Linear) ls[i];
                int lo = Math.max(from, base);
                int hi = Math.min(to, base + q.rows);
                if (lo < hi) {
                    q.rows(x, ys[i], n, lo - base, hi - base);
                }
                base += q.rows;
            }
        });
        return true;
    }

    /**
     * GGUF rows {@code [from, to)} for every x row, read in file order (one sequential stream for the
     * prefetcher, also for q/k) and written to their HF position.
     */
    private void rows(float[] x, float[] y, int n, int from, int to) {
        MemorySegment w = data;
        if (n == 1) { // decoding: the hot loop, kept minimal
            for (int g = from; g < to; g++) {
                y[hfRow(g)] = Q8_0Dot.dot(w, g * rowBytes, x, 0, blocks);
            }
            return;
        }
        for (int g = from; g < to; g++) {
            int r = hfRow(g);
            for (int t = 0; t < n; t++) {
                y[t * rows + r] = Q8_0Dot.dot(w, g * rowBytes, x, t * cols, blocks);
            }
        }
    }

    private int hfRow(int g) {
        return heads == 0 ? g : GgufLlama.hfRow(g, heads, rows);
    }

    @Override
    public String toString() {
        return "Q8_0Linear[" + tensor.name() + " " + rows + "x" + cols + "]";
    }
}
