package dev.loraforge.format.gguf;

/**
 * GGUF metadata keys as llama.cpp's gguf-py names them ({@code gguf/constants.py}, class {@code Keys}) at
 * 3f545bec: the ones loraforge's converters write and read. Per-architecture keys are templates: pass the
 * value of {@link #ARCHITECTURE}, e.g. {@code blockCount("llama")} is {@code "llama.block_count"}.
 */
public final class GgufKeys {
    private GgufKeys() {
    }

    // general.*
    public static final String TYPE = "general.type";
    public static final String ARCHITECTURE = "general.architecture";
    public static final String QUANTIZATION_VERSION = "general.quantization_version";
    public static final String ALIGNMENT = GgufFormat.KEY_ALIGNMENT;
    public static final String FILE_TYPE = "general.file_type";
    public static final String NAME = "general.name";
    public static final String AUTHOR = "general.author";
    public static final String VERSION = "general.version";
    public static final String ORGANIZATION = "general.organization";
    public static final String FINETUNE = "general.finetune";
    public static final String BASENAME = "general.basename";
    public static final String DESCRIPTION = "general.description";
    public static final String QUANTIZED_BY = "general.quantized_by";
    public static final String SIZE_LABEL = "general.size_label";
    public static final String LICENSE = "general.license";
    public static final String LICENSE_NAME = "general.license.name";
    public static final String LICENSE_LINK = "general.license.link";
    public static final String URL = "general.url";
    public static final String REPO_URL = "general.repo_url";
    public static final String SOURCE_URL = "general.source.url";
    public static final String SOURCE_REPO_URL = "general.source.repo_url";
    public static final String BASE_MODEL_COUNT = "general.base_model.count";
    public static final String TAGS = "general.tags";
    public static final String LANGUAGES = "general.languages";

    /** {@code general.type} of a model file. */
    public static final String TYPE_MODEL = "model";
    /** {@code general.type} of a LoRA adapter file. */
    public static final String TYPE_ADAPTER = "adapter";

    /** {@code general.base_model.{id}.name}, and likewise for the other base-model fields. */
    public static String baseModel(int id, String field) {
        return "general.base_model." + id + "." + field;
    }

    // {arch}.*
    public static String vocabSize(String arch) {
        return arch + ".vocab_size";
    }

    public static String contextLength(String arch) {
        return arch + ".context_length";
    }

    public static String embeddingLength(String arch) {
        return arch + ".embedding_length";
    }

    public static String blockCount(String arch) {
        return arch + ".block_count";
    }

    public static String feedForwardLength(String arch) {
        return arch + ".feed_forward_length";
    }

    public static String expertCount(String arch) {
        return arch + ".expert_count";
    }

    public static String expertUsedCount(String arch) {
        return arch + ".expert_used_count";
    }

    public static String headCount(String arch) {
        return arch + ".attention.head_count";
    }

    public static String headCountKv(String arch) {
        return arch + ".attention.head_count_kv";
    }

    public static String keyLength(String arch) {
        return arch + ".attention.key_length";
    }

    public static String valueLength(String arch) {
        return arch + ".attention.value_length";
    }

    public static String layerNormEpsilon(String arch) {
        return arch + ".attention.layer_norm_epsilon";
    }

    public static String layerNormRmsEpsilon(String arch) {
        return arch + ".attention.layer_norm_rms_epsilon";
    }

    public static String slidingWindow(String arch) {
        return arch + ".attention.sliding_window";
    }

    public static String ropeDimensionCount(String arch) {
        return arch + ".rope.dimension_count";
    }

    public static String ropeFreqBase(String arch) {
        return arch + ".rope.freq_base";
    }

    public static String ropeScalingType(String arch) {
        return arch + ".rope.scaling.type";
    }

    public static String ropeScalingFactor(String arch) {
        return arch + ".rope.scaling.factor";
    }

    public static String ropeScalingOrigCtxLen(String arch) {
        return arch + ".rope.scaling.original_context_length";
    }

    public static String ropeScalingAttnFactor(String arch) {
        return arch + ".rope.scaling.attn_factor";
    }

