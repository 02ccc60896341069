package dev.loraforge.convert;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * gguf-py {@code SpecialVocab}: special token ids, the add_bos/add_eos/add_sep flags, BPE merges and the
 * chat template, read from {@code tokenizer.json}, {@code tokenizer_config.json}, {@code chat_template.jinja}
 * / {@code .json} and {@code config.json}, with the same precedence and the same insertion order (which
 * decides the order of the GGUF keys).
 */
public final class SpecialVocab {
    public static final List<String> DEFAULT_TYPES = List.of("bos", "eos", "unk", "sep", "pad", "cls", "mask");

    private final Integer nVocab;
    private final boolean loadMerges;
    private List<String> types;
    private final Map<String, Long> ids = new LinkedHashMap<>();
    private final Map<String, Boolean> addSpecial = new LinkedHashMap<>();
    private List<String> merges = new ArrayList<>();
    private String chatTemplate;
    private boolean normalizerLowercase;

    public SpecialVocab(Path dir, boolean loadMerges, List<String> types, Integer nVocab) {
        this(dir, loadMerges, types, nVocab, null);
    }

    /** With {@code tokenizerJson} already parsed (large BPE vocabularies are read once). */
    SpecialVocab(Path dir, boolean loadMerges, List<String> types, Integer nVocab, Map<String, Object> tokenizerJson) {
        this.nVocab = nVocab;
        this.loadMerges = loadMerges;
        this.types = new ArrayList<>(types == null ? DEFAULT_TYPES : types);
        loadFromTokenizerJson(dir, tokenizerJson);
        loadFromConfigJson(dir);
        if (loadMerges && merges.isEmpty()) {
            loadMergesTxt(dir);
        }
    }

    public Map<String, Long> specialTokenIds() {
        return ids;
    }

    public List<String> merges() {
        return merges;
    }

    public String chatTemplate() {
        return chatTemplate;
    }

    /** {@code special_vocab.chat_template = None}: when a second SpecialVocab must not add it twice. */
    public void clearChatTemplate() {
        chatTemplate = null;
    }

    /** {@code _set_special_token}: the first id for a type wins; ids ≥ n_vocab are skipped. */
    public void setSpecialToken(String type, Object id) {
        if (!HfConfig.isInteger(id)) {
            return;
        }
        long tid = ((Number) id).longValue();
        if (tid < 0) {
            throw new ConvertException(ConvertException.Kind.BAD_TOKENIZER, "invalid value for special token type " + type + ": " + tid);
        }
        if (nVocab == null || tid < nVocab) {
            ids.putIfAbsent(type, tid);
        }
    }

    /** {@code add_to_gguf}: merges, ids, add flags, chat template, lowercase normalizer, in that order. */
    public void addTo(List<MetaKv> out) {
        if (!merges.isEmpty()) {
            put(out, MetaKv.array("tokenizer.ggml.merges", KvType.STRING, merges));
        }
        ids.forEach((type, id) -> {
            String key = idKey(type);
            if (key != null) {
                put(out, MetaKv.u32(key, id));
            }
        });
        addSpecial.forEach((type, v) -> {
            if (List.of("bos", "eos", "sep").contains(type)) { // gguf_writer has add_add_{bos,eos,sep}_token only
                put(out, MetaKv.bool("tokenizer.ggml.add_" + type + "_token", v));
            }
        });
        if (chatTemplate != null && !chatTemplate.isEmpty()) {
            put(out, MetaKv.string("tokenizer.chat_template", chatTemplate));
        }
        if (normalizerLowercase) {
            put(out, MetaKv.bool("tokenizer.ggml.normalizer.lowercase", true));
        }
    }

    /** GGUFWriter.add_key_value: a repeated key replaces the value in place. */
    static void put(List<MetaKv> out, MetaKv kv) {
        for (int i = 0; i < out.size(); i++) {
            if (out.get(i).key().equals(kv.key())) {
                out.set(i, kv);
                return;
            }
        }
        out.add(kv);
    }

    private static String idKey(String type) {
        return switch (type) {
            case "bos" -> "tokenizer.ggml.bos_token_id";
            case "eos" -> "tokenizer.ggml.eos_token_id";
            case "eot" -> "tokenizer.ggml.eot_token_id";
            case "eom" -> "tokenizer.ggml.eom_token_id";
            case "unk" -> "tokenizer.ggml.unknown_token_id";
            case "sep" -> "tokenizer.ggml.seperator_token_id"; // sic: llama.cpp's spelling
            case "pad" -> "tokenizer.ggml.padding_token_id";
            case "cls" -> "tokenizer.ggml.cls_token_id";
            case "mask" -> "tokenizer.ggml.mask_token_id";
            case "prefix" -> "tokenizer.ggml.prefix_token_id";
            case "suffix" -> "tokenizer.ggml.suffix_token_id";
            case "middle" -> "tokenizer.ggml.middle_token_id";
            default -> null;
        };
    }

