package dev.loraforge.model;

import dev.loraforge.tensor.DType;
import dev.loraforge.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * {@code verify}: runs a reference (HF folder or GGUF, PEFT adapters applied unmerged) and a candidate over
 * the same tokens and decides whether they are equivalent. Metrics: |Δlogit|, KL(P_ref ‖ P_cand) per
 * position, top-1 agreement, perplexity of each, the relative error of every layer's hidden state, a
 * structural diff of the tensors, and tokenizer/chat-template agreement. The verdict applies the
 * {@link VerifyThresholds} row of the candidate's kind. The library never prints.
 */
public final class Verification {

    /** Evaluated when no text is given: plain English a story model and a chat model both tokenize well. */
    public static final String DEFAULT_TEXT = "Once upon a time, there was a little girl named Lily. She loved to play"
            + " outside in the park with her dog, Max. One day, the sun was hot and the sky was blue. Lily and Max ran"
            + " to the big tree and found a red ball. \"Look, Max!\" she said. \"Let's play!\" They played all day,"
            + " and when the sun went down, they went home happy.";

    /**
     * Reference log-probability gap (nats) under which the candidate's different top token still counts as
     * agreeing: quantization noise flips near-ties, which says nothing about the model being broken.
     */
    public static final double NEAR_TIE = 0.1;

    /** Where a model comes from: a folder or a {@code .gguf} file, plus PEFT adapters applied unmerged. */
    public record Spec(Path model, List<Path> adapters) {
        public Spec {
            adapters = List.copyOf(adapters);
        }
    }

    /**
     * @param ctx        tokens per evaluated sequence; longer texts are cut into consecutive windows
     * @param thresholds null = the table's row for the candidate's kind
     * @param inPlace    decode weight rows from the mapped files at every use instead of float32 copies of every
     *                   matrix; null = only when the copies of both models would not fit in half the heap
     */
    public record Options(int ctx, VerifyThresholds thresholds, boolean structural, Boolean inPlace) {
        public Options(int ctx, VerifyThresholds thresholds, boolean structural) {
            this(ctx, thresholds, structural, null);
        }

        public static Options defaults() {
            return new Options(512, null, true, null);
        }
    }

    /** One evaluated sequence (a prompt, or a window of the text). */
    public record Sequence(String label, int tokens, Compare.LogitStats logits, double pplReference,
                           double pplCandidate) {
    }

    /**
     * Everything {@code verify} reports. {@code klPerPosition} holds every position's KL (for the
     * histogram); {@code problems} are the reasons for NOT EQUIVALENT, empty when equivalent. When the models
     * cannot be compared (different layers, width or vocabulary) {@code logits} is null and the lists are empty.
     */
    public record Result(String reference, String candidate, String candidateKind, VerifyThresholds thresholds,
                         List<Sequence> sequences, Compare.LogitStats logits, double top1NearTie, double pplReference,
                         double pplCandidate, List<Compare.LayerError> layers, double[] klPerPosition,
                         StructuralDiff.Result structure, List<String> tokenizerProblems, List<String> problems) {
        public Result {
            sequences = List.copyOf(sequences);
            layers = List.copyOf(layers);
            klPerPosition = klPerPosition.clone();
            tokenizerProblems = List.copyOf(tokenizerProblems);
            problems = List.copyOf(problems);
        }

        @Override
        public double[] klPerPosition() {
            return klPerPosition.clone();
        }

        public boolean equivalent() {
            return problems.isEmpty();
        }

        /** False when the models could not run side by side: no logit or layer metrics (logits() is null). */
        public boolean compared() {
            return logits != null;
        }

        /** The first layer whose mean relative error exceeds 10x the one before it (where a difference starts). */
        public Optional<Compare.LayerError> firstJump() {
            for (int i = 0; i < layers.size(); i++) {
                double prev = i == 0 ? 0 : layers.get(i - 1).meanRelative();
                double cur = layers.get(i).meanRelative();
                if (cur > 1e-3 && cur > 10 * prev) {
                    return Optional.of(layers.get(i));
                }
            }
            return Optional.empty();
        }

        /** {@code verdict: EQUIVALENT (...)} or {@code verdict: NOT EQUIVALENT: reasons (...)}. */
        public String verdictLine() {
            return equivalent() ? "verdict: EQUIVALENT (" + thresholds + ")"
                    : "verdict: NOT EQUIVALENT: " + String.join("; ", problems) + " (" + thresholds + ")";
        }
    }

    private Verification() {
    }

