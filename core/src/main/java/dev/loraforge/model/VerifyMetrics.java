package dev.loraforge.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@link Compare}'s metrics accumulated over several sequences without keeping their logits: per position
 * |Δlogit|, KL and argmax agreement, next-token NLL of each model, and every layer's relative error.
 */
final class VerifyMetrics {

    private final int layers;
    private final double[] layerSum;
    private final double[] layerMax;
    private double[] kl = new double[64];
    private int positions;
    private int agree;
    private int agreeWithin;
    private double maxAbs;
    private double sumAbs;
    private long values;
    private double nllRef;
    private double nllCand;
    private int scored;

    VerifyMetrics(int layers) {
        this.layers = layers;
        this.layerSum = new double[layers + 1];
        this.layerMax = new double[layers + 1];
    }

    /** Runs both models over {@code tokens} (one fresh session each) and adds every position. */
    Verification.Sequence run(String label, LlamaModel reference, LlamaModel candidate, int[] tokens) {
        int n = tokens.length;
        float[][][] hidden = new float[n][layers + 1][];
        Session a = reference.newSession(n);
        a.observe((pos, layer, h) -> hidden[pos][layer] = h);
        float[][] ref = a.forward(tokens);
        Session b = candidate.newSession(n);
        b.observe((pos, layer, h) -> {
            double rel = Compare.relative(hidden[pos][layer], h);
            layerSum[layer] += rel;
            layerMax[layer] = Math.max(layerMax[layer], rel);
            hidden[pos][layer] = null; // done with it
        });
        float[][] cand = b.forward(tokens);
        for (int p = 0; p < n; p++) {
            float[] x = ref[p];
            float[] y = cand[p];
            for (int i = 0; i < x.length; i++) {
                double d = Math.abs((double) x[i] - y[i]);
                // NaN must show: Math.max propagates it
                maxAbs = Math.max(maxAbs, d);
                sumAbs += d;
            }
            values += x.length;
            if (positions == kl.length) {
                kl = Arrays.copyOf(kl, 2 * kl.length);
            }
            kl[positions++] = Compare.kl(x, y);
            int ax = Generator.argmax(x);
            int ay = Generator.argmax(y);
            if (ax == ay) {
                agree++;
            }
            // a logit gap in the reference is a log-probability gap: a near-tie counts as agreement
            if ((double) x[ax] - x[ay] <= Verification.NEAR_TIE) {
                agreeWithin++;
            }
        }
        for (int p = 0; p + 1 < n; p++) {
            nllRef -= Perplexity.logSoftmaxAt(ref[p], tokens[p + 1]);
            nllCand -= Perplexity.logSoftmaxAt(cand[p], tokens[p + 1]);
        }
        scored += n - 1;
        return new Verification.Sequence(label, n, Compare.logits(ref, cand), Compare.ppl(ref, tokens), Compare.ppl(cand, tokens));
    }

    Compare.LogitStats stats() {
        double[] k = kl();
        double[] sorted = k.clone();
        Arrays.sort(sorted);
        double mean = Arrays.stream(k).sum() / positions;
        int p99 = Math.max(0, (int) Math.ceil(0.99 * positions) - 1);
        // a NaN KL sorts last; report it as the max so the verdict fails
        double max = Arrays.stream(k).anyMatch(Double::isNaN) ? Double.NaN : sorted[positions - 1];
        return new Compare.LogitStats(positions, maxAbs, sumAbs / values, mean, sorted[p99], max, (double) agree / positions);
    }

    /** Fraction of positions whose candidate top token is the reference's or within {@link Verification#NEAR_TIE} of it. */
    double top1NearTie() {
        return (double) agreeWithin / positions;
    }

    double[] kl() {
        return Arrays.copyOf(kl, positions);
    }

    double pplReference() {
        return scored == 0 ? Double.NaN : Math.exp(nllRef / scored);
    }

    double pplCandidate() {
        return scored == 0 ? Double.NaN : Math.exp(nllCand / scored);
    }

    List<Compare.LayerError> layers() {
        List<Compare.LayerError> out = new ArrayList<>();
        for (int l = 0; l <= layers; l++) {
            out.add(new Compare.LayerError(l, layerSum[l] / positions, layerMax[l]));
        }
        return out;
    }
}