    private void loadMergesTxt(Path dir) {
        Path f = dir.resolve("merges.txt");
        if (!Files.isRegularFile(f)) {
            return;
        }
        try {
            List<String> lines = Files.readAllLines(f);
            List<String> out = new ArrayList<>();
            int start = !lines.isEmpty() && lines.get(0).strip().startsWith("#") ? 1 : 0;
            for (int i = start; i < lines.size(); i++) {
                String line = lines.get(i).strip();
                if (line.isEmpty()) {
                    continue;
                }
                String[] parts = line.split("\\s+");
                if (parts.length == 2) {
                    out.add(parts[0] + " " + parts[1]);
                }
            }
            merges = out;
        } catch (IOException e) {
            throw new ConvertException(ConvertException.Kind.BAD_TOKENIZER, "cannot read " + f + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, Object> map(Object o) {
        if (o instanceof Map<?, ?> m) {
            @SuppressWarnings("unchecked")
            Map<String, Object> r = (Map<String, Object>) m;
            return r;
        }
        return Map.of();
    }

    private static Object specialTokenId(Object entry) {
        return entry instanceof Map<?, ?> m ? map(m.get("SpecialToken")).get("id") : null;
    }

    private static boolean truthy(Object o) {
        return o != null && !(o instanceof String s && s.isEmpty()) && !(o instanceof Boolean b && !b);
    }

    private void loadFromTokenizerJson(Path dir, Map<String, Object> parsed) {
        Map<String, Object> tokenizer = null;
        List<?> addedTokens = List.of();
        Path tj = dir.resolve("tokenizer.json");
        if (parsed != null || Files.isRegularFile(tj)) {
            tokenizer = parsed != null ? parsed : HfConfig.readJson(tj, ConvertException.Kind.BAD_TOKENIZER);
            if (loadMerges) {
                Object m = map(tokenizer.get("model")).get("merges");
                if (m instanceof List<?> l && !l.isEmpty()) {
                    merges = mergesOf(l, tj);
                }
            }
            if (tokenizer.get("normalizer") instanceof Map<?, ?> norm) {
                parseNormalizer(map(norm));
            }
            if (tokenizer.get("added_tokens") instanceof List<?> l) {
                addedTokens = l;
            }
        }
        Map<String, Object> config = null;
        Path tc = dir.resolve("tokenizer_config.json");
        if (Files.isRegularFile(tc)) {
            config = new LinkedHashMap<>(HfConfig.readJson(tc, ConvertException.Kind.BAD_TOKENIZER));
        }
        if (tokenizer != null && !tokenizer.isEmpty()) {
            Map<String, Object> cfg = config == null ? Map.of() : config;
            Object bos = cfg.get("bos_token");
            Object cls = cfg.get("cls_token");
            Object eos = cfg.get("eos_token");
            Object sep = cfg.get("sep_token");
            boolean haveConfig = config != null && !config.isEmpty();
            if (!truthy(bos) && truthy(cls) && haveConfig) {
                config.put("bos_token", cls);
                bos = cls;
            }
            if (!truthy(eos) && truthy(sep) && haveConfig) {
                config.put("eos_token", sep);
                eos = sep;
            }
            Map<String, Object> post = map(tokenizer.get("post_processor"));
            if (!post.isEmpty()) {
                List<?> processors = post.get("processors") instanceof List<?> l ? l : List.of(post);
                for (Object p : processors) {
                    Map<String, Object> proc = map(p);
                    if ("RobertaProcessing".equals(proc.get("type"))) {
                        addSpecial.put("bos", true);
                        addSpecial.put("eos", true);
                        addSpecial.put("sep", true);
                        if (!truthy(cls) && haveConfig) {
                            cls = proc.get("cls") instanceof List<?> c && !c.isEmpty() ? c.get(0) : bos;
                            config.put("cls_token", cls);
                        }
                        if (!truthy(sep) && haveConfig) {
                            sep = proc.get("sep") instanceof List<?> s && !s.isEmpty() ? s.get(0) : eos;
                            config.put("sep_token", sep);
                        }
                        continue;
                    }
                    if (!"TemplateProcessing".equals(proc.get("type"))) {
                        continue;
                    }
                    List<?> single = proc.get("single") instanceof List<?> l ? l : List.of();
                    List<?> pair = proc.get("pair") instanceof List<?> l ? l : List.of();
                    Object first = null;
                    Object last = null;
                    if (single.size() > 1) {
                        first = specialTokenId(single.get(0));
                        if (truthy(first)) {
                            if (!haveConfig) {
                                bos = first;
                            }
                            addSpecial.put("bos", first.equals(bos) || first.equals(cls));
                        }
                        last = specialTokenId(single.get(single.size() - 1));
                        if (truthy(last)) {
                            if (!haveConfig) {
                                eos = last;
                            } else if (!last.equals(eos)) {
                                if (!types.contains("eot")) {
                                    types.add("eot");
                                    config.put("eot_token", eos);
                                } else if (!types.contains("eom")) {
                                    types.add("eom");
                                    config.put("eom_token", eos);
                                }
                                config.put("eos_token", last);
                                eos = last;
                            }
                            addSpecial.put("eos", last.equals(eos));
                        }
                    }
                    if (!pair.isEmpty()) {
                        int seqStart = truthy(first) && first.equals(specialTokenId(pair.get(0))) ? 1 : 0;
                        int seqStop = truthy(last) && last.equals(specialTokenId(pair.get(pair.size() - 1)))
                                ? pair.size() - 1 : pair.size();
                        List<?> mid = seqStart <= seqStop ? pair.subList(seqStart, seqStop) : List.of();
                        if (!mid.isEmpty()) {
                            Object a = map(map(mid.get(0)).get("Sequence")).get("id");
                            Object b = map(map(mid.get(mid.size() - 1)).get("Sequence")).get("id");
                            if ("A".equals(a) && "B".equals(b) && mid.size() > 2) {
                                List<?> inner = mid.subList(1, mid.size() - 1);
                                boolean addSep = false;
                                Object entry = specialTokenId(inner.get(0));
                                if (truthy(entry) && (entry.equals(sep) || entry.equals(eos)) && !truthy(last)) {
                                    addSep = true;
                                }
                                if (inner.size() == 2) {
                                    Object entry2 = specialTokenId(inner.get(1));
                                    if (truthy(entry2) && (entry2.equals(sep) || entry2.equals(eos))) {
                                        addSep = true;
                                    }
                                }
                                addSpecial.put("sep", addSep);
                                if (addSep && !truthy(sep) && haveConfig) {
                                    config.put("sep_token", eos);
                                }
                            }
                        }
                    }
                }
            }
        }
        if (config == null || config.isEmpty()) {
            return;
        }
        String alt = null;
        Path jinja = dir.resolve("chat_template.jinja");
        Path ctJson = dir.resolve("chat_template.json");
        try {
            if (Files.isRegularFile(jinja)) {
                alt = Files.readString(jinja); // additional_chat_templates/ (a list of templates) is not supported
            } else if (Files.isRegularFile(ctJson)
                    && HfConfig.readJson(ctJson, ConvertException.Kind.BAD_TOKENIZER).get("chat_template") instanceof String s) {
                alt = s;
            }
        } catch (IOException e) {
            throw new ConvertException(ConvertException.Kind.BAD_TOKENIZER, "cannot read " + jinja + ": " + e.getMessage(), e);
        }
        Object ct = config.containsKey("chat_template") ? config.get("chat_template") : alt;
        if (ct instanceof String s) {
            chatTemplate = s;
        }
        for (String type : types) {
            if (config.get("add_" + type + "_token") instanceof Boolean b) {
                addSpecial.put(type, b);
            }
            Object entry = config.get(type + "_token");
            String content;
            if (entry instanceof String s) {
                content = s;
            } else if (entry instanceof Map<?, ?> m && m.get("content") instanceof String s) {
                content = s;
            } else {
                continue;
            }
            Object id = null;
            for (Object t : addedTokens) {
                Map<String, Object> tok = map(t);
                if (content.equals(tok.get("content"))) {
                    id = tok.get("id");
                    break;
                }
            }
            setSpecialToken(type, id);
        }
    }

    private static List<String> mergesOf(List<?> l, Path file) {
        List<String> out = new ArrayList<>(l.size());
        if (l.get(0) instanceof String) {
            for (Object o : l) {
                out.add((String) o);
            }
            return out;
        }
        if (l.get(0) instanceof List<?> p0 && p0.size() == 2 && p0.get(0) instanceof String) {
            for (Object o : l) {
                List<?> pair = (List<?>) o;
                // spaces inside a merge part are encoded as U+0120 (' ' + 256), as gguf-py does
                out.add(((String) pair.get(0)).replace(' ', '\u0120') + " " + ((String) pair.get(1)).replace(' ', '\u0120'));
            }
            return out;
        }
        throw new ConvertException(ConvertException.Kind.BAD_TOKENIZER, file + ": unknown tokenizer merges format");
    }

    private void parseNormalizer(Map<String, Object> n) {
        Object type = n.get("type");
        if ("Lowercase".equals(type)) {
            normalizerLowercase = true;
        } else if ("BertNormalizer".equals(type)) {
            if (!(n.get("lowercase") instanceof Boolean b) || b) {
                normalizerLowercase = true;
            }
        } else if ("Sequence".equals(type) && n.get("normalizers") instanceof List<?> l) {
            for (Object o : l) {
                parseNormalizer(map(o));
            }
        }
    }

    private void loadFromConfigJson(Path dir) {
        Path f = dir.resolve("config.json");
        if (!Files.isRegularFile(f)) {
            return;
        }
        Map<String, Object> config = HfConfig.readJson(f, ConvertException.Kind.BAD_CONFIG);
        for (String type : types) {
            Object id = config.get(type + "_token_id");
            if (id == null && config.get("text_config") instanceof Map<?, ?> tc) {
                id = tc.get(type + "_token_id");
            }
            setSpecialToken(type, id);
        }
    }
}