    /**
     * Verifies {@code candidate} against {@code reference} on {@code texts} (each tokenized with the
     * reference's tokenizer, BOS as its config says). {@code texts} empty = {@link #DEFAULT_TEXT}.
     */
    public static Result run(Spec reference, Spec candidate, List<String> texts, Options options) throws IOException {
        if (options.ctx() < 2) {
            throw new ModelException(ModelException.Kind.OUT_OF_RANGE, "--ctx must be at least 2, got " + options.ctx());
        }
        List<String> inputs = texts.isEmpty() ? List.of(DEFAULT_TEXT) : texts;
        boolean inPlace = options.inPlace() != null ? options.inPlace()
                : 2 * (floatBytes(reference.model()) + floatBytes(candidate.model())) > Runtime.getRuntime().maxMemory();
        try (VerifyModel ref = VerifyModel.open(reference, inPlace);
             VerifyModel cand = VerifyModel.open(candidate, inPlace)) {
            if (ref.tokenizer == null) {
                throw new ModelException(ModelException.Kind.BAD_WEIGHT, reference.model()
                        + " has no tokenizer (tokenizer.json or tokenizer.model); verify needs one to tokenize the text");
            }
            List<String> tokProblems = new ArrayList<>();
            List<int[]> ids = new ArrayList<>();
            for (int i = 0; i < inputs.size(); i++) {
                int[] r = ref.tokenizer.encode(inputs.get(i), true);
                if (r.length == 0) {
                    continue;
                }
                ids.add(r);
                if (cand.tokenizer != null) {
                    tokenMismatch(r, cand.tokenizer.encode(inputs.get(i), true), inputs.size() == 1 ? "the text" : "prompt " + (i + 1))
                            .ifPresent(tokProblems::add);
                }
            }
            if (ids.isEmpty()) {
                throw new ModelException(ModelException.Kind.OUT_OF_RANGE, "the text gives no tokens to evaluate");
            }
            tokProblems.addAll(tokenizerProblems(ref, cand));
            String kind = kind(ref, cand);
            VerifyThresholds t = options.thresholds() != null ? options.thresholds()
                    : VerifyThresholds.forKind(kind).orElseGet(() -> VerifyThresholds.forKind("Q2_K").orElseThrow());
            StructuralDiff.Result structure = options.structural() ? StructuralDiff.compare(ref.side, cand.side) : null;
            Optional<String> incompatible = incompatibility(ref.model.config(), cand.model.config());
            if (incompatible.isPresent()) {
                // not runnable side by side (e.g. a vocabulary that lost added tokens): say why, no metrics
                List<String> problems = new ArrayList<>(List.of(incompatible.get()));
                problems.addAll(tokProblems);
                return new Result(ref.describe(), cand.describe(), kind, t, List.of(), null, Double.NaN, Double.NaN,
                        Double.NaN, List.of(), new double[0], structure, tokProblems, problems);
            }
            int ctx = Math.min(options.ctx(), Math.min(ref.model.config().maxPositionEmbeddings(),
                    cand.model.config().maxPositionEmbeddings()));
            VerifyMetrics metrics = new VerifyMetrics(ref.model.config().numHiddenLayers());
            List<Sequence> sequences = new ArrayList<>();
            for (int i = 0; i < ids.size(); i++) {
                int[] all = ids.get(i);
                for (int from = 0, w = 0; from < all.length; from += ctx, w++) {
                    int[] window = Arrays.copyOfRange(all, from, Math.min(all.length, from + ctx));
                    String label = (ids.size() == 1 ? "text" : "prompt " + (i + 1)) + (all.length > ctx ? " window " + (w + 1) : "");
                    sequences.add(metrics.run(label, ref.model, cand.model, window));
                }
            }
            Compare.LogitStats stats = metrics.stats();
            List<String> problems = new ArrayList<>(verdict(stats, metrics.top1NearTie(), t));
            problems.addAll(tokProblems);
            return new Result(ref.describe(), cand.describe(), kind, t, sequences, stats, metrics.top1NearTie(), metrics.pplReference(),
                    metrics.pplCandidate(), metrics.layers(), metrics.kl(), structure, tokProblems, problems);
        }
    }

    /** Rough size of a model's weights as float32: 4 bytes per stored parameter (files sizes / bytes per value). */
    static long floatBytes(Path model) throws IOException {
        if (java.nio.file.Files.isRegularFile(model)) {
            return 8 * java.nio.file.Files.size(model); // a 4-bit GGUF is ~8x smaller than its float32 copy
        }
        long bytes = 0;
        try (var files = java.nio.file.Files.list(model)) {
            for (Path p : files.filter(p -> p.getFileName().toString().endsWith(".safetensors")
                    || p.getFileName().toString().endsWith(".bin")).toList()) {
                bytes += java.nio.file.Files.size(p);
            }
        }
        return 2 * bytes;  // bf16/f16 are the usual; f32 makes this an over-estimate by 2
    }

    /** The same measurements judged by other thresholds (command-line overrides). */
    public static Result rejudge(Result r, VerifyThresholds t) {
        if (!r.compared()) {
            return r;
        }
        List<String> problems = new ArrayList<>(verdict(r.logits(), r.top1NearTie(), t));
        problems.addAll(r.tokenizerProblems());
        return new Result(r.reference(), r.candidate(), r.candidateKind(), t, r.sequences(), r.logits(), r.top1NearTie(),
                r.pplReference(), r.pplCandidate(), r.layers(), r.klPerPosition(), r.structure(), r.tokenizerProblems(), problems);
    }

