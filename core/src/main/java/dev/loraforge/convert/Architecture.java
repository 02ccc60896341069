package dev.loraforge.convert;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One model family as convert_hf_to_gguf.py converts it: the GGUF architecture name, the Hugging Face
 * classes it accepts, the HF → GGUF tensor name table (gguf-py {@code tensor_mapping.py} restricted to
 * what the family has), which tensors get the q/k row permutation, and whether norms get +1 (Gemma).
 *
 * @param ggufName     {@code general.architecture}, also the prefix of the model keys ({@code llama.block_count})
 * @param hfClasses    {@code config.json} {@code architectures[0]} values handled
 * @param blockTensors per-layer HF module name (without {@code model.layers.N.}) → GGUF name without {@code blk.N.}
 * @param globalTensors HF module name → GGUF name, outside the layers
 * @param undoPermute  true for Llama/Mistral: q_proj/k_proj rows go back to llama.cpp's interleaved RoPE layout
 * @param vocabSizeKey true when {@code <arch>.vocab_size} is written (LlamaModel does)
 * @param ropeDimKey   true when {@code <arch>.rope.dimension_count} is written
 * @param family       which converter class's own rules apply (metadata keys, vocabulary extras, tensor tweaks)
 */
public record Architecture(String ggufName, List<String> hfClasses, Map<String, String> blockTensors,
                           Map<String, String> globalTensors, boolean undoPermute, boolean vocabSizeKey,
                           boolean ropeDimKey, Family family) {

    /** The converter class whose overrides apply. */
    public enum Family {
        /** LlamaModel: add_prefix_space from tokenizer_config, llama3 rope_freqs. */
        LLAMA,
        /** Qwen2Model / Qwen3Model: TextModel's rules. */
        QWEN,
        /** GemmaModel: own parameter keys, norms + 1, lm_head dropped, CodeGemma FIM ids, no space prefix. */
        GEMMA
    }

    private static final Map<String, String> LLAMA_BLOCK = Map.ofEntries(
            Map.entry("input_layernorm", "attn_norm"),
            Map.entry("self_attn.q_proj", "attn_q"),
            Map.entry("self_attn.k_proj", "attn_k"),
            Map.entry("self_attn.v_proj", "attn_v"),
            Map.entry("self_attn.o_proj", "attn_output"),
            Map.entry("self_attn.rotary_emb", "rope_freqs"),
            Map.entry("post_attention_layernorm", "ffn_norm"),
            Map.entry("mlp.gate_proj", "ffn_gate"),
            Map.entry("mlp.up_proj", "ffn_up"),
            Map.entry("mlp.down_proj", "ffn_down"),
            Map.entry("self_attn.q_norm", "attn_q_norm"),
            Map.entry("self_attn.k_norm", "attn_k_norm"));

    private static final Map<String, String> LLAMA_GLOBAL = Map.of(
            "model.embed_tokens", "token_embd",
            "lm_head", "output",
            "model.norm", "output_norm");

    public static final Architecture LLAMA = new Architecture("llama",
            List.of("LlamaForCausalLM", "LLaMAForCausalLM", "MistralForCausalLM"),
            LLAMA_BLOCK, LLAMA_GLOBAL, true, true, true, Family.LLAMA);

    /** Qwen2Model: no q/k permutation, no vocab_size / rope.dimension_count keys, q/k/v biases. */
    public static final Architecture QWEN2 = new Architecture("qwen2", List.of("Qwen2ForCausalLM"),
            LLAMA_BLOCK, LLAMA_GLOBAL, false, false, false, Family.QWEN);

    /** Qwen3Model (a Qwen2Model): adds attn_q_norm / attn_k_norm. */
    public static final Architecture QWEN3 = new Architecture("qwen3", List.of("Qwen3ForCausalLM"),
            LLAMA_BLOCK, LLAMA_GLOBAL, false, false, false, Family.QWEN);

    /** GemmaModel (Gemma 1); not checked against a llama.cpp file (no Gemma fixture). */
    public static final Architecture GEMMA = new Architecture("gemma", List.of("GemmaForCausalLM"),
            LLAMA_BLOCK, LLAMA_GLOBAL, false, false, false, Family.GEMMA);

    public static final List<Architecture> ALL = List.of(LLAMA, QWEN2, QWEN3, GEMMA);

    /** GemmaModel.filter_tensors: lm_head is never converted. */
    public boolean dropped(String hfName) {
        return family == Family.GEMMA && hfName.equals("lm_head.weight");
    }

    /** What modify_tensors adds to every element (Gemma's RMSNorm stores weight − 1). */
    public float shift(String hfName) {
        return family == Family.GEMMA && hfName.endsWith("norm.weight") ? 1f : 0f;
    }

    private static final Pattern LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");

    public static Optional<Architecture> forHfClass(String hfClass) {
        return ALL.stream().filter(a -> a.hfClasses.contains(hfClass)).findFirst();
    }

    /**
     * {@code map_tensor_name}: the GGUF name of an HF tensor ({@code .weight}/{@code .bias} suffix kept),
     * or empty when the table has no entry (the converter fails with "Can not map tensor").
     */
    public Optional<String> ggufTensorName(String hfName) {
        for (String suffix : List.of(".weight", ".bias")) {
            if (!hfName.endsWith(suffix)) {
                continue;
            }
            String base = hfName.substring(0, hfName.length() - suffix.length());
            Optional<String> mapped = mapBase(base);
            if (mapped.isPresent()) {
                return Optional.of(mapped.get() + suffix);
            }
        }
        return mapBase(hfName);
    }

    private Optional<String> mapBase(String base) {
        String g = globalTensors.get(base);
        if (g != null) {
            return Optional.of(g);
        }
        Matcher m = LAYER.matcher(base);
        if (m.matches()) {
            String b = blockTensors.get(m.group(2));
            if (b != null) {
                return Optional.of("blk." + Integer.parseInt(m.group(1)) + "." + b);
            }
        }
        return Optional.empty();
    }

    /** True for HF tensors the converter drops before mapping (rotary caches and attention masks). */
    public static boolean skipped(String hfName) {
        return hfName.endsWith(".attention.masked_bias") || hfName.endsWith(".attention.bias")
                || hfName.endsWith(".rotary_emb.inv_freq");
    }

    /** The {@code permute} head count for an HF tensor, or 0 when it is not permuted. */
    public long permuteHeads(String hfName, long nHead, long nHeadKv) {
        if (!undoPermute) {
            return 0;
        }
        if (hfName.endsWith("q_proj.weight") || hfName.endsWith("q_proj.bias")) {
            return nHead;
        }
        if (hfName.endsWith("k_proj.weight") || hfName.endsWith("k_proj.bias")) {
            return nHeadKv != nHead ? nHeadKv : nHead;
        }
        return 0;
    }
}
