package dev.loraforge.testing;

import dev.loraforge.io.PythonJson;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.HalfFloat;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Java port of the fixture generator {@code tools/make_random_llama_np.py} (with the parts of
 * {@code fxcommon.py} it uses), so tests can rebuild the 6.5 MB {@code tiny-llama-v512} model that is too
 * big to commit. Values: SplitMix64 streams keyed by sha256("seed/name"), Irwin–Hall sums of 12 32-bit
 * uniforms (exact in float64), scaled, then rounded once to the storage dtype. The output is byte-identical
 * to the Python generator's (asserted per tensor and for the whole file in RandomLlamaTest).
 */
public final class RandomLlama {
    private static final long GAMMA = 0x9E3779B97F4A7C15L;
    private static final String RESOURCES = "/fixtures/tiny-llama-v512/";
    private static final List<String> TOKENIZER_FILES =
            List.of("tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json");

    /** The command-line options of make_random_llama_np.py. */
    public record Spec(int hidden, int intermediate, int layers, int heads, int kvHeads, int vocab, int ctx,
                       long seed, double std, DType dtype, boolean tied) {
        public int headDim() {
            return hidden / heads;
        }
    }

    /** {@code --hidden 256 --intermediate 768 --layers 4 --heads 8 --kv-heads 4 --vocab 512 --seed 20261122 --dtype BF16}. */
    public static final Spec TINY_LLAMA_V512 = new Spec(256, 768, 4, 8, 4, 512, 2048, 20261122L, 0.02, DType.BF16, false);

    /** One generated tensor: name, dtype, shape and its little-endian bytes. */
    public record Tensor(String name, DType dtype, long[] shape, byte[] data) {
    }

    private RandomLlama() {
    }

