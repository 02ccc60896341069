package dev.loraforge.quant.bnb;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.quant.bnb.BnbFormatException.Kind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code quantization_config} of a transformers {@code config.json} saved with bitsandbytes
 * ({@code quant_method: "bitsandbytes"}). transformers writes both {@code load_in_4bit} and the private
 * {@code _load_in_4bit}; either is read.
 */
public record BnbConfig(boolean loadIn4bit, boolean loadIn8bit, Optional<BnbQuantType> quantType,
        boolean doubleQuant, String computeDtype, String quantStorage) {

    /** Rejects duplicate keys (a second value for a tensor or a setting is an error, never "last one wins"). */
    private static final JSON STRICT_JSON = JSON.builder(com.fasterxml.jackson.core.JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build()).build();

    /** The config's bitsandbytes section, or empty when the model is not bitsandbytes-quantized. */
    @SuppressWarnings("unchecked")
    public static Optional<BnbConfig> read(Path configJson) throws IOException {
        Map<String, Object> root;
        try {
            root = STRICT_JSON.mapFrom(Files.readString(configJson));
        } catch (IOException e) {
            if (!Files.exists(configJson)) {
                throw e;
            }
            throw new BnbFormatException(Kind.BAD_QUANT_STATE, configJson.getFileName() + ": not JSON: " + e.getMessage());
        }
        if (!(root.get("quantization_config") instanceof Map<?, ?> m)
                || !"bitsandbytes".equals(m.get("quant_method"))) {
            return Optional.empty();
        }
        Map<String, Object> q = (Map<String, Object>) m;
        boolean four = flag(q, "load_in_4bit") || flag(q, "_load_in_4bit");
        boolean eight = flag(q, "load_in_8bit") || flag(q, "_load_in_8bit");
        Optional<BnbQuantType> type = Optional.empty();
        if (four) {
            String t = String.valueOf(q.getOrDefault("bnb_4bit_quant_type", "fp4")); // transformers' default
            type = Optional.of(BnbQuantType.fromFileName(t).orElseThrow(() -> new BnbFormatException(Kind.UNSUPPORTED,
                    configJson.getFileName() + ": bnb_4bit_quant_type '" + t + "' is not nf4 or fp4")));
        }
        return Optional.of(new BnbConfig(four, eight, type, flag(q, "bnb_4bit_use_double_quant"),
                String.valueOf(q.getOrDefault("bnb_4bit_compute_dtype", "float32")),
                String.valueOf(q.getOrDefault("bnb_4bit_quant_storage", "uint8"))));
    }

    private static boolean flag(Map<String, Object> q, String key) {
        return Boolean.TRUE.equals(q.get(key));
    }
}
