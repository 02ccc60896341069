package dev.loraforge.convert;

import dev.loraforge.tokenizer.Tokenizer;
import dev.loraforge.tokenizer.Tokenizers;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The {@code tokenizer.*} metadata of a byte-level BPE vocabulary (Llama 3, Qwen2/3, GPT-2) as
 * convert_hf_to_gguf.py's {@code _set_vocab_gpt2} / {@code get_vocab_base} write it: model {@code gpt2},
 * {@code pre} identified by the sha256 of the token ids of a fixed check text (its
 * {@code get_vocab_base_pre} table), tokens and types, then merges and special tokens.
 */
public final class BpeVocabularyKvs {
    private BpeVocabularyKvs() {
    }

    /** The check text of {@code get_vocab_base_pre}. */
    static final String CHECK_TEXT = "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n\ud83d\ude80 (normal) \ud83d\ude36\u200d\ud83c\udf2b\ufe0f (multiple emojis concatenated) \u2705 \ud83e\udd99\ud83e\udd99 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 \u1780\u17b6\u1793\u17cb\u178f\u17c2\u1796\u17b7\u179f\u17c1\u179f\u17a2\u17b6\u1785\ud83d\ude01 ?\u6211\u60f3\u5728apple\u5de5\u4f5c1314151\u5929\uff5e ------======= \u043d\u0435\u0449\u043e \u043d\u0430 \u0411\u044a\u043b\u0433\u0430\u0440\u0441\u043a\u0438 ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL";

    /** chkhsh → tokenizer.ggml.pre, for the pre-tokenizers llama.cpp knows (a subset of its table). */
    static final Map<String, String> PRE_BY_HASH = Map.ofEntries(
            Map.entry("0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5", "llama-bpe"),
            Map.entry("c136ed14d01c2745d4f60a9596ae66800e2b61fa45643e72436041855ad4089d", "smaug-bpe"),
            Map.entry("e636dc30a262dcc0d8c323492e32ae2b70728f4df7dfe9737d9f920a282b8aea", "qwen2"),
            Map.entry("d4540891389ea895b53b399da6ac824becc30f2fba0e9ddbb98f92e55ca0e97c", "qwen2"),
            Map.entry("b3f499bb4255f8ca19fccd664443283318f2fd2414d5e0b040fbdd0cc195d6c5", "deepseek-r1-qwen"),
            Map.entry("3ce83efda5659b07b1ad37ca97ca5797ea4285d9b9ab0dc679e4a720c9da7454", "gpt-2"),
            Map.entry("049ecf7629871e3041641907f3de7c733e4dbfdc736f57d882ba0b0845599754", "deepseek-llm"),
            Map.entry("347715f544604f9118bb75ed199f68779f423cabb20db6de6f31b908d04d7821", "deepseek-coder"),
            Map.entry("877081d19cf6996e2c4ff0e1236341e9b7bde288f5311a56a937f0afbbb3aeb5", "deepseek-v3"),
            Map.entry("855059429035d75a914d1eda9f10a876752e281a054a7a3d421ef0533e5b6249", "smollm"),
            Map.entry("63b97e4253352e6f357cc59ea5b583e3a680eaeaf2632188c2b952de2588485e", "tekken"),
            Map.entry("d353350c764d8c3b39c763113960e4fb4919bea5fbf208a0e3b22e8469dc7406", "llama4"),
            Map.entry("9d032fcbd5501f4a38150912590928bfb36091efb5df11b8e2124b0390e3fb1e", "falcon3"),
            Map.entry("8aeee3860c56296a157a1fe2fad249ec40aa59b1bb5709f4ade11c4e6fe652ed", "falcon"),
            Map.entry("35d91631860c815f952d711435f48d356ebac988362536bed955d43bfa436e34", "starcoder"),
            Map.entry("fcace8b9cac38ce847670c970cd5892031a753a1ef381abd1d9af00f713da085", "phi-2"),
            Map.entry("ccc2ef013c104be7bae2965776d611e1d7a8a2a9c547dd93a682c9a9fc80352e", "gpt-4o"));

