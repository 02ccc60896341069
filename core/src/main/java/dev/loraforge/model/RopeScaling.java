package dev.loraforge.model;

/**
 * HF {@code rope_scaling}: how the rotary inverse frequencies are stretched for long contexts.
 * {@link Type#LINEAR} divides every frequency by {@code factor}; {@link Type#LLAMA3} is Llama 3.1's
 * wavelength-dependent blend (HF {@code _compute_llama3_parameters}).
 */
public record RopeScaling(Type type, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositionEmbeddings) {

    public enum Type { LINEAR, LLAMA3 }

    public RopeScaling {
        if (!(factor > 0) || Double.isInfinite(factor)) {
            throw new ModelException(ModelException.Kind.INVALID_CONFIG,
                    "rope_scaling.factor must be a positive number, got " + factor);
        }
        if (type == Type.LLAMA3) {
            if (!(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor) || Double.isInfinite(highFreqFactor)) {
                throw new ModelException(ModelException.Kind.INVALID_CONFIG, "rope_scaling llama3 needs "
                        + "0 < low_freq_factor < high_freq_factor, got " + lowFreqFactor + " and " + highFreqFactor);
            }
            if (originalMaxPositionEmbeddings <= 0) {
                throw new ModelException(ModelException.Kind.INVALID_CONFIG,
                        "rope_scaling llama3 needs original_max_position_embeddings > 0, got "
                                + originalMaxPositionEmbeddings);
            }
        }
    }

    public static RopeScaling linear(double factor) {
        return new RopeScaling(Type.LINEAR, factor, 0, 0, 0);
    }

    public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMax) {
        return new RopeScaling(Type.LLAMA3, factor, lowFreqFactor, highFreqFactor, originalMax);
    }

    /** Applies the scaling to unscaled inverse frequencies {@code theta^(-2i/d)}, in place. */
    void apply(double[] invFreq) {
        switch (type) {
            case LINEAR -> {
                for (int i = 0; i < invFreq.length; i++) {
                    invFreq[i] /= factor;
                }
            }
            case LLAMA3 -> {
                double lowFreqWavelen = originalMaxPositionEmbeddings / lowFreqFactor;
                double highFreqWavelen = originalMaxPositionEmbeddings / highFreqFactor;
                for (int i = 0; i < invFreq.length; i++) {
                    double f = invFreq[i];
                    double wavelen = 2 * Math.PI / f;
                    if (wavelen > lowFreqWavelen) {
                        invFreq[i] = f / factor;             // long wavelengths: fully interpolated
                    } else if (wavelen >= highFreqWavelen) { // medium: blend of the two
                        double smooth = (originalMaxPositionEmbeddings / wavelen - lowFreqFactor)
                                / (highFreqFactor - lowFreqFactor);
                        invFreq[i] = (1 - smooth) * f / factor + smooth * f;
                    }                                        // short wavelengths: unchanged
                }
            }
        }
    }
}
