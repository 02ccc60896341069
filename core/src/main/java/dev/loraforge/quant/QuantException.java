package dev.loraforge.quant;

import dev.loraforge.LoraforgeException;

/** Bad input to the quantization layer: an unsupported tensor type or an unknown file type name. */
public final class QuantException extends LoraforgeException {
    public enum Kind {
        /** No codec for this ggml type (IQ*, TQ*, MXFP4, ...). */
        UNSUPPORTED_TYPE,
        /** A file type name or id that llama.cpp does not know or loraforge cannot write. */
        UNKNOWN_FILE_TYPE,
        /** A tensor whose row length no type of the chosen mix can hold. */
        INCOMPATIBLE_SHAPE
    }

    private final Kind kind;

    public QuantException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    @Override
    public Kind kind() {
        return kind;
    }
}
