package dev.loraforge.merge;

import dev.loraforge.io.Progress;
import dev.loraforge.adapter.AdapterCheck;
import dev.loraforge.adapter.CheckReport;
import dev.loraforge.adapter.LoraAdapter;
import dev.loraforge.format.ModelSource;
import dev.loraforge.format.safetensors.SafetensorsWriter;
import dev.loraforge.format.safetensors.ShardIndex;
import dev.loraforge.format.safetensors.ShardPlan;
import dev.loraforge.format.safetensors.TensorSpec;
import dev.loraforge.io.OutputFolder;
import dev.loraforge.io.PythonJson;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * Merges adapters into a Hugging Face model folder and saves the result like transformers'
 * {@code save_pretrained}: streamed from the mapped base into the output shards in tasks of about a MiB
 * (see {@link MergePipeline}; peak memory a few buffers, whatever the model size), shards of at most
 * {@code maxShardBytes} with {@code model.safetensors.index.json}, config with dtype and tying updated,
 * generation config and tokenizer files copied (the adapter's own tokenizer files win), and
 * {@code loraforge.json} recording the inputs. Everything is written into a temporary
 * sibling folder that is renamed into place only when complete.
 */
public final class ModelMerger {
    /** transformers' default {@code max_shard_size}: "5GB" = 5·10⁹ bytes. */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;
    public static final String SINGLE_FILE = "model.safetensors";
    /** Files copied from the base, then from the adapter folder (a fine-tune may change the template or add tokens). */
    public static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer.model",
            "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "chat_template.jinja",
            "chat_template.json", "vocab.json", "merges.txt");
    public static final String RECORD_FILE = "loraforge.json";

    /**
     * What to merge and where. {@code dtype} null keeps each base tensor's dtype (bf16 for a bitsandbytes base,
     * Unsloth's {@code merged_16bit}); {@code forced4bit} re-quantizes to the base's 4-bit format instead.
     */
    public record Request(Path base, List<Path> adapters, List<Double> weights, Path out, DType dtype,
                          long maxShardBytes, boolean overwrite, List<String> command, boolean forced4bit) {
        public Request(Path base, List<Path> adapters, List<Double> weights, Path out, DType dtype,
                       long maxShardBytes, boolean overwrite, List<String> command) {
            this(base, adapters, weights, out, dtype, maxShardBytes, overwrite, command, false);
        }

        public Request {
            adapters = List.copyOf(adapters);
            weights = List.copyOf(weights);
            command = List.copyOf(command);
            if (adapters.isEmpty()) {
                throw new IllegalArgumentException("at least one adapter is needed");
            }
            if (weights.size() != adapters.size()) {
                throw new IllegalArgumentException(weights.size() + " weights for " + adapters.size() + " adapters");
            }
            if (maxShardBytes <= 0) {
                throw new IllegalArgumentException("max shard size must be positive, is " + maxShardBytes);
            }
        }
    }

    /** What was written. */
    public record Result(Path out, int tensors, int changed, long bytes, long millis, List<String> files,
                         List<String> notes, List<CheckReport.Finding> findings,
                         Optional<ForcedFourBit.Report> requantization) {
        public Result(Path out, int tensors, int changed, long bytes, long millis, List<String> files,
                      List<String> notes, List<CheckReport.Finding> findings) {
            this(out, tensors, changed, bytes, millis, files, notes, findings, Optional.empty());
        }
    }


    /** Calls of the kernel warm-up: enough to queue its methods for the JIT, too few to make the Vector API's own code hot. */
    private static final int WARM_UP_CALLS = 64;

    private ModelMerger() {
    }

    /**
     * Takes adapters back out of a merged model: {@code W = W' − Σ weightᵢ·scalingᵢ·Bᵢ·Aᵢ}, with the same exact
     * float64 arithmetic and one rounding. Error bound against the original W: the merge rounded once
     * (|W' − (W + ΔW)| ≤ ½ ulp(W')) and the unmerge rounds once more, so |unmerged − W| ≤ ½ ulp(W') + ½ ulp(W)
     * in the output dtype: at most 1 ulp where W' and W share a binade, and the result is W itself whenever
     * that first error is below ½ ulp(W). DoRA and modules_to_save cannot be undone (the row norms and the
     * replaced tensors are not in the merged model) and are refused.
     */
    public static Result unmerge(Request req, Progress progress) throws IOException {
        return unmerge(req, progress, DiskSpace::of);
    }

    /** {@link #unmerge(Request, Progress)} with the disk space of the output's folder from {@code space}. */
    public static Result unmerge(Request req, Progress progress, Function<Path, DiskSpace> space) throws IOException {
        for (Path a : req.adapters()) {
            try (LoraAdapter ad = LoraAdapter.open(a)) {
                if (ad.config().useDora() || !ad.fullTensors().isEmpty()) {
                    throw new dev.loraforge.adapter.AdapterException(dev.loraforge.adapter.AdapterException.Kind.UNSUPPORTED_OPTION,
                            a + ": " + (ad.config().useDora() ? "a DoRA merge" : "modules_to_save")
                                    + " cannot be unmerged: the merged model does not keep what it replaced");
                }
            }
        }
        List<Double> negated = req.weights().stream().map(w -> -w).toList();
        return merge(new Request(req.base(), req.adapters(), negated, req.out(), req.dtype(), req.maxShardBytes(),
                req.overwrite(), req.command(), req.forced4bit()), progress, space);
    }

    public static Result merge(Request req, Progress progress) throws IOException {
        return merge(req, progress, DiskSpace::of);
    }

    /** {@link #merge(Request, Progress)} with the disk space of the output's folder from {@code diskSpace}. */
    public static Result merge(Request req, Progress progress, Function<Path, DiskSpace> diskSpace) throws IOException {
        long t0 = System.nanoTime();
        List<LoraAdapter> opened = new ArrayList<>();
        // dequantized weights of a bitsandbytes base spill next to the output, not onto the heap
        Path scratch = req.out().toAbsolutePath().getParent();
        try (ModelSource baseFiles = ModelSource.open(req.base(), scratch != null && Files.isDirectory(scratch) ? scratch : null)) {
            Path baseDir = Files.isDirectory(req.base()) ? req.base() : req.base().toAbsolutePath().getParent();
            if (!req.forced4bit()) {
                startKernelWarmUp(baseFiles, req.dtype());
            }
            Map<String, Object> config = readConfig(baseDir);
            AdapterCheck.Base base = new AdapterCheck.Base(baseDir, baseFiles, config);
            List<WeightedAdapter> was = new ArrayList<>();
            List<CheckReport.Finding> findings = new ArrayList<>();
            for (int i = 0; i < req.adapters().size(); i++) {
                LoraAdapter a = LoraAdapter.open(req.adapters().get(i));
                opened.add(a);
                findings.addAll(AdapterCheck.check(base, a).findings());
                was.add(new WeightedAdapter(a, req.weights().get(i)));
            }
            if (req.forced4bit()) {
                ForcedFourBit.requireFourBit(baseFiles);
            }
            DType outType = outType(req, baseFiles);
            MergePlan plan = MergePlan.build(base, was, outType);
            List<Path> inputs = new ArrayList<>(req.adapters());
            inputs.add(baseDir);
            try (OutputFolder folder = OutputFolder.create(req.out(), req.overwrite(), inputs)) {
                // the record's input hashes, read while the weights are written (hashing a large adapter
                // when the JIT has not compiled SHA-256 yet takes a noticeable part of a merge)
                CompletableFuture<Map<Path, String>> hashes = hashInBackground(req.adapters());
                DiskSpace space = diskSpace.apply(folder.temp());
                List<String> files;
                ForcedFourBit.Report requant = null;
                if (req.forced4bit()) {
                    ForcedFourBit.Output fo = ForcedFourBit.write(plan, baseFiles, folder.temp(), req.maxShardBytes(), progress);
                    files = fo.files();
                    requant = fo.report();
                } else {
                    files = writeWeights(plan, folder.temp(), req.maxShardBytes(), space, progress);
                }
                Map<String, Object> outConfig = config;
                if (baseFiles.quantized() && !req.forced4bit()) {
                    outConfig = new LinkedHashMap<>(config); // the weights are plain floats now
                    outConfig.remove("quantization_config");
                }
                writeConfig(outConfig, plan, outType, folder.temp());
                copyFiles(baseDir, req.adapters(), folder.temp());
                writeRecord(req, plan, outType, folder.temp(), join(hashes));
                folder.commit();
                long bytes = plan.ops().stream().mapToLong(op -> op.shape().byteCount(op.outType())).sum();
                return new Result(folder.target(), plan.ops().size(), (int) plan.changedCount(), bytes,
                        (System.nanoTime() - t0) / 1_000_000, files, plan.notes(), findings.stream().distinct().toList(),
                        Optional.ofNullable(requant));
            }
        } finally {
            for (LoraAdapter a : opened) {
                a.close();
            }
        }
    }

    /**
     * Starts compiling the bf16 merge kernel on a daemon thread while the adapters are checked and the first
     * tensors copied. In a fresh JVM the Vector API kernel runs interpreted, a hundred times slower, until the
     * JIT compiles it; the first merged tensor of a 1B model took 0.3–1.2 s where later ones take 30 ms.
     * (The launcher also lowers the JIT's thresholds for this package, so a few calls suffice.) Does nothing
     * unless the merge will use that kernel: a bf16 safetensors base merged to bf16 ({@code outType} null: the
     * base's dtype) with the vector kernel.
     */
    public static void startKernelWarmUp(ModelSource base, DType outType) {
        if (LowRankKernel.preferred() != LowRankKernel.vector() || base.quantized()
                || base.storage() != ModelSource.Storage.SAFETENSORS || (outType != null && outType != DType.BF16)) {
            return;
        }
        for (String name : base.names()) {
            TensorView v = base.find(name).orElse(null);
            if (v != null && v.dtype() == DType.BF16 && v.shape().rank() == 2) {
                Thread t = new Thread(() -> {
                    try {
                        Bf16FastMerge.warmUp(v, WARM_UP_CALLS);
                    } catch (RuntimeException e) {
                        // a merge that ends first closes the model under it; the warm-up has no result to lose
                    }
                }, "loraforge-warm-up");
                t.setDaemon(true);
                t.start();
                return;
            }
        }
    }

    /** The requested dtype; for a bitsandbytes base merged to floats, bf16 unless asked otherwise. */
    static DType outType(Request req, ModelSource base) {
        return req.dtype() == null && base.quantized() && !req.forced4bit() ? DType.BF16 : req.dtype();
    }

    private static List<String> writeWeights(MergePlan plan, Path dir, long maxShardBytes, DiskSpace space,
                                             Progress progress) throws IOException {
        Map<String, MergePlan.Op> byName = new LinkedHashMap<>();
        List<TensorSpec> specs = new ArrayList<>();
        for (MergePlan.Op op : plan.ops()) {
            byName.put(op.name(), op);
            specs.add(new TensorSpec(op.name(), op.outType(), op.shape()));
        }
        ShardPlan shards = ShardPlan.of(specs, maxShardBytes); // transformers' split, in base order
        long total = shards.totalSize();
        List<String> files = new ArrayList<>();
        int[] done = {0};
        long[] bytesDone = {0};
        MergePipeline.TensorDone report = (name, bytes) -> {
            bytesDone[0] += bytes;
            progress.tensorDone(name, ++done[0], specs.size(), bytesDone[0], total);
        };
        // one shard at a time, space asked for before each; tensors in file order so writes are sequential
        try (MergePipeline pipeline = new MergePipeline(Runtime.getRuntime().availableProcessors(),
                LowRankKernel.preferred(), report)) {
            for (ShardPlan.Shard shard : shards.shards()) {
                space.reserve(shard.byteSize());
                try (SafetensorsWriter w = SafetensorsWriter.create(dir.resolve(shard.fileName()), Map.of("format", "pt"),
                        shard.tensors(), false)) {
                    try {
                        for (TensorSpec t : w.tensors()) {
                            pipeline.submit(byName.get(t.name()), w.slot(t.name()));
                        }
                        pipeline.finish();
                    } finally {
                        pipeline.quiesce(); // nothing may write to the file once it is discarded
                    }
                    w.commit();
                }
                files.add(shard.fileName());
            }
        }
        if (!shards.isSingleFile()) {
            shards.index().write(dir.resolve(ShardIndex.FILE_NAME), false);
            files.add(ShardIndex.FILE_NAME);
        }
        return files;
    }

    static Map<String, Object> readConfig(Path baseDir) throws IOException {
        Path p = baseDir.resolve("config.json");
        if (!Files.isRegularFile(p)) {
            return new LinkedHashMap<>();
        }
        try {
            return PythonJson.parseObject(Files.readString(p, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IOException(p + ": not a JSON object: " + e.getMessage(), e);
        }
    }

    /** config.json with the dtype keys it has set to the output dtype, and tying switched off when untied. */
    private static void writeConfig(Map<String, Object> config, MergePlan plan, DType dtype, Path dir) throws IOException {
        if (config.isEmpty()) {
            return;
        }
        Map<String, Object> c = new LinkedHashMap<>(config);
        if (dtype != null) {
            String torch = switch (dtype) {
                case BF16 -> "bfloat16";
                case F16 -> "float16";
                case F64 -> "float64";
                default -> "float32";
            };
            boolean any = false;
            for (String k : List.of("torch_dtype", "dtype")) {
                if (c.containsKey(k)) {
                    c.put(k, torch);
                    any = true;
                }
            }
            if (!any) {
                c.put("torch_dtype", torch);
            }
        }
        if (plan.untied()) {
            c.put("tie_word_embeddings", false);
        }
        Files.writeString(dir.resolve("config.json"), PythonJson.write(c, 2, false) + "\n");
    }

    private static void copyFiles(Path baseDir, List<Path> adapters, Path dir) throws IOException {
        Path gen = baseDir.resolve("generation_config.json");
        if (Files.isRegularFile(gen)) {
            Files.copy(gen, dir.resolve("generation_config.json"));
        }
        for (String f : TOKENIZER_FILES) {
            Path src = null;
            for (Path a : adapters) {
                if (Files.isRegularFile(a.resolve(f))) {
                    src = a.resolve(f); // the last adapter that has it wins
                }
            }
            if (src == null && Files.isRegularFile(baseDir.resolve(f))) {
                src = baseDir.resolve(f);
            }
            if (src != null) {
                Files.copy(src, dir.resolve(f));
            }
        }
    }

    /** The record's input files of each adapter, hashed on a daemon thread. */
    private static CompletableFuture<Map<Path, String>> hashInBackground(List<Path> adapters) {
        CompletableFuture<Map<Path, String>> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                Map<Path, String> m = new HashMap<>();
                for (Path a : adapters) {
                    for (String name : List.of(LoraAdapter.WEIGHTS_FILE, LoraAdapter.BIN_FILE, "adapter_config.json")) {
                        Path file = a.resolve(name);
                        if (Files.isRegularFile(file)) {
                            m.put(file, sha256(file));
                        }
                    }
                }
                f.complete(m);
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, "loraforge-hash");
        t.setDaemon(true);
        t.start();
        return f;
    }

    private static Map<Path, String> join(CompletableFuture<Map<Path, String>> hashes) throws IOException {
        try {
            return hashes.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while hashing the adapters");
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    private static void writeRecord(Request req, MergePlan plan, DType outType, Path dir, Map<Path, String> hashes)
            throws IOException {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("tool", "loraforge");
        String v = ModelMerger.class.getPackage().getImplementationVersion();
        r.put("version", v == null ? "dev" : v);
        r.put("java", Runtime.version().toString());
        r.put("created", Instant.now().toString());
        r.put("command", req.command());
        r.put("base", req.base().toAbsolutePath().normalize().toString());
        List<Object> adapters = new ArrayList<>();
        for (int i = 0; i < req.adapters().size(); i++) {
            Path a = req.adapters().get(i);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("path", a.toAbsolutePath().normalize().toString());
            m.put("weight", req.weights().get(i));
            if (hashes.containsKey(a.resolve(LoraAdapter.WEIGHTS_FILE))) {
                m.put("adapter_model.safetensors_sha256", hashes.get(a.resolve(LoraAdapter.WEIGHTS_FILE)));
            } else {
                m.put("adapter_model.bin_sha256", hashes.get(a.resolve(LoraAdapter.BIN_FILE)));
            }
            m.put("adapter_config.json_sha256", hashes.get(a.resolve("adapter_config.json")));
            adapters.add(m);
        }
        r.put("adapters", adapters);
        r.put("dtype", outType == null ? "base" : outType.name());
        if (req.forced4bit()) {
            r.put("forced_4bit", true);
        }
        r.put("tensors", plan.ops().size());
        r.put("tensors_changed", plan.changedCount());
        r.put("untied_embeddings", plan.untied());
        r.put("arithmetic", "float64, one rounding to the output dtype");
        Files.writeString(dir.resolve(RECORD_FILE), PythonJson.write(r, 2, false) + "\n");
    }

    public static String sha256(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocateDirect(1 << 20);
            while (ch.read(buf) >= 0) {
                buf.flip();
                md.update(buf);
                buf.clear();
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
