package dev.loraforge.convert;

import com.fasterxml.jackson.jr.ob.JSON;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Hugging Face {@code config.json} as the converter reads it: a JSON object with {@code text_config}
 * lifted to the top level, and {@code find_hparam}-style lookups over alternative key names.
 */
public final class HfConfig {
    private final Path file;
    private final Map<String, Object> params;

    private HfConfig(Path file, Map<String, Object> params) {
        this.file = file;
        this.params = params;
    }

    public static HfConfig read(Path modelDir) {
        Path file = modelDir.resolve("config.json");
        Map<String, Object> root = readJson(file, ConvertException.Kind.BAD_CONFIG);
        Map<String, Object> merged = new LinkedHashMap<>(root);
        if (root.get("text_config") instanceof Map<?, ?> text) {
            text.forEach((k, v) -> merged.put((String) k, v));
        }
        return new HfConfig(file, merged);
    }

    /** Reads a JSON object; missing file or malformed JSON is a {@link ConvertException} of {@code kind}. */
    static Map<String, Object> readJson(Path file, ConvertException.Kind kind) {
        try {
            Object o = JSON.std.anyFrom(Files.readString(file));
            if (!(o instanceof Map<?, ?>)) {
                throw new ConvertException(kind, file + ": not a JSON object");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) o;
            return m;
        } catch (IOException e) {
            throw new ConvertException(kind, "cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    public Path file() {
        return file;
    }

    public Map<String, Object> params() {
        return params;
    }

    public Optional<Object> get(String key) {
        return Optional.ofNullable(params.get(key));
    }

    /** The first of {@code keys} present (even if JSON null, as Python's {@code in} test does). */
    public Optional<Object> find(String... keys) {
        for (String k : keys) {
            if (params.containsKey(k)) {
                return Optional.ofNullable(params.get(k));
            }
        }
        return Optional.empty();
    }

    public long requireLong(String... keys) {
        return find(keys).map(v -> asLong(v, keys[0]))
                .orElseThrow(() -> new ConvertException(ConvertException.Kind.BAD_CONFIG,
                        file + ": could not find any of " + List.of(keys)));
    }

    public Optional<Long> findLong(String... keys) {
        return find(keys).map(v -> asLong(v, keys[0]));
    }

    public Optional<Double> findDouble(String... keys) {
        return find(keys).map(v -> {
            if (v instanceof Number n) {
                return n.doubleValue();
            }
            throw new ConvertException(ConvertException.Kind.BAD_CONFIG, file + ": '" + keys[0] + "' is not a number: " + v);
        });
    }

    /** Python {@code isinstance(v, int)}: a JSON integer (not a float). */
    static boolean isInteger(Object v) {
        return v instanceof Integer || v instanceof Long || v instanceof BigInteger || v instanceof Short;
    }

    private long asLong(Object v, String key) {
        if (isInteger(v)) {
            return ((Number) v).longValue();
        }
        throw new ConvertException(ConvertException.Kind.BAD_CONFIG, file + ": '" + key + "' is not an integer: " + v);
    }

    /** {@code architectures[0]}, the Hugging Face class name that selects the converter. */
    public String architecture() {
        if (params.get("architectures") instanceof List<?> l && !l.isEmpty() && l.get(0) instanceof String s) {
            return s;
        }
        throw new ConvertException(ConvertException.Kind.BAD_CONFIG, file + ": no 'architectures' list");
    }
}
