package dev.loraforge.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The Vector API kernel against the scalar reference and an exact (BigDecimal) dot product. */
class MatVecTest {

    @ParameterizedTest(name = "n={0} seed={1}")
    @CsvSource({"1,1", "7,2", "15,3", "16,4", "17,5", "64,6", "172,7", "1000,8", "4099,9"})
    void dotKernelsAgreeWithExactSum(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n + 3];
        float[] b = new float[n + 5];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextGaussian() * Math.exp(r.nextDouble(-8, 8)));
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) r.nextGaussian();
        }
        BigDecimal exact = BigDecimal.ZERO;
        double magnitude = 0;
        for (int i = 0; i < n; i++) {
            exact = exact.add(new BigDecimal(a[3 + i]).multiply(new BigDecimal(b[5 + i])));
            magnitude += Math.abs((double) a[3 + i] * b[5 + i]);
        }
        double scalar = MatVec.dotScalar(a, 3, b, 5, n);
        double vector = MatVec.dotVector(a, 3, b, 5, n);
        // float64 accumulation of exact products: error bounded by n·ulp(double)·Σ|a·b|
        double bound = n * 0x1p-52 * magnitude;
        assertThat(Math.abs(scalar - exact.doubleValue())).isLessThanOrEqualTo(bound);
        assertThat(Math.abs(vector - exact.doubleValue())).isLessThanOrEqualTo(bound);
    }

    @ParameterizedTest(name = "{0}x{1}")
    @CsvSource({"3,5", "64,64", "512,64", "768,256", "1024,513"}) // the last two cross the parallel threshold
    void matVecRowsEqualDotProducts(int rows, int cols) {
        SplittableRandom r = new SplittableRandom(rows * 31L + cols);
        float[] w = new float[rows * cols + 2];
        float[] x = new float[cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < cols; i++) {
            x[i] = (float) r.nextGaussian();
        }
        float[] y = new float[rows];
        MatVec.apply(w, 2, rows, cols, x, y);
        for (int i = 0; i < rows; i++) {
            float ref = (float) MatVec.dotScalar(w, 2 + i * cols, x, 0, cols);
            assertThat(Math.abs(y[i] - ref)).as("row %d", i).isLessThanOrEqualTo(Math.ulp(ref));
        }
    }

    @Test
    void rejectsShapesThatDoNotFit() {
        assertThatThrownBy(() -> MatVec.apply(new float[6], 1, 2, 3, new float[3], new float[2]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2x3 at 1 over 6");
    }
}
