package dev.loraforge.cli;

import dev.loraforge.adapter.AdapterConfig;
import dev.loraforge.format.safetensors.ShardPlan;
import dev.loraforge.io.Progress;
import dev.loraforge.io.PythonJson;
import dev.loraforge.merge.ForcedFourBit;
import dev.loraforge.merge.HfCache;
import dev.loraforge.merge.ModelMerger;
import dev.loraforge.tensor.DType;
import java.io.IOException;
import java.io.PrintWriter;
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

@Command(name = "merge", description = {
        "Merge LoRA adapters into a base model exactly (float64, one rounding) and save it as sharded safetensors.",
        "With several adapters, W' = W + Σ weightᵢ·scalingᵢ·Bᵢ·Aᵢ."})
class MergeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    private final MergeEnvironment env;

    MergeCommand() {
        this(MergeEnvironment.REAL);
    }

    MergeCommand(MergeEnvironment env) {
        this.env = env;
    }

    @Option(names = "--base", paramLabel = "DIR|HF_NAME",
            description = "base model folder or Hugging Face name in the local cache (default: the adapter's base_model_name_or_path)")
    String base;

    @Option(names = "--adapter", paramLabel = "DIR", required = true, description = "PEFT adapter folder (repeatable)")
    List<Path> adapters = new ArrayList<>();

    @Option(names = "--weight", paramLabel = "W", description = "weight of each adapter, in order (default 1)")
    List<Double> weights = new ArrayList<>();

    @Option(names = "--out", paramLabel = "DIR", required = true, description = "output folder (must not exist or be empty)")
    Path out;

    @Option(names = "--dtype", paramLabel = "bf16|f16|f32",
            description = "output dtype (default: the base's; bf16 for a bitsandbytes 4-bit/8-bit base)")
    String dtype;

    @Option(names = "--forced-4bit", description = {"re-quantize the merged weights to the 4-bit base's own format"
            + " (Unsloth's merged_4bit_forced) and report the error that adds; the output keeps the quantization_config"})
    boolean forced4bit;

    @Option(names = "--max-shard-size", paramLabel = "S", defaultValue = "5GB",
            description = "largest shard, e.g. 5GB (10^9), 500MB, 10GiB (2^30) (default: ${DEFAULT-VALUE})")
    String maxShardSize;

    @Option(names = "--overwrite", description = "replace a non-empty output folder")
    boolean overwrite;

    @Option(names = "--json", description = "print a JSON summary")
    boolean json;

    @Option(names = "--quiet", description = "no progress bar and no summary")
    boolean quiet;

    @Option(names = "--verify", description = "after writing, verify the output against base + adapters (unmerged) on a"
            + " built-in text; print the verdict, exit 1 if not equivalent")
    boolean verify;

    @Override
    public Integer call() throws IOException {
        if (verify && weights.stream().anyMatch(x -> x != 1.0)) {
            throw new UsageException("--verify runs the adapters unmerged, which supports weight 1 only");
        }
        if (!weights.isEmpty() && weights.size() != adapters.size()) {
            throw new UsageException(weights.size() + " --weight values for " + adapters.size()
                    + " --adapter folders; give one weight per adapter or none");
        }
        List<Double> w = weights.isEmpty() ? adapters.stream().map(a -> 1.0).toList() : weights;
        DType outType = dtype == null ? null : switch (dtype.toLowerCase(Locale.ROOT)) {
            case "bf16", "bfloat16" -> DType.BF16;
            case "f16", "fp16", "float16" -> DType.F16;
            case "f32", "fp32", "float32" -> DType.F32;
            default -> throw new UsageException("--dtype must be bf16, f16 or f32, not '" + dtype + "'");
        };
        long shard = parseSize(maxShardSize);
        Path baseDir = resolveBase(base, adapters.getFirst());
        List<String> command = new ArrayList<>(List.of("loraforge", unmerge() ? "unmerge" : "merge"));
        command.addAll(spec.commandLine().getParseResult().originalArgs());
        PrintWriter err = spec.commandLine().getErr();
        ProgressBar bar = new ProgressBar(err, !quiet && System.console() != null);
        if (forced4bit && unmerge()) {
            throw new UsageException("--forced-4bit applies to merge only");
        }
        ModelMerger.Request req = new ModelMerger.Request(baseDir, adapters, w, out, outType, shard, overwrite, command,
                forced4bit);
        Progress progress = env.progress().apply(bar);
        ModelMerger.Result r = unmerge() ? ModelMerger.unmerge(req, progress, env.diskSpace())
                : ModelMerger.merge(req, progress, env.diskSpace());
        bar.finish();
        PrintWriter o = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("out", r.out().toString());
            m.put("tensors", r.tensors());
            m.put("tensors_changed", r.changed());
            m.put("bytes", r.bytes());
            m.put("seconds", r.millis() / 1000.0);
            m.put("files", r.files());
            m.put("notes", r.notes());
            List<String> warnings = new ArrayList<>(r.findings().stream()
                    .filter(f -> f.severity() != dev.loraforge.adapter.CheckReport.Severity.INFO).map(Object::toString).toList());
            r.requantization().flatMap(ForcedFourBit.Report::warning).ifPresent(warnings::add);
            m.put("warnings", warnings);
            r.requantization().ifPresent(q -> m.put("requantization", requantJson(q)));
            o.println(PythonJson.write(m, 2, false));
        } else if (!quiet) {
            r.findings().stream().filter(f -> f.severity() == dev.loraforge.adapter.CheckReport.Severity.WARNING)
                    .forEach(f -> err.println("loraforge: " + f));
            r.notes().forEach(n -> err.println("loraforge: note: " + n));
            r.requantization().ifPresent(q -> printRequant(q, o, err));
            o.printf(Locale.ROOT, (unmerge() ? "un" : "") + "merged %d adapter%s into %s: %d tensors (%d changed), %.1f MB in %.1f s%n",
                    adapters.size(), adapters.size() == 1 ? "" : "s", out, r.tensors(), r.changed(),
                    r.bytes() / 1e6, r.millis() / 1000.0);
        }
        o.flush();
        err.flush();
        return verify ? verifyMerged(baseDir, r.out(), o) : ExitCodes.OK;
    }

    /** {@code verify --reference base --adapter ... --candidate out}: prints the verdict line. */
    private int verifyMerged(Path baseDir, Path merged, PrintWriter o) throws IOException {
        var result = VerifyCommand.run(new dev.loraforge.model.Verification.Spec(baseDir, adapters),
                new dev.loraforge.model.Verification.Spec(merged, List.of()), List.of(), 512, false, null, null, null, null);
        // with --json the verdict goes to stderr so stdout stays one JSON document
        PrintWriter w = json ? spec.commandLine().getErr() : o;
        if (result.compared()) {
            w.printf(Locale.ROOT, "verify against base + adapter%s run unmerged: %s, perplexity %.4f vs %.4f%n",
                    adapters.size() == 1 ? "" : "s", result.logits(), result.pplReference(), result.pplCandidate());
        }
        w.println(result.verdictLine());
        w.flush();
        return result.equivalent() ? ExitCodes.OK : ExitCodes.NOT_EQUIVALENT;
    }

    /** The --forced-4bit figures: overall, then per re-quantized tensor. */
    static Map<String, Object> requantJson(ForcedFourBit.Report q) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("tensors_requantized", q.tensors().size());
        m.put("relative_error", q.relativeError());
        m.put("delta_kept", q.deltaKept());
        m.put("delta_along", q.deltaAlong());
        m.put("mostly_lost", q.mostlyLost());
        List<Object> per = new ArrayList<>();
        for (ForcedFourBit.TensorError e : q.tensors()) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("name", e.name());
            t.put("relative_error", e.relativeError());
            t.put("delta_kept", e.deltaKept());
            t.put("delta_along", e.deltaAlong());
            per.add(t);
        }
        m.put("per_tensor", per);
        return m;
    }

    private static void printRequant(ForcedFourBit.Report q, PrintWriter o, PrintWriter err) {
        o.printf(Locale.ROOT, "re-quantized %d weights to 4 bits: relative error of W+ΔW %.3g; of ΔW kept %.3f"
                        + " (‖Q(W+ΔW)−Q(W)‖/‖ΔW‖), %.3f along ΔW%n", q.tensors().size(), q.relativeError(), q.deltaKept(),
                q.deltaAlong());
        // the tensors whose update survives least (all of them are in --json)
        List<ForcedFourBit.TensorError> worst = q.tensors().stream()
                .sorted(java.util.Comparator.comparingDouble(ForcedFourBit.TensorError::deltaAlong)).limit(8).toList();
        if (worst.size() < q.tensors().size()) {
            o.printf(Locale.ROOT, "  the %d keeping least of ΔW (all in --json):%n", worst.size());
        }
        for (ForcedFourBit.TensorError e : worst) {
            o.printf(Locale.ROOT, "  %-48s error %.3g  kept %.3f  along %.3f%n", e.name(), e.relativeError(),
                    e.deltaKept(), e.deltaAlong());
        }
        q.warning().ifPresent(w -> err.println("loraforge: warning: " + w));
    }

    /** True for {@code unmerge}. */
    boolean unmerge() {
        return false;
    }

    /** --base, else the first adapter's base_model_name_or_path, as a folder or from the HF cache. */
    static Path resolveBase(String base, Path adapter) throws IOException {
        String name = base;
        if (name == null) {
            name = AdapterConfig.read(adapter).baseModelNameOrPath();
            if (name == null) {
                throw new UsageException(adapter + ": adapter_config.json names no base model; pass --base");
            }
        }
        if (base == null) {
            // a relative base name is often the folder the adapter sits in, or a sibling of it
            Path dir = adapter.toAbsolutePath().normalize().getParent();
            Path named = Path.of(name);
            if (!Files.isDirectory(named) && !named.isAbsolute() && dir != null) {
                if (dir.endsWith(named) && Files.isRegularFile(dir.resolve("config.json"))) {
                    return dir;
                }
                for (Path candidate : new Path[] {dir.resolve(name), dir.resolveSibling(name)}) {
                    if (Files.isDirectory(candidate)) {
                        return candidate;
                    }
                }
            }
        }
        Path hub = HfCache.hubDir(System.getenv(), Path.of(System.getProperty("user.home")));
        try {
            return HfCache.resolve(name, hub);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new UsageException((base == null ? "the adapter's base_model_name_or_path '" + name + "'" : "--base " + name)
                    + ": no such folder, and not in the Hugging Face cache " + hub
                    + " (loraforge never downloads); pass --base with the model folder");
        }
    }

    /** transformers' {@code convert_file_size_to_int}: GB = 10⁹, GiB = 2³⁰, a lowercase final "b" means bits. */
    static long parseSize(String s) {
        try {
            return ShardPlan.parseSize(s);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--max-shard-size '" + s + "' is not a size like 5GB, 500MB or 10GiB");
        }
    }
}
