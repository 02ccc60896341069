package dev.loraforge.cli;

import dev.loraforge.tensor.TensorSource;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Tensor-data size of the GGUF files a model would convert to, from the converter's own plan. */
final class GgufEstimate {
    private GgufEstimate() {
    }

    static Map<String, Long> of(Path modelDir, Map<String, Object> config, TensorSource src) {
        return new LinkedHashMap<>(); // filled in once the converter's planning API settles
    }
}
