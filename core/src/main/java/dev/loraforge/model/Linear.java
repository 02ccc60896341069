package dev.loraforge.model;

/**
 * One projection {@code y = W·x} of the forward pass (no bias). The seam where dense, dequantized or
 * adapter-augmented weights plug in. Implementations must be safe to call from several threads at once
 * (perplexity runs chunks in parallel), so they keep no per-call state in fields.
 */
public interface Linear {

    /** Width of {@code x}. */
    int inFeatures();

    /** Width of {@code y}. */
    int outFeatures();

    /** Writes {@code W·x} into {@code y[0..outFeatures)}; reads {@code x[0..inFeatures)}. */
    void apply(float[] x, float[] y);

    /**
     * {@code n} rows at once: {@code x} is n × in, {@code y} n × out, both row-major. Must give the same
     * bits as {@code n} calls of {@link #apply(float[], float[])}; overriding it lets a weight be read once
     * for all rows (prompt prefill, perplexity).
     */
    default void applyBatch(float[] x, float[] y, int n) {
        int in = inFeatures();
        int out = outFeatures();
        float[] xi = new float[in];
        float[] yi = new float[out];
        for (int t = 0; t < n; t++) {
            System.arraycopy(x, t * in, xi, 0, in);
            apply(xi, yi);
            System.arraycopy(yi, 0, y, t * out, out);
        }
    }
}
