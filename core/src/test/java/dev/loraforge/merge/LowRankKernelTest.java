package dev.loraforge.merge;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The Vector API kernel gives the scalar reference's bits, tails and all. */
class LowRankKernelTest {

    @ParameterizedTest(name = "rows {0} r {1} cols {2}")
    @CsvSource({"1,1,1", "3,8,7", "16,16,256", "5,4,1023", "7,64,33", "2,1,9", "9,3,130"})
    void vectorEqualsScalarBitForBit(int rows, int r, int cols) {
        SplittableRandom rnd = new SplittableRandom(rows * 1_000_003L + r * 1009L + cols);
        double[] left = new double[rows * r];
        double[] right = new double[r * cols];
        for (int i = 0; i < left.length; i++) {
            left[i] = (float) (rnd.nextGaussian() * 0.03); // adapter values are float32
        }
        for (int i = 0; i < right.length; i++) {
            right[i] = (float) (rnd.nextGaussian() * 0.03);
        }
        for (int row = 0; row < rows; row++) {
            double[] x1 = new double[cols];
            for (int j = 0; j < cols; j++) {
                x1[j] = (float) (rnd.nextGaussian() * 0.02);
            }
            double[] x2 = x1.clone();
            double scale = 1.0 + rnd.nextDouble();
            LowRankKernel.scalar().addRow(x1, scale, left, row, r, right, cols);
            LowRankKernel.vector().addRow(x2, scale, left, row, r, right, cols);
            for (int j = 0; j < cols; j++) {
                assertThat(Double.doubleToRawLongBits(x2[j])).as("row %d col %d", row, j)
                        .isEqualTo(Double.doubleToRawLongBits(x1[j]));
            }
        }
    }

    /** Blocks of rows and columns (register groups of four, tails), fused (float32 factors) or not (float64). */
    @ParameterizedTest(name = "rows {0} r {1} cols {2} j0 {3} n {4} exact {5}")
    @CsvSource({"4,16,2048,0,512,true", "4,16,2048,1536,512,false", "9,16,100,3,77,true", "7,3,33,0,33,false",
            "1,1,9,2,7,true", "12,64,520,8,512,true", "5,8,17,0,17,true", "6,16,40,1,39,false", "3,0,16,0,16,true"})
    void blockVectorEqualsScalarBitForBit(int rows, int r, int cols, int j0, int n, boolean exact) {
        SplittableRandom rnd = new SplittableRandom(rows * 31L + r * 1009L + cols * 7L + j0 + (exact ? 1 : 0));
        double[] left = new double[rows * r];
        double[] right = new double[r * cols];
        for (int i = 0; i < left.length; i++) {
            double g = rnd.nextGaussian() * 0.03;
            left[i] = exact ? (float) g : g; // float64 factors: products round, so no fusing
        }
        for (int i = 0; i < right.length; i++) {
            double g = rnd.nextGaussian() * 0.03;
            right[i] = exact ? (float) g : g;
        }
        int stride = n + 5;
        double[] x1 = new double[3 + rows * stride];
        for (int i = 0; i < x1.length; i++) {
            x1[i] = (float) (rnd.nextGaussian() * 0.02);
        }
        double[] x0 = x1.clone();
        double[] x2 = x1.clone();
        double scale = 0.5 + rnd.nextDouble();
        LowRankKernel.scalar().addBlock(x1, 3, stride, rows, scale, exact, left, 0, r, right, cols, j0, n);
        LowRankKernel.vector().addBlock(x2, 3, stride, rows, scale, exact, left, 0, r, right, cols, j0, n);
        for (int i = 0; i < x1.length; i++) {
            assertThat(Double.doubleToRawLongBits(x2[i])).as("x[%d]", i).isEqualTo(Double.doubleToRawLongBits(x1[i]));
        }
        // and the scalar block is the element-wise definition
        for (int i = 0; i < rows; i++) {
            for (int t = 0; t < n; t++) {
                double acc = 0.0;
                for (int k = 0; k < r; k++) {
                    acc += left[i * r + k] * right[k * cols + j0 + t];
                }
                int at = 3 + i * stride + t;
                assertThat(x1[at]).isEqualTo(x0[at] + scale * acc);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"1", "7", "8", "9", "127", "128", "129", "256", "768", "1000"})
    void pairwiseSumMatchesNumpysBlocking(int n) {
        // numpy: n<8 plain loop; ≤128 eight strided accumulators; above, halves rounded down to a multiple of 8.
        // Values chosen so that every order gives a different double: compare with an independent rewrite.
        double[] a = new double[n];
        SplittableRandom rnd = new SplittableRandom(n);
        for (int i = 0; i < n; i++) {
            a[i] = rnd.nextDouble() * Math.pow(2, rnd.nextInt(-30, 30));
        }
        assertThat(PairwiseSum.sum(a, 0, n)).isEqualTo(reference(a, 0, n));
    }

    private static double reference(double[] a, int from, int n) {
        if (n < 8) {
            double s = 0;
            for (int i = from; i < from + n; i++) {
                s += a[i];
            }
            return s;
        }
        if (n <= 128) {
            double r0 = a[from], r1 = a[from + 1], r2 = a[from + 2], r3 = a[from + 3];
            double r4 = a[from + 4], r5 = a[from + 5], r6 = a[from + 6], r7 = a[from + 7];
            int i = 8;
            for (; i < n - n % 8; i += 8) {
                r0 += a[from + i];
                r1 += a[from + i + 1];
                r2 += a[from + i + 2];
                r3 += a[from + i + 3];
                r4 += a[from + i + 4];
                r5 += a[from + i + 5];
                r6 += a[from + i + 6];
                r7 += a[from + i + 7];
            }
            double res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
            for (; i < n; i++) {
                res += a[from + i];
            }
            return res;
        }
        int n2 = n / 2;
        n2 -= n2 % 8;
        return reference(a, from, n2) + reference(a, from + n2, n - n2);
    }
}
