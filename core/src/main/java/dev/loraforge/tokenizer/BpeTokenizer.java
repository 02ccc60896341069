package dev.loraforge.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.function.Function;

/**
 * Merge-rank BPE tokenizers: byte-level (GPT-2, Llama-3, Qwen2/3) and SentencePiece-converted
 * vocabularies with byte fallback (Llama-2 tokenizer.json). Added tokens are cut out first, the text
 * between them is normalized and pre-tokenized, then each word goes through {@link BpeModel}.
 */
public final class BpeTokenizer implements Tokenizer {

    /** How ids turn back into text. */
    enum Decoding {
        /** GPT-2 byte-to-unicode characters back to bytes. */
        BYTE_LEVEL,
        /** {@code ▁} back to space, {@code <0xXX>} tokens to bytes (Llama-2 tokenizer.json). */
        SPACE_MARKER
    }

    /** Everything a tokenizer is made of; loaders fill it. */
    record Spec(String source, Map<String, Integer> vocab, List<String[]> merges, Map<String, Integer> addedTokens,
                BitSet specialIds, BitSet lstripIds, BitSet rstripIds, TextPipeline pipeline, int unk, boolean fuseUnk, boolean byteFallback,
                boolean ignoreMerges, int[] prefix, int[] suffix, int bos, int eos, Decoding decoding,
                boolean stripLeadingSpace) {
    }

    /** Largest vocabulary accepted (real ones are < 300k); guards the id table against hostile ids. */
    public static final int MAX_VOCAB = 1 << 24;

    private final Spec spec;
    private final String[] tokens;
    private final BpeModel model;
    private final SpecialTokenSplitter splitter;
    private final BitSet addedIds = new BitSet();

    BpeTokenizer(Spec spec) {
        this.spec = spec;
        long size = 0;
        for (int id : spec.vocab().values()) {
            size = Math.max(size, id + 1L);
        }
        for (int id : spec.addedTokens().values()) {
            size = Math.max(size, id + 1L);
        }
        if (size > MAX_VOCAB) {
            throw new TokenizerException(TokenizerException.Kind.MALFORMED,
                    spec.source() + ": token id " + (size - 1) + " exceeds the vocabulary limit " + MAX_VOCAB);
        }
        tokens = new String[(int) size];
        spec.vocab().forEach((t, id) -> {
            if (id < 0) {
                throw new TokenizerException(TokenizerException.Kind.BAD_TOKEN_ID, spec.source() + ": token '" + t + "' has id " + id);
            }
            tokens[id] = t;
        });
        spec.addedTokens().forEach((t, id) -> {
            if (id < 0) {
                throw new TokenizerException(TokenizerException.Kind.BAD_TOKEN_ID, spec.source() + ": added token '" + t + "' has id " + id);
            }
            tokens[id] = t;
            addedIds.set(id);
        });
        model = new BpeModel(spec.source(), spec.vocab(), spec.merges(), spec.unk(), spec.fuseUnk(), spec.byteFallback(), spec.ignoreMerges());
        splitter = new SpecialTokenSplitter(spec.addedTokens(), spec.lstripIds(), spec.rstripIds());
    }

    /** The same tokenizer adding {@code prefix}/{@code suffix} ids when special tokens are requested. */
    public BpeTokenizer withAddSpecial(boolean addBos, boolean addEos) {
        Spec s = spec;
        int[] prefix = addBos && s.bos() >= 0 ? new int[] {s.bos()} : new int[0];
        int[] suffix = addEos && s.eos() >= 0 ? new int[] {s.eos()} : new int[0];
        return new BpeTokenizer(new Spec(s.source(), s.vocab(), s.merges(), s.addedTokens(), s.specialIds(), s.lstripIds(), s.rstripIds(), s.pipeline(),
                s.unk(), s.fuseUnk(), s.byteFallback(), s.ignoreMerges(), prefix, suffix, s.bos(), s.eos(), s.decoding(),
                s.stripLeadingSpace()));
    }

    /** Same, with explicit BOS/EOS ids (from tokenizer_config.json's bos_token/eos_token). */
    BpeTokenizer withSpecialIds(int bos, int eos) {
        Spec s = spec;
        return new BpeTokenizer(new Spec(s.source(), s.vocab(), s.merges(), s.addedTokens(), s.specialIds(), s.lstripIds(), s.rstripIds(), s.pipeline(),
                s.unk(), s.fuseUnk(), s.byteFallback(), s.ignoreMerges(), s.prefix(), s.suffix(), bos, eos, s.decoding(),
                s.stripLeadingSpace()));
    }

