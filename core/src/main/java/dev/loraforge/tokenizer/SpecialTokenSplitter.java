package dev.loraforge.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Cuts text at occurrences of special / added tokens, leftmost first and, among tokens starting at
 * the same place, longest first (Hugging Face's added-vocabulary matching).
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

    SpecialTokenSplitter(Map<String, Integer> tokens) {
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
            if (i > plainStart) {
                out.add(new Segment(text.substring(plainStart, i), -1));
            }
            out.add(new Segment(hit.getKey(), hit.getValue()));
            i += hit.getKey().length();
            plainStart = i;
        }
        if (plainStart < text.length()) {
            out.add(new Segment(text.substring(plainStart), -1));
        }
        return out;
    }
}