    /** The tensors in the generator's order. */
    public static List<Tensor> tensors(Spec s) {
        int hd = s.headDim();
        List<Tensor> t = new ArrayList<>();
        t.add(lin(s, "model.embed_tokens.weight", s.vocab(), s.hidden()));
        Map<String, int[]> shapes = new LinkedHashMap<>();
        shapes.put("self_attn.q_proj", new int[] {s.heads() * hd, s.hidden()});
        shapes.put("self_attn.k_proj", new int[] {s.kvHeads() * hd, s.hidden()});
        shapes.put("self_attn.v_proj", new int[] {s.kvHeads() * hd, s.hidden()});
        shapes.put("self_attn.o_proj", new int[] {s.hidden(), s.heads() * hd});
        shapes.put("mlp.gate_proj", new int[] {s.intermediate(), s.hidden()});
        shapes.put("mlp.up_proj", new int[] {s.intermediate(), s.hidden()});
        shapes.put("mlp.down_proj", new int[] {s.hidden(), s.intermediate()});
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            t.add(norm(s, p + "input_layernorm.weight", s.hidden()));
            t.add(norm(s, p + "post_attention_layernorm.weight", s.hidden()));
            for (var e : shapes.entrySet()) {
                t.add(lin(s, p + e.getKey() + ".weight", e.getValue()[0], e.getValue()[1]));
            }
        }
        t.add(norm(s, "model.norm.weight", s.hidden()));
        if (!s.tied()) {
            t.add(lin(s, "lm_head.weight", s.vocab(), s.hidden()));
        }
        return t;
    }

    /** Writes a Hugging Face model folder: config.json, generation_config.json, model.safetensors, tokenizer files. */
    public static Path writeFolder(Spec s, Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), configJson(s));
        Map<String, Object> gen = new LinkedHashMap<>();
        gen.put("bos_token_id", 1);
        gen.put("eos_token_id", 2);
        gen.put("transformers_version", "4.46.0");
        Files.writeString(dir.resolve("generation_config.json"), PythonJson.write(gen, 2, false));
        try (OutputStream os = Files.newOutputStream(dir.resolve("model.safetensors"))) {
            writeSafetensors(tensors(s), os);
        }
        for (String f : TOKENIZER_FILES) {
            try (InputStream in = RandomLlama.class.getResourceAsStream(RESOURCES + f)) {
                if (in != null) {
                    Files.copy(in, dir.resolve(f));
                }
            }
        }
        return dir;
    }

    /** config.json exactly as the generator writes it ({@code json.dump(cfg, f, indent=2)}). */
    public static String configJson(Spec s) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("architectures", List.of("LlamaForCausalLM"));
        c.put("model_type", "llama");
        c.put("hidden_size", s.hidden());
        c.put("intermediate_size", s.intermediate());
        c.put("num_hidden_layers", s.layers());
        c.put("num_attention_heads", s.heads());
        c.put("num_key_value_heads", s.kvHeads());
        c.put("head_dim", s.headDim());
        c.put("vocab_size", s.vocab());
        c.put("max_position_embeddings", s.ctx());
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.put("rope_scaling", null);
        c.put("hidden_act", "silu");
        c.put("tie_word_embeddings", s.tied());
        c.put("attention_bias", false);
        c.put("attention_dropout", 0.0);
        c.put("mlp_bias", false);
        c.put("initializer_range", s.std());
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        c.put("pad_token_id", null);
        c.put("torch_dtype", switch (s.dtype()) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> "float32";
        });
        c.put("transformers_version", "4.46.0");
        c.put("use_cache", true);
        return PythonJson.write(c, 2, false);
    }

    // ---------------------------------------------------------------------------------------- fxcommon

    /** First 8 bytes (little endian) of sha256("seed/name"). */
    public static long streamKey(long seed, String name) {
        byte[] h = sha256((seed + "/" + name).getBytes(StandardCharsets.UTF_8));
        return ByteBuffer.wrap(h, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** Output {@code i} (0-based) of {@code java.util.SplittableRandom(key).nextLong()}. */
    public static long splitmix64(long key, long i) {
        long z = key + (i + 1) * GAMMA;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** fxcommon.normal: (Σ of 12 uniforms − 6)·std + mean in float64; the sum is exact in any order. */
    public static double[] normal(long seed, String name, int n, double std, double mean) {
        long key = streamKey(seed, name);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double z = 0;
            for (int k = 0; k < 12; k++) {
                z += (splitmix64(key, 12L * i + k) >>> 32) * 0x1p-32;
            }
            out[i] = (z - 6.0) * std + mean;
        }
        return out;
    }

    private static Tensor lin(Spec s, String name, int rows, int cols) {
        return store(s.dtype(), name, new long[] {rows, cols}, normal(s.seed(), name, rows * cols, s.std(), 0.0));
    }

    private static Tensor norm(Spec s, String name, int n) {
        return store(s.dtype(), name, new long[] {n}, normal(s.seed(), name, n, 0.1, 1.0));
    }

    /** fxcommon.f64_to_dtype: one rounding. */
    private static Tensor store(DType dtype, String name, long[] shape, double[] v) {
        ByteBuffer bb = ByteBuffer.allocate(v.length * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (double d : v) {
            switch (dtype) {
                case BF16 -> bb.putShort(HalfFloat.doubleToBf16(d));
                case F16 -> bb.putShort(HalfFloat.doubleToF16(d));
                case F32 -> bb.putFloat((float) d);
                default -> throw new IllegalArgumentException(dtype.name());
            }
        }
        return new Tensor(name, dtype, shape, bb.array());
    }

    /**
     * fxcommon.st_write: the safetensors crate's layout (metadata first, tensors sorted by dtype order
     * descending then name, compact JSON, spaces to a multiple of 8). Kept here so the generator needs no
     * main code; SafetensorsWriter is tested to produce the same bytes.
     */
    static void writeSafetensors(List<Tensor> tensors, OutputStream os) throws IOException {
        List<Tensor> sorted = new ArrayList<>(tensors);
        List<String> rustOrder = List.of("BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
                "I32", "U32", "F32", "F64", "I64", "U64");
        sorted.sort((a, b) -> {
            int c = Integer.compare(rustOrder.indexOf(b.dtype().name()), rustOrder.indexOf(a.dtype().name()));
            return c != 0 ? c : a.name().compareTo(b.name());
        });
        StringBuilder h = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long off = 0;
        for (Tensor t : sorted) {
            StringBuilder shape = new StringBuilder();
            for (long d : t.shape()) {
                shape.append(shape.isEmpty() ? "" : ",").append(d);
            }
            h.append(",\"").append(t.name()).append("\":{\"dtype\":\"").append(t.dtype().name())
                    .append("\",\"shape\":[").append(shape).append("],\"data_offsets\":[").append(off).append(',')
                    .append(off + t.data().length).append("]}");
            off += t.data().length;
        }
        h.append('}');
        while (h.length() % 8 != 0) {
            h.append(' ');
        }
        byte[] hb = h.toString().getBytes(StandardCharsets.UTF_8);
        os.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(hb.length).array());
        os.write(hb);
        for (Tensor t : sorted) {
            os.write(t.data());
        }
    }

    public static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String hex(byte[] b) {
        return java.util.HexFormat.of().formatHex(b);
    }

}
