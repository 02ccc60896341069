package dev.loraforge.inspect;

import dev.loraforge.format.safetensors.ShardPlan;
import dev.loraforge.format.safetensors.TensorSpec;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The facts {@code loraforge inspect} shows for a model: architecture and shape from config.json, the exact
 * parameter count, bytes per dtype, and what each way of saving it would weigh.
 *
 * @param parameters  elements of all tensors (a tied lm_head is stored once and counted once, as transformers does)
 * @param dtypeBytes  bytes of tensor data per dtype, in first-seen order
 */
public record ModelFacts(String architecture, String modelType, OptionalLong hiddenSize, OptionalLong layers,
                         OptionalLong heads, OptionalLong kvHeads, OptionalLong headDim, OptionalLong ffnSize,
                         OptionalLong vocabSize, OptionalLong context, boolean tiedEmbeddings, int tensorCount,
                         long parameters, Map<DType, Long> dtypeBytes, Estimates estimates) {

    /** Default shard limit of transformers' save_pretrained. */
    public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;
    /** Rank of the typical adapter whose size is estimated. */
    public static final int ESTIMATE_RANK = 16;

    /**
     * Estimated output sizes.
     * @param adapterBytes  a rank-16 LoRA on every linear layer of the blocks, float32 as PEFT saves it
     * @param merged16Bytes merged model in a 16-bit dtype (tensor data + headers)
     * @param merged16Shards files at the default 5 GB shard limit
     * @param ggufBytes     tensor data of GGUF files by type name (Q8_0, Q4_K_M), when the architecture converts
     */
    public record Estimates(long adapterBytes, long merged16Bytes, int merged16Shards, Map<String, Long> ggufBytes) {
    }

    public static ModelFacts of(Map<String, Object> config, TensorSource source, Map<String, Long> ggufBytes) {
        List<String> names = source.names();
        long params = 0;
        Map<DType, Long> bytes = new LinkedHashMap<>();
        List<TensorSpec> as16 = new ArrayList<>();
        long adapter = 0;
        for (String n : names) {
            TensorView v = source.get(n);
            params = Math.addExact(params, v.elementCount());
            bytes.merge(v.dtype(), v.byteSize(), Long::sum);
            DType out = v.dtype().isFloatingPoint() ? DType.BF16 : v.dtype();
            as16.add(new TensorSpec(n, out, v.shape()));
            if (v.shape().rank() == 2 && isBlockLinear(n)) {
                adapter += 4L * ESTIMATE_RANK * (v.shape().dim(0) + v.shape().dim(1));
            }
        }
        ShardPlan plan = ShardPlan.of(as16, DEFAULT_SHARD_BYTES);
        long merged = 0;
        for (ShardPlan.Shard s : plan.shards()) {
            merged += s.byteSize() + 8 + 100L * s.tensors().size(); // data + a typical header
        }
        boolean tied = bool(config, "tie_word_embeddings")
                .orElse(names.contains("model.embed_tokens.weight") && !names.contains("lm_head.weight"));
        OptionalLong hidden = num(config, "hidden_size", "n_embd", "d_model");
        OptionalLong heads = num(config, "num_attention_heads", "n_head", "n_heads");
        OptionalLong headDim = num(config, "head_dim");
        if (headDim.isEmpty() && hidden.isPresent() && heads.isPresent() && heads.getAsLong() > 0) {
            headDim = OptionalLong.of(hidden.getAsLong() / heads.getAsLong());
        }
        OptionalLong kv = num(config, "num_key_value_heads", "n_kv_heads");
        return new ModelFacts(architecture(config), str(config, "model_type").orElse("?"), hidden,
                num(config, "num_hidden_layers", "n_layer", "n_layers"), heads, kv.isPresent() ? kv : heads, headDim,
                num(config, "intermediate_size", "n_inner", "ffn_dim"), num(config, "vocab_size"),
                num(config, "max_position_embeddings", "n_positions", "max_seq_len"), tied, names.size(), params,
                bytes, new Estimates(adapter, merged, plan.shards().size(), ggufBytes));
    }

    /** Linear weights inside the decoder blocks (what {@code all-linear} targets, lm_head excluded). */
    static boolean isBlockLinear(String name) {
        return name.endsWith(".weight") && name.contains(".layers.") && !name.contains("norm");
    }

    public static String architecture(Map<String, Object> config) {
        if (config.get("architectures") instanceof List<?> l && !l.isEmpty()) {
            return String.valueOf(l.getFirst());
        }
        return "?";
    }

    private static OptionalLong num(Map<String, Object> config, String... keys) {
        for (String k : keys) {
            if (config.get(k) instanceof Number n) {
                return OptionalLong.of(n.longValue());
            }
        }
        return OptionalLong.empty();
    }

    private static Optional<String> str(Map<String, Object> config, String key) {
        return config.get(key) instanceof String s ? Optional.of(s) : Optional.empty();
    }

    private static Optional<Boolean> bool(Map<String, Object> config, String key) {
        return config.get(key) instanceof Boolean b ? Optional.of(b) : Optional.empty();
    }

    /** Parameter count as the GGUF converter labels sizes ({@code 260K}, {@code 3.4M}, {@code 1.2B}). */
    public static String sizeLabel(long n) {
        double scaled;
        String suffix;
        if (n > 1e12) {
            scaled = n * 1e-12;
            suffix = "T";
        } else if (n > 1e9) {
            scaled = n * 1e-9;
            suffix = "B";
        } else if (n > 1e6) {
            scaled = n * 1e-6;
            suffix = "M";
        } else {
            scaled = n * 1e-3;
            suffix = "K";
        }
        String whole = Long.toString(Math.round(scaled)).replaceFirst("^0+", "");
        int fix = Math.max(2 - whole.length(), 0);
        return String.format(java.util.Locale.ROOT, "%." + fix + "f", scaled) + suffix;
    }
}
