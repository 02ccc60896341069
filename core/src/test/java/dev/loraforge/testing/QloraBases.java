package dev.loraforge.testing;

import dev.loraforge.format.safetensors.ModelFiles;
import dev.loraforge.format.safetensors.SafetensorsWriter;
import dev.loraforge.io.PythonJson;
import dev.loraforge.quant.bnb.Bnb4bit;
import dev.loraforge.quant.bnb.BnbExport;
import dev.loraforge.quant.bnb.BnbInt8;
import dev.loraforge.quant.bnb.BnbQuantType;
import dev.loraforge.quant.bnb.BnbQuantizer;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.HalfFloat;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * bitsandbytes-quantized stories260K folders, made in the test from the F32 fixture as transformers saves a
 * {@code load_in_4bit} / {@code load_in_8bit} model: linear weights quantized, the rest unchanged (in the
 * chosen dtype), tokenizer files copied, config.json with the quantization_config.
 */
public final class QloraBases {
    /** One flavour of quantized base. */
    public enum Kind {
        NF4(BnbQuantType.NF4, false), NF4_DQ(BnbQuantType.NF4, true), FP4(BnbQuantType.FP4, false), INT8(null, false);

        final BnbQuantType type;
        final boolean doubleQuant;

        Kind(BnbQuantType type, boolean doubleQuant) {
            this.type = type;
            this.doubleQuant = doubleQuant;
        }
    }

    private QloraBases() {
    }

    /** Writes the quantized stories260K folder {@code dir}; {@code dtype} is the weights' dtype before quantizing. */
    public static Path write(Kind kind, DType dtype, Path dir) {
        try {
            Files.createDirectories(dir.toAbsolutePath().getParent());
            Path src = FixtureFiles.stories(Files.createTempDirectory(dir.toAbsolutePath().getParent(), "stories-src"));
            Files.createDirectories(dir);
            for (String f : List.of("generation_config.json", "special_tokens_map.json", "tokenizer.json",
                    "tokenizer.model", "tokenizer_config.json")) {
                Files.copy(src.resolve(f), dir.resolve(f));
            }
            Map<String, Object> config = PythonJson.parseObject(Files.readString(src.resolve("config.json")));
            String dtypeName = dtype == DType.BF16 ? "bfloat16" : dtype == DType.F16 ? "float16" : "float32";
            config.put("torch_dtype", dtypeName);
            List<TensorView> out = new ArrayList<>();
            try (ModelFiles m = ModelFiles.open(src)) {
                for (String n : m.names()) {
                    TensorView t = cast(m.get(n), dtype);
                    boolean linear = BnbExport.LINEAR_WEIGHTS.test(n) && t.shape().rank() == 2;
                    if (!linear) {
                        out.add(t);
                    } else if (kind == Kind.INT8) {
                        int rows = Math.toIntExact(t.shape().dim(0));
                        int cols = Math.toIntExact(t.shape().dim(1));
                        BnbInt8.Quantized q = BnbInt8.quantize(t.toFloatArray(), rows, cols);
                        out.add(new TensorView(n, DType.I8, t.shape(), MemorySegment.ofArray(q.codes())));
                        String scb = n.substring(0, n.length() - ".weight".length()) + ".SCB";
                        MemorySegment s = MemorySegment.ofArray(new byte[rows * 4]);
                        for (int i = 0; i < rows; i++) {
                            s.setAtIndex(TensorView.F32_LE, i, q.scb()[i]);
                        }
                        out.add(new TensorView(scb, DType.F32, new Shape(new long[] {rows}), s));
                    } else {
                        out.addAll(BnbQuantizer.quantize(t, options(kind)).values());
                    }
                }
                SafetensorsWriter.write(dir.resolve("model.safetensors"), Map.of("format", "pt"), out,
                        SafetensorsWriter.Order.LIBRARY, false);
            }
            Map<String, Object> qc;
            if (kind == Kind.INT8) {
                qc = new LinkedHashMap<>();
                qc.put("_load_in_4bit", false);
                qc.put("_load_in_8bit", true);
                qc.put("llm_int8_threshold", 6.0);
                qc.put("load_in_4bit", false);
                qc.put("load_in_8bit", true);
                qc.put("quant_method", "bitsandbytes");
            } else {
                qc = BnbExport.quantizationConfig(options(kind), dtypeName);
            }
            config.put("quantization_config", qc);
            Files.writeString(dir.resolve("config.json"), PythonJson.write(config, 2, false) + "\n");
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static BnbQuantizer.Options options(Kind kind) {
        return new BnbQuantizer.Options(kind.type, 64, kind.doubleQuant, Bnb4bit.Rounding.NATIVE_CPU_LUT);
    }

    /** The F32 fixture tensor as {@code dtype} (round to nearest even, as torch's {@code .to}). */
    static TensorView cast(TensorView t, DType dtype) {
        if (t.dtype() == dtype || t.dtype() != DType.F32) {
            return t;
        }
        float[] v = t.toFloatArray();
        MemorySegment seg = MemorySegment.ofArray(new byte[v.length * 2]);
        for (int i = 0; i < v.length; i++) {
            seg.setAtIndex(TensorView.I16_LE, i, dtype == DType.BF16 ? HalfFloat.floatToBf16(v[i]) : HalfFloat.floatToF16(v[i]));
        }
        return new TensorView(t.name(), dtype, t.shape(), seg);
    }
}
