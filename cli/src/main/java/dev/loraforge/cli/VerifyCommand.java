package dev.loraforge.cli;

import dev.loraforge.io.AtomicFile;
import dev.loraforge.io.PythonJson;
import dev.loraforge.model.Compare;
import dev.loraforge.model.StructuralDiff;
import dev.loraforge.model.Verification;
import dev.loraforge.model.VerifyThresholds;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "verify", description = {
        "Run a reference and a candidate model over the same tokens and say whether they are equivalent:",
        "|dlogit|, KL divergence, top-1 agreement, perplexity, per-layer error, tensor diff, tokenizer checks.",
        "Exit 0 when equivalent, 1 when not."})
final class VerifyCommand implements Callable<Integer> {

    @Option(names = "--reference", paramLabel = "MODEL", required = true, description = "reference HF model folder or .gguf")
    Path reference;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT adapter applied unmerged to the reference (repeatable)")
    List<Path> adapters = new ArrayList<>();

    @Option(names = "--candidate", paramLabel = "MODEL_OR_GGUF", required = true, description = "candidate HF model folder or .gguf")
    Path candidate;

    @Option(names = "--candidate-adapter", paramLabel = "DIR", description = "PEFT adapter applied unmerged to the candidate (repeatable)")
    List<Path> candidateAdapters = new ArrayList<>();

    @Option(names = "--text", paramLabel = "FILE", description = "text to evaluate (default: a built-in short text)")
    Path text;

    @Option(names = "--prompts", paramLabel = "FILE", description = "one prompt per line, each evaluated separately")
    Path prompts;

    @Option(names = "--ctx", paramLabel = "N", description = "tokens per evaluated sequence (default ${DEFAULT-VALUE})")
    int ctx = 512;

    @Option(names = "--max-kl-mean", paramLabel = "X", description = "override the KL mean threshold (nats)")
    Double maxKlMean;

    @Option(names = "--max-kl", paramLabel = "X", description = "override the per-position KL threshold (nats)")
    Double maxKl;

    @Option(names = "--min-top1", paramLabel = "F", description = "override the top-1 agreement threshold (0..1)")
    Double minTop1;

    @Option(names = "--no-structure", description = "skip the tensor-by-tensor diff")
    boolean noStructure;

    @Option(names = "--in-place", negatable = true, description = "decode weight rows from the mapped files at every use"
            + " (memory ~ file sizes, slower) instead of float32 copies; default: only when the copies would not fit")
    Boolean inPlace;

    @Option(names = "--json", description = "print the report as JSON")
    boolean json;

    @Option(names = "--html", paramLabel = "REPORT.html", description = "also write a self-contained HTML report")
    Path html;

