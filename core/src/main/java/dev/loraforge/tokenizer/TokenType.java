package dev.loraforge.tokenizer;

/**
 * SentencePiece piece types; the ids are those of sentencepiece_model.proto and of GGUF
 * {@code tokenizer.ggml.token_type}.
 */
public enum TokenType {
    NORMAL(1), UNKNOWN(2), CONTROL(3), USER_DEFINED(4), UNUSED(5), BYTE(6);

    private final int id;

    TokenType(int id) {
        this.id = id;
    }

    public int id() {
        return id;
    }

    /** The type with this id; GGUF files written without types use 0, read as NORMAL. */
    public static TokenType of(int id, String where) {
        return switch (id) {
            case 0, 1 -> NORMAL;
            case 2 -> UNKNOWN;
            case 3 -> CONTROL;
            case 4 -> USER_DEFINED;
            case 5 -> UNUSED;
            case 6 -> BYTE;
            default -> throw new TokenizerException(TokenizerException.Kind.MALFORMED,
                    where + ": unknown token type " + id);
        };
    }
}
