package dev.loraforge.convert;

import dev.loraforge.adapter.AdapterConfig;
import dev.loraforge.adapter.LoraAdapter;
import dev.loraforge.adapter.LoraModule;
import dev.loraforge.format.gguf.GgmlType;
import dev.loraforge.format.gguf.GgufWriter;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.HalfFloat;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorView;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * PEFT LoRA adapter → GGUF LoRA adapter as llama.cpp's {@code convert_lora_to_gguf.py} writes it
 * ({@code general.type = adapter}, {@code adapter.type = lora}, {@code adapter.lora.alpha},
 * {@code blk.N.<tensor>.weight.lora_a} [r, in] / {@code .lora_b} [out, r], q/k lora_b rows permuted like the base).
 *
 * <p>llama.cpp applies every module with scale {@code alpha / rank} (one global alpha, rank from the tensor).
 * That is PEFT's scale for plain LoRA, and then the file is written exactly as the Python converter writes it.
 * With rsLoRA or an {@code alpha_pattern} the runtime scale would be wrong (the Python converter writes such
 * files silently); here each module's true scale is folded into lora_b (in float64, rounded once) and alpha is
 * set so that alpha / rank undoes the rest. DoRA adapters and adapters with full tensors (modules_to_save,
 * resized embeddings) have no GGUF LoRA form and are refused with the advice to merge.
 */
public final class LoraToGguf {
    private LoraToGguf() {
    }

    /** Output element type of the adapter tensors. */
    public enum LoraType {
        F32(GgmlType.F32), F16(GgmlType.F16), BF16(GgmlType.BF16), Q8_0(GgmlType.Q8_0);

        final GgmlType ggml;

        LoraType(GgmlType ggml) {
            this.ggml = ggml;
        }

