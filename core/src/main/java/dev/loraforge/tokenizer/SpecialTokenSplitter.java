package dev.loraforge.tokenizer;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Cuts text at occurrences of special / added tokens, leftmost first and, among tokens starting at
 * the same place, longest first (Hugging Face's added-vocabulary matching). Tokens flagged lstrip /
 * rstrip swallow the whitespace before / after them.
 */
final class SpecialTokenSplitter {

    /** A piece of the input: either plain text ({@code id < 0}) or one special token. */
    record Segment(String text, int id) {
        boolean isToken() {
            return id >= 0;
        }
    }

    // first char -> candidate token texts, longest first
    private final Map<Character, List<Map.Entry<String, Integer>>> byFirstChar = new HashMap<>();

    private final BitSet lstrip;
    private final BitSet rstrip;

    SpecialTokenSplitter(Map<String, Integer> tokens, BitSet lstrip, BitSet rstrip) {
        this.lstrip = lstrip;
        this.rstrip = rstrip;
        for (Map.Entry<String, Integer> e : tokens.entrySet()) {
            if (e.getKey().isEmpty()) {
                continue;
            }
            byFirstChar.computeIfAbsent(e.getKey().charAt(0), c -> new ArrayList<>()).add(Map.entry(e.getKey(), e.getValue()));
        }
        for (List<Map.Entry<String, Integer>> list : byFirstChar.values()) {
            list.sort((a, b) -> b.getKey().length() != a.getKey().length()
                    ? Integer.compare(b.getKey().length(), a.getKey().length())
                    : a.getKey().compareTo(b.getKey()));
        }
    }

    boolean isEmpty() {
        return byFirstChar.isEmpty();
    }

    /** Rust's char::is_whitespace (Unicode White_Space). */
    private static boolean isWhitespace(char c) {
        return Character.isWhitespace(c) || c == 0x85 || c == 0xA0 || c == 0x2007 || c == 0x202F;
    }

    List<Segment> split(String text) {
        List<Segment> out = new ArrayList<>();
        if (byFirstChar.isEmpty()) {
            if (!text.isEmpty()) {
                out.add(new Segment(text, -1));
            }
            return out;
        }
        int plainStart = 0;
        int i = 0;
        while (i < text.length()) {
            List<Map.Entry<String, Integer>> candidates = byFirstChar.get(text.charAt(i));
            Map.Entry<String, Integer> hit = null;
            if (candidates != null) {
                for (Map.Entry<String, Integer> c : candidates) {
                    if (text.startsWith(c.getKey(), i)) {
                        hit = c;
                        break;
                    }
                }
            }
            if (hit == null) {
                i++;
                continue;
            }
            int start = i;
            int end = i + hit.getKey().length();
            if (lstrip.get(hit.getValue())) {
                while (start > plainStart && isWhitespace(text.charAt(start - 1))) {
                    start--;
                }
            }
            if (rstrip.get(hit.getValue())) {
                while (end < text.length() && isWhitespace(text.charAt(end))) {
                    end++;
                }
            }
            if (start > plainStart) {
                out.add(new Segment(text.substring(plainStart, start), -1));
            }
            out.add(new Segment(hit.getKey(), hit.getValue()));
            i = end;
            plainStart = i;
        }
        if (plainStart < text.length()) {
            out.add(new Segment(text.substring(plainStart), -1));
        }
        return out;
    }
}
