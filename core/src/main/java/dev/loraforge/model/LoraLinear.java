package dev.loraforge.model;

/**
 * A base projection plus an unmerged LoRA update, PEFT's {@code LoraLayer.forward}:
 * {@code y = W·x + s·B·(A·x)}; with DoRA {@code y = (m / ‖W + s·B·A‖_row) ⊙ (W·x + s·B·(A·x))}
 * (PEFT's DoraLinearVariant, the norm taken from the merged weight and treated as a constant).
 * The low-rank path runs in float64 so only the base's float32 rounding remains.
 */
final class LoraLinear implements Linear {

    private final Linear base;
    private final float[] a;      // r × in
    private final float[] b;      // out × r
    private final int r;
    private final double scale;
    private final double[] doraScale; // m / ‖W'‖ per output row, or null

    LoraLinear(Linear base, float[] a, float[] b, int r, double scale, double[] doraScale) {
        this.base = base;
        this.a = a;
        this.b = b;
        this.r = r;
        this.scale = scale;
        this.doraScale = doraScale;
    }

    @Override
    public int inFeatures() {
        return base.inFeatures();
    }

    @Override
    public int outFeatures() {
        return base.outFeatures();
    }

    @Override
    public void apply(float[] x, float[] y) {
        base.apply(x, y);
        addLowRank(x, 0, y, 0);
    }

    @Override
    public void applyBatch(float[] x, float[] y, int n) {
        base.applyBatch(x, y, n);
        for (int t = 0; t < n; t++) {
            addLowRank(x, t * base.inFeatures(), y, t * base.outFeatures());
        }
    }

    /** {@code y += s·B·(A·x)} (DoRA: then times m/‖W'‖) for one row, in float64. */
    private void addLowRank(float[] x, int xOff, float[] y, int yOff) {
        int in = base.inFeatures();
        double[] t = new double[r];
        for (int k = 0; k < r; k++) {
            t[k] = MatVec.dot(a, k * in, x, xOff, in);
        }
        for (int o = 0; o < base.outFeatures(); o++) {
            double bt = 0;
            int off = o * r;
            for (int k = 0; k < r; k++) {
                bt += b[off + k] * t[k];
            }
            double v = y[yOff + o] + scale * bt;
            y[yOff + o] = (float) (doraScale == null ? v : doraScale[o] * v);
        }
    }

    /** Row norms of {@code W + s·B·A} in float64. */
    static double[] mergedRowNorms(RowLinear w, float[] a, float[] b, int r, double scale) {
        int out = w.outFeatures();
        int in = w.inFeatures();
        float[] row = new float[in];
        double[] norms = new double[out];
        for (int o = 0; o < out; o++) {
            w.row(o, row);
            double ss = 0;
            for (int j = 0; j < in; j++) {
                double ba = 0;
                for (int k = 0; k < r; k++) {
                    ba += (double) b[o * r + k] * a[k * in + j];
                }
                double v = row[j] + scale * ba;
                ss += v * v;
            }
            norms[o] = Math.sqrt(ss);
        }
        return norms;
    }
}
