package dev.loraforge.tensor;

/**
 * A matrix read one row at a time as floats, for a tensor that is better not widened whole: a quantized
 * GGUF embedding of 128K tokens is 1 GB as floats, of which a prompt needs a few rows.
 */
public interface RowReader {

    long rows();

    int cols();

    /** Row {@code row} into {@code dst[off, off + cols())}. */
    void read(long row, float[] dst, int off);

    /** How one row is filled. */
    @FunctionalInterface
    interface Fill {
        void read(long row, float[] dst, int off);
    }

    /** A {@code rows} × {@code cols} matrix whose rows {@code fill} writes. */
    static RowReader of(long rows, int cols, Fill fill) {
        return new RowReader() {
            @Override
            public long rows() {
                return rows;
            }

            @Override
            public int cols() {
                return cols;
            }

            @Override
            public void read(long row, float[] dst, int off) {
                fill.read(row, dst, off);
            }
        };
    }

    /** The rows of a 2-D view (any float dtype), read in place. */
    static RowReader of(TensorView v) {
        if (v.shape().rank() != 2) {
            throw new IllegalArgumentException(v.name() + " is " + v.shape() + ", not a matrix");
        }
        int cols = Math.toIntExact(v.shape().dim(1));
        return of(v.shape().dim(0), cols, (row, dst, off) -> v.readFloats(row * cols, dst, off, cols));
    }
}
