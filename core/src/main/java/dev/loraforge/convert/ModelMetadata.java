package dev.loraforge.convert;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The metadata pairs convert_hf_to_gguf.py writes for a text model, in its order:
 * {@code general.architecture}, {@code general.type}, the naming keys (gguf-py {@code Metadata}), the
 * model parameters ({@code TextModel.set_gguf_parameters} + the family's additions),
 * {@code general.quantization_version}, then the vocabulary.
 */
public final class ModelMetadata {
    private ModelMetadata() {
    }

    /** gguf-py {@code GGML_QUANT_VERSION}. */
    public static final long QUANT_VERSION = 2;

    /** The naming keys derived for a folder (model card and metadata override files are not read). */
    public record Naming(String name, String version, String finetune, String basename, String sizeLabel,
                         String organization) {
    }

    /**
     * {@code Metadata.load} + the converter's fallbacks: {@code _name_or_path} of config.json first (when it
     * looks like a model id), then the folder name; size label from the parameter count when none was found.
     * @param totalParams negative for a LoRA adapter (gguf-py's convention), as from {@link #parameterCount}
     */
    public static Naming naming(Path modelDir, Map<String, Object> hfParams, long totalParams, long[] sizeParts) {
        String name = null, org = null, basename = null, finetune = null, version = null, sizeLabel = null;
        List<ModelNaming.Components> sources = new ArrayList<>();
        if (hfParams != null && hfParams.get("_name_or_path") instanceof String id && id.chars().filter(c -> c == '/').count() <= 1) {
            sources.add(ModelNaming.components(id, totalParams));
        }
        Path fileName = modelDir.toAbsolutePath().normalize().getFileName();
        String dirName = fileName == null ? "" : fileName.toString();
        sources.add(ModelNaming.components(dirName, totalParams));
        for (ModelNaming.Components c : sources) {
            if (name == null && c.fullName() != null) {
                name = ModelNaming.idToTitle(c.fullName());
            }
            if (org == null && c.organization() != null) {
                org = ModelNaming.idToTitle(c.organization());
            }
            basename = basename == null ? c.basename() : basename;
            finetune = finetune == null ? c.finetune() : finetune;
            version = version == null ? c.version() : version;
            sizeLabel = sizeLabel == null ? c.sizeLabel() : sizeLabel;
        }
        if (name == null) {
            name = dirName;
        }
        if (sizeLabel == null && totalParams > 0) {
            sizeLabel = ModelNaming.sizeLabel(sizeParts[0], sizeParts[1], sizeParts[2], sizeParts[3]);
        }
        return new Naming(name, version, finetune, basename, sizeLabel, org);
    }

    /** {@code set_gguf_meta_model}'s naming keys, in its order (empty strings are skipped like add_string). */
    public static void addNaming(Naming n, List<MetaKv> out) {
        putString(out, "general.name", n.name());
        putString(out, "general.version", n.version());
        putString(out, "general.organization", n.organization());
        putString(out, "general.finetune", n.finetune());
        putString(out, "general.basename", n.basename());
        putString(out, "general.size_label", n.sizeLabel());
    }

    static void putString(List<MetaKv> out, String key, String value) {
        if (value != null && !value.isEmpty()) {
            SpecialVocab.put(out, MetaKv.string(key, value));
        }
    }

    /** Sampling defaults from generation_config.json, as {@code Metadata.load} copies them. */
    public static void addSampling(Path modelDir, List<MetaKv> out) {
        Path f = modelDir.resolve("generation_config.json");
        if (!Files.isRegularFile(f)) {
            return;
        }
        Map<String, Object> g;
        try {
            g = HfConfig.readJson(f, ConvertException.Kind.BAD_CONFIG);
        } catch (ConvertException e) {
            return; // gguf-py ignores an invalid generation_config.json
        }
        if (g.get("sequence") instanceof String s) {
            putString(out, "general.sampling.sequence", s);
        }
        intKey(out, g, "top_k", "general.sampling.top_k");
        floatKey(out, g, "top_p", "general.sampling.top_p");
        floatKey(out, g, "min_p", "general.sampling.min_p");
        floatKey(out, g, "xtc_probability", "general.sampling.xtc_probability");
        floatKey(out, g, "xtc_threshold", "general.sampling.xtc_threshold");
        floatKey(out, g, "temperature", "general.sampling.temp");
        intKey(out, g, "penalty_last_n", "general.sampling.penalty_last_n");
        floatKey(out, g, "penalty_repeat", "general.sampling.penalty_repeat");
        intKey(out, g, "mirostat", "general.sampling.mirostat");
        floatKey(out, g, "mirostat_tau", "general.sampling.mirostat_tau");
        floatKey(out, g, "mirostat_eta", "general.sampling.mirostat_eta");
    }

    private static void intKey(List<MetaKv> out, Map<String, Object> g, String from, String key) {
        if (g.get(from) instanceof Number n) {
            SpecialVocab.put(out, MetaKv.i32(key, n.longValue()));
        }
    }

    private static void floatKey(List<MetaKv> out, Map<String, Object> g, String from, String key) {
        if (g.get(from) instanceof Number n) {
            SpecialVocab.put(out, MetaKv.f32(key, n.doubleValue()));
        }
    }

    /**
     * {@code TextModel.set_gguf_parameters} for the keys a Llama-family config has, then the family's
     * {@code vocab_size} and {@code rope.dimension_count}.
     */
    public static void addModelParameters(Architecture arch, HfConfig c, long fileType, List<MetaKv> out) {
        String a = arch.ggufName();
        if (arch.family() == Architecture.Family.GEMMA) {
            addGemmaParameters(a, c, fileType, out);
            return;
        }
        SpecialVocab.put(out, MetaKv.u32(a + ".block_count", c.requireLong("n_layers", "num_hidden_layers", "n_layer", "num_layers")));
        c.findLong("max_position_embeddings", "n_ctx", "n_positions", "max_length", "max_sequence_length", "model_max_length")
                .ifPresent(v -> SpecialVocab.put(out, MetaKv.u32(a + ".context_length", v)));
        c.findLong("hidden_size", "n_embd", "dim").ifPresent(v -> SpecialVocab.put(out, MetaKv.u32(a + ".embedding_length", v)));
        c.findLong("intermediate_size", "n_inner", "hidden_dim").ifPresent(v -> SpecialVocab.put(out, MetaKv.u32(a + ".feed_forward_length", v)));
        c.findLong("num_attention_heads", "n_head", "n_heads").ifPresent(v -> SpecialVocab.put(out, MetaKv.u32(a + ".attention.head_count", v)));
        c.findLong("num_key_value_heads", "n_kv_heads").ifPresent(v -> SpecialVocab.put(out, MetaKv.u32(a + ".attention.head_count_kv", v)));
        if (Boolean.FALSE.equals(c.params().get("is_causal"))) {
            SpecialVocab.put(out, MetaKv.bool(a + ".attention.causal", false));
        }
        Map<String, Object> rope = ropeParameters(c);
        if (rope.get("rope_type") instanceof String type) {
            Object factor = rope.get("factor");
            if (type.equals("linear") && factor instanceof Number f) {
                SpecialVocab.put(out, MetaKv.string(a + ".rope.scaling.type", "linear"));
                SpecialVocab.put(out, MetaKv.f32(a + ".rope.scaling.factor", f.doubleValue()));
            } else if (type.equals("yarn") && factor instanceof Number f) {
                SpecialVocab.put(out, MetaKv.string(a + ".rope.scaling.type", "yarn"));
                SpecialVocab.put(out, MetaKv.f32(a + ".rope.scaling.factor", f.doubleValue()));
                SpecialVocab.put(out, MetaKv.u32(a + ".rope.scaling.original_context_length",
                        ((Number) rope.get("original_max_position_embeddings")).longValue()));
                floatOpt(out, rope.get("extrapolation_factor"), a + ".rope.scaling.yarn_ext_factor");
                floatOpt(out, rope.containsKey("attention_factor") ? rope.get("attention_factor") : rope.get("attn_factor"),
                        a + ".rope.scaling.yarn_attn_factor");
                floatOpt(out, rope.get("beta_fast"), a + ".rope.scaling.yarn_beta_fast");
                floatOpt(out, rope.get("beta_slow"), a + ".rope.scaling.yarn_beta_slow");
            } else if (type.equals("su") || type.equals("longrope")) {
                SpecialVocab.put(out, MetaKv.string(a + ".rope.scaling.type", "longrope"));
            }
        }
        if (rope.get("rope_theta") instanceof Number theta) {
            SpecialVocab.put(out, MetaKv.f32(a + ".rope.freq_base", theta.doubleValue()));
        }
        c.findDouble("rms_norm_eps", "norm_eps").ifPresent(v -> SpecialVocab.put(out, MetaKv.f32(a + ".attention.layer_norm_rms_epsilon", v)));
        c.findDouble("layer_norm_eps", "layer_norm_epsilon", "norm_epsilon")
                .ifPresent(v -> SpecialVocab.put(out, MetaKv.f32(a + ".attention.layer_norm_epsilon", v)));
        Optional<Object> headDim = c.get("head_dim");
        if (headDim.isPresent()) {
            long hd = ((Number) headDim.get()).longValue();
            SpecialVocab.put(out, MetaKv.u32(a + ".attention.key_length", hd));
            SpecialVocab.put(out, MetaKv.u32(a + ".attention.value_length", hd));
        }
        SpecialVocab.put(out, MetaKv.u32("general.file_type", fileType));
        if (arch.vocabSizeKey()) {
            SpecialVocab.put(out, MetaKv.u32(a + ".vocab_size", c.requireLong("vocab_size")));
        }
        if (arch.ropeDimKey()) {
            long ropeDim = headDim.map(v -> ((Number) v).longValue())
                    .orElseGet(() -> c.requireLong("hidden_size") / c.requireLong("num_attention_heads"));
            SpecialVocab.put(out, MetaKv.u32(a + ".rope.dimension_count", ropeDim));
        }
    }

    /** GemmaModel.set_gguf_parameters: its own keys and order, no rope keys. */
    private static void addGemmaParameters(String a, HfConfig c, long fileType, List<MetaKv> out) {
        SpecialVocab.put(out, MetaKv.u32(a + ".context_length", c.requireLong("max_position_embeddings")));
        SpecialVocab.put(out, MetaKv.u32(a + ".embedding_length", c.requireLong("hidden_size")));
        SpecialVocab.put(out, MetaKv.u32(a + ".block_count", c.requireLong("n_layers", "num_hidden_layers", "n_layer", "num_layers")));
        SpecialVocab.put(out, MetaKv.u32(a + ".feed_forward_length", c.requireLong("intermediate_size")));
        SpecialVocab.put(out, MetaKv.u32(a + ".attention.head_count", c.requireLong("num_attention_heads")));
        SpecialVocab.put(out, MetaKv.u32(a + ".attention.head_count_kv", c.params().containsKey("num_key_value_heads")
                ? c.requireLong("num_key_value_heads") : c.requireLong("num_attention_heads")));
        SpecialVocab.put(out, MetaKv.f32(a + ".attention.layer_norm_rms_epsilon", c.findDouble("rms_norm_eps")
                .orElseThrow(() -> new ConvertException(ConvertException.Kind.BAD_CONFIG, c.file() + ": no rms_norm_eps"))));
        SpecialVocab.put(out, MetaKv.u32(a + ".attention.key_length", c.requireLong("head_dim")));
        SpecialVocab.put(out, MetaKv.u32(a + ".attention.value_length", c.requireLong("head_dim")));
        SpecialVocab.put(out, MetaKv.u32("general.file_type", fileType));
    }

    private static void floatOpt(List<MetaKv> out, Object v, String key) {
        if (v instanceof Number n) {
            SpecialVocab.put(out, MetaKv.f32(key, n.doubleValue()));
        }
    }

    /** {@code rope_parameters} (or {@code rope_scaling}) with rope_theta and rope_type mirrored in. */
    static Map<String, Object> ropeParameters(HfConfig c) {
        Map<String, Object> p = new java.util.LinkedHashMap<>();
        Object rp = c.params().containsKey("rope_parameters") ? c.params().get("rope_parameters") : c.params().get("rope_scaling");
        if (rp instanceof Map<?, ?> m) {
            m.forEach((k, v) -> p.put((String) k, v));
        }
        if (p.get("full_attention") instanceof Map<?, ?> full) {
            Map<String, Object> f = new java.util.LinkedHashMap<>();
            full.forEach((k, v) -> f.put((String) k, v));
            return f;
        }
        Object theta = c.find("global_rope_theta", "rope_global_theta", "rope_theta_global", "rope_theta", "rotary_emb_base").orElse(null);
        if (!p.containsKey("rope_theta") && theta != null) {
            p.put("rope_theta", theta);
        }
        if (!p.containsKey("rope_type") && p.get("type") != null) {
            p.put("rope_type", p.get("type"));
        }
        return p;
    }
}
