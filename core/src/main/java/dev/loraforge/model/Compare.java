package dev.loraforge.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How far a candidate model's outputs are from a reference's on the same tokens: logit differences,
 * KL divergence of the next-token distributions (float64 log-softmax), top-1 agreement, perplexity of
 * each on the sequence itself, and the relative error of every layer's hidden state. Feeds {@code verify}.
 */
public final class Compare {

    /**
     * Per-position statistics over {@code positions} rows of logits.
     *
     * @param klMean mean of KL(P_ref ‖ P_cand) over positions, in nats; klP99 the nearest-rank 99th percentile
     * @param top1Agreement fraction of positions whose argmax agrees
     */
    public record LogitStats(int positions, double maxAbsDiff, double meanAbsDiff, double klMean, double klP99,
                             double klMax, double top1Agreement) {
        @Override
        public String toString() {
            return String.format("positions %d, max |dlogit| %.3g, mean |dlogit| %.3g, KL mean %.3g p99 %.3g max %.3g,"
                    + " top-1 %.2f%%", positions, maxAbsDiff, meanAbsDiff, klMean, klP99, klMax, 100 * top1Agreement);
        }
    }

    /** Relative L2 error {@code ‖h_cand − h_ref‖ / ‖h_ref‖} of one layer's output (layer L = after the final norm). */
    public record LayerError(int layer, double meanRelative, double maxRelative) {
    }

    /**
     * @param pplReference exp(mean NLL of tokens[i+1] given logits[i]) under the reference; NaN for one token
     */
    public record Report(LogitStats logits, double pplReference, double pplCandidate, List<LayerError> layers) {
        public Report {
            layers = List.copyOf(layers);
        }

        /** True when no position's KL exceeds {@code maxKl} and at least {@code minTop1} of the argmaxes agree. */
        public boolean within(double maxKl, double minTop1) {
            return logits.klMax() <= maxKl && logits.top1Agreement() >= minTop1;
        }
    }

    private Compare() {
    }

    /** Statistics of two equally shaped logit matrices [positions][vocab]. */
    public static LogitStats logits(float[][] reference, float[][] candidate) {
        if (reference.length != candidate.length || reference.length == 0) {
            throw new IllegalArgumentException("need the same positive number of positions, got "
                    + reference.length + " and " + candidate.length);
        }
        int n = reference.length;
        double maxAbs = 0;
        double sumAbs = 0;
        long count = 0;
        double[] kl = new double[n];
        int agree = 0;
        for (int p = 0; p < n; p++) {
            float[] a = reference[p];
            float[] b = candidate[p];
            if (a.length != b.length) {
                throw new IllegalArgumentException("position " + p + ": vocab " + a.length + " vs " + b.length);
            }
            for (int i = 0; i < a.length; i++) {
                double d = Math.abs((double) a[i] - b[i]);
                maxAbs = Math.max(maxAbs, d);
                sumAbs += d;
            }
            count += a.length;
            kl[p] = kl(a, b);
            if (Generator.argmax(a) == Generator.argmax(b)) {
                agree++;
            }
        }
        double[] sorted = kl.clone();
        Arrays.sort(sorted);
        double klMean = Arrays.stream(kl).sum() / n;
        int p99 = Math.max(0, (int) Math.ceil(0.99 * n) - 1);
        return new LogitStats(n, maxAbs, sumAbs / count, klMean, sorted[p99], sorted[n - 1], (double) agree / n);
    }

    /** KL(P ‖ Q) = Σ p·(log p − log q) of softmax(p) and softmax(q), float64; clamped at 0 against rounding. */
    public static double kl(float[] p, float[] q) {
        double[] lp = Perplexity.logSoftmax(p);
        double[] lq = Perplexity.logSoftmax(q);
        double sum = 0;
        for (int i = 0; i < lp.length; i++) {
            sum += Math.exp(lp[i]) * (lp[i] - lq[i]);
        }
        return Math.max(0, sum);
    }

    /** Runs both models over {@code tokens} (one session each) and compares everything. */
    public static Report run(LlamaModel reference, LlamaModel candidate, int[] tokens) {
        int layers = reference.config().numHiddenLayers();
        if (candidate.config().numHiddenLayers() != layers
                || candidate.config().hiddenSize() != reference.config().hiddenSize()
                || candidate.config().vocabSize() != reference.config().vocabSize()) {
            throw new ModelException(ModelException.Kind.INVALID_CONFIG,
                    "models differ in layers, hidden size or vocabulary; cannot compare");
        }
        Run a = Run.of(reference, tokens);
        Run b = Run.of(candidate, tokens);
        List<LayerError> errors = new ArrayList<>();
        for (int l = 0; l <= layers; l++) {
            double sum = 0;
            double max = 0;
            for (int p = 0; p < tokens.length; p++) {
                double rel = relative(a.hidden[p][l], b.hidden[p][l]);
                sum += rel;
                max = Math.max(max, rel);
            }
            errors.add(new LayerError(l, sum / tokens.length, max));
        }
        return new Report(logits(a.logits, b.logits), ppl(a.logits, tokens), ppl(b.logits, tokens), errors);
    }

    /** exp of the mean NLL of {@code tokens[i+1]} under {@code logits[i]}; NaN with fewer than two tokens. */
    public static double ppl(float[][] logits, int[] tokens) {
        if (tokens.length < 2) {
            return Double.NaN;
        }
        double nll = 0;
        for (int i = 0; i + 1 < tokens.length; i++) {
            nll -= Perplexity.logSoftmaxAt(logits[i], tokens[i + 1]);
        }
        return Math.exp(nll / (tokens.length - 1));
    }

    static double relative(float[] ref, float[] cand) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = (double) cand[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return den == 0 ? (num == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.sqrt(num / den);
    }

    private record Run(float[][] logits, float[][][] hidden) {
        static Run of(LlamaModel model, int[] tokens) {
            float[][][] hidden = new float[tokens.length][model.config().numHiddenLayers() + 1][];
            Session s = model.newSession(tokens.length);
            s.observe((pos, layer, h) -> hidden[pos][layer] = h);
            return new Run(s.forward(tokens), hidden);
        }
    }
}
