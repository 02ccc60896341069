package dev.loraforge.tokenizer;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** Hugging Face {@code tokenizer.json} (model type BPE) to a {@link BpeTokenizer}. */
final class HfTokenizerJson {
    private HfTokenizerJson() {
    }

    static BpeTokenizer parse(Map<String, Object> root, String source) {
        Map<String, Object> model = map(root.get("model"), source + " model");
        String type = model.get("type") instanceof String t ? t : (model.containsKey("merges") ? "BPE" : "?");
        if (!type.equals("BPE")) {
            throw unsupported(source, "model type " + type + " (only BPE)");
        }
        if (!isBlank(model.get("continuing_subword_prefix")) || !isBlank(model.get("end_of_word_suffix"))) {
            throw unsupported(source, "continuing_subword_prefix / end_of_word_suffix");
        }
        Map<String, Object> rawVocab = map(model.get("vocab"), source + " model.vocab");
        Map<String, Integer> vocab = new HashMap<>(rawVocab.size() * 2);
        rawVocab.forEach((k, v) -> vocab.put(k, ((Number) v).intValue()));
        List<String[]> merges = new ArrayList<>();
        for (Object m : list(model.get("merges"), source + " model.merges")) {
            if (m instanceof String s) {
                merges.add(BpeTokenizer.splitMerge(s, source));
            } else if (m instanceof List<?> pair && pair.size() == 2) {
                merges.add(new String[] {String.valueOf(pair.get(0)), String.valueOf(pair.get(1))});
            } else {
                throw malformed(source, "merge " + merges.size() + " is neither \"a b\" nor [a, b]");
            }
        }
        int unk = model.get("unk_token") instanceof String u && vocab.containsKey(u) ? vocab.get(u) : -1;

        Map<String, Integer> added = new LinkedHashMap<>();
        BitSet special = new BitSet(), lstrip = new BitSet(), rstrip = new BitSet();
        if (root.get("added_tokens") != null) {
            for (Object o : list(root.get("added_tokens"), source + " added_tokens")) {
                Map<String, Object> t = map(o, source + " added token");
                int id = ((Number) t.get("id")).intValue();
                added.put((String) t.get("content"), id);
                if (Boolean.TRUE.equals(t.get("special"))) {
                    special.set(id);
                }
                if (Boolean.TRUE.equals(t.get("lstrip"))) {
                    lstrip.set(id);
                }
                if (Boolean.TRUE.equals(t.get("rstrip"))) {
                    rstrip.set(id);
                }
            }
        }

        List<TextPipeline.Norm> norms = new ArrayList<>();
        normalizer(root.get("normalizer"), norms, source);
        List<TextPipeline.Step> steps = new ArrayList<>();
        boolean byteLevel = preTokenizer(root.get("pre_tokenizer"), steps, source);

        List<Integer> prefix = new ArrayList<>(), suffix = new ArrayList<>();
        postProcessor(root.get("post_processor"), added, vocab, prefix, suffix, source);

        BpeTokenizer.Decoding decoding = BpeTokenizer.Decoding.SPACE_MARKER;
        boolean[] strip = {false};
        if (decoder(root.get("decoder"), strip)) {
            decoding = BpeTokenizer.Decoding.BYTE_LEVEL;
        }
        int bos = prefix.isEmpty() ? -1 : prefix.getFirst();
        int eos = suffix.isEmpty() ? -1 : suffix.getLast();
        return new BpeTokenizer(new BpeTokenizer.Spec(source, vocab, merges, added, special, lstrip, rstrip,
                new TextPipeline(norms, steps, byteLevel), unk, Boolean.TRUE.equals(model.get("fuse_unk")),
                Boolean.TRUE.equals(model.get("byte_fallback")), Boolean.TRUE.equals(model.get("ignore_merges")),
                prefix.stream().mapToInt(Integer::intValue).toArray(), suffix.stream().mapToInt(Integer::intValue).toArray(),
                bos, eos, decoding, strip[0]));
    }

