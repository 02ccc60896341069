package dev.loraforge.quant.bnb;

import dev.loraforge.format.safetensors.SafetensorsWriter;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A whole model as transformers saves it after {@code load_in_4bit}: the linear weights quantized with
 * {@link BnbQuantizer}, everything else (embeddings, norms, {@code lm_head}) unchanged, plus the
 * {@code quantization_config} that goes into config.json.
 */
public final class BnbExport {
    private BnbExport() {
    }

    /**
     * transformers' default: every {@code nn.Linear} weight (rank 2, name ending in {@code .weight}) except the
     * output head ({@code lm_head}) and embeddings, which are not linear layers.
     */
    public static final Predicate<String> LINEAR_WEIGHTS = name -> name.endsWith(".weight")
            && !name.contains("lm_head") && !name.contains("embed");

    /** The tensors to write, in source order, each quantized weight followed by its quant-state tensors. */
    public static List<TensorView> quantizeModel(TensorSource src, BnbQuantizer.Options o, Predicate<String> quantize) {
        List<TensorView> out = new ArrayList<>();
        for (String name : src.names()) {
            TensorView t = src.get(name);
            if (quantize.test(name) && t.shape().rank() == 2) {
                out.addAll(BnbQuantizer.quantize(t, o).values());
            } else {
                out.add(t);
            }
        }
        return out;
    }

    /** Quantizes and writes {@code dir/model.safetensors} (library tensor order, {@code format: pt}). */
    public static void write(Path dir, TensorSource src, BnbQuantizer.Options o, Predicate<String> quantize,
            boolean overwrite) throws IOException {
        SafetensorsWriter.write(dir.resolve("model.safetensors"), Map.of("format", "pt"), quantizeModel(src, o, quantize),
                SafetensorsWriter.Order.LIBRARY, overwrite);
    }

    /** The {@code quantization_config} object transformers writes for these options. */
    public static Map<String, Object> quantizationConfig(BnbQuantizer.Options o, String computeDtype) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_load_in_4bit", true);
        m.put("_load_in_8bit", false);
        m.put("bnb_4bit_compute_dtype", computeDtype);
        m.put("bnb_4bit_quant_storage", "uint8");
        m.put("bnb_4bit_quant_type", o.type().fileName());
        m.put("bnb_4bit_use_double_quant", o.doubleQuant());
        m.put("llm_int8_enable_fp32_cpu_offload", false);
        m.put("llm_int8_has_fp16_weight", false);
        m.put("llm_int8_skip_modules", null);
        m.put("llm_int8_threshold", 6.0);
        m.put("load_in_4bit", true);
        m.put("load_in_8bit", false);
        m.put("quant_method", "bitsandbytes");
        return m;
    }
}
