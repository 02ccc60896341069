package dev.loraforge.bench;

import dev.loraforge.format.safetensors.SafetensorsWriter;
import dev.loraforge.format.safetensors.TensorSpec;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.HalfFloat;
import dev.loraforge.tensor.Shape;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Writes a random Llama-architecture model folder of real shape (default: Llama-3.2-1B-like, hidden 2048,
 * FFN 8192, 16 layers, 32/8 heads, vocabulary 32000) for the benchmark scripts. Values are uniform with
 * the std of a freshly initialised model; what matters here is the shape and the byte count.
 * <pre>GenerateModel --out DIR [--hidden N] [--ffn N] [--layers N] [--heads N] [--kv-heads N]
 *     [--vocab N] [--dtype bf16|f16|f32] [--tied] [--adapter-rank R --adapter-out DIR [--adapter-only]]</pre>
 */
public final class GenerateModel {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final String[] PROJ = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
            "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};

    record Args(Path out, int hidden, int ffn, int layers, int heads, int kvHeads, int vocab, DType dtype, boolean tied,
                int adapterRank, Path adapterOut, boolean adapterOnly) {
    }

    public static void main(String[] argv) throws IOException {
        Args a = parse(argv);
        long t0 = System.nanoTime();
        if (!a.adapterOnly) {
            Files.createDirectories(a.out);
            writeConfig(a);
            List<TensorSpec> specs = modelSpecs(a);
            long bytes = write(a.out.resolve("model.safetensors"), specs, 0.02);
            System.err.printf("GenerateModel: %s, %d tensors, %,d bytes in %.1f s%n", a.out, specs.size(), bytes,
                    (System.nanoTime() - t0) / 1e9);
        }
        if (a.adapterOut != null) {
            writeAdapter(a);
        }
    }

    static List<TensorSpec> modelSpecs(Args a) {
        int hd = a.hidden / a.heads;
        List<TensorSpec> t = new ArrayList<>();
        t.add(TensorSpec.of("model.embed_tokens.weight", a.dtype, a.vocab, a.hidden));
        for (int l = 0; l < a.layers; l++) {
            String p = "model.layers." + l + ".";
            t.add(TensorSpec.of(p + "input_layernorm.weight", a.dtype, a.hidden));
            t.add(TensorSpec.of(p + "post_attention_layernorm.weight", a.dtype, a.hidden));
            for (String proj : PROJ) {
                long[] s = projShape(a, proj, hd);
                t.add(TensorSpec.of(p + proj + ".weight", a.dtype, s[0], s[1]));
            }
        }
        t.add(TensorSpec.of("model.norm.weight", a.dtype, a.hidden));
        if (!a.tied) {
            t.add(TensorSpec.of("lm_head.weight", a.dtype, a.vocab, a.hidden));
        }
        return t;
    }

    /** [out, in] of a projection, as nn.Linear stores it. */
    static long[] projShape(Args a, String proj, int hd) {
        return switch (proj) {
            case "self_attn.q_proj" -> new long[] {(long) a.heads * hd, a.hidden};
            case "self_attn.k_proj", "self_attn.v_proj" -> new long[] {(long) a.kvHeads * hd, a.hidden};
            case "self_attn.o_proj" -> new long[] {a.hidden, (long) a.heads * hd};
            case "mlp.gate_proj", "mlp.up_proj" -> new long[] {a.ffn, a.hidden};
            case "mlp.down_proj" -> new long[] {a.hidden, a.ffn};
            default -> throw new IllegalArgumentException(proj);
        };
    }