        public static LoraType parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new ConvertException(ConvertException.Kind.UNSUPPORTED_TYPE, "LoRA output type '" + s
                        + "' is not one of f32, f16, bf16, q8_0");
            }
        }
    }

    /** One module: GGUF base name ({@code blk.0.attn_q.weight}), factors, rows permuted, lora_b factor. */
    record Module(String ggufName, String hfName, LoraModule lora, long permuteHeads, double bFactor) {
    }

    /** What was written, and whether scales were folded into lora_b. */
    public record Summary(Path file, int modules, double alpha, boolean scalesFolded) {
    }

    public static Summary convert(Path adapterDir, Path baseDir, Path out, LoraType type, boolean overwrite) throws IOException {
        HfConfig base = HfConfig.read(baseDir);
        Architecture arch = Architecture.forHfClass(base.architecture()).orElseThrow(() -> new ConvertException(
                ConvertException.Kind.UNSUPPORTED_ARCHITECTURE, base.file() + ": architecture '" + base.architecture()
                + "' is not supported"));
        long nHead = base.requireLong("n_heads", "num_attention_heads");
        long nHeadKv = base.requireLong("n_kv_heads", "num_key_value_heads");
        try (LoraAdapter adapter = LoraAdapter.open(adapterDir)) {
            AdapterConfig cfg = adapter.config();
            if (cfg.useDora() || adapter.modules().stream().anyMatch(m -> m.magnitude() != null)) {
                throw new ConvertException(ConvertException.Kind.UNSUPPORTED_ADAPTER, adapterDir
                        + ": DoRA adapters (use_dora) have no GGUF LoRA form; merge it into the base instead "
                        + "(loraforge gguf BASE --adapter " + adapterDir + " ...)");
            }
            if (!adapter.fullTensors().isEmpty()) {
                throw new ConvertException(ConvertException.Kind.UNSUPPORTED_ADAPTER, adapterDir + ": the adapter carries full tensors "
                        + adapter.fullTensors().keySet() + " (modules_to_save or resized embeddings), which a GGUF LoRA "
                        + "cannot hold; merge it into the base instead (loraforge gguf BASE --adapter " + adapterDir + " ...)");
            }
            if (adapter.modules().stream().anyMatch(m -> m.embedding() || cfg.fanInFanOut())) {
                throw new ConvertException(ConvertException.Kind.UNSUPPORTED_ADAPTER, adapterDir
                        + ": embedding LoRA and fan_in_fan_out layers are not written as GGUF LoRA; merge instead");
            }
            boolean plain = !cfg.useRslora() && cfg.alphaPattern().isEmpty();
            long uniformRank = adapter.modules().stream().mapToLong(LoraModule::rank).distinct().count() == 1
                    ? adapter.modules().getFirst().rank() : -1;
            double alpha = plain ? cfg.loraAlpha() : uniformRank > 0 ? uniformRank : cfg.r();
            List<Module> modules = new ArrayList<>();
            for (LoraModule m : adapter.modules()) {
                String hf = m.baseTensor();
                String gguf = arch.ggufTensorName(hf).orElseThrow(() -> new ConvertException(
                        ConvertException.Kind.UNMAPPED_TENSOR, adapterDir + ": can not map LoRA module '" + m.module()
                        + "' to a GGUF tensor of " + arch.ggufName()));
                // runtime scale is alpha / rank; fold the rest of PEFT's scale into lora_b
                double factor = plain ? 1.0 : m.scaling() * m.rank() / alpha;
                long heads = arch.permuteHeads(hf, nHead, nHeadKv);
                TensorEncoder.checkPermutable(hf + " lora_B", m.b().shape().dim(0), heads);
                modules.add(new Module(gguf, hf, m, heads, factor));
            }
            // convert_lora_to_gguf.py goes through the tensors sorted by their PEFT name
            modules.sort(Comparator.comparing(Module::hfName));

            List<MetaKv> kvs = new ArrayList<>();
            kvs.add(MetaKv.string("general.architecture", arch.ggufName()));
            kvs.add(MetaKv.string("general.type", "adapter"));
            kvs.add(MetaKv.string("adapter.type", "lora"));
            long params = 0;
            for (Module m : modules) {
                params += m.lora().b().shape().dim(0) * m.lora().a().shape().dim(1); // gguf-py counts out × in per pair
            }
            ModelMetadata.addNaming(ModelMetadata.naming(adapterDir, null, -params, new long[] {-params, params, 0, 0}), kvs);
            kvs.add(MetaKv.f32("adapter.lora.alpha", alpha));
            kvs.add(MetaKv.u32("general.quantization_version", ModelMetadata.QUANT_VERSION));

            try (GgufWriter w = GgufWriter.create(out, overwrite)) {
                w.addKvs(GgufKvs.of(kvs));
                for (Module m : modules) {
                    w.addTensor(m.ggufName() + ".lora_a", typeFor(m.lora().a(), type), reversed(m.lora().a().shape()));
                    w.addTensor(m.ggufName() + ".lora_b", typeFor(m.lora().b(), type), reversed(m.lora().b().shape()));
                }
                w.writeHeader();
                RowQuantizer q8 = type == LoraType.Q8_0 ? HfToGguf.quantizer(GgmlType.Q8_0) : null;
                for (Module m : modules) {
                    TensorEncoder.encode(m.lora().a(), 0, typeFor(m.lora().a(), type), q8, w.tensorSegment(m.ggufName() + ".lora_a"));
                    TensorView b = m.bFactor() == 1.0 ? m.lora().b() : scaled(m.lora().b(), m.bFactor(), type);
                    TensorEncoder.encode(b, m.permuteHeads(), typeFor(b, type), q8, w.tensorSegment(m.ggufName() + ".lora_b"));
                }
                w.finish();
            }
            return new Summary(out, modules.size(), alpha, !plain);
        }
    }

    /** gguf-py falls back to F16 when a row does not fill whole Q8_0 blocks (lora_b rows have r elements). */
    static GgmlType typeFor(TensorView t, LoraType type) {
        long rowLen = t.shape().dim(t.shape().rank() - 1);
        return type == LoraType.Q8_0 && rowLen % GgmlType.Q8_0.blockSize() != 0 ? GgmlType.F16 : type.ggml;
    }

    private static long[] reversed(Shape s) {
        long[] d = s.dims();
        long[] r = new long[d.length];
        for (int i = 0; i < d.length; i++) {
            r[i] = d[d.length - 1 - i];
        }
        return r;
    }

    /**
     * {@code b · factor} computed in float64 from the stored values and rounded once to the output type
     * (F32 carrier for Q8_0, whose quantizer reads floats anyway).
     */
    private static TensorView scaled(TensorView b, double factor, LoraType type) {
        long n = b.elementCount();
        DType dt = type == LoraType.F16 ? DType.F16 : type == LoraType.BF16 ? DType.BF16 : DType.F32;
        MemorySegment seg = Arena.ofAuto().allocate(dt.byteCount(n), 8);
        for (long i = 0; i < n; i++) {
            double v = b.getDouble(i) * factor;
            switch (dt) {
                case F16 -> seg.setAtIndex(TensorView.I16_LE, i, HalfFloat.doubleToF16(v));
                case BF16 -> seg.setAtIndex(TensorView.I16_LE, i, HalfFloat.doubleToBf16(v));
                default -> seg.setAtIndex(TensorView.F32_LE, i, (float) v);
            }
        }
        return new TensorView(b.name(), dt, b.shape(), seg);
    }
}
