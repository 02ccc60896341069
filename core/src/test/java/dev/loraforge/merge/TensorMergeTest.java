package dev.loraforge.merge;

import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.HalfFloat;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorView;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The tiled merge (column bands with packed factors, groups of four rows, bulk widening and rounding)
 * gives, for every element, the definition computed one element at a time: the base, plus for each term
 * in order scale·(Σ_k left·right from 0.0 in order k), rounded once to the output dtype (DoRA: times
 * magnitude / row norm first). Shapes make several bands, band tails and row-group tails.
 */
class TensorMergeTest {

    @ParameterizedTest(name = "{0}×{1} r {2} terms {3} {4} dora {5}")
    @CsvSource({"37,1000,16,1,BF16,false", "9,300,5,2,BF16,false", "13,130,64,1,F32,false", "6,257,16,2,F16,false",
            "11,520,8,1,BF16,true", "4,128,16,1,F64,false", "3,7,1,1,BF16,false"})
    void tiledMergeEqualsTheElementwiseDefinition(int rows, int cols, int r, int nTerms, DType outType, boolean dora) {
        SplittableRandom rnd = new SplittableRandom(rows * 7919L + cols * 31L + r + nTerms);
        MemorySegment baseBytes = MemorySegment.ofArray(new byte[2 * rows * cols]);
        for (long i = 0; i < (long) rows * cols; i++) {
            baseBytes.setAtIndex(TensorView.I16_LE, i, HalfFloat.floatToBf16((float) (rnd.nextGaussian() * 0.02)));
        }
        TensorView base = new TensorView("w", DType.BF16, Shape.of(rows, cols), baseBytes);
        List<LowRankTerm> terms = new ArrayList<>();
        for (int t = 0; t < nTerms; t++) {
            double[] left = new double[rows * r];
            double[] right = new double[r * cols];
            for (int i = 0; i < left.length; i++) {
                left[i] = (float) (rnd.nextGaussian() * 0.05);
            }
            for (int i = 0; i < right.length; i++) {
                right[i] = (float) (rnd.nextGaussian() * 0.05);
            }
            terms.add(new LowRankTerm(left, right, rows, r, cols, 0.25 + rnd.nextDouble(), "t" + t, true));
        }
        double[] magnitude = null;
        if (dora) {
            magnitude = new double[rows];
            for (int i = 0; i < rows; i++) {
                magnitude[i] = (float) (0.5 + rnd.nextDouble());
            }
        }
        int bytes = outType.byteSize();
        for (LowRankKernel kernel : List.of(LowRankKernel.scalar(), LowRankKernel.vector())) {
            MemorySegment out = MemorySegment.ofArray(new byte[rows * cols * bytes]);
            TensorMerge.merge(base, terms, magnitude, outType, out, kernel);
            MemorySegment expect = MemorySegment.ofArray(new byte[rows * cols * bytes]);
            for (int i = 0; i < rows; i++) {
                double[] x = new double[cols];
                for (int j = 0; j < cols; j++) {
                    x[j] = HalfFloat.bf16ToFloat(baseBytes.getAtIndex(TensorView.I16_LE, (long) i * cols + j));
                    for (LowRankTerm t : terms) {
                        double acc = 0.0;
                        for (int k = 0; k < r; k++) {
                            acc += t.left()[i * r + k] * t.right()[k * cols + j];
                        }
                        x[j] += t.scale() * acc;
                    }
                }
                if (dora) {
                    double f = magnitude[i] / PairwiseSum.norm(x, 0, cols);
                    for (int j = 0; j < cols; j++) {
                        x[j] = f * x[j];
                    }
                }
                for (int j = 0; j < cols; j++) {
                    long at = (long) i * cols + j;
                    switch (outType) {
                        case BF16 -> expect.setAtIndex(TensorView.I16_LE, at, HalfFloat.doubleToBf16(x[j]));
                        case F16 -> expect.setAtIndex(TensorView.I16_LE, at, HalfFloat.doubleToF16(x[j]));
                        case F32 -> expect.setAtIndex(TensorView.F32_LE, at, (float) x[j]);
                        default -> expect.setAtIndex(TensorView.F64_LE, at, x[j]);
                    }
                }
            }
            long mismatch = out.mismatch(expect);
            if (mismatch >= 0) {
                throw new AssertionError(kernel.getClass().getSimpleName() + ": first differing byte " + mismatch
                        + " (element " + mismatch / bytes + ")");
            }
        }
    }
}
