package dev.loraforge.format.gguf;

import java.util.Objects;

/** One metadata pair of a GGUF file. */
public record GgufKv(String key, GgufValue value) {
    public GgufKv {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        if (key.isEmpty()) {
            throw new IllegalArgumentException("GGUF keys must not be empty");
        }
    }
}