    @Option(names = "--overwrite", description = "replace an existing --html file")
    boolean overwrite;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (text != null && prompts != null) {
            throw new UsageException("give either --text or --prompts, not both");
        }
        if (ctx < 2) {
            throw new UsageException("--ctx must be at least 2, got " + ctx);
        }
        if (minTop1 != null && !(minTop1 >= 0 && minTop1 <= 1)) {
            throw new UsageException("--min-top1 must be in [0, 1], got " + minTop1);
        }
        if (html != null && Files.exists(html) && !overwrite) {
            throw new UsageException(html + " exists; pass --overwrite to replace it");
        }
        List<String> texts = new ArrayList<>();
        if (text != null) {
            texts.add(Files.readString(text));
        } else if (prompts != null) {
            Files.readAllLines(prompts).stream().filter(l -> !l.isBlank()).forEach(texts::add);
            if (texts.isEmpty()) {
                throw new UsageException(prompts + " has no prompts (one per line)");
            }
        }
        Verification.Result r = run(new Verification.Spec(reference, adapters), new Verification.Spec(candidate, candidateAdapters),
                texts, ctx, !noStructure, inPlace, maxKlMean, maxKl, minTop1);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(PythonJson.write(toJson(r), 2, false));
        } else {
            print(r, out);
        }
        out.flush();
        if (html != null) {
            writeHtml(html, HtmlReport.render(r), overwrite);
        }
        return r.equivalent() ? ExitCodes.OK : ExitCodes.NOT_EQUIVALENT;
    }

    static Verification.Result run(Verification.Spec ref, Verification.Spec cand, List<String> texts, int ctx,
                                   boolean structure, Boolean inPlace, Double klMean, Double klMax, Double top1)
            throws IOException {
        Verification.Result r = Verification.run(ref, cand, texts, new Verification.Options(ctx, null, structure, inPlace));
        // overrides apply on top of the candidate's own row
        VerifyThresholds t = r.thresholds().with(klMean, klMax, top1);
        return t == r.thresholds() ? r : Verification.rejudge(r, t);
    }

    static void writeHtml(Path file, String content, boolean overwrite) throws IOException {
        try (AtomicFile f = AtomicFile.create(file, overwrite)) {
            ByteBuffer buf = ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8));
            while (buf.hasRemaining()) {
                f.channel().write(buf);
            }
            f.commit();
        }
    }

    static void print(Verification.Result r, PrintWriter out) {
        out.println("reference: " + r.reference());
        out.println("candidate: " + r.candidate() + " (kind " + r.candidateKind() + ")");
        for (Verification.Sequence s : r.sequences()) {
            out.printf(Locale.ROOT, "  %s: %d tokens, KL mean %.3g max %.3g, top-1 %.2f%%, ppl %.4f / %.4f%n", s.label(),
                    s.tokens(), s.logits().klMean(), s.logits().klMax(), 100 * s.logits().top1Agreement(),
                    s.pplReference(), s.pplCandidate());
        }
        Compare.LogitStats l = r.logits();
        if (l != null) {
            printMetrics(r, out);
        }
        printStructure(r, out);
        r.tokenizerProblems().forEach(p -> out.println("tokenizer: " + p));
        out.println(r.verdictLine());
    }

    private static void printMetrics(Verification.Result r, PrintWriter out) {
        Compare.LogitStats l = r.logits();
        out.printf(Locale.ROOT, "logits: %d positions, max |dlogit| %.3g, mean |dlogit| %.3g%n", l.positions(), l.maxAbsDiff(), l.meanAbsDiff());
        out.printf(Locale.ROOT, "KL divergence: mean %.3g, p99 %.3g, max %.3g%n", l.klMean(), l.klP99(), l.klMax());
        out.printf(Locale.ROOT, "top-1 agreement: %.2f%% exact, %.2f%% counting near-ties (< %.2g nats)%n",
                100 * l.top1Agreement(), 100 * r.top1NearTie(), Verification.NEAR_TIE);
        out.printf(Locale.ROOT, "perplexity: reference %.4f, candidate %.4f%n", r.pplReference(), r.pplCandidate());
        out.println("hidden-state relative error per layer (mean / max):");
        for (Compare.LayerError e : r.layers()) {
            out.printf(Locale.ROOT, "  %-6s %.3g / %.3g%n", e.layer() == r.layers().size() - 1 ? "norm" : String.valueOf(e.layer()),
                    e.meanRelative(), e.maxRelative());
        }
        r.firstJump().ifPresent(e -> out.println("the difference starts at layer " + e.layer()));
    }

    private static void printStructure(Verification.Result r, PrintWriter out) {
        StructuralDiff.Result s = r.structure();
        if (s != null) {
            out.println("tensors: " + s.summary());
            s.missing().stream().limit(10).forEach(n -> out.println("  missing: " + n));
            s.extra().stream().limit(10).forEach(n -> out.println("  extra: " + n));
            for (StructuralDiff.Entry e : s.differing().stream().limit(20).toList()) {
                out.printf(Locale.ROOT, "  differs: %s %s->%s %s, %d values, max |d| %.3g, rel %.3g%n", e.name(), e.refType(),
                        e.candType(), e.shapeDiffers() ? e.shape() + " vs " + e.candidateShape() : e.shape().toString(),
                        e.diffCount(), e.maxAbsDiff(), e.relRms());
            }
            if (s.differing().size() > 20) {
                out.println("  ... and " + (s.differing().size() - 20) + " more differing tensors");
            }
        }
    }

    static Map<String, Object> toJson(Verification.Result r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("reference", r.reference());
        m.put("candidate", r.candidate());
        m.put("kind", r.candidateKind());
        m.put("equivalent", r.equivalent());
        m.put("verdict", r.verdictLine());
        m.put("problems", r.problems());
        VerifyThresholds t = r.thresholds();
        m.put("thresholds", map("kind", t.kind(), "max_kl_mean", t.maxKlMean(), "max_kl", Double.isInfinite(t.maxKlMax()) ? null : t.maxKlMax(),
                "min_top1", t.minTop1(), "basis", t.basis()));
        Compare.LogitStats l = r.logits();
        if (l != null) {
            m.put("positions", l.positions());
            m.put("max_abs_dlogit", l.maxAbsDiff());
            m.put("mean_abs_dlogit", l.meanAbsDiff());
            m.put("kl_mean", l.klMean());
            m.put("kl_p99", l.klP99());
            m.put("kl_max", l.klMax());
            m.put("top1", l.top1Agreement());
            m.put("top1_near_tie", r.top1NearTie());
            m.put("ppl_reference", r.pplReference());
            m.put("ppl_candidate", r.pplCandidate());
            m.put("layers", r.layers().stream().map(e -> map("layer", e.layer(), "mean_rel", e.meanRelative(),
                    "max_rel", e.maxRelative())).toList());
            m.put("sequences", r.sequences().stream().map(s -> map("label", s.label(), "tokens", s.tokens(),
                    "kl_mean", s.logits().klMean(), "kl_max", s.logits().klMax(), "top1", s.logits().top1Agreement(),
                    "ppl_reference", s.pplReference(), "ppl_candidate", s.pplCandidate())).toList());
        }
        if (r.structure() != null) {
            StructuralDiff.Result s = r.structure();
            m.put("tensors", map("compared", s.entries().size(), "differing", s.differing().stream().map(StructuralDiff.Entry::name).toList(),
                    "missing", s.missing(), "extra", s.extra(),
                    "shape_mismatch", s.shapeMismatches().stream().map(StructuralDiff.Entry::name).toList(),
                    "entries", s.entries().stream().map(VerifyCommand::entry).toList()));
        }
        m.put("tokenizer_problems", r.tokenizerProblems());
        m.replaceAll((k, v) -> v instanceof Double d && !Double.isFinite(d) ? String.valueOf(d) : v);
        return m;
    }

    private static Map<String, Object> entry(StructuralDiff.Entry e) {
        return map("name", e.name(), "shape", e.shape(), "candidate_shape", e.candidateShape(), "reference_type", e.refType(),
                "candidate_type", e.candType(), "reference_mean", e.reference().mean(), "reference_std", e.reference().std(),
                "reference_max_abs", e.reference().maxAbs(), "candidate_mean", e.candidate().mean(),
                "candidate_std", e.candidate().std(), "candidate_max_abs", e.candidate().maxAbs(),
                "values_differing", e.diffCount(), "max_abs_diff", e.maxAbsDiff(), "rel_rms", e.relRms());
    }

    private static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            Object v = kv[i + 1];
            m.put((String) kv[i], v instanceof Double d && !Double.isFinite(d) ? String.valueOf(d) : v);
        }
        return m;
    }
}
