package dev.loraforge.model;

import java.util.Arrays;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Autoregressive decoding: greedy by default, or temperature + nucleus (top-p) sampling from a seeded
 * generator so runs repeat. Streams each token to a listener and stops at EOS, at the token limit or
 * when the listener says so.
 */
public final class Generator {

    /**
     * @param maxTokens   new tokens to produce at most
     * @param temperature 0 = greedy (argmax, lowest id on ties)
     * @param topP        nucleus mass in (0, 1]; 1 = the whole distribution
     * @param stopAtEos   stop after a token of the config's {@code eos_token_id} (it is still reported)
     */
    public record Options(int maxTokens, double temperature, double topP, long seed, boolean stopAtEos) {
        public Options {
            if (maxTokens < 0) {
                throw new IllegalArgumentException("maxTokens must be >= 0, got " + maxTokens);
            }
            if (!(temperature >= 0) || Double.isInfinite(temperature)) {
                throw new IllegalArgumentException("temperature must be finite and >= 0, got " + temperature);
            }
            if (!(topP > 0 && topP <= 1)) {
                throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
            }
        }

        public static Options greedy(int maxTokens) {
            return new Options(maxTokens, 0, 1, 0, true);
        }

        public static Options sampling(int maxTokens, double temperature, double topP, long seed) {
            return new Options(maxTokens, temperature, topP, seed, true);
        }
    }

    /** Called once per generated token; return false to stop. */
    @FunctionalInterface
    public interface TokenListener {
        boolean onToken(int token);
    }

    private Generator() {
    }

    /** Feeds the prompt, then generates; returns the new tokens (without the prompt). */
    public static int[] generate(LlamaModel model, int[] prompt, Options options, TokenListener listener) {
        Objects.requireNonNull(options, "options");
        if (prompt.length == 0) {
            throw new ModelException(ModelException.Kind.OUT_OF_RANGE, "the prompt needs at least one token (e.g. BOS)");
        }
        Session s = model.newSession(Math.addExact(prompt.length, options.maxTokens()));
        s.prefill(Arrays.copyOf(prompt, prompt.length - 1));
        float[] logits = options.maxTokens() > 0 ? s.next(prompt[prompt.length - 1]) : null;
        SplittableRandom random = new SplittableRandom(options.seed());
        int[] out = new int[options.maxTokens()];
        int n = 0;
        while (n < options.maxTokens()) {
            int token = options.temperature() == 0 ? argmax(logits) : sample(logits, options, random);
            out[n++] = token;
            boolean more = listener == null || listener.onToken(token);
            if (!more || (options.stopAtEos() && model.config().isEos(token)) || n == options.maxTokens()) {
                break;
            }
            logits = s.next(token);
        }
        return Arrays.copyOf(out, n);
    }

    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Softmax of logits/T in float64, keep the smallest top set with mass >= topP, draw from it. */
    static int sample(float[] logits, Options o, SplittableRandom random) {
        int n = logits.length;
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp((logits[i] - max) / o.temperature());
            sum += p[i];
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
            p[i] /= sum;
        }
        // descending probability, ties by id, so the draw is reproducible
        Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        int keep = 0;
        double mass = 0;
        while (keep < n && (keep == 0 || mass < o.topP())) {
            mass += p[order[keep++]];
        }
        double r = random.nextDouble() * mass;
        double acc = 0;
        for (int i = 0; i < keep; i++) {
            acc += p[order[i]];
            if (r < acc) {
                return order[i];
            }
        }
        return order[keep - 1];
    }
}