    // tokenizer.*
    public static final String TOKENIZER_MODEL = "tokenizer.ggml.model";
    public static final String TOKENIZER_PRE = "tokenizer.ggml.pre";
    public static final String TOKENIZER_TOKENS = "tokenizer.ggml.tokens";
    public static final String TOKENIZER_TOKEN_TYPE = "tokenizer.ggml.token_type";
    public static final String TOKENIZER_TOKEN_TYPE_COUNT = "tokenizer.ggml.token_type_count";
    public static final String TOKENIZER_SCORES = "tokenizer.ggml.scores";
    public static final String TOKENIZER_MERGES = "tokenizer.ggml.merges";
    public static final String TOKENIZER_BOS_ID = "tokenizer.ggml.bos_token_id";
    public static final String TOKENIZER_EOS_ID = "tokenizer.ggml.eos_token_id";
    public static final String TOKENIZER_EOT_ID = "tokenizer.ggml.eot_token_id";
    public static final String TOKENIZER_EOM_ID = "tokenizer.ggml.eom_token_id";
    public static final String TOKENIZER_UNK_ID = "tokenizer.ggml.unknown_token_id";
    /** Spelled as llama.cpp spells it. */
    public static final String TOKENIZER_SEP_ID = "tokenizer.ggml.seperator_token_id";
    public static final String TOKENIZER_PAD_ID = "tokenizer.ggml.padding_token_id";
    public static final String TOKENIZER_MASK_ID = "tokenizer.ggml.mask_token_id";
    public static final String TOKENIZER_ADD_BOS = "tokenizer.ggml.add_bos_token";
    public static final String TOKENIZER_ADD_EOS = "tokenizer.ggml.add_eos_token";
    public static final String TOKENIZER_ADD_SEP = "tokenizer.ggml.add_sep_token";
    public static final String TOKENIZER_ADD_PREFIX = "tokenizer.ggml.add_space_prefix";
    public static final String TOKENIZER_REMOVE_EXTRA_WS = "tokenizer.ggml.remove_extra_whitespaces";
    public static final String TOKENIZER_PRECOMPILED_CHARSMAP = "tokenizer.ggml.precompiled_charsmap";
    public static final String TOKENIZER_HF_JSON = "tokenizer.huggingface.json";
    public static final String TOKENIZER_CHAT_TEMPLATE = "tokenizer.chat_template";
    public static final String TOKENIZER_FIM_PRE_ID = "tokenizer.ggml.fim_pre_token_id";
    public static final String TOKENIZER_FIM_SUF_ID = "tokenizer.ggml.fim_suf_token_id";
    public static final String TOKENIZER_FIM_MID_ID = "tokenizer.ggml.fim_mid_token_id";
    public static final String TOKENIZER_FIM_PAD_ID = "tokenizer.ggml.fim_pad_token_id";
    public static final String TOKENIZER_FIM_REP_ID = "tokenizer.ggml.fim_rep_token_id";
    public static final String TOKENIZER_FIM_SEP_ID = "tokenizer.ggml.fim_sep_token_id";

    /** {@code tokenizer.chat_template.{name}}: a named extra chat template. */
    public static String chatTemplate(String name) {
        return "tokenizer.chat_template." + name;
    }

    // adapter.*
    public static final String ADAPTER_TYPE = "adapter.type";
    /** {@code adapter.type} of a LoRA adapter. */
    public static final String ADAPTER_TYPE_LORA = "lora";
    public static final String ADAPTER_LORA_ALPHA = "adapter.lora.alpha";
    public static final String ADAPTER_LORA_TASK_NAME = "adapter.lora.task_name";
    public static final String ADAPTER_LORA_PROMPT_PREFIX = "adapter.lora.prompt_prefix";
    public static final String ADAPTER_ALORA_INVOCATION_TOKENS = "adapter.alora.invocation_tokens";

    // split.* (sharded GGUF)
    public static final String SPLIT_NO = "split.no";
    public static final String SPLIT_COUNT = "split.count";
    public static final String SPLIT_TENSORS_COUNT = "split.tensors.count";
}