    private static void normalizer(Object node, List<TextPipeline.Norm> out, String source) {
        if (node == null) {
            return;
        }
        Map<String, Object> n = map(node, source + " normalizer");
        String type = String.valueOf(n.get("type"));
        switch (type) {
            case "Sequence" -> {
                for (Object o : list(n.get("normalizers"), source + " normalizers")) {
                    normalizer(o, out, source);
                }
            }
            case "NFC" -> out.add(new TextPipeline.UnicodeForm(Normalizer.Form.NFC));
            case "NFD" -> out.add(new TextPipeline.UnicodeForm(Normalizer.Form.NFD));
            case "NFKC" -> out.add(new TextPipeline.UnicodeForm(Normalizer.Form.NFKC));
            case "NFKD" -> out.add(new TextPipeline.UnicodeForm(Normalizer.Form.NFKD));
            case "Lowercase" -> out.add(new TextPipeline.Lowercase());
            case "Prepend" -> out.add(new TextPipeline.Prepend((String) n.get("prepend")));
            case "Replace" -> out.add(new TextPipeline.Replace(stringPattern(n.get("pattern"), source), (String) n.get("content")));
            default -> throw unsupported(source, "normalizer " + type);
        }
    }

    /** @return whether a ByteLevel step is present (words are then byte-mapped) */
    private static boolean preTokenizer(Object node, List<TextPipeline.Step> out, String source) {
        if (node == null) {
            return false;
        }
        Map<String, Object> p = map(node, source + " pre_tokenizer");
        String type = String.valueOf(p.get("type"));
        switch (type) {
            case "Sequence" -> {
                boolean byteLevel = false;
                for (Object o : list(p.get("pretokenizers"), source + " pretokenizers")) {
                    byteLevel |= preTokenizer(o, out, source);
                }
                return byteLevel;
            }
            case "Split" -> {
                if (Boolean.TRUE.equals(p.get("invert"))) {
                    throw unsupported(source, "Split with invert");
                }
                Map<String, Object> pat = map(p.get("pattern"), source + " Split.pattern");
                Pattern regex = pat.get("Regex") instanceof String r ? TextPipeline.compile(r)
                        : Pattern.compile(Pattern.quote(stringPattern(pat, source)));
                String behavior = String.valueOf(p.get("behavior"));
                switch (behavior) {
                    case "Isolated" -> out.add(new TextPipeline.Split(regex, false));
                    case "Removed" -> out.add(new TextPipeline.Split(regex, true));
                    default -> throw unsupported(source, "Split behavior " + behavior);
                }
                return false;
            }
            case "ByteLevel" -> {
                out.add(new TextPipeline.ByteLevelSplit(Boolean.TRUE.equals(p.get("add_prefix_space")),
                        !Boolean.FALSE.equals(p.get("use_regex"))));
                return true;
            }
            case "Metaspace" -> {
                String scheme = p.get("prepend_scheme") instanceof String s ? s
                        : (Boolean.FALSE.equals(p.get("add_prefix_space")) ? "never" : "always");
                out.add(new TextPipeline.Metaspace((String) p.getOrDefault("replacement", SentencePieceTokenizer.SPACE),
                        scheme, !Boolean.FALSE.equals(p.get("split"))));
                return false;
            }
            case "Digits" -> {
                out.add(new TextPipeline.Digits(Boolean.TRUE.equals(p.get("individual_digits"))));
                return false;
            }
            default -> throw unsupported(source, "pre_tokenizer " + type);
        }
    }

