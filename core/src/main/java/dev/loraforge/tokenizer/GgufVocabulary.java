package dev.loraforge.tokenizer;

import java.util.List;
import java.util.function.Function;

/**
 * Builds a tokenizer from GGUF {@code tokenizer.ggml.*} metadata given as a key lookup (numbers as
 * {@link Number}, arrays as {@code List<?>}), so it works with any GGUF reader.
 */
final class GgufVocabulary {
    static final String MODEL = "tokenizer.ggml.model";
    static final String PRE = "tokenizer.ggml.pre";
    static final String TOKENS = "tokenizer.ggml.tokens";
    static final String SCORES = "tokenizer.ggml.scores";
    static final String TOKEN_TYPE = "tokenizer.ggml.token_type";
    static final String MERGES = "tokenizer.ggml.merges";
    static final String BOS_ID = "tokenizer.ggml.bos_token_id";
    static final String EOS_ID = "tokenizer.ggml.eos_token_id";
    static final String UNK_ID = "tokenizer.ggml.unknown_token_id";
    static final String ADD_BOS = "tokenizer.ggml.add_bos_token";
    static final String ADD_EOS = "tokenizer.ggml.add_eos_token";
    static final String ADD_SPACE_PREFIX = "tokenizer.ggml.add_space_prefix";

    private GgufVocabulary() {
    }

    static Tokenizer load(Function<String, Object> kv) {
        String model = string(kv, MODEL);
        return switch (model) {
            case "llama" -> sentencePiece(kv);
            case "gpt2" -> BpeTokenizer.fromGguf(kv);
            default -> throw new TokenizerException(TokenizerException.Kind.UNSUPPORTED,
                    "GGUF " + MODEL + " = '" + model + "' (supported: llama, gpt2)");
        };
    }

    private static SentencePieceTokenizer sentencePiece(Function<String, Object> kv) {
        String[] tokens = tokens(kv);
        float[] scores = new float[tokens.length];
        List<?> s = optionalList(kv, SCORES, tokens.length);
        if (s != null) {
            for (int i = 0; i < scores.length; i++) {
                scores[i] = ((Number) s.get(i)).floatValue();
            }
        }
        TokenType[] types = types(kv, tokens.length);
        return new SentencePieceTokenizer("GGUF vocabulary", tokens, scores, types,
                intOr(kv, BOS_ID, 1), intOr(kv, EOS_ID, 2), intOr(kv, UNK_ID, 0),
                boolOr(kv, ADD_BOS, true), boolOr(kv, ADD_EOS, false), boolOr(kv, ADD_SPACE_PREFIX, true));
    }

    static String[] tokens(Function<String, Object> kv) {
        Object v = kv.apply(TOKENS);
        if (!(v instanceof List<?> list) || list.isEmpty()) {
            throw new TokenizerException(TokenizerException.Kind.MISSING_FIELD, "GGUF has no " + TOKENS + " array");
        }
        String[] tokens = new String[list.size()];
        for (int i = 0; i < tokens.length; i++) {
            if (!(list.get(i) instanceof String t)) {
                throw new TokenizerException(TokenizerException.Kind.MALFORMED, "GGUF " + TOKENS + "[" + i + "] is not a string");
            }
            tokens[i] = t;
        }
        return tokens;
    }

    static TokenType[] types(Function<String, Object> kv, int n) {
        TokenType[] types = new TokenType[n];
        List<?> t = optionalList(kv, TOKEN_TYPE, n);
        for (int i = 0; i < n; i++) {
            types[i] = t == null ? TokenType.NORMAL : TokenType.of(((Number) t.get(i)).intValue(), "GGUF " + TOKEN_TYPE + "[" + i + "]");
        }
        return types;
    }

    static List<?> optionalList(Function<String, Object> kv, String key, int n) {
        Object v = kv.apply(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof List<?> list) || list.size() != n) {
            throw new TokenizerException(TokenizerException.Kind.MALFORMED,
                    "GGUF " + key + " is not an array of " + n + " values (one per token)");
        }
        return list;
    }

    static String string(Function<String, Object> kv, String key) {
        Object v = kv.apply(key);
        if (!(v instanceof String s)) {
            throw new TokenizerException(TokenizerException.Kind.MISSING_FIELD, "GGUF has no string " + key);
        }
        return s;
    }

    static int intOr(Function<String, Object> kv, String key, int dflt) {
        Object v = kv.apply(key);
        return v instanceof Number n ? Math.toIntExact(n.longValue()) : dflt;
    }

    static boolean boolOr(Function<String, Object> kv, String key, boolean dflt) {
        Object v = kv.apply(key);
        return v instanceof Boolean b ? b : dflt;
    }
}
