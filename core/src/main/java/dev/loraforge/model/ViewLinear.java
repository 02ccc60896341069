package dev.loraforge.model;

import dev.loraforge.tensor.TensorView;

/** A projection read in place from a float tensor view (F32, F16, BF16; usually a mapped file), row by row. */
public final class ViewLinear extends RowLinear {

    private final TensorView view;

    public ViewLinear(TensorView view, int out, int in) {
        super(out, in);
        DenseLinear.check(view, out, in);
        this.view = view;
    }

    @Override
    public void row(int r, float[] dst) {
        view.readFloats((long) r * inFeatures(), dst, 0, inFeatures());
    }

    @Override
    public String toString() {
        return "ViewLinear[" + view.name() + "]";
    }
}
