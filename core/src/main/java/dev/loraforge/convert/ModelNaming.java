package dev.loraforge.convert;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.StringJoiner;
import java.util.regex.Pattern;

/**
 * The naming heuristics of gguf-py {@code metadata.py} and {@code utility.py}: how llama.cpp's converter
 * derives {@code general.name}, {@code basename}, {@code finetune}, {@code version} and {@code size_label}
 * from a model id or folder name ({@code tiny-llama-v512} → "Tiny Llama v512", basename "tiny-llama",
 * version "v512") and how it prints a parameter count ({@code 3.4M}).
 */
public final class ModelNaming {
    private ModelNaming() {
    }

    /** What {@code get_model_id_components} returns; absent parts are null. */
    public record Components(String fullName, String organization, String basename, String finetune,
                             String version, String sizeLabel) {
    }

    private enum Tag { BASENAME, SIZE_LABEL, FINETUNE, VERSION, TYPE }

    private static final int FLAGS = Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS;
    private static final Pattern VERSION = Pattern.compile("(v|iter)?\\d+([.]\\d+)*", FLAGS);
    private static final Pattern QUANT_TYPE = Pattern.compile("i?q\\d(_\\w)*|b?fp?(16|32)", FLAGS);
    private static final Pattern SIZE = Pattern.compile(
            "(([A]|\\d+[x])?\\d+([._]\\d+)?[KMBT][\\d]?|small|mini|medium|large|x?xl)", FLAGS);
    private static final Pattern ACTIVE_PARAMS = Pattern.compile("A\\d+([._]\\d+)?[KMBT][\\d]?", FLAGS);
    private static final Pattern FINETUNE_WORD = Pattern.compile("chat|instruct|vision|lora", FLAGS);
    private static final Pattern TITLE_KEEP = Pattern.compile("^(v\\d+(?:\\.\\d+)*|\\d.*)$", Pattern.UNICODE_CHARACTER_CLASS);

