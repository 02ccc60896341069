package dev.loraforge.model;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * llama-perplexity's procedure ({@code tools/perplexity/perplexity.cpp}, {@code perplexity()}): the
 * token stream is cut into {@code tokens.length / nCtx} whole chunks; each chunk starts over with an
 * empty cache and its first token replaced by BOS; positions {@code nCtx/2 … nCtx-2} are scored on the
 * next token with a float64 log-softmax. Chunks run in parallel, one session each.
 */
public final class Perplexity {

    /**
     * @param chunkMeanNll mean negative log-likelihood of each chunk (nats)
     * @param meanNll      over all scored tokens
     * @param ppl          {@code exp(meanNll)}
     * @param pplStderr    llama.cpp's "±": {@code ppl · sqrt(var(nll) / (count - 1))}
     */
    public record Result(int nCtx, int chunks, int scoredTokens, double meanNll, double ppl, double pplStderr,
                         double[] chunkMeanNll) {
        public Result {
            chunkMeanNll = chunkMeanNll.clone();
        }

        @Override
        public double[] chunkMeanNll() {
            return chunkMeanNll.clone();
        }

        @Override
        public String toString() {
            return String.format("PPL = %.4f +/- %.5f (%d chunks of %d, %d scored tokens)",
                    ppl, pplStderr, chunks, nCtx, scoredTokens);
        }
    }

    private Perplexity() {
    }

    /**
     * @param tokens the whole text's ids, tokenized with BOS at the start as llama.cpp does
     * @param bos    the id each chunk's first token becomes; -1 to keep the text's own token (no BOS vocab)
     */
    public static Result compute(LlamaModel model, int[] tokens, int nCtx, int bos) {
        if (nCtx < 4) {
            throw new ModelException(ModelException.Kind.OUT_OF_RANGE, "n_ctx " + nCtx + " is too small (>= 4)");
        }
        // llama-perplexity refuses fewer than two contexts' worth of tokens; so do we, to give the same numbers
        if (tokens.length < 2L * nCtx) {
            throw new ModelException(ModelException.Kind.OUT_OF_RANGE, "you need at least " + 2L * nCtx
                    + " tokens to evaluate perplexity with a context of " + nCtx + "; the text has " + tokens.length);
        }
        int chunks = tokens.length / nCtx;
        int first = nCtx / 2;
        double[][] nll = new double[chunks][];
        IntStream.range(0, chunks).parallel().forEach(c -> nll[c] = scoreChunk(model, tokens, c * nCtx, nCtx, first, bos));
        double sum = 0;
        double sum2 = 0;
        int count = 0;
        double[] chunkMean = new double[chunks];
        for (int c = 0; c < chunks; c++) {
            double cs = 0;
            for (double v : nll[c]) {
                cs += v;
                sum += v;
                sum2 += v * v;
                count++;
            }
            chunkMean[c] = cs / nll[c].length;
        }
        double mean = sum / count;
        double ppl = Math.exp(mean);
        double var = sum2 / count - mean * mean;
        double stderr = var > 0 && count > 1 ? Math.sqrt(var / (count - 1)) * ppl : 0;
        return new Result(nCtx, chunks, count, mean, ppl, stderr, chunkMean);
    }

    /** Tokens per forward batch: weights are read once per batch, logits kept for one batch only. */
    static final int BATCH = 64;

    private static double[] scoreChunk(LlamaModel model, int[] tokens, int start, int nCtx, int first, int bos) {
        Session s = model.newSession(nCtx);
        int[] ids = Arrays.copyOfRange(tokens, start, start + nCtx - 1); // the last token is only predicted
        if (bos >= 0) {
            ids[0] = bos;
        }
        double[] out = new double[nCtx - 1 - first];
        for (int from = 0; from < ids.length; from += BATCH) {
            int to = Math.min(ids.length, from + BATCH);
            int[] batch = Arrays.copyOfRange(ids, from, to);
            if (to <= first) {
                s.prefill(batch);
                continue;
            }
            float[][] logits = s.forward(batch, Math.max(0, first - from));
            for (int i = Math.max(from, first); i < to; i++) {
                out[i - first] = -logSoftmaxAt(logits[i - from], tokens[start + i + 1]);
            }
        }
        return out;
    }

    /** {@code log softmax(logits)[target]} in float64. */
    public static double logSoftmaxAt(float[] logits, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        return logits[target] - max - Math.log(sum);
    }

    /** The whole log-softmax vector in float64. */
    public static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        double lse = max + Math.log(sum);
        double[] out = new double[logits.length];
        Arrays.setAll(out, i -> logits[i] - lse);
        return out;
    }
}
