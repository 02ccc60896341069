package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * The per-tensor type choice of llama-quantize ({@code src/llama-quant.cpp}: {@code llama_tensor_get_type},
 * {@code tensor_allows_quantization}, {@code tensor_type_fallback}) for the llama architecture, without
 * an importance matrix or user overrides. Some rules count tensors (the n-th attn_v, the n-th ffn_down),
 * so a whole model is planned at once, in llama.cpp's processing order (layer number, then name).
 */
public final class QuantMix {
    private QuantMix() {
    }

    /** The hyperparameters the rules read. {@code nExpert} is 0 for dense models. */
    public record ModelParams(int nLayer, int nHead, int nHeadKv, int nExpert) {
        public ModelParams {
            if (nLayer < 0 || nHead < 0 || nHeadKv < 0 || nExpert < 0) {
                throw new IllegalArgumentException("negative hyperparameter: " + nLayer + ", " + nHead + ", " + nHeadKv + ", " + nExpert);
            }
        }

        /** {@code hparams.n_gqa()}: query heads per KV head (0 without KV heads). */
        int nGqa() {
            return nHeadKv == 0 ? 0 : nHead / nHeadKv;
        }

        /** llama.cpp calls an 80-layer llama with grouped KV heads LLM_TYPE_70B; one attn_v rule depends on it. */
        boolean is70B() {
            return nLayer == 80 && nHead != nHeadKv;
        }
    }

    /**
     * A tensor as llama-quantize sees it: GGUF name, ggml dims ({@code ne[0]} = row length) and the
     * type it has in the input file (kept when the tensor is not quantized).
     */
    public record Tensor(String name, long[] ne, GgmlType sourceType) {
        public Tensor {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(sourceType, "sourceType");
            ne = ne.clone();
            if (ne.length < 1 || ne.length > 4) {
                throw new IllegalArgumentException(name + ": " + ne.length + " dims (1..4 allowed)");
            }
        }

        @Override
        public long[] ne() {
            return ne.clone();
        }

        /** {@code ggml_n_dims}: trailing dims of size 1 do not count. */
        int nDims() {
            for (int i = ne.length - 1; i >= 1; --i) {
                if (ne[i] > 1) {
                    return i + 1;
                }
            }
            return 1;
        }
    }

    /** Result: one type per input tensor (input order) and how many tensors fell back to another type. */
    public record Plan(List<GgmlType> types, int fallbacks) {
        public Plan {
            types = List.copyOf(types);
        }
    }

    enum Category { TOKEN_EMBD, ATTENTION_Q, ATTENTION_V, ATTENTION_K, ATTENTION_QKV, ATTENTION_KV_B, ATTENTION_OUTPUT,
        FFN_UP, FFN_GATE, FFN_DOWN, OUTPUT, OTHER }

    /**
     * Chooses every tensor's type.
     * @throws QuantException INCOMPATIBLE_SHAPE when a row length fits neither the chosen type nor a fallback
     *                        (llama.cpp aborts there too)
     */
    public static Plan plan(List<Tensor> tensors, ModelParams hp, LlamaFileType ftype) {
        Integer[] order = new Integer[tensors.size()];
        Arrays.setAll(order, i -> i);
        // llama_model_loader's weight_name_comparer: layer number first (-1 without one), then name
        Arrays.sort(order, Comparator.<Integer>comparingInt(i -> layerOf(tensors.get(i).name()))
                .thenComparing(i -> tensors.get(i).name()));
        State qs = new State(hp, ftype);
        for (Tensor t : tensors) {
            Category c = category(t.name());
            if (c == Category.ATTENTION_V || c == Category.ATTENTION_QKV || c == Category.ATTENTION_KV_B) {
                qs.nAttentionWv++;
            }
            if (c == Category.OUTPUT) {
                qs.hasTiedEmbeddings = false;
            }
        }
        qs.nFfnDown = qs.nFfnGate = qs.nFfnUp = hp.nLayer();
        GgmlType[] out = new GgmlType[tensors.size()];
        for (int i : order) {
            Tensor t = tensors.get(i);
            out[i] = allowsQuantization(t) ? qs.tensorType(t) : t.sourceType();
        }
        return new Plan(new ArrayList<>(Arrays.asList(out)), qs.nFallback);
    }

    /**
     * The layer number as llama.cpp reads it, {@code sscanf(name, "blk.%d.", &layer)}: optional blanks and
     * sign, then digits; what follows the digits does not matter. -1 when there is no number.
     */
    static int layerOf(String name) {
        if (!name.startsWith("blk.")) {
            return -1;
        }
        int i = 4;
        while (i < name.length() && Character.isWhitespace(name.charAt(i))) {
            i++;
        }
        boolean negative = false;
        if (i < name.length() && (name.charAt(i) == '-' || name.charAt(i) == '+')) {
            negative = name.charAt(i) == '-';
            i++;
        }
        long v = 0;
        int digits = 0;
        while (i < name.length() && name.charAt(i) >= '0' && name.charAt(i) <= '9') {
            v = Math.min(v * 10 + (name.charAt(i) - '0'), Integer.MAX_VALUE);
            i++;
            digits++;
        }
        if (digits == 0) {
            return -1;
        }
        return (int) (negative ? -v : v);
    }