    static long write(Path file, List<TensorSpec> specs, double std) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        try (SafetensorsWriter w = SafetensorsWriter.create(file, meta, specs, true)) {
            int seed = 1;
            for (TensorSpec s : specs) {
                MemorySegment seg = w.segmentFor(s.name());
                boolean norm = s.shape().rank() == 1;
                fill(seg, s.dtype(), s.shape(), norm ? 1.0 : 0.0, norm ? 0.1 : std, seed++);
            }
            w.commit();
            return w.fileSize();
        }
    }

    /** Uniform values with the given mean and std, in parallel over chunks of 1M elements. */
    static void fill(MemorySegment seg, DType dtype, Shape shape, double mean, double std, int seed) {
        long n = shape.elementCount();
        long chunk = 1 << 20;
        int chunks = (int) ((n + chunk - 1) / chunk);
        float half = (float) (std * Math.sqrt(3.0));
        IntStream.range(0, chunks).parallel().forEach(c -> {
            long x = 0x9E3779B97F4A7C15L * (seed * 1_000_003L + c + 1);
            long from = c * chunk;
            long to = Math.min(n, from + chunk);
            for (long i = from; i < to; i++) {
                x ^= x << 13;
                x ^= x >>> 7;
                x ^= x << 17;
                float u = (float) ((x >>> 40) * 0x1.0p-24) * 2f - 1f;
                float v = (float) mean + u * half;
                switch (dtype) {
                    case BF16 -> seg.setAtIndex(I16, i, HalfFloat.floatToBf16(v));
                    case F16 -> seg.setAtIndex(I16, i, HalfFloat.floatToF16(v));
                    case F32 -> seg.setAtIndex(F32, i, v);
                    default -> throw new IllegalArgumentException("dtype " + dtype);
                }
            }
        });
    }

    static void writeConfig(Args a) throws IOException {
        int hd = a.hidden / a.heads;
        String torchDtype = switch (a.dtype) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> "float32";
        };
        String cfg = """
                {
                  "architectures": ["LlamaForCausalLM"],
                  "model_type": "llama",
                  "hidden_size": %d,
                  "intermediate_size": %d,
                  "num_hidden_layers": %d,
                  "num_attention_heads": %d,
                  "num_key_value_heads": %d,
                  "head_dim": %d,
                  "vocab_size": %d,
                  "max_position_embeddings": 131072,
                  "rms_norm_eps": 1e-05,
                  "rope_theta": 500000.0,
                  "rope_scaling": null,
                  "hidden_act": "silu",
                  "tie_word_embeddings": %s,
                  "attention_bias": false,
                  "mlp_bias": false,
                  "bos_token_id": 1,
                  "eos_token_id": 2,
                  "torch_dtype": "%s",
                  "transformers_version": "4.46.0",
                  "use_cache": true
                }
                """.formatted(a.hidden, a.ffn, a.layers, a.heads, a.kvHeads, hd, a.vocab, a.tied, torchDtype);
        Files.writeString(a.out.resolve("config.json"), cfg);
        Files.writeString(a.out.resolve("generation_config.json"),
                "{\n  \"bos_token_id\": 1,\n  \"eos_token_id\": 2\n}\n");
    }

    /** A PEFT LoRA adapter of rank r on all seven projections of every layer, float32 as PEFT saves it. */
    static void writeAdapter(Args a) throws IOException {
        int hd = a.hidden / a.heads;
        int r = a.adapterRank;
        Files.createDirectories(a.adapterOut);
        List<TensorSpec> specs = new ArrayList<>();
        for (int l = 0; l < a.layers; l++) {
            for (String proj : PROJ) {
                long[] s = projShape(a, proj, hd);
                String p = "base_model.model.model.layers." + l + "." + proj;
                specs.add(TensorSpec.of(p + ".lora_A.weight", DType.F32, r, s[1]));
                specs.add(TensorSpec.of(p + ".lora_B.weight", DType.F32, s[0], r));
            }
        }
        write(a.adapterOut.resolve("adapter_model.safetensors"), specs, 0.02);
        String cfg = """
                {
                  "base_model_name_or_path": "%s",
                  "bias": "none",
                  "fan_in_fan_out": false,
                  "lora_alpha": %d,
                  "lora_dropout": 0.0,
                  "modules_to_save": null,
                  "peft_type": "LORA",
                  "r": %d,
                  "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                  "task_type": "CAUSAL_LM",
                  "use_dora": false,
                  "use_rslora": false
                }
                """.formatted(a.out.getFileName(), 2 * r, r);
        Files.writeString(a.adapterOut.resolve("adapter_config.json"), cfg);
    }

    static Args parse(String[] argv) {
        Map<String, String> m = new LinkedHashMap<>();
        boolean tied = false;
        boolean adapterOnly = false;
        for (int i = 0; i < argv.length; i++) {
            if (argv[i].equals("--tied")) {
                tied = true;
            } else if (argv[i].equals("--adapter-only")) {
                adapterOnly = true;
            } else if (argv[i].startsWith("--") && i + 1 < argv.length) {
                m.put(argv[i].substring(2), argv[++i]);
            } else {
                throw new IllegalArgumentException("unexpected argument " + argv[i]);
            }
        }
        if (!m.containsKey("out")) {
            throw new IllegalArgumentException("--out DIR is required");
        }
        DType dtype = switch (m.getOrDefault("dtype", "bf16").toLowerCase()) {
            case "bf16" -> DType.BF16;
            case "f16" -> DType.F16;
            case "f32" -> DType.F32;
            default -> throw new IllegalArgumentException("--dtype bf16|f16|f32");
        };
        return new Args(Path.of(m.get("out")), intArg(m, "hidden", 2048), intArg(m, "ffn", 8192),
                intArg(m, "layers", 16), intArg(m, "heads", 32), intArg(m, "kv-heads", 8), intArg(m, "vocab", 32000),
                dtype, tied, intArg(m, "adapter-rank", 16),
                m.containsKey("adapter-out") ? Path.of(m.get("adapter-out")) : null, adapterOnly);
    }

    private static int intArg(Map<String, String> m, String k, int def) {
        return m.containsKey(k) ? Integer.parseInt(m.get(k)) : def;
    }
}
