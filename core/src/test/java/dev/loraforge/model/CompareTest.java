package dev.loraforge.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class CompareTest {

    @Test
    void klOfTwoPointDistributionsMatchesClosedForm() {
        // softmax([0, ln 3]) = (1/4, 3/4); softmax([0, 0]) = (1/2, 1/2)
        float[] p = {0, (float) Math.log(3)};
        float[] q = {0, 0};
        double pa = 1 / (1 + Math.exp((float) Math.log(3)));
        double expected = pa * Math.log(pa / 0.5) + (1 - pa) * Math.log((1 - pa) / 0.5);
        assertThat(Compare.kl(p, q)).isCloseTo(expected, within(1e-15));
        assertThat(Compare.kl(q, q)).isZero();
        // invariant to a constant shift of the logits
        assertThat(Compare.kl(p, new float[] {5, 5})).isCloseTo(expected, within(1e-15));
    }

    @Test
    void logitStatsCountAgreementAndPercentiles() {
        float[][] ref = new float[100][];
        float[][] cand = new float[100][];
        for (int i = 0; i < 100; i++) {
            ref[i] = new float[] {1, 0, 0};
            cand[i] = i == 7 ? new float[] {0, 2, 0} : new float[] {1, 0, 0};
        }
        Compare.LogitStats s = Compare.logits(ref, cand);
        assertThat(s.positions()).isEqualTo(100);
        assertThat(s.top1Agreement()).isEqualTo(0.99);
        assertThat(s.maxAbsDiff()).isEqualTo(2.0);
        assertThat(s.meanAbsDiff()).isCloseTo(3.0 / 300, within(1e-15));
        assertThat(s.klMax()).isEqualTo(Compare.kl(ref[7], cand[7]));
        assertThat(s.klP99()).isZero(); // one outlier in 100 is above the 99th percentile
        assertThat(s.klMean()).isCloseTo(s.klMax() / 100, within(1e-15));
    }

    @Test
    void pplOfUniformLogitsIsTheVocabularySize() {
        float[][] logits = new float[4][8];
        assertThat(Compare.ppl(logits, new int[] {1, 2, 3, 4})).isCloseTo(8, within(1e-12));
        assertThat(Compare.ppl(logits, new int[] {1})).isNaN();
    }
}