    private static void postProcessor(Object node, Map<String, Integer> added, Map<String, Integer> vocab,
                                      List<Integer> prefix, List<Integer> suffix, String source) {
        if (node == null) {
            return;
        }
        Map<String, Object> p = map(node, source + " post_processor");
        String type = String.valueOf(p.get("type"));
        switch (type) {
            case "Sequence" -> {
                for (Object o : list(p.get("processors"), source + " processors")) {
                    postProcessor(o, added, vocab, prefix, suffix, source);
                }
            }
            case "ByteLevel" -> {
            }
            case "TemplateProcessing" -> {
                Map<String, Object> specials = p.get("special_tokens") == null ? Map.of() : map(p.get("special_tokens"), source);
                boolean seenSequence = false;
                for (Object o : list(p.get("single"), source + " post_processor.single")) {
                    Map<String, Object> piece = map(o, source + " template piece");
                    if (piece.containsKey("Sequence")) {
                        seenSequence = true;
                        continue;
                    }
                    String name = (String) map(piece.get("SpecialToken"), source + " SpecialToken").get("id");
                    List<Integer> ids = new ArrayList<>();
                    if (specials.get(name) instanceof Map<?, ?> st && st.get("ids") instanceof List<?> l) {
                        l.forEach(x -> ids.add(((Number) x).intValue()));
                    } else {
                        ids.add(idOf(name, added, vocab, source));
                    }
                    (seenSequence ? suffix : prefix).addAll(ids);
                }
            }
            case "BertProcessing", "RobertaProcessing" -> {
                prefix.add(((Number) list(p.get("cls"), source + " cls").get(1)).intValue());
                suffix.add(((Number) list(p.get("sep"), source + " sep").get(1)).intValue());
            }
            default -> throw unsupported(source, "post_processor " + type);
        }
    }

    /** @return whether the decoder is byte-level; sets strip[0] when one leading space is removed */
    private static boolean decoder(Object node, boolean[] strip) {
        if (node == null) {
            return false;
        }
        Map<String, Object> d = map(node, "decoder");
        String type = String.valueOf(d.get("type"));
        switch (type) {
            case "ByteLevel" -> {
                return true;
            }
            case "Sequence" -> {
                boolean byteLevel = false;
                for (Object o : list(d.get("decoders"), "decoders")) {
                    byteLevel |= decoder(o, strip);
                }
                return byteLevel;
            }
            case "Strip" -> strip[0] |= ((Number) d.getOrDefault("start", 0)).intValue() > 0;
            case "Metaspace" -> strip[0] |= !"never".equals(d.get("prepend_scheme")) && !Boolean.FALSE.equals(d.get("add_prefix_space"));
            default -> {
            }
        }
        return false;
    }

    private static int idOf(String token, Map<String, Integer> added, Map<String, Integer> vocab, String source) {
        Integer id = added.containsKey(token) ? added.get(token) : vocab.get(token);
        if (id == null) {
            throw malformed(source, "post-processor token '" + token + "' is not in the vocabulary");
        }
        return id;
    }

    private static String stringPattern(Object pattern, String source) {
        if (pattern instanceof Map<?, ?> m && m.get("String") instanceof String s) {
            return s;
        }
        throw unsupported(source, "pattern " + pattern + " (only {\"String\": ...} here)");
    }

    private static boolean isBlank(Object o) {
        return o == null || (o instanceof String s && s.isEmpty());
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o, String what) {
        if (o instanceof Map<?, ?> m) {
            return (Map<String, Object>) m;
        }
        throw malformed(what, "expected a JSON object, found " + (o == null ? "null" : o.getClass().getSimpleName()));
    }

    static List<?> list(Object o, String what) {
        if (o instanceof List<?> l) {
            return l;
        }
        throw malformed(what, "expected a JSON array, found " + (o == null ? "null" : o.getClass().getSimpleName()));
    }

    static TokenizerException malformed(String source, String what) {
        return new TokenizerException(TokenizerException.Kind.MALFORMED, source + ": " + what);
    }

    static TokenizerException unsupported(String source, String what) {
        return new TokenizerException(TokenizerException.Kind.UNSUPPORTED, source + ": unsupported " + what);
    }
}
