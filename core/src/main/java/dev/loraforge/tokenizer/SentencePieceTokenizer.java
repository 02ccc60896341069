package dev.loraforge.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.PriorityQueue;

/**
 * Llama-2 style SentencePiece BPE with the semantics of llama.cpp's {@code llm_tokenizer_spm}: a
 * space is put before text that starts the input or follows a special token, spaces become
 * {@code ▁}, then adjacent pieces are merged highest vocabulary score first (ties: leftmost), and
 * pieces that are not tokens fall back to {@code <0xXX>} byte tokens.
 */
public final class SentencePieceTokenizer implements Tokenizer {
    static final String SPACE = "\u2581";

    private final String source;
    private final String[] pieces;
    private final float[] scores;
    private final TokenType[] types;
    private final Map<String, Integer> ids;
    private final int[] byteTokens = new int[256];
    private final int bos;
    private final int eos;
    private final int unk;
    private final boolean addBos;
    private final boolean addEos;
    private final boolean addSpacePrefix;
    private final SpecialTokenSplitter specials;

    /**
     * A vocabulary of pieces with their scores and types. {@code bos}, {@code eos} and {@code unk}
     * are token ids, or -1 when the model has none; {@code addSpacePrefix} is SentencePiece's
     * add_dummy_prefix (GGUF {@code tokenizer.ggml.add_space_prefix}).
     */
    public SentencePieceTokenizer(String source, String[] pieces, float[] scores, TokenType[] types,
                                  int bos, int eos, int unk, boolean addBos, boolean addEos, boolean addSpacePrefix) {
        if (pieces.length != scores.length || pieces.length != types.length) {
            throw new TokenizerException(TokenizerException.Kind.MALFORMED, source + ": " + pieces.length
                    + " pieces but " + scores.length + " scores and " + types.length + " types");
        }
        this.source = source;
        this.pieces = pieces.clone();
        this.scores = scores.clone();
        this.types = types.clone();
        this.bos = checkId(bos, "BOS");
        this.eos = checkId(eos, "EOS");
        this.unk = checkId(unk, "UNK");
        this.addBos = addBos;
        this.addEos = addEos;
        this.addSpacePrefix = addSpacePrefix;
        this.ids = new HashMap<>(pieces.length * 2);
        Map<String, Integer> special = new HashMap<>();
        for (int i = 0; i < pieces.length; i++) {
            ids.put(pieces[i], i); // a later duplicate wins, as in llama.cpp's token_to_id
            if (types[i] == TokenType.CONTROL || types[i] == TokenType.USER_DEFINED || types[i] == TokenType.UNKNOWN) {
                special.put(pieces[i], i);
            }
        }
        this.specials = new SpecialTokenSplitter(special, new java.util.BitSet(), new java.util.BitSet());
        for (int b = 0; b < 256; b++) {
            Integer id = ids.get("<0x%02X>".formatted(b));
            if (id == null && b < 0x80) {
                id = ids.get(String.valueOf((char) b));
            }
            byteTokens[b] = id != null ? id : this.unk;
        }
    }

    private int checkId(int id, String what) {
        if (id < -1 || id >= pieces.length) {
            throw new TokenizerException(TokenizerException.Kind.BAD_TOKEN_ID,
                    source + ": " + what + " id " + id + " outside vocabulary of " + pieces.length);
        }
        return id;
    }

    /** The same vocabulary with other BOS/EOS adding rules (e.g. from tokenizer_config.json). */
    public SentencePieceTokenizer withAddSpecial(boolean addBos, boolean addEos) {
        return new SentencePieceTokenizer(source, pieces, scores, types, bos, eos, unk, addBos, addEos, addSpacePrefix);
    }

    public float score(int id) {
        return scores[checkedIndex(id)];
    }

    public TokenType type(int id) {
        return types[checkedIndex(id)];
    }

    @Override
    public int[] encode(String text, boolean addSpecial) {
        IntList out = new IntList();
        if (addSpecial && addBos && bos >= 0) {
            out.add(bos);
        }
        boolean prevSpecial = true;
        for (SpecialTokenSplitter.Segment seg : specials.split(text)) {
            if (seg.isToken()) {
                out.add(seg.id());
                prevSpecial = true;
                continue;
            }
            String s = (addSpacePrefix && prevSpecial ? " " : "") + seg.text();
            encodePiece(s.replace(" ", SPACE), out);
            prevSpecial = false;
        }
        if (addSpecial && addEos && eos >= 0) {
            out.add(eos);
        }
        return out.toArray();
    }

    private record Bigram(int left, int right, float score, int size) {
    }

    private void encodePiece(String text, IntList out) {
        int n = text.codePointCount(0, text.length());
        int[] start = new int[n];
        int[] len = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0, off = 0; i < n; i++) {
            start[i] = off;
            len[i] = Character.charCount(text.codePointAt(off));
            off += len[i];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> a.score != b.score
                ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        for (int i = 1; i < n; i++) {
            tryAddBigram(text, start, len, i - 1, i, queue);
        }
        while (!queue.isEmpty()) {
            Bigram bg = queue.poll();
            int l = bg.left, r = bg.right;
            if (len[l] == 0 || len[r] == 0 || len[l] + len[r] != bg.size) {
                continue; // one side was merged since this pair was queued
            }
            len[l] += len[r];
            len[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) {
                prev[next[r]] = l;
            }
            tryAddBigram(text, start, len, prev[l], l, queue);
            tryAddBigram(text, start, len, l, next[l], queue);
        }
        for (int i = 0; i != -1 && n > 0; i = next[i]) {
            String piece = text.substring(start[i], start[i] + len[i]);
            Integer id = ids.get(piece);
            if (id != null) {
                out.add(id);
            } else {
                for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                    out.add(byteTokens[b & 0xFF]);
                }
            }
        }
    }

    private void tryAddBigram(String text, int[] start, int[] len, int left, int right, PriorityQueue<Bigram> queue) {
        if (left < 0 || right < 0) {
            return;
        }
        int size = len[left] + len[right];
        Integer id = ids.get(text.substring(start[left], start[left] + size));
        if (id != null) {
            queue.add(new Bigram(left, right, scores[id], size));
        }
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            int i = checkedIndex(id);
            if (types[i] == TokenType.BYTE) {
                bytes.write(Integer.parseInt(pieces[i], 3, 5, 16));
            } else {
                bytes.writeBytes(pieces[i].replace(SPACE, " ").getBytes(StandardCharsets.UTF_8));
            }
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        return addSpacePrefix && text.startsWith(" ") ? text.substring(1) : text;
    }

    private int checkedIndex(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new TokenizerException(TokenizerException.Kind.BAD_TOKEN_ID,
                    source + ": token id " + id + " outside vocabulary of " + pieces.length);
        }
        return id;
    }

    @Override
    public String tokenText(int id) {
        return pieces[checkedIndex(id)];
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public OptionalInt bos() {
        return bos >= 0 ? OptionalInt.of(bos) : OptionalInt.empty();
    }

    @Override
    public OptionalInt eos() {
        return eos >= 0 ? OptionalInt.of(eos) : OptionalInt.empty();
    }

    @Override
    public boolean isSpecial(int id) {
        TokenType t = types[checkedIndex(id)];
        return t == TokenType.CONTROL || t == TokenType.UNKNOWN;
    }

    boolean addBos() {
        return addBos;
    }

    @Override
    public String toString() {
        return "SentencePieceTokenizer[" + source + ", " + pieces.length + " pieces, " + Arrays.stream(types).filter(t -> t == TokenType.BYTE).count() + " byte tokens]";
    }
}
