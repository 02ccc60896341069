package dev.loraforge.tokenizer;

import com.fasterxml.jackson.jr.ob.JSON;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;

/** Entry points: load a tokenizer from a model folder, a file, or GGUF metadata. */
public final class Tokenizers {
    private Tokenizers() {
    }

    /**
     * The tokenizer of a Hugging Face model folder: {@code tokenizer.json} if present, else
     * {@code tokenizer.model}; {@code tokenizer_config.json}'s add_bos_token / add_eos_token and
     * bos_token / eos_token override the defaults.
     */
    public static Tokenizer load(Path modelDir) {
        Path json = modelDir.resolve("tokenizer.json");
        Path spm = modelDir.resolve("tokenizer.model");
        Path config = modelDir.resolve("tokenizer_config.json");
        Map<String, Object> cfg = Files.exists(config) ? readJson(config) : Map.of();
        if (Files.exists(json)) {
            return applyConfig(fromTokenizerJson(json), cfg, config);
        }
        if (Files.exists(spm)) {
            SentencePieceTokenizer t = fromSentencePieceModel(spm);
            return t.withAddSpecial(flag(cfg, "add_bos_token", true), flag(cfg, "add_eos_token", false));
        }
        throw new TokenizerException(TokenizerException.Kind.MISSING_FIELD,
                modelDir + ": neither tokenizer.json nor tokenizer.model");
    }

    /** A {@code tokenizer.json} alone: BOS/EOS as its post-processor adds them. */
    public static BpeTokenizer fromTokenizerJson(Path file) {
        return HfTokenizerJson.parse(readJson(file), file.getFileName().toString());
    }

    /** A {@code tokenizer.json} from a stream (e.g. a gzipped copy). */
    public static BpeTokenizer fromTokenizerJson(InputStream in, String name) {
        try {
            return HfTokenizerJson.parse(JSON.std.mapFrom(in), name);
        } catch (IOException e) {
            throw new TokenizerException(TokenizerException.Kind.MALFORMED, name + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    /** A SentencePiece {@code tokenizer.model}; adds BOS, not EOS. */
    public static SentencePieceTokenizer fromSentencePieceModel(Path file) {
        return SentencePieceModelFile.load(file);
    }

    /**
     * From GGUF metadata ({@code tokenizer.ggml.model} llama or gpt2). Values as a GGUF reader gives
     * them: strings, {@link Number}s, {@link Boolean}s, arrays as {@code List<?>}; null when absent.
     */
    public static Tokenizer fromGgufMetadata(Function<String, Object> kv) {
        return GgufVocabulary.load(kv);
    }

    /** tokenizer_config.json's BOS/EOS settings applied to a tokenizer.json tokenizer. */
    static BpeTokenizer applyConfig(BpeTokenizer t, Map<String, Object> cfg, Path config) {
        int bos = tokenId(t, cfg.get("bos_token"), t.bos().orElse(-1), config);
        int eos = tokenId(t, cfg.get("eos_token"), t.eos().orElse(-1), config);
        BpeTokenizer withIds = t.withSpecialIds(bos, eos);
        if (!cfg.containsKey("add_bos_token") && !cfg.containsKey("add_eos_token")) {
            return withIds;
        }
        return withIds.withAddSpecial(flag(cfg, "add_bos_token", false), flag(cfg, "add_eos_token", false));
    }

    private static int tokenId(BpeTokenizer t, Object token, int dflt, Path config) {
        String text = token instanceof String s ? s
                : token instanceof Map<?, ?> m && m.get("content") instanceof String c ? c : null;
        if (text == null) {
            return dflt;
        }
        int[] ids = t.encode(text, false);
        if (ids.length != 1) {
            throw new TokenizerException(TokenizerException.Kind.MALFORMED,
                    config + ": special token '" + text + "' is not a single token (" + ids.length + " ids)");
        }
        return ids[0];
    }

    private static boolean flag(Map<String, Object> cfg, String key, boolean dflt) {
        return cfg.get(key) instanceof Boolean b ? b : dflt;
    }

    static Map<String, Object> readJson(Path file) {
        try {
            return JSON.std.mapFrom(Files.readString(file));
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new TokenizerException(TokenizerException.Kind.MALFORMED, file.getFileName() + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