    /** The threshold failures of {@code s} under {@code t} (NaN fails every test). */
    static List<String> verdict(Compare.LogitStats s, double top1NearTie, VerifyThresholds t) {
        List<String> out = new ArrayList<>();
        if (!(s.klMean() <= t.maxKlMean())) {
            out.add(String.format(Locale.ROOT, "KL mean %.3g > %.3g", s.klMean(), t.maxKlMean()));
        }
        if (!(s.klMax() <= t.maxKlMax())) {
            out.add(String.format(Locale.ROOT, "KL max %.3g > %.3g", s.klMax(), t.maxKlMax()));
        }
        if (!(top1NearTie >= t.minTop1())) {
            out.add(String.format(Locale.ROOT, "top-1 agreement (near-ties within %.2g nats agree) %.2f%% < %.2f%%",
                    NEAR_TIE, 100 * top1NearTie, 100 * t.minTop1()));
        }
        return out;
    }

    /**
     * The threshold row's name: {@code exact} when the candidate stores the reference's values without
     * rounding, {@code BF16-merge}/{@code F16-merge} when it is the reference's 16-bit dtype with adapters
     * merged (changed weights rounded once), else its GGUF file type or float dtype.
     */
    static String kind(VerifyModel ref, VerifyModel cand) {
        if (cand.floatType == null) {
            return cand.storage;   // a quantized GGUF: Q8_0, Q4_K_M, ...
        }
        if (cand.bnbKind.isPresent()) {
            return cand.bnbKind.get(); // a bitsandbytes folder, e.g. merge --forced-4bit
        }
        DType r = ref.floatType == null ? DType.F32 : ref.floatType;
        DType c = cand.floatType;
        if (c == DType.F32 || c == DType.F64) {
            return VerifyThresholds.EXACT;
        }
        if (c == r) {
            return ref.spec.adapters().isEmpty() ? VerifyThresholds.EXACT
                    : c == DType.BF16 ? VerifyThresholds.BF16_MERGE : VerifyThresholds.F16_MERGE;
        }
        return c.toString();
    }

    /** Why two configs cannot run over the same tokens and be compared position by position, if they cannot. */
    static Optional<String> incompatibility(LlamaConfig a, LlamaConfig b) {
        if (a.numHiddenLayers() != b.numHiddenLayers() || a.hiddenSize() != b.hiddenSize() || a.vocabSize() != b.vocabSize()) {
            return Optional.of(String.format(Locale.ROOT, "the models cannot be compared: reference %d layers, hidden %d,"
                    + " vocabulary %d; candidate %d layers, hidden %d, vocabulary %d", a.numHiddenLayers(), a.hiddenSize(),
                    a.vocabSize(), b.numHiddenLayers(), b.hiddenSize(), b.vocabSize()));
        }
        return Optional.empty();
    }

    static Optional<String> tokenMismatch(int[] ref, int[] cand, String what) {
        int n = Math.min(ref.length, cand.length);
        for (int i = 0; i < n; i++) {
            if (ref[i] != cand[i]) {
                return Optional.of(String.format(Locale.ROOT, "tokenizers disagree on %s at token %d: reference id %d,"
                        + " candidate id %d (%d vs %d tokens)", what, i, ref[i], cand[i], ref.length, cand.length));
            }
        }
        if (ref.length != cand.length) {
            return Optional.of(String.format(Locale.ROOT, "tokenizers disagree on %s: %d reference tokens, %d candidate"
                    + " tokens (same prefix; BOS/EOS settings?)", what, ref.length, cand.length));
        }
        return Optional.empty();
    }

    /** Vocabulary size, added/special tokens and chat template: the traps of a conversion or a merge. */
    static List<String> tokenizerProblems(VerifyModel ref, VerifyModel cand) {
        List<String> out = new ArrayList<>();
        Tokenizer r = ref.tokenizer;
        Tokenizer c = cand.tokenizer;
        if (c == null) {
            out.add("the candidate has no tokenizer (" + cand.tokenizerSource + "); the reference's would be lost");
        } else {
            if (r.vocabSize() != c.vocabSize()) {
                out.add("tokenizer vocabulary sizes differ: reference " + r.vocabSize() + ", candidate " + c.vocabSize());
            }
            List<String> lost = new ArrayList<>();
            int n = Math.min(r.vocabSize(), c.vocabSize());
            for (int id = 0; id < r.vocabSize() && lost.size() < 5; id++) {
                if (!r.isSpecial(id)) {
                    continue;
                }
                if (id >= n || !c.isSpecial(id) || !r.tokenText(id).equals(c.tokenText(id))) {
                    lost.add(id + " " + r.tokenText(id));
                }
            }
            if (!lost.isEmpty()) {
                out.add("special/added tokens of the reference are not the candidate's, e.g. " + lost);
            }
        }
        if (ref.chatTemplate.isPresent() && cand.chatTemplate.isEmpty()) {
            out.add("the candidate lacks the chat template the reference has (" + ref.tokenizerSource + ")");
        } else if (ref.chatTemplate.isPresent() && !ref.chatTemplate.equals(cand.chatTemplate)) {
            out.add("the candidate's chat template differs from the reference's");
        }
        return out;
    }
}
