package dev.loraforge.quant.bnb;

import dev.loraforge.LoraforgeException;

/** A bitsandbytes-quantized checkpoint whose quant state or tensors are inconsistent or unsupported. */
public final class BnbFormatException extends LoraforgeException {

    public enum Kind {
        /** The quant_state JSON blob is not valid JSON or lacks a required key. */
        BAD_QUANT_STATE,
        /** A tensor the quant state needs (absmax, quant_map, SCB, ...) is absent. */
        MISSING_TENSOR,
        /** A tensor's dtype or element count does not fit the quant state (packed bytes, absmax blocks, code size). */
        SIZE_MISMATCH,
        /** A value outside what bitsandbytes writes (blocksize, quant type, dtype). */
        UNSUPPORTED
    }

    private final Kind kind;

    public BnbFormatException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    @Override
    public Kind kind() {
        return kind;
    }
}
