package dev.loraforge.model;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.model.ModelException.Kind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The hyper-parameters of a Llama-family decoder, as read from a Hugging Face {@code config.json}.
 *
 * @param architecture             {@code LlamaForCausalLM} or {@code MistralForCausalLM}
 * @param headDim                  width of one attention head (HF default: hidden / heads)
 * @param ropeScaling              null when frequencies are not scaled
 * @param slidingWindow            Mistral's attention window in tokens; 0 = attend to every earlier token
 * @param bosTokenId               -1 when the config names none
 * @param eosTokenIds              every id that ends generation (Llama 3 lists several)
 */
public record LlamaConfig(String architecture, int hiddenSize, int intermediateSize, int numHiddenLayers,
                          int numAttentionHeads, int numKeyValueHeads, int headDim, int vocabSize,
                          double rmsNormEps, double ropeTheta, RopeScaling ropeScaling,
                          int maxPositionEmbeddings, boolean tieWordEmbeddings, int slidingWindow,
                          int bosTokenId, List<Integer> eosTokenIds) {

    public static final Set<String> ARCHITECTURES = Set.of("LlamaForCausalLM", "MistralForCausalLM");

    /** Sanity bound on any one dimension; real models stay far below it and it keeps products in range. */
    static final int MAX_DIM = 1 << 24;

    public LlamaConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        if (!ARCHITECTURES.contains(architecture)) {
            throw invalid(Kind.UNSUPPORTED, "architecture " + architecture + " is not supported (only " + ARCHITECTURES + ")");
        }
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("num_key_value_heads", numKeyValueHeads);
        positive("head_dim", headDim);
        positive("vocab_size", vocabSize);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw invalid(Kind.INVALID_CONFIG, "num_attention_heads " + numAttentionHeads
                    + " is not a multiple of num_key_value_heads " + numKeyValueHeads);
        }
        if (headDim % 2 != 0) {
            throw invalid(Kind.INVALID_CONFIG, "head_dim " + headDim + " must be even for rotary embeddings");
        }
        Math.multiplyExact(numAttentionHeads, headDim); // q width must fit an int
        if (!(rmsNormEps > 0) || !(rmsNormEps < 1)) {
            throw invalid(Kind.INVALID_CONFIG, "rms_norm_eps must be in (0, 1), got " + rmsNormEps);
        }
        if (!(ropeTheta > 1) || Double.isInfinite(ropeTheta)) {
            throw invalid(Kind.INVALID_CONFIG, "rope_theta must be a finite number > 1, got " + ropeTheta);
        }
        if (slidingWindow < 0) {
            throw invalid(Kind.INVALID_CONFIG, "sliding_window must be >= 0, got " + slidingWindow);
        }
        if (bosTokenId >= vocabSize) {
            throw invalid(Kind.INVALID_CONFIG, "bos_token_id " + bosTokenId + " >= vocab_size " + vocabSize);
        }
        for (int eos : eosTokenIds) {
            if (eos < 0 || eos >= vocabSize) {
                throw invalid(Kind.INVALID_CONFIG, "eos_token_id " + eos + " outside [0, " + vocabSize + ")");
            }
        }
    }

    public int qDim() {
        return numAttentionHeads * headDim;
    }

    public int kvDim() {
        return numKeyValueHeads * headDim;
    }

    public boolean isEos(int token) {
        return eosTokenIds.contains(token);
    }

    /** Reads {@code dir/config.json}. */
    public static LlamaConfig read(Path dir) throws IOException {
        Path file = Files.isDirectory(dir) ? dir.resolve("config.json") : dir;
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ModelException(Kind.BAD_CONFIG, "no config.json at " + file, e);
        }
        try {
            return parse(text);
        } catch (ModelException e) {
            throw new ModelException(e.kind(), file + ": " + e.getMessage(), e);
        }
    }

    /** Parses the text of a config.json. */
    public static LlamaConfig parse(String json) {
        Map<String, Object> m;
        try {
            m = JSON.std.mapFrom(json);
        } catch (IOException | RuntimeException e) {
            throw new ModelException(Kind.BAD_CONFIG, "config is not a JSON object: " + e.getMessage(), e);
        }
        if (m == null) {
            throw new ModelException(Kind.BAD_CONFIG, "config is not a JSON object");
        }
        String arch = architecture(m);
        String act = m.containsKey("hidden_act") ? String.valueOf(m.get("hidden_act")) : "silu";
        if (!act.equals("silu")) {
            throw invalid(Kind.UNSUPPORTED, "hidden_act " + act + " is not supported (only silu)");
        }
        for (String bias : List.of("attention_bias", "mlp_bias")) {
            if (Boolean.TRUE.equals(m.get(bias))) {
                throw invalid(Kind.UNSUPPORTED, bias + " = true is not supported");
            }
        }
        int hidden = integer(m, "hidden_size", null);
        int heads = integer(m, "num_attention_heads", null);
        if (heads <= 0) {
            throw invalid(Kind.INVALID_CONFIG, "num_attention_heads must be positive, got " + heads);
        }
        if (m.get("head_dim") == null && hidden % heads != 0) {
            throw invalid(Kind.INVALID_CONFIG, "hidden_size " + hidden + " is not a multiple of num_attention_heads "
                    + heads + " and head_dim is not given");
        }
        // transformers 5 moves rope_theta and the scaling into rope_parameters
        @SuppressWarnings("unchecked")
        Map<String, Object> ropeParams = m.get("rope_parameters") instanceof Map<?, ?> rp ? (Map<String, Object>) rp : null;
        Map<String, Object> ropeSource = ropeParams != null ? ropeParams : m;
        double theta = number(ropeSource, "rope_theta", 10000.0);
        Object scaling = ropeParams != null ? ropeParams : m.get("rope_scaling");
        int maxPos = integer(m, "max_position_embeddings", 2048);
        Object window = m.get("sliding_window");
        return new LlamaConfig(arch, hidden,
                integer(m, "intermediate_size", null),
                integer(m, "num_hidden_layers", null),
                heads,
                integer(m, "num_key_value_heads", heads),
                m.get("head_dim") == null ? hidden / heads : integer(m, "head_dim", null),
                integer(m, "vocab_size", null),
                number(m, "rms_norm_eps", 1e-6),
                theta,
                ropeScaling(scaling),
                maxPos,
                Boolean.TRUE.equals(m.getOrDefault("tie_word_embeddings", Boolean.FALSE)),
                window == null ? 0 : integer(m, "sliding_window", null),
                m.get("bos_token_id") == null ? -1 : integer(m, "bos_token_id", null),
                eosIds(m.get("eos_token_id")));
    }

    private static String architecture(Map<String, Object> m) {
        if (m.get("architectures") instanceof List<?> list && !list.isEmpty()) {
            for (Object a : list) {
                if (ARCHITECTURES.contains(String.valueOf(a))) {
                    return String.valueOf(a);
                }
            }
            throw invalid(Kind.UNSUPPORTED, "architectures " + list + " are not supported (only " + ARCHITECTURES + ")");
        }
        Object type = m.get("model_type");
        if ("llama".equals(type)) {
            return "LlamaForCausalLM";
        }
        if ("mistral".equals(type)) {
            return "MistralForCausalLM";
        }
        throw invalid(Kind.UNSUPPORTED, "neither architectures nor model_type names a supported model (model_type "
                + type + ")");
    }

    @SuppressWarnings("unchecked")
    private static RopeScaling ropeScaling(Object value) {
        if (value == null) {
            return null;
        }
        if (!(value instanceof Map<?, ?> raw)) {
            throw invalid(Kind.INVALID_CONFIG, "rope_scaling must be an object or null, got " + value);
        }
        Map<String, Object> s = (Map<String, Object>) raw;
        Object type = s.containsKey("rope_type") ? s.get("rope_type") : s.get("type");
        String t = type == null ? "default" : String.valueOf(type);
        return switch (t) {
            case "default" -> null;
            case "linear" -> RopeScaling.linear(number(s, "factor", null));
            case "llama3" -> RopeScaling.llama3(number(s, "factor", null), number(s, "low_freq_factor", null),
                    number(s, "high_freq_factor", null), integer(s, "original_max_position_embeddings", null));
            default -> throw invalid(Kind.UNSUPPORTED, "rope_scaling type " + t
                    + " is not supported (only default, linear, llama3)");
        };
    }

    private static List<Integer> eosIds(Object value) {
        List<Integer> out = new ArrayList<>();
        if (value instanceof List<?> list) {
            for (Object o : list) {
                out.add(asInt("eos_token_id", o));
            }
        } else if (value != null) {
            out.add(asInt("eos_token_id", value));
        }
        return out;
    }

    private static int integer(Map<String, Object> m, String key, Integer fallback) {
        Object v = m.get(key);
        if (v == null) {
            if (fallback == null) {
                throw new ModelException(Kind.BAD_CONFIG, "config lacks " + key);
            }
            return fallback;
        }
        return asInt(key, v);
    }

    private static int asInt(String key, Object v) {
        if (v instanceof Number n) {
            double d = n.doubleValue();
            if (d == Math.rint(d) && Math.abs(d) <= MAX_DIM) {
                return (int) d;
            }
        }
        throw invalid(Kind.INVALID_CONFIG, key + " must be an integer of at most " + MAX_DIM + ", got " + v);
    }

    private static double number(Map<String, Object> m, String key, Double fallback) {
        Object v = m.get(key);
        if (v == null) {
            if (fallback == null) {
                throw new ModelException(Kind.BAD_CONFIG, "config lacks " + key);
            }
            return fallback;
        }
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        throw invalid(Kind.INVALID_CONFIG, key + " must be a number, got " + v);
    }

    private static void positive(String key, int v) {
        if (v <= 0) {
            throw invalid(Kind.INVALID_CONFIG, key + " must be positive, got " + v);
        }
    }

    private static ModelException invalid(Kind kind, String message) {
        return new ModelException(kind, message);
    }
}
