package dev.loraforge.merge;

import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.TensorView;

/**
 * One {@code scale · L·R} contribution to a weight of shape {@code rows × cols}, with the factors widened
 * to float64 once per tensor. For a linear layer L = B (out × r) and R = A (r × in); when the weight is
 * stored transposed (fan_in_fan_out, or an embedding, whose ΔW is (B·A)ᵀ) L = Aᵀ and R = Bᵀ, which gives
 * the same products summed in the same order. {@code exact}: both factors hold float32 values (read from
 * bf16/f16/f32), so their products are exact in float64 and the kernel may fuse multiply and add.
 */
public record LowRankTerm(double[] left, double[] right, int rows, int r, int cols, double scale, String name,
                          boolean exact) {

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
        boolean exact = narrow(a.dtype()) && narrow(b.dtype());
        if (!transposed) {
            return new LowRankTerm(bv, av, out, r, in, scale, b.name(), exact);
        }
        return new LowRankTerm(transpose(av, r, in), transpose(bv, out, r), in, r, out, scale, b.name(), exact);
    }

    /** The same term with its scale multiplied by {@code w} (adapter weight; −1 to unmerge). */
    public LowRankTerm weighted(double w) {
        return new LowRankTerm(left, right, rows, r, cols, scale * w, name, exact);
    }

    private static boolean narrow(DType t) {
        return t == DType.BF16 || t == DType.F16 || t == DType.F32;
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