    static Category category(String name) {
        if (name.equals("output.weight")) {
            return Category.OUTPUT;
        }
        if (name.equals("token_embd.weight") || name.equals("per_layer_token_embd.weight")) {
            return Category.TOKEN_EMBD;
        }
        if (name.contains("attn_qkv.weight")) {
            return Category.ATTENTION_QKV;
        }
        if (name.contains("attn_kv_b.weight")) {
            return Category.ATTENTION_KV_B;
        }
        if (name.contains("attn_v.weight")) {
            return Category.ATTENTION_V;
        }
        if (name.contains("attn_k.weight")) {
            return Category.ATTENTION_K;
        }
        if (name.contains("attn_q.weight")) {
            return Category.ATTENTION_Q;
        }
        if (name.contains("attn_output.weight")) {
            return Category.ATTENTION_OUTPUT;
        }
        if (name.contains("ffn_up")) {
            return Category.FFN_UP;
        }
        if (name.contains("ffn_gate")) {
            return Category.FFN_GATE;
        }
        if (name.contains("ffn_down")) {
            return Category.FFN_DOWN;
        }
        return Category.OTHER;
    }

    /** Names llama.cpp never quantizes (substring matches of tensor_allows_quantization). */
    private static final List<String> NEVER_QUANTIZED = List.of("_norm.weight", "ffn_gate_inp.weight",
            "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight",
            "indexer.k_proj.weight", "indexer.q_proj.weight", "time_mix_first.weight", "time_mix_w0.weight",
            "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
            "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
            "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight",
            ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger",
            "a.rvq.codebook", "mm.a.code_embd");

    /** {@code tensor_allows_quantization}: 2-D+ tensors named *weight, except norms and a list of small ones. */
    static boolean allowsQuantization(Tensor t) {
        if (t.nDims() < 2) {
            return false;
        }
        String name = t.name();
        if (!name.endsWith("weight")) {
            return false;
        }
        for (String s : NEVER_QUANTIZED) {
            if (name.contains(s)) {
                return false;
            }
        }
        return !name.equals("position_embd.weight") && !name.equals("token_types.weight");
    }

    static boolean useMoreBits(int iLayer, int nLayers) {
        return iLayer < nLayers / 8 || iLayer >= 7 * nLayers / 8 || (iLayer - nLayers / 8) % 3 == 2;
    }

    /** quantize_state_impl: the counters the rules share across tensors. */
    private static final class State {
        final ModelParams hp;
        final LlamaFileType ftype;
        int nAttentionWv;
        int nFfnDown;
        int nFfnGate;
        int nFfnUp;
        int iAttentionWv;
        int iFfnDown;
        int iFfnGate;
        int iFfnUp;
        int nFallback;
        boolean hasTiedEmbeddings = true;

        State(ModelParams hp, LlamaFileType ftype) {
            this.hp = hp;
            this.ftype = ftype;
        }

        /** llama_tensor_get_type for a tensor that may be quantized. */
        GgmlType tensorType(Tensor t) {
            GgmlType newType = ftype.defaultType();
            if (!newType.isQuantized()) {
                return newType;
            }
            newType = rules(newType, t, category(t.name()));
            return fallback(t, newType);
        }

        private int layer(int counter, String name) {
            if (hp.nExpert() > 1) { // experts are not consecutive: the layer comes from the name
                int l = layerOf(name);
                if (l < 0 || l >= hp.nLayer()) {
                    throw new QuantException(QuantException.Kind.INCOMPATIBLE_SHAPE,
                            "tensor '" + name + "': layer " + l + " outside [0, " + hp.nLayer() + ")");
                }
                return l;
            }
            return counter;
        }

