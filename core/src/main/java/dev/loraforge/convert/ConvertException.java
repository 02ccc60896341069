package dev.loraforge.convert;

import dev.loraforge.LoraforgeException;

/** A model folder or adapter that cannot be converted to GGUF; the message names the file and the numbers. */
public final class ConvertException extends LoraforgeException {

    public enum Kind {
        /** config.json missing, unreadable or without a field the architecture needs. */
        BAD_CONFIG,
        /** {@code architectures} names a model family this converter has no table for. */
        UNSUPPORTED_ARCHITECTURE,
        /** A tensor name the architecture's table cannot map (llama.cpp: "Can not map tensor"). */
        UNMAPPED_TENSOR,
        /** tokenizer.model / tokenizer.json missing or malformed. */
        BAD_TOKENIZER,
        /** An output type the converter cannot produce. */
        UNSUPPORTED_TYPE,
        /** An adapter that cannot be written as a GGUF LoRA (DoRA, modules_to_save, ...). */
        UNSUPPORTED_ADAPTER,
        /** A tensor whose shape does not fit the config (e.g. q rows not divisible into heads). */
        BAD_SHAPE
    }

    private final Kind kind;

    public ConvertException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public ConvertException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    @Override
    public Kind kind() {
        return kind;
    }
}
