package dev.loraforge.model;

import java.util.Arrays;

/**
 * One sequence being decoded by a {@link LlamaModel}: the KV cache and the current position. Tokens go
 * in one at a time or as a batch (prefill: each weight is read once for the whole batch); both give
 * the same bits. Not thread-safe: one session per thread.
 */
public final class Session {

    /** Receives the residual stream of one position: {@code layer} i < L after block i, L after the final norm. */
    @FunctionalInterface
    public interface HiddenStateObserver {
        void accept(int position, int layer, float[] hidden);
    }

    /** Below this many attention multiply-adds a batch's attention runs on the calling thread. */
    private static final long PARALLEL_ATTENTION = 1 << 16;
    private static final int SWIGLU_CHUNK = 1024;

    private final LlamaModel model;
    private final LlamaConfig c;
    private final int capacity;
    private final float[][] keys;   // per layer: capacity × kvDim, rotated
    private final float[][] values;
    private int position;
    private HiddenStateObserver observer;

    Session(LlamaModel model, int capacity) {
        this.model = model;
        this.c = model.config();
        if (capacity <= 0) {
            throw new ModelException(ModelException.Kind.OUT_OF_RANGE, "session capacity must be positive, got " + capacity);
        }
        this.capacity = capacity;
        long cache = Math.multiplyExact((long) capacity, c.kvDim());
        if (cache > Integer.MAX_VALUE - 8) {
            throw new ModelException(ModelException.Kind.OUT_OF_RANGE, "KV cache of " + capacity + " positions x "
                    + c.kvDim() + " is too large for one layer array");
        }
        keys = new float[c.numHiddenLayers()][(int) cache];
        values = new float[c.numHiddenLayers()][(int) cache];
    }

    public int position() {
        return position;
    }

    public int capacity() {
        return capacity;
    }

    public LlamaModel model() {
        return model;
    }

    /** Forgets the sequence; the cache is overwritten as new tokens arrive. */
    public void reset() {
        position = 0;
    }

    /** Observer of every layer's hidden state from now on; null to stop. */
    public void observe(HiddenStateObserver observer) {
        this.observer = observer;
    }

    /** Feeds one token and returns the logits that predict the next (a new array). */
    public float[] next(int token) {
        return run(new int[] {token}, 0)[0];
    }

    /** Feeds one token without computing logits. */
    public void feed(int token) {
        run(new int[] {token}, 1);
    }

    /** Feeds a batch without computing logits (prompt prefill, perplexity's unscored half). */
    public void prefill(int[] tokens) {
        run(tokens, tokens.length);
    }

    /** Feeds every token; returns the logits after each one ({@code tokens.length} rows). */
    public float[][] forward(int[] tokens) {
        return run(tokens, 0);
    }

    /** Feeds every token; logits only for rows {@code i >= logitsFrom}, the others are null. */
    public float[][] forward(int[] tokens, int logitsFrom) {
        if (logitsFrom < 0 || logitsFrom > tokens.length) {
            throw new IllegalArgumentException("logitsFrom " + logitsFrom + " outside [0, " + tokens.length + "]");
        }
        return run(tokens, logitsFrom);
    }

