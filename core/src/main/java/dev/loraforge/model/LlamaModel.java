package dev.loraforge.model;

import dev.loraforge.tensor.RowReader;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.util.Objects;

/**
 * A Llama/Mistral decoder over HF-named weights: RMSNorm, rotary embeddings in HF's rotate-half layout,
 * grouped-query attention, SwiGLU, tied or separate {@code lm_head}. Activations are float32; every dot
 * product, norm and softmax accumulates in float64, which keeps logits within ~1e-6 of a float64
 * forward. Immutable and thread-safe; per-sequence state lives in a {@link Session}.
 */
public final class LlamaModel {

    /** One decoder block's weights. */
    record Block(float[] attnNorm, Linear q, Linear k, Linear v, Linear o,
                 float[] ffnNorm, Linear gate, Linear up, Linear down) {
    }

    private final LlamaConfig config;
    private final RowReader embed;
    private final Block[] blocks;
    private final float[] finalNorm;
    private final Linear lmHead;
    private final double[] invFreq;

    private LlamaModel(LlamaConfig config, RowReader embed, Block[] blocks, float[] finalNorm, Linear lmHead,
                       float[] ropeFactors) {
        this.config = config;
        this.embed = embed;
        this.blocks = blocks;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.invFreq = inverseFrequencies(config);
        if (ropeFactors != null) {
            for (int i = 0; i < invFreq.length; i++) {
                invFreq[i] /= ropeFactors[i];
            }
        }
    }

    /** llama.cpp's per-frequency RoPE divisors (Llama 3.1 GGUFs); HF folders carry rope_scaling instead. */
    public static final String ROPE_FACTORS = "rope_freqs.weight";
    private static final String EMBED = "model.embed_tokens.weight";

    /** Loads dense float32 copies of every projection. The source must stay open while the model is used. */
    public static LlamaModel load(LlamaConfig config, TensorSource source) {
        return load(config, source, LinearFactory.DENSE);
    }

    /** Loads with projections built by {@code factory} (dequantizing, adapter-aware, ...). */
    public static LlamaModel load(LlamaConfig config, TensorSource source, LinearFactory factory) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(factory, "factory");
        int d = config.hiddenSize();
        int ff = config.intermediateSize();
        // a quantized GGUF embedding is read a row per token, not widened whole (1 GB of floats for 128K tokens)
        RowReader embed = source.rowReader(EMBED).orElse(null);
        if (embed == null) {
            TensorView view = LinearFactory.require(source, EMBED);
            DenseLinear.check(view, config.vocabSize(), d);
            embed = RowReader.of(view);
        } else if (embed.rows() != config.vocabSize() || embed.cols() != d) {
            throw new ModelException(ModelException.Kind.BAD_WEIGHT, "weight '" + EMBED + "' has shape ["
                    + embed.rows() + ", " + embed.cols() + "], expected [" + config.vocabSize() + ", " + d + "]");
        }
        Block[] blocks = new Block[config.numHiddenLayers()];
        for (int i = 0; i < blocks.length; i++) {
            String p = "model.layers." + i + ".";
            blocks[i] = new Block(
                    vector(source, p + "input_layernorm.weight", d),
                    linear(factory, source, p + "self_attn.q_proj", config.qDim(), d),
                    linear(factory, source, p + "self_attn.k_proj", config.kvDim(), d),
                    linear(factory, source, p + "self_attn.v_proj", config.kvDim(), d),
                    linear(factory, source, p + "self_attn.o_proj", d, config.qDim()),
                    vector(source, p + "post_attention_layernorm.weight", d),
                    linear(factory, source, p + "mlp.gate_proj", ff, d),
                    linear(factory, source, p + "mlp.up_proj", ff, d),
                    linear(factory, source, p + "mlp.down_proj", d, ff));
        }
        float[] finalNorm = vector(source, "model.norm.weight", d);
        // HF ties only when asked; a missing lm_head with tie=false is a broken checkpoint
        boolean hasHead = source.contains("lm_head.weight");
        if (!hasHead && !config.tieWordEmbeddings()) {
            throw new ModelException(ModelException.Kind.BAD_WEIGHT, "missing weight 'lm_head.weight' in " + source
                    + " and tie_word_embeddings is false");
        }
        String headWeight = config.tieWordEmbeddings() || !hasHead ? EMBED : "lm_head.weight";
        Linear head = linear(factory, source, "lm_head", headWeight, config.vocabSize(), d);
        float[] ropeFactors = source.contains(ROPE_FACTORS) ? vector(source, ROPE_FACTORS, config.headDim() / 2) : null;
        if (ropeFactors != null && config.ropeScaling() != null) {
            throw new ModelException(ModelException.Kind.INVALID_CONFIG, source + " has both " + ROPE_FACTORS
                    + " and rope_scaling; the frequencies would be scaled twice");
        }
        if (ropeFactors != null) {
            for (float f : ropeFactors) {
                if (!(f > 0) || Float.isInfinite(f)) {
                    throw new ModelException(ModelException.Kind.BAD_WEIGHT, ROPE_FACTORS + " holds " + f
                            + "; every factor must be a positive number");
                }
            }
        }
        return new LlamaModel(config, embed, blocks, finalNorm, head, ropeFactors);
    }

    private static Linear linear(LinearFactory f, TensorSource s, String module, int out, int in) {
        return linear(f, s, module, module + ".weight", out, in);
    }

    private static Linear linear(LinearFactory f, TensorSource s, String module, String weight, int out, int in) {
        Linear l = f.create(module, weight, out, in, s);
        if (l.outFeatures() != out || l.inFeatures() != in) {
            throw new ModelException(ModelException.Kind.BAD_WEIGHT, module + " is " + l.outFeatures() + "x"
                    + l.inFeatures() + ", expected " + out + "x" + in);
        }
        return l;
    }

    private static float[] vector(TensorSource s, String name, int n) {
        TensorView v = LinearFactory.require(s, name);
        if (!v.dtype().isFloatingPoint() || v.shape().rank() != 1 || v.shape().dim(0) != n) {
            throw new ModelException(ModelException.Kind.BAD_WEIGHT, "weight '" + name + "' is " + v.dtype() + " "
                    + v.shape() + ", expected a float vector [" + n + "]");
        }
        return v.toFloatArray();
    }

    /** HF {@code inv_freq}: {@code theta^(-2i/d)} for i < d/2, then the config's scaling. */
    static double[] inverseFrequencies(LlamaConfig c) {
        int half = c.headDim() / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1.0 / Math.pow(c.ropeTheta(), (2.0 * i) / c.headDim());
        }
        if (c.ropeScaling() != null) {
            c.ropeScaling().apply(inv);
        }
        return inv;
    }

    public LlamaConfig config() {
        return config;
    }

    /** A fresh sequence with room for {@code capacity} tokens (the KV cache is allocated up front). */
    public Session newSession(int capacity) {
        return new Session(this, capacity);
    }

    /** Positions a {@link #newSession()} holds at most: long-context configs would otherwise allocate gigabytes. */
    public static final int DEFAULT_CAPACITY = 4096;

    /** A fresh sequence with room for {@code min(max_position_embeddings, DEFAULT_CAPACITY)} tokens. */
    public Session newSession() {
        return newSession(Math.min(config.maxPositionEmbeddings(), DEFAULT_CAPACITY));
    }

    RowReader embed() {
        return embed;
    }

    Block block(int i) {
        return blocks[i];
    }

    float[] finalNorm() {
        return finalNorm;
    }

    Linear lmHead() {
        return lmHead;
    }

    double[] invFreq() {
        return invFreq;
    }
}
