package dev.loraforge.tokenizer;

import dev.loraforge.LoraforgeException;

/** A tokenizer file, GGUF vocabulary or chat template that cannot be loaded or used. */
public final class TokenizerException extends LoraforgeException {
    /** What was wrong. */
    public enum Kind {
        /** The file is not valid protobuf / JSON / GGUF metadata of the expected shape. */
        MALFORMED,
        /** A required field or key is absent. */
        MISSING_FIELD,
        /** A well-formed file using a tokenizer feature loraforge does not implement. */
        UNSUPPORTED,
        /** A token id outside the vocabulary. */
        BAD_TOKEN_ID,
        /** A chat template that fails to parse or raises while rendering. */
        TEMPLATE
    }

    private final Kind kind;

    public TokenizerException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public TokenizerException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    @Override
    public Kind kind() {
        return kind;
    }
}
