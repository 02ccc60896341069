package dev.loraforge.model;

import dev.loraforge.LoraforgeException;

/** A model folder, config or adapter that a forward pass cannot use. */
public final class ModelException extends LoraforgeException {

    public enum Kind {
        /** config.json is missing, not JSON, or lacks a required key. */
        BAD_CONFIG,
        /** A config value is out of range or inconsistent with another. */
        INVALID_CONFIG,
        /** A feature the forward pass does not implement (architecture, rope type, activation). */
        UNSUPPORTED,
        /** A weight is missing or has the wrong shape or dtype. */
        BAD_WEIGHT,
        /** An adapter that does not fit its base model. */
        BAD_ADAPTER,
        /** A token id, position or length outside the model's range. */
        OUT_OF_RANGE
    }

    private final Kind kind;

    public ModelException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public ModelException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    @Override
    public Kind kind() {
        return kind;
    }
}