    private float[][] run(int[] tokens, int logitsFrom) {
        int n = tokens.length;
        for (int token : tokens) {
            if (token < 0 || token >= c.vocabSize()) {
                throw new ModelException(ModelException.Kind.OUT_OF_RANGE,
                        "token id " + token + " outside [0, " + c.vocabSize() + ")");
            }
        }
        if (n > capacity - position) {
            throw new ModelException(ModelException.Kind.OUT_OF_RANGE, "session is full: " + position + " + " + n
                    + " tokens > capacity " + capacity);
        }
        float[][] logits = new float[n][];
        if (n == 0) {
            return logits;
        }
        int d = c.hiddenSize();
        int ff = c.intermediateSize();
        float[] x = new float[n * d];
        float[] xb = new float[n * d];
        float[] q = new float[n * c.qDim()];
        float[] k = new float[n * c.kvDim()];
        float[] v = new float[n * c.kvDim()];
        float[] att = new float[n * c.qDim()];
        float[] proj = new float[n * d];
        float[] gate = new float[n * ff];
        float[] up = new float[n * ff];
        double[][] cos = new double[n][];
        double[][] sin = new double[n][];
        for (int t = 0; t < n; t++) {
            model.embed().read(tokens[t], x, t * d);
            cos[t] = new double[c.headDim() / 2];
            sin[t] = new double[c.headDim() / 2];
            ropeAngles(position + t, cos[t], sin[t]);
        }
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            LlamaModel.Block b = model.block(l);
            rmsNorm(x, b.attnNorm(), xb, n);
            project(xb, n, new Linear[] {b.q(), b.k(), b.v()}, new float[][] {q, k, v});
            int kvDim = c.kvDim();
            for (int t = 0; t < n; t++) {
                rope(q, t * c.qDim(), c.numAttentionHeads(), cos[t], sin[t]);
                rope(k, t * kvDim, c.numKeyValueHeads(), cos[t], sin[t]);
            }
            System.arraycopy(k, 0, keys[l], position * kvDim, n * kvDim);
            System.arraycopy(v, 0, values[l], position * kvDim, n * kvDim);
            attention(l, q, att, n);
            b.o().applyBatch(att, proj, n);
            add(x, proj);
            rmsNorm(x, b.ffnNorm(), xb, n);
            project(xb, n, new Linear[] {b.gate(), b.up()}, new float[][] {gate, up});
            swiglu(gate, up);
            b.down().applyBatch(gate, proj, n);
            add(x, proj);
            observe(l, x, n);
        }
        rmsNorm(x, model.finalNorm(), xb, n);
        observe(c.numHiddenLayers(), xb, n);
        int rows = n - logitsFrom;
        if (rows > 0) {
            int vocab = c.vocabSize();
            float[] in = new float[rows * d];
            System.arraycopy(xb, logitsFrom * d, in, 0, rows * d);
            float[] out = new float[rows * vocab];
            model.lmHead().applyBatch(in, out, rows);
            for (int t = 0; t < rows; t++) {
                logits[logitsFrom + t] = Arrays.copyOfRange(out, t * vocab, (t + 1) * vocab);
            }
        }
        position += n;
        return logits;
    }

    /** Projections of the same input: one parallel job when they allow it, else one after the other. */
    private static void project(float[] x, int n, Linear[] ls, float[][] ys) {
        if (!Q8_0Linear.applyAll(ls, x, ys, n)) {
            for (int i = 0; i < ls.length; i++) {
                ls[i].applyBatch(x, ys[i], n);
            }
        }
    }

    /** {@code gate = silu(gate) * up} in float64; on the matvec helpers (an exp per element is worth two cores). */
    private static void swiglu(float[] gate, float[] up) {
        RowChunks.run(gate.length, SWIGLU_CHUNK, gate.length >= 2 * SWIGLU_CHUNK, (from, to) -> {
            for (int i = from; i < to; i++) {
                double g = gate[i];
                gate[i] = (float) (g / (1 + Math.exp(-g)) * up[i]);
            }
        });
    }

    private static void add(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    private void observe(int layer, float[] states, int n) {
        if (observer != null) {
            int d = c.hiddenSize();
            for (int t = 0; t < n; t++) {
                observer.accept(position + t, layer, Arrays.copyOfRange(states, t * d, (t + 1) * d));
            }
        }
    }

    /** Per row: {@code out = g ⊙ x / sqrt(mean(x²) + eps)}, the mean in float64. */
    private void rmsNorm(float[] in, float[] g, float[] out, int n) {
        int d = g.length;
        for (int t = 0; t < n; t++) {
            int off = t * d;
            double ss = MatVec.dot(in, off, in, off, d);
            double scale = 1.0 / Math.sqrt(ss / d + c.rmsNormEps());
            for (int i = 0; i < d; i++) {
                out[off + i] = (float) (g[i] * (in[off + i] * scale));
            }
        }
    }

    private void ropeAngles(int pos, double[] cos, double[] sin) {
        double[] inv = model.invFreq();
        for (int i = 0; i < inv.length; i++) {
            double a = pos * inv[i];
            cos[i] = Math.cos(a);
            sin[i] = Math.sin(a);
        }
    }

    /** HF rotate-half: element i pairs with i + d/2 inside each head (no interleaving). */
    private void rope(float[] vec, int off, int heads, double[] cos, double[] sin) {
        int hd = c.headDim();
        int half = hd / 2;
        for (int h = 0; h < heads; h++) {
            int base = off + h * hd;
            for (int i = 0; i < half; i++) {
                double x0 = vec[base + i];
                double x1 = vec[base + half + i];
                vec[base + i] = (float) (x0 * cos[i] - x1 * sin[i]);
                vec[base + half + i] = (float) (x1 * cos[i] + x0 * sin[i]);
            }
        }
    }

    /** Causal softmax attention of every (row, query head) over its KV head's cached positions. */
    private void attention(int layer, float[] q, float[] att, int n) {
        int heads = c.numAttentionHeads();
        long work = (long) n * heads * (position + n) * c.headDim();
        if (work < PARALLEL_ATTENTION || n * heads < 2) {
            double[] scores = new double[position + n];
            for (int task = 0; task < n * heads; task++) {
                attendOne(layer, q, att, task / heads, task % heads, scores);
            }
        } else {
            // on the matvec helpers, which are spinning for the next projection anyway
            RowChunks.run(n * heads, 1, true, (from, to) -> {
                double[] scores = new double[position + n];
                for (int task = from; task < to; task++) {
                    attendOne(layer, q, att, task / heads, task % heads, scores);
                }
            });
        }
    }

    private void attendOne(int layer, float[] q, float[] att, int t, int h, double[] scores) {
        int hd = c.headDim();
        int kvDim = c.kvDim();
        int kvOff = (h / (c.numAttentionHeads() / c.numKeyValueHeads())) * hd;
        int pos = position + t;
        int first = c.slidingWindow() > 0 ? Math.max(0, pos - c.slidingWindow() + 1) : 0;
        double inv = 1.0 / Math.sqrt(hd);
        float[] kc = keys[layer];
        float[] vc = values[layer];
        int qOff = t * c.qDim() + h * hd;
        double max = Double.NEGATIVE_INFINITY;
        for (int j = first; j <= pos; j++) {
            double s = MatVec.dot(q, qOff, kc, j * kvDim + kvOff, hd) * inv;
            scores[j] = s;
            max = Math.max(max, s);
        }
        double sum = 0;
        for (int j = first; j <= pos; j++) {
            double e = Math.exp(scores[j] - max);
            scores[j] = e;
            sum += e;
        }
        for (int i = 0; i < hd; i++) {
            double acc = 0;
            for (int j = first; j <= pos; j++) {
                acc += scores[j] * vc[j * kvDim + kvOff + i];
            }
            att[qOff + i] = (float) (acc / sum);
        }
    }

    @Override
    public String toString() {
        return "Session[" + position + "/" + capacity + "]";
    }
}