        /** llama_tensor_get_type_impl, the branches reachable with the supported file types. */
        private GgmlType rules(GgmlType newType, Tensor t, Category category) {
            LlamaFileType f = ftype;
            int nExpert = hp.nExpert();
            if (category == Category.OUTPUT || (hasTiedEmbeddings && category == Category.TOKEN_EMBD)) {
                long nx = t.ne[0];
                if (nx % newType.blockSize() != 0) {
                    newType = GgmlType.Q8_0;
                } else if (newType != GgmlType.Q8_0) {
                    newType = GgmlType.Q6_K;
                }
            } else if (category == Category.TOKEN_EMBD) {
                // only IQ*/TQ* file types change the token embeddings
            } else if (category == Category.ATTENTION_V || category == Category.ATTENTION_QKV
                    || category == Category.ATTENTION_KV_B) {
                if (f == LlamaFileType.MOSTLY_Q2_K) {
                    newType = hp.nGqa() >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K;
                } else if (f == LlamaFileType.MOSTLY_Q3_K_M) {
                    newType = iAttentionWv < 2 ? GgmlType.Q5_K : GgmlType.Q4_K;
                } else if (f == LlamaFileType.MOSTLY_Q3_K_L) {
                    newType = GgmlType.Q5_K;
                } else if ((f == LlamaFileType.MOSTLY_Q4_K_M || f == LlamaFileType.MOSTLY_Q5_K_M)
                        && useMoreBits(iAttentionWv, nAttentionWv)) {
                    newType = GgmlType.Q6_K;
                } else if (f == LlamaFileType.MOSTLY_Q4_K_S && iAttentionWv < 4) {
                    newType = GgmlType.Q5_K;
                }
                if (hp.is70B() && (newType == GgmlType.Q3_K || newType == GgmlType.Q4_K)) {
                    newType = GgmlType.Q5_K; // 8 heads share attn_v: more bits are nearly free
                }
                if (nExpert == 8) {
                    newType = GgmlType.Q8_0;
                }
                ++iAttentionWv;
            } else if (category == Category.ATTENTION_K) {
                if (nExpert == 8) {
                    newType = GgmlType.Q8_0;
                }
            } else if (category == Category.FFN_DOWN) {
                int iLayer = layer(iFfnDown, t.name());
                int nLayer = nFfnDown;
                if (f == LlamaFileType.MOSTLY_Q2_K) {
                    newType = GgmlType.Q3_K;
                } else if (f == LlamaFileType.MOSTLY_Q3_K_M) {
                    newType = iLayer < nLayer / 16 ? GgmlType.Q5_K : GgmlType.Q4_K; // non-Falcon
                } else if (f == LlamaFileType.MOSTLY_Q3_K_L) {
                    newType = GgmlType.Q5_K;
                } else if (f == LlamaFileType.MOSTLY_Q4_K_M) {
                    if (useMoreBits(iLayer, nLayer)) {
                        newType = GgmlType.Q6_K;
                    }
                } else if (f == LlamaFileType.MOSTLY_Q5_K_M && useMoreBits(iLayer, nLayer)) {
                    newType = GgmlType.Q6_K;
                } else if (f == LlamaFileType.MOSTLY_Q4_K_S && iLayer < nLayer / 8) {
                    newType = GgmlType.Q5_K;
                }
                ++iFfnDown;
            } else if (category == Category.ATTENTION_OUTPUT) {
                if (nExpert == 8) {
                    if (f == LlamaFileType.MOSTLY_Q2_K || f == LlamaFileType.MOSTLY_Q3_K_S || f == LlamaFileType.MOSTLY_Q3_K_M
                            || f == LlamaFileType.MOSTLY_Q4_K_S || f == LlamaFileType.MOSTLY_Q4_K_M) {
                        newType = GgmlType.Q5_K;
                    }
                } else if (f == LlamaFileType.MOSTLY_Q2_K) {
                    newType = GgmlType.Q3_K;
                } else if (f == LlamaFileType.MOSTLY_Q3_K_M) {
                    newType = GgmlType.Q4_K;
                } else if (f == LlamaFileType.MOSTLY_Q3_K_L) {
                    newType = GgmlType.Q5_K;
                }
            } else if (category == Category.FFN_GATE) {
                layer(iFfnGate, t.name());
                ++iFfnGate;
            } else if (category == Category.FFN_UP) {
                layer(iFfnUp, t.name());
                ++iFfnUp;
            }
            // ATTENTION_QKV is caught by the attn_v branch above, as in llama.cpp (its own branch is unreachable)
            return newType;
        }

        /** tensor_type_fallback: a row length the chosen type cannot hold. */
        private GgmlType fallback(Tensor t, GgmlType target) {
            long ncols = t.ne[0];
            if (ncols % target.blockSize() == 0) {
                return target;
            }
            ++nFallback;
            GgmlType r = switch (target) {
                case Q2_K, Q3_K -> GgmlType.Q4_0;
                case Q4_K -> GgmlType.Q5_0;
                case Q5_K -> GgmlType.Q5_1;
                case Q6_K -> GgmlType.Q8_0;
                default -> throw new QuantException(QuantException.Kind.INCOMPATIBLE_SHAPE, "tensor '" + t.name()
                        + "': row length " + ncols + " is not a multiple of " + target.blockSize() + " (block of "
                        + target + ") and llama.cpp defines no fallback for " + target);
            };
            if (ncols % r.blockSize() != 0) {
                r = GgmlType.F16; // llama.cpp: "must use F16 due to unusual shape"
            }
            return r;
        }
    }
}
