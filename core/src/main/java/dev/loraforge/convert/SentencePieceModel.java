package dev.loraforge.convert;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The pieces of a SentencePiece {@code tokenizer.model} (protobuf {@code ModelProto}): text, score and
 * type of every piece, read with a minimal protobuf decoder (only field 1, {@code pieces}, is needed).
 */
public record SentencePieceModel(List<Piece> pieces) {

    /** SentencePiece piece types ({@code sentencepiece_model.proto}). */
    public static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    /** One vocabulary entry; {@code text} is the UTF-8 bytes of the piece as stored. */
    public record Piece(byte[] text, float score, int type) {
        public Piece {
            text = text.clone();
        }

        @Override
        public byte[] text() {
            return text.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Piece p && Arrays.equals(text, p.text) && Float.compare(score, p.score) == 0 && type == p.type;
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(text) * 31 + type;
        }
    }

    public SentencePieceModel {
        pieces = List.copyOf(pieces);
    }

    public int size() {
        return pieces.size();
    }

    public static SentencePieceModel read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new ConvertException(ConvertException.Kind.BAD_TOKENIZER, "cannot read " + file + ": " + e.getMessage(), e);
        }
        try {
            return parse(bytes);
        } catch (RuntimeException e) {
            if (e instanceof ConvertException) {
                throw e;
            }
            throw new ConvertException(ConvertException.Kind.BAD_TOKENIZER, file + ": not a SentencePiece model ("
                    + e.getMessage() + ")", e);
        }
    }

    public static SentencePieceModel parse(byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        List<Piece> pieces = new ArrayList<>();
        while (in.hasRemaining()) {
            long tag = varint(in);
            int field = (int) (tag >>> 3);
            int wire = (int) (tag & 7);
            if (field == 1 && wire == 2) {
                int len = length(in);
                pieces.add(piece(in.slice(in.position(), len).order(ByteOrder.LITTLE_ENDIAN)));
                in.position(in.position() + len);
            } else {
                skip(in, wire);
            }
        }
        return new SentencePieceModel(pieces);
    }

    private static Piece piece(ByteBuffer in) {
        byte[] text = new byte[0];
        float score = 0f;
        int type = NORMAL;
        while (in.hasRemaining()) {
            long tag = varint(in);
            int field = (int) (tag >>> 3);
            int wire = (int) (tag & 7);
            if (field == 1 && wire == 2) {
                text = new byte[length(in)];
                in.get(text);
            } else if (field == 2 && wire == 5) {
                score = in.getFloat();
            } else if (field == 3 && wire == 0) {
                type = (int) varint(in);
            } else {
                skip(in, wire);
            }
        }
        return new Piece(text, score, type);
    }

    private static int length(ByteBuffer in) {
        long len = varint(in);
        if (len < 0 || len > in.remaining()) {
            throw new IllegalArgumentException("field length " + len + " beyond the " + in.remaining() + " bytes left");
        }
        return (int) len;
    }

    private static void skip(ByteBuffer in, int wire) {
        switch (wire) {
            case 0 -> varint(in);
            case 1 -> in.position(in.position() + 8);
            case 2 -> {
                int len = length(in);
                in.position(in.position() + len);
            }
            case 5 -> in.position(in.position() + 4);
            default -> throw new IllegalArgumentException("unsupported protobuf wire type " + wire);
        }
    }

    private static long varint(ByteBuffer in) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte b = in.get();
            v |= (long) (b & 0x7F) << shift;
            if (b >= 0) {
                return v;
            }
        }
        throw new IllegalArgumentException("varint longer than 10 bytes");
    }
}
