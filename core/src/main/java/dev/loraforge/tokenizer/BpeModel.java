package dev.loraforge.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Merge-rank BPE on one pre-tokenized word, as Hugging Face tokenizers' {@code BPE} model does it:
 * start from characters (unknown ones become {@code <0xXX>} byte tokens with byte_fallback, else
 * UNK), then repeatedly apply the lowest-ranked merge present (ties: leftmost).
 */
final class BpeModel {
    /** Words longer than this are not cached (long unsplit lines of SentencePiece-style vocabularies). */
    private static final int CACHE_MAX_WORD = 256;
    private static final int CACHE_MAX_ENTRIES = 200_000;

    private final Map<String, Integer> vocab;
    private final Map<Long, Long> merges; // (left id, right id) -> (rank, merged id)
    private final int unk;
    private final boolean fuseUnk;
    private final boolean byteFallback;
    private final boolean ignoreMerges;
    private final int[] byteTokens = new int[256];
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    /** @param merges pairs in rank order; @param unk id or -1 */
    BpeModel(String source, Map<String, Integer> vocab, List<String[]> merges, int unk, boolean fuseUnk,
             boolean byteFallback, boolean ignoreMerges) {
        this.vocab = vocab;
        this.unk = unk;
        this.fuseUnk = fuseUnk;
        this.byteFallback = byteFallback;
        this.ignoreMerges = ignoreMerges;
        this.merges = new HashMap<>(merges.size() * 2);
        for (int rank = 0; rank < merges.size(); rank++) {
            String[] m = merges.get(rank);
            Integer a = vocab.get(m[0]), b = vocab.get(m[1]), ab = vocab.get(m[0] + m[1]);
            if (a == null || b == null || ab == null) {
                throw new TokenizerException(TokenizerException.Kind.MALFORMED, source + ": merge " + rank + " '"
                        + m[0] + " " + m[1] + "' uses a token missing from the vocabulary");
            }
            this.merges.putIfAbsent(pair(a, b), ((long) rank << 32) | ab);
        }
        for (int i = 0; i < 256; i++) {
            Integer id = vocab.get("<0x%02X>".formatted(i));
            byteTokens[i] = id == null ? -1 : id;
        }
    }

    private static long pair(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    void encodeWord(String word, IntList out) {
        if (word.isEmpty()) {
            return;
        }
        boolean cacheable = word.length() <= CACHE_MAX_WORD;
        int[] ids = cacheable ? cache.get(word) : null;
        if (ids == null) {
            ids = merge(word);
            if (cacheable) {
                if (cache.size() > CACHE_MAX_ENTRIES) {
                    cache.clear();
                }
                cache.put(word, ids);
            }
        }
        for (int id : ids) {
            out.add(id);
        }
    }

    private record Merge(int pos, int rank, int newId) {
    }

    private int[] merge(String word) {
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                return new int[] {whole};
            }
        }
        IntList initial = new IntList();
        boolean lastWasUnk = false;
        for (int off = 0; off < word.length(); ) {
            int cp = word.codePointAt(off);
            String ch = word.substring(off, off + Character.charCount(cp));
            off += ch.length();
            Integer id = vocab.get(ch);
            if (id != null) {
                initial.add(id);
                lastWasUnk = false;
                continue;
            }
            if (byteFallback && addBytes(ch, initial)) {
                lastWasUnk = false;
                continue;
            }
            if (unk >= 0) {
                if (!(fuseUnk && lastWasUnk)) {
                    initial.add(unk);
                }
                lastWasUnk = true;
            }
        }
        int[] c = initial.toArray();
        int n = c.length;
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] gone = new boolean[n];
        PriorityQueue<Merge> queue = new PriorityQueue<>((x, y) -> x.rank != y.rank
                ? Integer.compare(x.rank, y.rank) : Integer.compare(x.pos, y.pos));
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            if (i + 1 < n) {
                offer(queue, i, c[i], c[i + 1]);
            }
        }
        while (!queue.isEmpty()) {
            Merge top = queue.poll();
            int p = top.pos;
            if (gone[p] || next[p] < 0) {
                continue;
            }
            int r = next[p];
            Long m = merges.get(pair(c[p], c[r]));
            if (m == null || (int) (long) m != top.newId) {
                continue; // stale entry: a side changed since it was queued
            }
            c[p] = top.newId;
            gone[r] = true;
            next[p] = next[r];
            if (next[r] >= 0) {
                prev[next[r]] = p;
            }
            if (prev[p] >= 0) {
                offer(queue, prev[p], c[prev[p]], c[p]);
            }
            if (next[p] >= 0) {
                offer(queue, p, c[p], c[next[p]]);
            }
        }
        IntList out = new IntList();
        for (int i = 0; i < n; i++) {
            if (!gone[i]) {
                out.add(c[i]);
            }
        }
        return out.toArray();
    }

    private void offer(PriorityQueue<Merge> queue, int pos, int a, int b) {
        Long m = merges.get(pair(a, b));
        if (m != null) {
            queue.add(new Merge(pos, (int) (m >>> 32), (int) (long) m));
        }
    }

    private boolean addBytes(String ch, IntList out) {
        byte[] bytes = ch.getBytes(StandardCharsets.UTF_8);
        for (byte b : bytes) {
            if (byteTokens[b & 0xFF] < 0) {
                return false;
            }
        }
        for (byte b : bytes) {
            out.add(byteTokens[b & 0xFF]);
        }
        return true;
    }
}
