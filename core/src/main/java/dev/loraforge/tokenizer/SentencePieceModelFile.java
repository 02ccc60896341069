package dev.loraforge.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a SentencePiece {@code tokenizer.model} (protobuf {@code ModelProto} of
 * sentencepiece_model.proto) with a small protobuf wire-format reader: the pieces with score and
 * type, the trainer's special ids and model type, and the normalizer's add_dummy_prefix.
 */
public final class SentencePieceModelFile {
    /** No real vocabulary comes near this; guards against a hostile length. */
    public static final int MAX_PIECES = 4_000_000;
    /** sentencepiece TrainerSpec.ModelType values. */
    static final int MODEL_UNIGRAM = 1, MODEL_BPE = 2;

    private SentencePieceModelFile() {
    }

    /** Loads {@code tokenizer.model}; BOS is added, EOS not (llama.cpp's defaults for SentencePiece). */
    public static SentencePieceTokenizer load(Path file) {
        byte[] data;
        try {
            data = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return parse(data, file.getFileName().toString());
    }

    static SentencePieceTokenizer parse(byte[] data, String name) {
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        List<TokenType> types = new ArrayList<>();
        int unk = 0, bos = 1, eos = 2, modelType = MODEL_UNIGRAM;
        boolean addDummyPrefix = true;
        Wire top = new Wire(data, 0, data.length, name);
        while (top.more()) {
            int tag = top.tag();
            switch (tag) {
                case (1 << 3) | 2 -> {
                    if (pieces.size() >= MAX_PIECES) {
                        throw top.error("more than " + MAX_PIECES + " pieces");
                    }
                    Wire p = top.message();
                    String piece = null;
                    float score = 0f;
                    int type = 1;
                    while (p.more()) {
                        int t = p.tag();
                        switch (t) {
                            case (1 << 3) | 2 -> piece = p.string();
                            case (2 << 3) | 5 -> score = Float.intBitsToFloat(p.fixed32());
                            case (3 << 3) -> type = (int) p.varint();
                            default -> p.skip(t);
                        }
                    }
                    if (piece == null) {
                        throw top.error("piece " + pieces.size() + " has no text");
                    }
                    pieces.add(piece);
                    scores.add(score);
                    types.add(TokenType.of(type, name + " piece " + pieces.size()));
                }
                case (2 << 3) | 2 -> {
                    Wire t = top.message();
                    while (t.more()) {
                        int f = t.tag();
                        switch (f) {
                            case (3 << 3) -> modelType = (int) t.varint();
                            case (40 << 3) -> unk = (int) t.varint();
                            case (41 << 3) -> bos = (int) t.varint();
                            case (42 << 3) -> eos = (int) t.varint();
                            default -> t.skip(f);
                        }
                    }
                }
                case (3 << 3) | 2 -> {
                    Wire nm = top.message();
                    while (nm.more()) {
                        int f = nm.tag();
                        if (f == (3 << 3)) {
                            addDummyPrefix = nm.varint() != 0;
                        } else {
                            nm.skip(f);
                        }
                    }
                }
                default -> top.skip(tag);
            }
        }
        if (pieces.isEmpty()) {
            throw new TokenizerException(TokenizerException.Kind.MISSING_FIELD, name + ": no pieces");
        }
        if (modelType != MODEL_BPE && modelType != MODEL_UNIGRAM) {
            throw new TokenizerException(TokenizerException.Kind.UNSUPPORTED,
                    name + ": SentencePiece model type " + modelType + " (only BPE and unigram vocabularies are read)");
        }
        float[] s = new float[scores.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = scores.get(i);
        }
        return new SentencePieceTokenizer(name, pieces.toArray(String[]::new), s, types.toArray(TokenType[]::new),
                idOrNone(bos, pieces.size()), idOrNone(eos, pieces.size()), idOrNone(unk, pieces.size()),
                true, false, addDummyPrefix);
    }

    private static int idOrNone(int id, int n) {
        return id >= 0 && id < n ? id : -1;
    }

    /** A bounded view of protobuf wire data. */
    private static final class Wire {
        private final byte[] b;
        private int pos;
        private final int end;
        private final String name;

        Wire(byte[] b, int pos, int end, String name) {
            this.b = b;
            this.pos = pos;
            this.end = end;
            this.name = name;
        }

        boolean more() {
            return pos < end;
        }

        TokenizerException error(String what) {
            return new TokenizerException(TokenizerException.Kind.MALFORMED, name + ": " + what + " (byte " + pos + ")");
        }

        int tag() {
            long t = varint();
            if (t <= 0 || t > Integer.MAX_VALUE) {
                throw error("bad protobuf tag " + t);
            }
            return (int) t;
        }

        long varint() {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) {
                    throw error("truncated varint");
                }
                int x = b[pos++] & 0xFF;
                v |= (long) (x & 0x7F) << shift;
                if (x < 0x80) {
                    return v;
                }
            }
            throw error("varint longer than 10 bytes");
        }

        int fixed32() {
            need(4);
            int v = (b[pos] & 0xFF) | (b[pos + 1] & 0xFF) << 8 | (b[pos + 2] & 0xFF) << 16 | (b[pos + 3] & 0xFF) << 24;
            pos += 4;
            return v;
        }

        private void need(long n) {
            if (n < 0 || n > end - pos) {
                throw error("field of " + n + " bytes runs past the end of its message (" + (end - pos) + " left)");
            }
        }

        private int length() {
            long n = varint();
            need(n);
            return (int) n;
        }

        Wire message() {
            int n = length();
            Wire w = new Wire(b, pos, pos + n, name);
            pos += n;
            return w;
        }

        String string() {
            int n = length();
            String s = new String(b, pos, n, StandardCharsets.UTF_8);
            pos += n;
            return s;
        }

        void skip(int tag) {
            switch (tag & 7) {
                case 0 -> varint();
                case 1 -> { need(8); pos += 8; }
                case 2 -> {
                    int n = length(); // not "pos += length()": Java reads pos before the call
                    pos += n;
                }
                case 5 -> { need(4); pos += 4; }
                default -> throw error("unsupported protobuf wire type " + (tag & 7));
            }
        }
    }
}
