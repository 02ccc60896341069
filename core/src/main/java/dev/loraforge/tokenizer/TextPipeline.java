package dev.loraforge.tokenizer;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Hugging Face normalizers and pre-tokenizers loraforge supports, applied to the text between
 * added tokens: normalizers rewrite it, pre-tokenizers cut it into the words BPE runs on.
 */
final class TextPipeline {

    /** A normalizer: NFC/NFD/NFKC/NFKD, Lowercase, Prepend, Replace (string pattern). */
    interface Norm {
        String apply(String s);
    }

    record UnicodeForm(Normalizer.Form form) implements Norm {
        public String apply(String s) {
            return Normalizer.normalize(s, form);
        }
    }

    record Lowercase() implements Norm {
        public String apply(String s) {
            return s.toLowerCase(Locale.ROOT);
        }
    }

    /** HF Prepend: only non-empty text gets the prefix. */
    record Prepend(String prefix) implements Norm {
        public String apply(String s) {
            return s.isEmpty() ? s : prefix + s;
        }
    }

    record Replace(String pattern, String content) implements Norm {
        public String apply(String s) {
            return s.replace(pattern, content);
        }
    }

    /** A pre-tokenizer step; {@code atStart} says the piece begins the whole input. */
    interface Step {
        void split(String piece, boolean atStart, List<String> out);
    }

    /** Split with behaviour Isolated (matches and gaps both kept) or Removed (matches dropped). */
    record Split(Pattern pattern, boolean removeMatches) implements Step {
        public void split(String piece, boolean atStart, List<String> out) {
            Matcher m = pattern.matcher(piece);
            int last = 0;
            while (m.find()) {
                if (m.end() == m.start()) {
                    continue;
                }
                if (m.start() > last) {
                    out.add(piece.substring(last, m.start()));
                }
                if (!removeMatches) {
                    out.add(m.group());
                }
                last = m.end();
            }
            if (last < piece.length()) {
                out.add(piece.substring(last));
            }
        }
    }

    /** The splitting half of HF ByteLevel (the byte mapping runs after all steps). */
    record ByteLevelSplit(boolean addPrefixSpace, boolean useRegex) implements Step {
        private static final Split GPT2 = new Split(compile(ByteLevel.GPT2_REGEX), false);

        public void split(String piece, boolean atStart, List<String> out) {
            String s = addPrefixSpace && !piece.startsWith(" ") ? " " + piece : piece;
            if (useRegex) {
                GPT2.split(s, atStart, out);
            } else {
                out.add(s);
            }
        }
    }

    /** HF Metaspace: spaces become the replacement, a prefix per prepend_scheme, optional split. */
    record Metaspace(String replacement, String prependScheme, boolean splitWords) implements Step {
        public void split(String piece, boolean atStart, List<String> out) {
            String s = piece.replace(" ", replacement);
            boolean prepend = switch (prependScheme) {
                case "always" -> true;
                case "first" -> atStart;
                default -> false;
            };
            if (prepend && !s.startsWith(replacement)) {
                s = replacement + s;
            }
            if (!splitWords) {
                out.add(s);
                return;
            }
            int start = 0;
            for (int i = s.indexOf(replacement, 1); i >= 0; i = s.indexOf(replacement, i + 1)) {
                out.add(s.substring(start, i)); // the replacement stays with the word after it
                start = i;
            }
            out.add(s.substring(start));
        }
    }

    /** HF Digits: each digit alone, or runs of digits. */
    record Digits(boolean individual) implements Step {
        private static final Split ONE = new Split(Pattern.compile("\\p{Nd}"), false);
        private static final Split RUN = new Split(Pattern.compile("\\p{Nd}+"), false);

        public void split(String piece, boolean atStart, List<String> out) {
            (individual ? ONE : RUN).split(piece, atStart, out);
        }
    }

    private final List<Norm> normalizers;
    private final List<Step> steps;
    private final boolean byteLevel;

    TextPipeline(List<Norm> normalizers, List<Step> steps, boolean byteLevel) {
        this.normalizers = List.copyOf(normalizers);
        this.steps = List.copyOf(steps);
        this.byteLevel = byteLevel;
    }

    /**
     * Compiles a tokenizer regex. Oniguruma's and llama.cpp's {@code \s} is Unicode White_Space,
     * so Java needs UNICODE_CHARACTER_CLASS.
     */
    static Pattern compile(String regex) {
        return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
    }

    /** Normalized, pre-tokenized (and byte-mapped for byte-level models) words of one text segment. */
    List<String> words(String text, boolean atStart) {
        String s = text;
        for (Norm n : normalizers) {
            s = n.apply(s);
        }
        List<String> pieces = new ArrayList<>();
        if (!s.isEmpty()) {
            pieces.add(s);
        }
        for (Step step : steps) {
            List<String> next = new ArrayList<>();
            for (int i = 0; i < pieces.size(); i++) {
                step.split(pieces.get(i), atStart && i == 0, next);
            }
            pieces = next;
        }
        if (byteLevel) {
            pieces.replaceAll(ByteLevel::encode);
        }
        return pieces;
    }
}