    @Override
    public int[] encode(String text, boolean addSpecial) {
        IntList out = new IntList();
        if (addSpecial) {
            for (int id : spec.prefix()) {
                out.add(id);
            }
        }
        boolean atStart = true;
        for (SpecialTokenSplitter.Segment seg : splitter.split(text)) {
            if (seg.isToken()) {
                out.add(seg.id());
            } else {
                for (String word : spec.pipeline().words(seg.text(), atStart)) {
                    model.encodeWord(word, out);
                }
            }
            atStart = false;
        }
        if (addSpecial) {
            for (int id : spec.suffix()) {
                out.add(id);
            }
        }
        return out.toArray();
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            String t = tokenText(id);
            if (addedIds.get(id)) {
                bytes.writeBytes(t.getBytes(StandardCharsets.UTF_8));
            } else if (spec.decoding() == Decoding.BYTE_LEVEL) {
                for (int i = 0; i < t.length(); i++) {
                    int b = ByteLevel.byteOf(t.charAt(i));
                    if (b >= 0) {
                        bytes.write(b);
                    } else {
                        bytes.writeBytes(String.valueOf(t.charAt(i)).getBytes(StandardCharsets.UTF_8));
                    }
                }
            } else if (t.length() == 6 && t.startsWith("<0x") && t.endsWith(">") && spec.byteFallback()) {
                bytes.write(Integer.parseInt(t, 3, 5, 16));
            } else {
                bytes.writeBytes(t.replace(SentencePieceTokenizer.SPACE, " ").getBytes(StandardCharsets.UTF_8));
            }
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        return spec.stripLeadingSpace() && text.startsWith(" ") ? text.substring(1) : text;
    }

    @Override
    public String tokenText(int id) {
        if (id < 0 || id >= tokens.length || tokens[id] == null) {
            throw new TokenizerException(TokenizerException.Kind.BAD_TOKEN_ID,
                    spec.source() + ": token id " + id + " outside vocabulary of " + tokens.length);
        }
        return tokens[id];
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public OptionalInt bos() {
        return spec.bos() >= 0 ? OptionalInt.of(spec.bos()) : OptionalInt.empty();
    }

    @Override
    public OptionalInt eos() {
        return spec.eos() >= 0 ? OptionalInt.of(spec.eos()) : OptionalInt.empty();
    }

    @Override
    public boolean isSpecial(int id) {
        tokenText(id);
        return spec.specialIds().get(id);
    }

    /** GGUF {@code tokenizer.ggml.model = gpt2}: tokens, merges and the pre-tokenizer named by {@code tokenizer.ggml.pre}. */
    static BpeTokenizer fromGguf(Function<String, Object> kv) {
        String[] toks = GgufVocabulary.tokens(kv);
        TokenType[] types = GgufVocabulary.types(kv, toks.length);
        Map<String, Integer> vocab = new HashMap<>(toks.length * 2);
        Map<String, Integer> added = new HashMap<>();
        BitSet special = new BitSet();
        for (int i = 0; i < toks.length; i++) {
            vocab.put(toks[i], i);
            if (types[i] == TokenType.CONTROL || types[i] == TokenType.USER_DEFINED) {
                added.put(toks[i], i);
            }
            if (types[i] == TokenType.CONTROL) {
                special.set(i);
            }
        }
        Object m = kv.apply(GgufVocabulary.MERGES);
        if (!(m instanceof List<?> mergeList)) {
            throw new TokenizerException(TokenizerException.Kind.MISSING_FIELD, "GGUF has no " + GgufVocabulary.MERGES + " array");
        }
        List<String[]> merges = new ArrayList<>(mergeList.size());
        for (Object o : mergeList) {
            merges.add(splitMerge(String.valueOf(o), "GGUF " + GgufVocabulary.MERGES));
        }
        String pre = kv.apply(GgufVocabulary.PRE) instanceof String s ? s : "default";
        String regex = switch (pre) {
            case "gpt-2", "gpt2", "default" -> ByteLevel.GPT2_REGEX;
            case "llama3", "llama-v3", "llama-bpe" -> PreTokenizerRegex.LLAMA3;
            case "qwen2", "qwen35" -> PreTokenizerRegex.QWEN2;
            default -> throw new TokenizerException(TokenizerException.Kind.UNSUPPORTED,
                    "GGUF " + GgufVocabulary.PRE + " = '" + pre + "' (supported: gpt-2, llama3/llama-bpe, qwen2)");
        };
        boolean llama3 = regex.equals(PreTokenizerRegex.LLAMA3);
        TextPipeline pipeline = new TextPipeline(List.of(), List.of(new TextPipeline.Split(TextPipeline.compile(regex), false)), true);
        int bos = GgufVocabulary.intOr(kv, GgufVocabulary.BOS_ID, -1);
        int eos = GgufVocabulary.intOr(kv, GgufVocabulary.EOS_ID, -1);
        boolean addBos = GgufVocabulary.boolOr(kv, GgufVocabulary.ADD_BOS, llama3);
        boolean addEos = GgufVocabulary.boolOr(kv, GgufVocabulary.ADD_EOS, false);
        int[] prefix = addBos && bos >= 0 ? new int[] {bos} : new int[0];
        int[] suffix = addEos && eos >= 0 ? new int[] {eos} : new int[0];
        return new BpeTokenizer(new Spec("GGUF vocabulary", vocab, merges, added, special, new BitSet(), new BitSet(), pipeline,
                GgufVocabulary.intOr(kv, GgufVocabulary.UNK_ID, -1), false, false, llama3, prefix, suffix, bos, eos,
                Decoding.BYTE_LEVEL, false));
    }

    /** {@code "a b"}: the space is searched from the second character, as llama.cpp does. */
    static String[] splitMerge(String merge, String where) {
        int sp = merge.indexOf(' ', 1);
        if (sp < 0) {
            throw new TokenizerException(TokenizerException.Kind.MALFORMED, where + ": merge '" + merge + "' has no space");
        }
        return new String[] {merge.substring(0, sp), merge.substring(sp + 1)};
    }
}