    /**
     * {@code sha256(str(tokenizer.encode(chktxt)))}: Hugging Face's encode with special tokens, i.e. the ids of
     * the text wrapped by tokenizer.json's TemplateProcessing {@code single} template, printed as a Python list.
     */
    static String checkHash(Tokenizer t, Map<String, Object> tokenizerJson) {
        List<Integer> ids = new ArrayList<>();
        for (int id : t.encode(CHECK_TEXT, false)) {
            ids.add(id);
        }
        ids = applySingleTemplate(ids, tokenizerJson.get("post_processor"));
        StringJoiner j = new StringJoiner(", ", "[", "]");
        for (int id : ids) {
            j.add(Integer.toString(id));
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(j.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** The {@code single} template of a TemplateProcessing post-processor (alone or in a Sequence) around {@code ids}. */
    static List<Integer> applySingleTemplate(List<Integer> ids, Object postProcessor) {
        if (!(postProcessor instanceof Map<?, ?> pp)) {
            return ids;
        }
        List<?> processors = pp.get("processors") instanceof List<?> l ? l : List.of(pp);
        for (Object o : processors) {
            if (!(o instanceof Map<?, ?> proc) || !"TemplateProcessing".equals(proc.get("type"))
                    || !(proc.get("single") instanceof List<?> single)) {
                continue;
            }
            Map<?, ?> specials = proc.get("special_tokens") instanceof Map<?, ?> m ? m : Map.of();
            List<Integer> out = new ArrayList<>();
            for (Object piece : single) {
                Map<?, ?> p = (Map<?, ?>) piece;
                if (p.get("Sequence") != null) {
                    out.addAll(ids);
                } else if (p.get("SpecialToken") instanceof Map<?, ?> st && specials.get(st.get("id")) instanceof Map<?, ?> sp
                        && sp.get("ids") instanceof List<?> spIds) {
                    spIds.forEach(x -> out.add(((Number) x).intValue()));
                }
            }
            ids = out;
        }
        return ids;
    }

    /** True when tokenizer.json holds a byte-level BPE model (what _set_vocab_gpt2 converts). */
    static boolean isByteLevelBpe(Map<String, Object> tokenizerJson) {
        return tokenizerJson.get("model") instanceof Map<?, ?> m && "BPE".equals(m.get("type"))
                && !Boolean.TRUE.equals(m.get("byte_fallback"));
    }

    /** {@code _set_vocab_gpt2}: appends the tokenizer keys to {@code out}. */
    public static void addGpt2(Path dir, HfConfig config, List<MetaKv> out) {
        addGpt2(dir, config, HfConfig.readJson(dir.resolve("tokenizer.json"), ConvertException.Kind.BAD_TOKENIZER), out);
    }

    static void addGpt2(Path dir, HfConfig config, Map<String, Object> tj, List<MetaKv> out) {
        Path file = dir.resolve("tokenizer.json");
        if (!isByteLevelBpe(tj)) {
            throw new ConvertException(ConvertException.Kind.BAD_TOKENIZER, file + ": not a byte-level BPE tokenizer");
        }
        Map<?, ?> vocab = (Map<?, ?>) ((Map<?, ?>) tj.get("model")).get("vocab");
        Map<Integer, String> byId = new HashMap<>();
        vocab.forEach((tok, id) -> byId.put(((Number) id).intValue(), (String) tok));
        Map<String, Map<?, ?>> added = new HashMap<>();
        if (tj.get("added_tokens") instanceof List<?> l) {
            for (Object o : l) {
                Map<?, ?> a = (Map<?, ?>) o;
                byId.put(((Number) a.get("id")).intValue(), (String) a.get("content"));
                added.put((String) a.get("content"), a);
            }
        }
        int maxId = byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1);
        long vocabSize = config.findLong("vocab_size").orElse((long) byId.size());
        if (maxId >= vocabSize) {
            throw new ConvertException(ConvertException.Kind.BAD_TOKENIZER, file + ": token id " + maxId
                    + " is beyond vocab_size " + vocabSize);
        }
        String hash = checkHash(Tokenizers.load(dir), tj);
        String pre = PRE_BY_HASH.get(hash);
        if (pre == null) {
            throw new ConvertException(ConvertException.Kind.BAD_TOKENIZER, dir + ": BPE pre-tokenizer not recognized "
                    + "(chkhsh " + hash + "); llama.cpp would need convert_hf_to_gguf_update.py for it too");
        }
        List<String> tokens = new ArrayList<>();
        List<Long> types = new ArrayList<>();
        for (int i = 0; i < vocabSize; i++) {
            String tok = byId.get(i);
            if (tok == null) {
                tokens.add("[PAD" + i + "]");
                types.add((long) VocabularyKvs.UNUSED);
                continue;
            }
            Map<?, ?> a = added.get(tok);
            if (a != null) {
                if (Boolean.TRUE.equals(a.get("special")) || VocabularyKvs.looksSpecial(tok)) {
                    types.add((long) VocabularyKvs.CONTROL);
                } else {
                    tok = tok.replace("\u2581", " ");
                    types.add((long) VocabularyKvs.USER_DEFINED);
                }
            } else {
                types.add((long) VocabularyKvs.NORMAL);
            }
            tokens.add(tok);
        }
        SpecialVocab.put(out, MetaKv.string("tokenizer.ggml.model", "gpt2"));
        SpecialVocab.put(out, MetaKv.string("tokenizer.ggml.pre", pre));
        SpecialVocab.put(out, MetaKv.array("tokenizer.ggml.tokens", KvType.STRING, tokens));
        SpecialVocab.put(out, MetaKv.array("tokenizer.ggml.token_type", KvType.INT32, types));
        new SpecialVocab(dir, true, null, null, tj).addTo(out);
    }
}
