package dev.loraforge.model;

import dev.loraforge.format.gguf.GgmlType;
import dev.loraforge.format.gguf.GgufFile;
import dev.loraforge.format.gguf.GgufTensor;
import dev.loraforge.model.ModelException.Kind;
import dev.loraforge.quant.GgmlCodec;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.RowReader;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A llama.cpp GGUF (architecture {@code llama}) seen as a Hugging Face model: the config from the
 * {@code llama.*} keys, and the tensors under HF names, dequantized to F32 with the GGUF codecs and with
 * the q/k rows put back from llama.cpp's interleaved RoPE order into HF's rotate-half order (the inverse
 * of {@code convert_hf_to_gguf.py}'s {@code permute}), so {@link LlamaModel} runs it unchanged. Llama 3.1's
 * {@code rope_freqs.weight} is passed through under its own name and divides the RoPE frequencies.
 */
public final class GgufLlama {

    private static final Map<String, String> BLOCK_NAMES = Map.of(
            "attn_norm", "input_layernorm",
            "attn_q", "self_attn.q_proj",
            "attn_k", "self_attn.k_proj",
            "attn_v", "self_attn.v_proj",
            "attn_output", "self_attn.o_proj",
            "ffn_norm", "post_attention_layernorm",
            "ffn_gate", "mlp.gate_proj",
            "ffn_up", "mlp.up_proj",
            "ffn_down", "mlp.down_proj");

    private GgufLlama() {
    }

    /** Loads the model; the file must stay open while it is used (tensors are dequantized at load). */
    public static LlamaModel load(GgufFile file) {
        LlamaConfig config = config(file);
        return LlamaModel.load(config, tensors(file, config));
    }

    /**
     * Loads the model with the projections left quantized in the mapped file: Q8_0 through the
     * {@link Q8_0Dot} kernel (faster than float copies, within float rounding of them), other types
     * dequantized row by row at every use (same bits as {@link #load}, slower). Far less memory either
     * way. Embeddings and norms are still dequantized once.
     */
    public static LlamaModel loadInPlace(GgufFile file) {
        LlamaConfig config = config(file);
        return LlamaModel.load(config, tensors(file, config), inPlace(file, config));
    }

    /**
     * Projections over the GGUF's own (possibly quantized) rows, in HF row order. Q8_0 matrices use the
     * {@link Q8_0Dot} kernel on their blocks (float sums, not the bits of a dequantized copy); other types
     * dequantize a row at a time and give the same bits as {@link #load}.
     */
    public static LinearFactory inPlace(GgufFile f, LlamaConfig c) {
        return inPlace(f, c, false);
    }

    /**
     * Q8_0 matrices in place with the {@link Q8_0Dot} kernel (less memory and faster than a float copy,
     * since decoding is bound by the bytes read), every other matrix as a dense float copy.
     */
    public static LinearFactory fastest(GgufFile f, LlamaConfig c) {
        return inPlace(f, c, true);
    }

    private static LinearFactory inPlace(GgufFile f, LlamaConfig c, boolean denseUnlessKernel) {
        Map<String, GgufTensor> byHf = new LinkedHashMap<>();
        for (GgufTensor t : f.tensors()) {
            String hf = hfName(t.name());
            if (hf != null) {
                byHf.put(hf, t);
            }
        }
        return (module, weight, out, in, source) -> {
            GgufTensor t = byHf.get(weight);
            if (t == null) {
                throw new ModelException(Kind.BAD_WEIGHT, "missing weight '" + weight + "' in " + f.path());
            }
            long[] shape = t.shape();
            if (shape.length != 2 || shape[0] != out || shape[1] != in) {
                throw new ModelException(Kind.BAD_WEIGHT, f.path() + ": " + t.name() + " has shape "
                        + java.util.Arrays.toString(shape) + ", expected [" + out + ", " + in + "]");
            }
            if (t.type() == GgmlType.Q8_0) {
                return new Q8_0Linear(t, out, in, permutedHeads(weight, c));
            }
            return denseUnlessKernel ? LinearFactory.DENSE.create(module, weight, out, in, source)
                    : new QuantizedRows(t, out, in, permutedHeads(weight, c));
        };
    }

    private static int permutedHeads(String hfName, LlamaConfig c) {
        return hfName.endsWith("q_proj.weight") ? c.numAttentionHeads()
                : hfName.endsWith("k_proj.weight") ? c.numKeyValueHeads() : 0;
    }

    /** One GGUF matrix dequantized a row at a time. */
    private static final class QuantizedRows extends RowLinear {
        private final GgufTensor t;
        private final GgmlCodec codec;
        private final long rowBytes;
        private final int heads;

        QuantizedRows(GgufTensor t, int rows, int cols, int heads) {
            super(rows, cols);
            this.t = t;
            this.codec = GgmlCodec.of(t.type());
            this.rowBytes = t.type().rowSize(cols);
            this.heads = heads;
        }

        @Override
        public void row(int r, float[] dst) {
            codec.dequantize(t.data(), ggufRow(r, heads, outFeatures()) * rowBytes, dst, 0, inFeatures());
        }

        @Override
        public String toString() {
            return "QuantizedRows[" + t.name() + " " + t.type() + "]";
        }
    }

    /** The HF-equivalent config of a {@code llama} GGUF. */
    public static LlamaConfig config(GgufFile f) {
        String arch = f.requireString("general.architecture");
        if (!arch.equals("llama")) {
            throw new ModelException(Kind.UNSUPPORTED, f.path() + ": general.architecture is " + arch + ", only llama is supported");
        }
        int hidden = (int) f.requireLong("llama.embedding_length");
        int heads = (int) f.requireLong("llama.attention.head_count");
        int kvHeads = f.find("llama.attention.head_count_kv").isPresent()
                ? (int) f.requireLong("llama.attention.head_count_kv") : heads;
        int headDim = f.find("llama.attention.key_length").isPresent()
                ? (int) f.requireLong("llama.attention.key_length") : hidden / heads;
        int vocab = f.find("llama.vocab_size").isPresent() ? (int) f.requireLong("llama.vocab_size")
                : f.requireArray("tokenizer.ggml.tokens").size();
        RopeScaling scaling = null;
        if (f.find("llama.rope.scaling.type").isPresent()) {
            String type = f.requireString("llama.rope.scaling.type");
            if (type.equals("linear")) {
                scaling = RopeScaling.linear(f.requireDouble("llama.rope.scaling.factor"));
            } else if (!type.equals("none")) {
                throw new ModelException(Kind.UNSUPPORTED, f.path() + ": rope scaling " + type + " is not supported");
            }
        }
        int bos = f.find("tokenizer.ggml.bos_token_id").isPresent() ? (int) f.requireLong("tokenizer.ggml.bos_token_id") : -1;
        List<Integer> eos = f.find("tokenizer.ggml.eos_token_id").isPresent()
                ? List.of((int) f.requireLong("tokenizer.ggml.eos_token_id")) : List.of();
        return new LlamaConfig("LlamaForCausalLM", hidden, (int) f.requireLong("llama.feed_forward_length"),
                (int) f.requireLong("llama.block_count"), heads, kvHeads, headDim, vocab,
                f.requireDouble("llama.attention.layer_norm_rms_epsilon"),
                f.find("llama.rope.freq_base").isPresent() ? f.requireDouble("llama.rope.freq_base") : 10000.0,
                scaling,
                f.find("llama.context_length").isPresent() ? (int) f.requireLong("llama.context_length") : 2048,
                f.findTensor("output.weight").isEmpty(), 0, bos, eos);
    }

    /** HF tensor name of a GGUF tensor name, or null for tensors the forward pass does not use. */
    public static String hfName(String gguf) {
        switch (gguf) {
            case "token_embd.weight":
                return "model.embed_tokens.weight";
            case "output_norm.weight":
                return "model.norm.weight";
            case "output.weight":
                return "lm_head.weight";
            case LlamaModel.ROPE_FACTORS:
                return LlamaModel.ROPE_FACTORS;
            default:
                break;
        }
        if (!gguf.startsWith("blk.") || !gguf.endsWith(".weight")) {
            return null;
        }
        String[] parts = gguf.split("\\.");
        if (parts.length != 4) {
            return null;
        }
        String hf = BLOCK_NAMES.get(parts[2]);
        return hf == null ? null : "model.layers." + parts[1] + "." + hf + ".weight";
    }

    /** HF-named F32 views, dequantized anew at every {@code find} (the GGUF file must stay open). */
    public static TensorSource tensors(GgufFile f, LlamaConfig c) {
        Map<String, GgufTensor> byHf = new LinkedHashMap<>();
        for (GgufTensor t : f.tensors()) {
            String hf = hfName(t.name());
            if (hf != null) {
                byHf.put(hf, t);
            }
        }
        return new TensorSource() {
            @Override
            public List<String> names() {
                return new ArrayList<>(byHf.keySet());
            }

            @Override
            public Optional<TensorView> find(String name) {
                GgufTensor t = byHf.get(name);
                // not cached: the model keeps what it needs, so a cache would only double the memory
                return t == null ? Optional.empty() : Optional.of(dequantize(name, t, c));
            }

            @Override
            public boolean contains(String name) {
                return byHf.containsKey(name);
            }

            @Override
            public Optional<RowReader> rowReader(String name) {
                GgufTensor t = byHf.get(name);
                return t == null || t.shape().length != 2 ? Optional.empty() : Optional.of(rows(t, permutedHeads(name, c)));
            }

            @Override
            public void close() {
            }

            @Override
            public String toString() {
                return f.path().toString();
            }
        };
    }

    /** HF row r of a GGUF matrix, dequantized on each read: the same bits as that row of {@link #dequantize}. */
    private static RowReader rows(GgufTensor t, int heads) {
        GgmlCodec codec = GgmlCodec.of(t.type());
        int rows = Math.toIntExact(t.shape()[0]);
        int cols = Math.toIntExact(t.shape()[1]);
        long rowBytes = t.type().rowSize(cols);
        return RowReader.of(rows, cols, (row, dst, off) ->
                codec.dequantize(t.data(), ggufRow(Math.toIntExact(row), heads, rows) * rowBytes, dst, off, cols));
    }

    static TensorView dequantize(String hfName, GgufTensor t, LlamaConfig c) {
        long[] shape = t.shape();
        long n = t.elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new ModelException(Kind.BAD_WEIGHT, t.name() + " has " + n + " elements, too many to dequantize into one array");
        }
        float[] values = new float[(int) n];
        int rowLen = (int) t.dims()[0];
        int rows = (int) (n / rowLen);
        long rowBytes = t.type().rowSize(rowLen);
        GgmlCodec codec = GgmlCodec.of(t.type());
        int heads = permutedHeads(hfName, c);
        for (int r = 0; r < rows; r++) {
            codec.dequantize(t.data(), r * rowBytes, values, hfRow(r, heads, rows) * rowLen, rowLen);
        }
        return new TensorView(hfName, DType.F32, Shape.of(shape), MemorySegment.ofArray(values));
    }

    /**
     * Where GGUF row {@code r} goes in HF order. llama.cpp stores, inside each head of d rows, HF row
     * {@code j·d/2 + i} at {@code 2i + j} (pairs interleaved); so GGUF row {@code h·d + 2i + j} is HF row
     * {@code h·d + j·d/2 + i}. {@code heads} = 0 means no permutation.
     */
    /** The inverse of {@link #hfRow}: the GGUF row holding HF row {@code r}. */
    public static int ggufRow(int r, int heads, int rows) {
        if (heads == 0) {
            return r;
        }
        int d = rows / heads;
        int h = r / d;
        int within = r % d;
        return h * d + 2 * (within % (d / 2)) + within / (d / 2);
    }

    public static int hfRow(int r, int heads, int rows) {
        if (heads == 0) {
            return r;
        }
        int d = rows / heads;
        int h = r / d;
        int within = r % d;
        return h * d + (within % 2) * (d / 2) + within / 2;
    }
}
