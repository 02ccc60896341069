package dev.loraforge.convert;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The {@code tokenizer.*} metadata convert_hf_to_gguf.py writes for a SentencePiece vocabulary
 * ({@code _set_vocab_sentencepiece} / {@code _create_vocab_sentencepiece}), appended in its order:
 * model, pre, tokens, scores, token_type, then {@link SpecialVocab}'s keys.
 */
public final class VocabularyKvs {
    private VocabularyKvs() {
    }

    /** Token types as gguf-py {@code TokenType} numbers them (same as SentencePiece's). */
    public static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    /** tokens, scores and types of {@code _create_vocab_sentencepiece}. */
    public record Vocab(List<byte[]> tokens, List<Float> scores, List<Long> types) {
    }

    /** True when the folder has what {@code _set_vocab_sentencepiece} needs. */
    public static boolean hasSentencePiece(Path dir) {
        return Files.isRegularFile(dir.resolve("tokenizer.model"));
    }

    /**
     * {@code _create_vocab_sentencepiece}: pieces of tokenizer.model padded to {@code vocab_size} with
     * {@code [PADn]}, added_tokens.json and tokenizer_config.json's added_tokens_decoder applied on top.
     */
    public static Vocab sentencePiece(Path dir, HfConfig config) {
        SentencePieceModel sp = SentencePieceModel.read(dir.resolve("tokenizer.model"));
        long vocabSize = config.findLong("vocab_size_per_layer_input", "vocab_size").filter(v -> v != 0).orElse((long) sp.size());
        int n = Math.toIntExact(vocabSize);
        List<byte[]> tokens = new ArrayList<>(n);
        List<Float> scores = new ArrayList<>(n);
        List<Long> types = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            tokens.add(("[PAD" + i + "]").getBytes(StandardCharsets.UTF_8));
            scores.add(-10000.0f);
            types.add((long) UNUSED);
        }
        for (int id = 0; id < sp.size() && id < n; id++) {
            SentencePieceModel.Piece p = sp.pieces().get(id);
            int type = switch (p.type()) {
                case SentencePieceModel.UNKNOWN -> UNKNOWN;
                case SentencePieceModel.CONTROL -> CONTROL;
                case SentencePieceModel.UNUSED -> UNUSED;
                case SentencePieceModel.BYTE -> BYTE;
                default -> NORMAL; // USER_DEFINED pieces stay NORMAL here, as in the converter
            };
            tokens.set(id, p.text());
            scores.set(id, p.score());
            types.set(id, (long) type);
        }
        Path added = dir.resolve("added_tokens.json");
        if (Files.isRegularFile(added)) {
            for (Map.Entry<String, Object> e : HfConfig.readJson(added, ConvertException.Kind.BAD_TOKENIZER).entrySet()) {
                long id = ((Number) e.getValue()).longValue();
                if (id >= n) {
                    continue;
                }
                tokens.set((int) id, e.getKey().getBytes(StandardCharsets.UTF_8));
                scores.set((int) id, -1000.0f);
                types.set((int) id, (long) USER_DEFINED);
            }
        }
        Path tc = dir.resolve("tokenizer_config.json");
        if (Files.isRegularFile(tc)
                && HfConfig.readJson(tc, ConvertException.Kind.BAD_TOKENIZER).get("added_tokens_decoder") instanceof Map<?, ?> dec) {
            for (Map.Entry<?, ?> e : dec.entrySet()) {
                int id = Integer.parseInt((String) e.getKey());
                if (id >= n || !(e.getValue() instanceof Map<?, ?> data) || !(data.get("content") instanceof String content)) {
                    continue;
                }
                if (Boolean.TRUE.equals(data.get("special")) || looksSpecial(content)) {
                    types.set(id, (long) CONTROL);
                } else {
                    content = content.replace("\u2581", " "); // pre-normalize user-defined spaces
                    types.set(id, (long) USER_DEFINED);
                }
                scores.set(id, -1000.0f);
                tokens.set(id, content.getBytes(StandardCharsets.UTF_8));
            }
        }
        return new Vocab(tokens, scores, types);
    }

    /** {@code TextModel.does_token_look_special}. */
    static boolean looksSpecial(String t) {
        return Arrays.asList("<pad>", "<mask>", "<2mass>", "[@BOS@]").contains(t)
                || (t.startsWith("<|") && t.endsWith("|>"))
                || (t.startsWith("<\uFF5C") && t.endsWith("\uFF5C>"))
                || (t.startsWith("<unused") && t.endsWith(">"));
    }

    /** {@code _set_vocab_sentencepiece}: appends the tokenizer keys to {@code out}. */
    public static void addSentencePiece(Path dir, HfConfig config, List<MetaKv> out) {
        Vocab v = sentencePiece(dir, config);
        SpecialVocab.put(out, MetaKv.string("tokenizer.ggml.model", "llama"));
        SpecialVocab.put(out, MetaKv.string("tokenizer.ggml.pre", "default"));
        SpecialVocab.put(out, MetaKv.array("tokenizer.ggml.tokens", KvType.STRING, v.tokens()));
        SpecialVocab.put(out, MetaKv.array("tokenizer.ggml.scores", KvType.FLOAT32, v.scores()));
        SpecialVocab.put(out, MetaKv.array("tokenizer.ggml.token_type", KvType.INT32, v.types()));
        new SpecialVocab(dir, false, null, v.tokens().size()).addTo(out);
    }
}
