package dev.loraforge.model;

/**
 * One sequence being decoded by a {@link LlamaModel}: the KV cache, the current position and scratch
 * buffers. Feed tokens one at a time; not thread-safe (use one session per thread).
 */
public final class Session {

    /** Receives the residual stream of one position: {@code layer} i < L after block i, L after the final norm. */
    @FunctionalInterface
    public interface HiddenStateObserver {
        void accept(int position, int layer, float[] hidden);
    }

    private final LlamaModel model;
    private final LlamaConfig c;
    private final int capacity;
    private final float[][] keys;   // per layer: capacity × kvDim
    private final float[][] values;
    private final float[] x;        // residual stream
    private final float[] xb;       // normed input of a sub-block
    private final float[] q;
    private final float[] k;
    private final float[] v;
    private final float[] att;      // attention output, qDim
    private final float[] proj;     // output of o_proj / down_proj, hidden
    private final float[] gate;
    private final float[] up;
    private final double[] scores;
    private final double[] cos;
    private final double[] sin;
    private int position;
    private HiddenStateObserver observer;

    Session(LlamaModel model, int capacity) {
        this.model = model;
        this.c = model.config();
        if (capacity <= 0) {
            throw new ModelException(ModelException.Kind.OUT_OF_RANGE, "session capacity must be positive, got " + capacity);
        }
        this.capacity = capacity;
        int layers = c.numHiddenLayers();
        long cache = Math.multiplyExact((long) capacity, c.kvDim());
        if (cache > Integer.MAX_VALUE - 8) {
            throw new ModelException(ModelException.Kind.OUT_OF_RANGE, "KV cache of " + capacity + " positions x "
                    + c.kvDim() + " is too large for one layer array");
        }
        keys = new float[layers][(int) cache];
        values = new float[layers][(int) cache];
        x = new float[c.hiddenSize()];
        xb = new float[c.hiddenSize()];
        q = new float[c.qDim()];
        k = new float[c.kvDim()];
        v = new float[c.kvDim()];
        att = new float[c.qDim()];
        proj = new float[c.hiddenSize()];
        gate = new float[c.intermediateSize()];
        up = new float[c.intermediateSize()];
        scores = new double[capacity];
        cos = new double[c.headDim() / 2];
        sin = new double[c.headDim() / 2];
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
        step(token);
        float[] logits = new float[c.vocabSize()];
        model.lmHead().apply(xb, logits);
        return logits;
    }

    /** Feeds one token without computing logits (prompt prefill, perplexity's unscored half). */
    public void feed(int token) {
        step(token);
    }

    /** Feeds every token; returns the logits after each one ({@code tokens.length} rows). */
    public float[][] forward(int[] tokens) {
        float[][] out = new float[tokens.length][];
        for (int i = 0; i < tokens.length; i++) {
            out[i] = next(tokens[i]);
        }
        return out;
    }

    /** Runs all blocks for {@code token} at the current position; leaves the final-normed state in xb. */
    private void step(int token) {
        if (token < 0 || token >= c.vocabSize()) {
            throw new ModelException(ModelException.Kind.OUT_OF_RANGE,
                    "token id " + token + " outside [0, " + c.vocabSize() + ")");
        }
        if (position >= capacity) {
            throw new ModelException(ModelException.Kind.OUT_OF_RANGE,
                    "session is full: " + capacity + " positions");
        }
        int d = c.hiddenSize();
        model.embed().readFloats((long) token * d, x, 0, d);
        ropeAngles(position);
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            LlamaModel.Block b = model.block(l);
            rmsNorm(x, b.attnNorm(), xb);
            b.q().apply(xb, q);
            b.k().apply(xb, k);
            b.v().apply(xb, v);
            rope(q, c.numAttentionHeads());
            rope(k, c.numKeyValueHeads());
            int kvDim = c.kvDim();
            System.arraycopy(k, 0, keys[l], position * kvDim, kvDim);
            System.arraycopy(v, 0, values[l], position * kvDim, kvDim);
            attention(l);
            b.o().apply(att, proj);
            for (int i = 0; i < d; i++) {
                x[i] += proj[i];
            }
            rmsNorm(x, b.ffnNorm(), xb);
            b.gate().apply(xb, gate);
            b.up().apply(xb, up);
            for (int i = 0; i < gate.length; i++) {
                double g = gate[i];
                gate[i] = (float) (g / (1 + Math.exp(-g)) * up[i]);
            }
            b.down().apply(gate, proj);
            for (int i = 0; i < d; i++) {
                x[i] += proj[i];
            }
            if (observer != null) {
                observer.accept(position, l, x.clone());
            }
        }
        rmsNorm(x, model.finalNorm(), xb);
        if (observer != null) {
            observer.accept(position, c.numHiddenLayers(), xb.clone());
        }
        position++;
    }

    /** {@code out = g ⊙ x / sqrt(mean(x²) + eps)}, the mean in float64. */
    private void rmsNorm(float[] in, float[] g, float[] out) {
        double ss = MatVec.dot(in, 0, in, 0, in.length);
        double scale = 1.0 / Math.sqrt(ss / in.length + c.rmsNormEps());
        for (int i = 0; i < in.length; i++) {
            out[i] = (float) (g[i] * (in[i] * scale));
        }
    }

    private void ropeAngles(int pos) {
        double[] inv = model.invFreq();
        for (int i = 0; i < inv.length; i++) {
            double a = pos * inv[i];
            cos[i] = Math.cos(a);
            sin[i] = Math.sin(a);
        }
    }

    /** HF rotate-half: element i pairs with i + d/2 inside each head (no interleaving). */
    private void rope(float[] vec, int heads) {
        int hd = c.headDim();
        int half = hd / 2;
        for (int h = 0; h < heads; h++) {
            int base = h * hd;
            for (int i = 0; i < half; i++) {
                double x0 = vec[base + i];
                double x1 = vec[base + half + i];
                vec[base + i] = (float) (x0 * cos[i] - x1 * sin[i]);
                vec[base + half + i] = (float) (x1 * cos[i] + x0 * sin[i]);
            }
        }
    }

    /** Causal softmax attention of every query head over its KV head's cached positions. */
    private void attention(int layer) {
        int hd = c.headDim();
        int kvDim = c.kvDim();
        int group = c.numAttentionHeads() / c.numKeyValueHeads();
        int first = c.slidingWindow() > 0 ? Math.max(0, position - c.slidingWindow() + 1) : 0;
        double inv = 1.0 / Math.sqrt(hd);
        float[] kc = keys[layer];
        float[] vc = values[layer];
        for (int h = 0; h < c.numAttentionHeads(); h++) {
            int kvOff = (h / group) * hd;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = first; j <= position; j++) {
                double s = MatVec.dot(q, h * hd, kc, j * kvDim + kvOff, hd) * inv;
                scores[j] = s;
                max = Math.max(max, s);
            }
            double sum = 0;
            for (int j = first; j <= position; j++) {
                double e = Math.exp(scores[j] - max);
                scores[j] = e;
                sum += e;
            }
            for (int t = 0; t < hd; t++) {
                double acc = 0;
                for (int j = first; j <= position; j++) {
                    acc += scores[j] * vc[j * kvDim + kvOff + t];
                }
                att[h * hd + t] = (float) (acc / sum);
            }
        }
    }

    @Override
    public String toString() {
        return "Session[" + position + "/" + capacity + "]";
    }

}
