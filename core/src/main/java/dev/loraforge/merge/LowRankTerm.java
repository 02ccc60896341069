package dev.loraforge.merge;

import dev.loraforge.tensor.TensorView;

/**
 * One {@code scale · L·R} contribution to a weight of shape {@code rows × cols}, with the factors widened
 * to float64 once per tensor. For a linear layer L = B (out × r) and R = A (r × in); when the weight is
 * stored transposed (fan_in_fan_out, or an embedding, whose ΔW is (B·A)ᵀ) L = Aᵀ and R = Bᵀ, which gives
 * the same products summed in the same order.
 */
public record LowRankTerm(double[] left, double[] right, int rows, int r, int cols, double scale, String name) {

    public LowRankTerm {
        if (left.length != (long) rows * r || right.length != (long) r * cols) {
            throw new IllegalArgumentException(name + ": factor sizes do not match " + rows + "×" + r + "×" + cols);
        }
    }

    /**
     * @param a          lora_A (r × in), or lora_embedding_A (r × vocab)
     * @param b          lora_B (out × r), or lora_embedding_B (dim × r)
     * @param transposed true when ΔW = (B·A)ᵀ (fan_in_fan_out, embeddings)
     */
    public static LowRankTerm of(TensorView a, TensorView b, boolean transposed, double scale) {
        int r = Math.toIntExact(a.shape().dim(0));
        int in = Math.toIntExact(a.shape().dim(1));
        int out = Math.toIntExact(b.shape().dim(0));
        if (b.shape().dim(1) != r) {
            throw new IllegalArgumentException(b.name() + " has " + b.shape().dim(1) + " columns, " + a.name() + " has " + r + " rows");
        }
        double[] av = new double[Math.multiplyExact(r, in)];
        a.readDoubles(0, av, 0, av.length);
        double[] bv = new double[Math.multiplyExact(out, r)];
        b.readDoubles(0, bv, 0, bv.length);
        if (!transposed) {
            return new LowRankTerm(bv, av, out, r, in, scale, b.name());
        }
        return new LowRankTerm(transpose(av, r, in), transpose(bv, out, r), in, r, out, scale, b.name());
    }

    /** The same term with its scale multiplied by {@code w} (adapter weight; −1 to unmerge). */
    public LowRankTerm weighted(double w) {
        return new LowRankTerm(left, right, rows, r, cols, scale * w, name);
    }

    private static double[] transpose(double[] m, int rows, int cols) {
        double[] t = new double[m.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = m[i * cols + j];
            }
        }
        return t;
    }
}
