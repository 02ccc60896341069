package dev.loraforge.model;

import dev.loraforge.tensor.TensorView;
import java.util.Objects;

/** A projection over a float32 copy of a 2-D weight [out, in] (exact for F32, F16 and BF16 sources). */
public final class DenseLinear extends RowLinear {

    private final String name;
    private final float[] weight;
    private final int rows;
    private final int cols;

    public DenseLinear(String name, float[] weight, int rows, int cols) {
        super(rows, cols);
        this.name = Objects.requireNonNull(name, "name");
        if ((long) rows * cols != weight.length) {
            throw new IllegalArgumentException(name + ": " + weight.length + " weights for " + rows + "x" + cols);
        }
        this.weight = weight;
        this.rows = rows;
        this.cols = cols;
    }

    /** Converts a [out, in] float tensor once; checks it against the expected shape. */
    public static DenseLinear of(TensorView view, int out, int in) {
        check(view, out, in);
        return new DenseLinear(view.name(), view.toFloatArray(), out, in);
    }

    static void check(TensorView view, int out, int in) {
        if (!view.dtype().isFloatingPoint()) {
            throw new ModelException(ModelException.Kind.BAD_WEIGHT,
                    "weight '" + view.name() + "' has dtype " + view.dtype() + ", a float type is needed");
        }
        if (view.shape().rank() != 2 || view.shape().dim(0) != out || view.shape().dim(1) != in) {
            throw new ModelException(ModelException.Kind.BAD_WEIGHT, "weight '" + view.name() + "' has shape "
                    + view.shape() + ", expected [" + out + ", " + in + "]");
        }
    }

    public String name() {
        return name;
    }

    @Override
    public void row(int r, float[] dst) {
        System.arraycopy(weight, Math.multiplyExact(r, cols), dst, 0, cols);
    }

    @Override
    public void apply(float[] x, float[] y) {
        MatVec.apply(weight, 0, rows, cols, x, y);
    }

    @Override
    public void applyBatch(float[] x, float[] y, int n) {
        MatVec.applyBatch(weight, 0, rows, cols, x, n, y);
    }

    @Override
    public String toString() {
        return "DenseLinear[" + name + " " + rows + "x" + cols + "]";
    }
}
