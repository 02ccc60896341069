package dev.loraforge.cli;

import dev.loraforge.LoraforgeException;
import dev.loraforge.convert.HfToGguf;
import dev.loraforge.convert.OutputType;
import dev.loraforge.tensor.TensorSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Tensor-data size of the GGUF files a model would convert to, from the converter's own plan (so the
 * per-tensor types of llama-quantize's mix rules are counted exactly).
 */
final class GgufEstimate {
    static final OutputType[] TYPES = {OutputType.Q8_0, OutputType.Q4_K_M};

    private GgufEstimate() {
    }

    /** Bytes per type name, and why a type cannot be made (the converter's own message). */
    record Result(Map<String, Long> bytes, Map<String, String> unavailable) {
    }

    static Result of(Path modelDir, Map<String, Object> config, TensorSource src) {
        Map<String, Long> out = new LinkedHashMap<>();
        Map<String, String> why = new LinkedHashMap<>();
        if (config.isEmpty() || !Files.isDirectory(modelDir)) {
            return new Result(out, why);
        }
        for (OutputType t : TYPES) {
            try {
                HfToGguf.Plan plan = HfToGguf.plan(modelDir, src, t);
                long bytes = 0;
                for (HfToGguf.PlannedTensor p : plan.tensors()) {
                    long[] dims = p.dims();
                    long rows = 1;
                    for (int i = 1; i < dims.length; i++) {
                        rows = Math.multiplyExact(rows, dims[i]);
                    }
                    bytes = Math.addExact(bytes, Math.multiplyExact(p.type().rowSize(dims[0]), rows));
                }
                out.put(t.name(), bytes);
            } catch (LoraforgeException | IllegalArgumentException e) {
                // unsupported architecture, no tokenizer, or a row length the type cannot hold
                String m = String.valueOf(e.getMessage());
                why.put(t.name(), m.startsWith(modelDir.toString()) ? m.substring(modelDir.toString().length()).replaceFirst("^: ", "") : m);
            }
        }
        return new Result(out, why);
    }
}
