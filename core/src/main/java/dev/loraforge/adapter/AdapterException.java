package dev.loraforge.adapter;

import dev.loraforge.LoraforgeException;

/** A PEFT adapter that cannot be read, or that does not fit the base model it is applied to. */
public final class AdapterException extends LoraforgeException {

    /** What is wrong; each case names the file or tensor and the numbers in the message. */
    public enum Kind {
        /** adapter_config.json or adapter_model.safetensors is absent. */
        MISSING_FILE,
        /** adapter_config.json is not valid JSON or a key has the wrong type or value. */
        BAD_CONFIG,
        /** peft_type is not LORA (LoHa, LoKr, IA3, VeRA, AdaLoRA, ...). */
        UNSUPPORTED_METHOD,
        /** A config option that changes the math and is not supported (e.g. bias on a module without one). */
        UNSUPPORTED_OPTION,
        /** An adapter tensor name that is not one of PEFT's key forms. */
        UNKNOWN_TENSOR,
        /** lora_A without lora_B or the reverse, or DoRA without its magnitude vector. */
        INCOMPLETE_MODULE,
        /** A module the adapter changes has no tensor in the base model. */
        MISSING_BASE_TENSOR,
        /** A LoRA or full tensor whose shape does not fit the base tensor. */
        SHAPE_MISMATCH,
        /** The embedding or lm_head rows differ from the base: the vocabulary was resized in training. */
        VOCAB_RESIZED,
        /** lora_A rows differ from the rank the config gives the module. */
        RANK_MISMATCH,
        /** A tensor dtype that a merge cannot read as numbers. */
        BAD_DTYPE,
        /** Adapters that cannot be combined (different ranks for linear, different bases). */
        INCOMPATIBLE_ADAPTERS,
        /** Tied embeddings changed on one side only where untying is not possible. */
        TIED_WEIGHTS
    }

    private final Kind kind;

    public AdapterException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public AdapterException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    @Override
    public Kind kind() {
        return kind;
    }
}
