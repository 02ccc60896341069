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
}