    /**
     * Splits a model id ({@code org/name} or a folder name) into its components.
     * @param totalParams the parameter count; negative for a LoRA adapter (as gguf-py signals it), 0 if unknown
     */
    public static Components components(String modelId, long totalParams) {
        if (modelId == null) {
            return new Components(null, null, null, null, null, null);
        }
        if (modelId.contains(" ")) {
            return new Components(modelId, null, null, null, null, null);
        }
        String org = null;
        String full = modelId;
        int slash = modelId.indexOf('/');
        if (slash >= 0) {
            org = modelId.substring(0, slash);
            full = modelId.substring(slash + 1);
        }
        if (org != null && !org.isEmpty() && org.charAt(0) == '.') {
            org = null;
        }
        List<String> parts = new ArrayList<>();
        for (String p : full.split("-", -1)) {
            if (!p.isEmpty()) {
                parts.add(p);
            }
        }
        List<Set<Tag>> tags = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            tags.add(EnumSet.noneOf(Tag.class));
        }
        for (int i = 0; i < parts.size(); i++) {
            String part = parts.get(i);
            Set<Tag> t = tags.get(i);
            if (VERSION.matcher(part).matches()) {
                t.add(Tag.VERSION);
            } else if (QUANT_TYPE.matcher(part).matches()) {
                t.add(Tag.TYPE);
                parts.set(i, part.toUpperCase(java.util.Locale.ROOT));
            } else if (i > 0 && SIZE.matcher(part).matches()) {
                part = normalizeSizeLabel(part);
                if (totalParams != 0) {
                    try {
                        double labelParams = sizeLabelParams(part);
                        String next = i + 1 < parts.size() ? normalizeSizeLabel(parts.get(i + 1)) : null;
                        boolean followedByActive = next != null && ACTIVE_PARAMS.matcher(next).matches()
                                && Math.abs(sizeLabelParams(next.substring(1)) - Math.abs(totalParams))
                                <= Math.floorDiv(7 * Math.abs(totalParams), 8);
                        boolean contextLength = (totalParams < 0 && labelParams < Math.floorDiv(Math.abs(totalParams), 8))
                                || (totalParams > 0 && Math.abs(labelParams - totalParams) > Math.floorDiv(7 * totalParams, 8));
                        if (!followedByActive && contextLength) {
                            t.add(Tag.FINETUNE);
                            part = part.substring(0, part.length() - 1)
                                    + part.substring(part.length() - 1).toLowerCase(java.util.Locale.ROOT);
                        }
                    } catch (NumberFormatException e) {
                        // gguf-py: "Failed to convert the size label to float, use it anyway"
                    }
                }
                if (t.isEmpty()) {
                    t.add(Tag.SIZE_LABEL);
                }
                parts.set(i, part);
            } else if (i > 0 && FINETUNE_WORD.matcher(part).matches()) {
                if (totalParams < 0 && part.equalsIgnoreCase("lora")) {
                    t.add(Tag.TYPE);
                } else {
                    t.add(Tag.FINETUNE);
                }
            }
        }
        // word-based size labels give way to a number-based one
        boolean numericSize = false;
        for (int i = 0; i < parts.size(); i++) {
            if (tags.get(i).contains(Tag.SIZE_LABEL) && parts.get(i).chars().anyMatch(Character::isDigit)) {
                numericSize = true;
            }
        }
        if (numericSize) {
            for (int i = 0; i < parts.size(); i++) {
                if (tags.get(i).contains(Tag.SIZE_LABEL) && parts.get(i).chars().allMatch(Character::isLetter)) {
                    tags.get(i).remove(Tag.SIZE_LABEL);
                }
            }
        }
        boolean atStart = true;
        for (int i = 0; i < parts.size(); i++) {
            Set<Tag> t = tags.get(i);
            String part = parts.get(i);
            if (atStart && ((t.isEmpty() && Character.isLetter(part.codePointAt(0))) || t.contains(Tag.VERSION))) {
                t.add(Tag.BASENAME);
            } else {
                atStart = false;
                if (t.isEmpty()) {
                    t.add(Tag.FINETUNE);
                }
            }
        }
        for (int i = parts.size() - 1; i >= 0; i--) {
            Set<Tag> t = tags.get(i);
            if (t.contains(Tag.BASENAME) && t.size() > 1) {
                t.remove(Tag.BASENAME);
            } else {
                break;
            }
        }
        String basename = join(parts, tags, Tag.BASENAME, null, false);
        String sizeLabel = join(parts, tags, Tag.SIZE_LABEL, null, true);
        String finetune = join(parts, tags, Tag.FINETUNE, null, false);
        String version = join(parts, tags, Tag.VERSION, Tag.BASENAME, false);
        if (sizeLabel == null && finetune == null && version == null) {
            basename = null;
        }
        return new Components(full, org, basename, finetune, version, sizeLabel);
    }

    private static String join(List<String> parts, List<Set<Tag>> tags, Tag with, Tag without, boolean dedupe) {
        java.util.Collection<String> picked = dedupe ? new LinkedHashSet<>() : new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            Set<Tag> t = tags.get(i);
            if (t.contains(with) && (without == null || !t.contains(without))) {
                picked.add(parts.get(i));
            }
        }
        return picked.isEmpty() ? null : String.join("-", picked);
    }

    static String normalizeSizeLabel(String label) {
        label = label.replace('_', '.');
        if (Character.isDigit(label.charAt(label.length() - 1)) && label.length() >= 2) {
            // bloom-7b1 notation: 7b1 → 7.1b
            int n = label.length();
            label = label.substring(0, n - 2) + "." + label.charAt(n - 1) + label.charAt(n - 2);
        }
        int n = label.length();
        if (n > 1 && Character.isDigit(label.charAt(n - 2)) && "kmbt".indexOf(label.charAt(n - 1)) >= 0) {
            label = label.substring(0, n - 1) + Character.toUpperCase(label.charAt(n - 1));
        }
        return label;
    }

    private static double sizeLabelParams(String label) {
        double mantissa = Double.parseDouble(pythonFloatText(label.substring(0, label.length() - 1)));
        int exp = " KMBT".indexOf(label.charAt(label.length() - 1));
        return mantissa * Math.pow(1000, exp);
    }

    /** Python's float() accepts less than Java's parseDouble (no "d"/"f" suffixes, no hex). */
    private static String pythonFloatText(String s) {
        if (!s.matches("[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?")) {
            throw new NumberFormatException(s);
        }
        return s;
    }

    /** gguf-py {@code Metadata.id_to_title}: words title-cased unless acronym or version number. */
    public static String idToTitle(String s) {
        StringJoiner out = new StringJoiner(" ");
        for (String w : s.strip().replace('-', ' ').split("\\s+")) {
            if (w.isEmpty()) {
                continue;
            }
            out.add(isLower(w) && !TITLE_KEEP.matcher(w).matches() ? pythonTitle(w) : w);
        }
        return out.toString();
    }

    private static boolean isLower(String w) {
        boolean cased = false;
        for (int i = 0; i < w.length(); i++) {
            char c = w.charAt(i);
            if (Character.isUpperCase(c) || Character.isTitleCase(c)) {
                return false;
            }
            if (Character.isLowerCase(c)) {
                cased = true;
            }
        }
        return cased;
    }

    /** Python str.title(): upper after an uncased character, lower after a cased one. */
    private static String pythonTitle(String w) {
        StringBuilder b = new StringBuilder(w.length());
        boolean prevCased = false;
        for (int i = 0; i < w.length(); i++) {
            char c = w.charAt(i);
            boolean cased = Character.isLetter(c) && (Character.isUpperCase(c) || Character.isLowerCase(c) || Character.isTitleCase(c));
            b.append(cased ? (prevCased ? Character.toLowerCase(c) : Character.toTitleCase(c)) : c);
            prevCased = cased;
        }
        return b.toString();
    }

    /** gguf-py {@code utility.model_weight_count_rounded_notation}. */
    public static String roundedCount(long count, int minDigits) {
        double scaled;
        String suffix;
        if (count > 1e12) {
            scaled = count * 1e-12;
            suffix = "T";
        } else if (count > 1e9) {
            scaled = count * 1e-9;
            suffix = "B";
        } else if (count > 1e6) {
            scaled = count * 1e-6;
            suffix = "M";
        } else {
            scaled = count * 1e-3;
            suffix = "K";
        }
        String rounded = Long.toString((long) Math.rint(scaled)).replaceFirst("^0+", "");
        int fix = Math.max(minDigits - rounded.length(), 0);
        // Python formats the exact binary value, rounding half to even
        return new BigDecimal(scaled).setScale(fix, RoundingMode.HALF_EVEN).toPlainString() + suffix;
    }

    /** gguf-py {@code utility.size_label}. */
    public static String sizeLabel(long totalParams, long sharedParams, long expertParams, long expertCount) {
        if (expertCount > 0) {
            return expertCount + "x" + roundedCount(Math.abs(sharedParams) + Math.abs(expertParams), 2);
        }
        return roundedCount(Math.abs(totalParams), 2);
    }

    /** Convenience: the folder-name components, as the converter's last fallback applies them. */
    public static Optional<String> title(Components c) {
        return Optional.ofNullable(c.fullName()).map(ModelNaming::idToTitle);
    }
}
