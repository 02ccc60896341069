package dev.loraforge.convert;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * convert_hf_to_gguf.py's {@code _set_vocab_llama_hf} (gguf-py {@code LlamaHfVocab}): a SentencePiece-style BPE
 * {@code tokenizer.json} (byte fallback, decoder Sequence) without {@code tokenizer.model}. Every score is
 * -1000, {@code <0xXX>} pieces are BYTE, special tokens CONTROL, added tokens past the base vocabulary
 * USER_DEFINED (or CONTROL when special).
 */
public final class LlamaHfVocabularyKvs {
    private LlamaHfVocabularyKvs() {
    }

    private static final Pattern BYTE_TOKEN = Pattern.compile("<0x[0-9A-Fa-f]{2}>");

    /** True for what LlamaHfVocab accepts (and not Llama 3, which it hands to the GPT-2 path). */
    static boolean accepts(Map<String, Object> tj) {
        return tj.get("model") instanceof Map<?, ?> m && "BPE".equals(m.get("type")) && Boolean.TRUE.equals(m.get("byte_fallback"))
                && tj.get("decoder") instanceof Map<?, ?> d && "Sequence".equals(d.get("type"));
    }

    static void add(Path dir, Map<String, Object> tj, List<MetaKv> out) {
        Map<?, ?> vocab = (Map<?, ?>) ((Map<?, ?>) tj.get("model")).get("vocab");
        Map<Integer, String> byId = new HashMap<>();
        Map<String, Integer> idOf = new HashMap<>();
        vocab.forEach((t, id) -> {
            byId.put(((Number) id).intValue(), (String) t);
            idOf.put((String) t, ((Number) id).intValue());
        });
        int base = vocab.size();
        TreeMap<Integer, String> addedPast = new TreeMap<>();
        if (tj.get("added_tokens") instanceof List<?> l) {
            for (Object o : l) {
                Map<?, ?> a = (Map<?, ?>) o;
                int id = ((Number) a.get("id")).intValue();
                String content = (String) a.get("content");
                idOf.putIfAbsent(content, id);
                if (id >= base) {
                    addedPast.put(id, content);
                }
            }
        }
        // tokenizer.all_special_tokens: the named special tokens and additional_special_tokens of the config
        Set<Integer> specialIds = new HashSet<>();
        Set<String> specials = new HashSet<>();
        Path tc = dir.resolve("tokenizer_config.json");
        Path stm = dir.resolve("special_tokens_map.json");
        for (Path f : List.of(stm, tc)) {
            if (!Files.isRegularFile(f)) {
                continue;
            }
            Map<String, Object> cfg = HfConfig.readJson(f, ConvertException.Kind.BAD_TOKENIZER);
            for (String k : List.of("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")) {
                String c = content(cfg.get(k));
                if (c != null) {
                    specials.add(c);
                }
            }
            if (cfg.get("additional_special_tokens") instanceof List<?> extra) {
                extra.forEach(e -> {
                    String c = content(e);
                    if (c != null) {
                        specials.add(c);
                    }
                });
            }
        }
        for (String s : specials) {
            if (idOf.containsKey(s)) {
                specialIds.add(idOf.get(s));
            }
        }
        List<String> tokens = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        List<Long> types = new ArrayList<>();
        for (int id = 0; id < base; id++) {
            String t = byId.get(id);
            if (t == null) {
                throw new ConvertException(ConvertException.Kind.BAD_TOKENIZER, dir + ": tokenizer.json has no token with id " + id);
            }
            tokens.add(t);
            scores.add(-1000.0f);
            types.add((long) (BYTE_TOKEN.matcher(t).matches() ? VocabularyKvs.BYTE
                    : specialIds.contains(id) ? VocabularyKvs.CONTROL : VocabularyKvs.NORMAL));
        }
        for (var e : addedPast.entrySet()) {
            tokens.add(e.getValue());
            scores.add(-1000.0f);
            types.add((long) (specials.contains(e.getValue()) && specialIds.contains(idOf.get(e.getValue()))
                    ? VocabularyKvs.CONTROL : VocabularyKvs.USER_DEFINED));
        }
        SpecialVocab.put(out, MetaKv.string("tokenizer.ggml.model", "llama"));
        SpecialVocab.put(out, MetaKv.string("tokenizer.ggml.pre", "default"));
        SpecialVocab.put(out, MetaKv.array("tokenizer.ggml.tokens", KvType.STRING, tokens));
        SpecialVocab.put(out, MetaKv.array("tokenizer.ggml.scores", KvType.FLOAT32, scores));
        SpecialVocab.put(out, MetaKv.array("tokenizer.ggml.token_type", KvType.INT32, types));
        new SpecialVocab(dir, false, null, tokens.size(), tj).addTo(out);
    }

    private static String content(Object o) {
        if (o instanceof String s) {
            return s;
        }
        return o instanceof Map<?, ?> m && m.get("content") instanceof String s ? s : null;
    }
}
