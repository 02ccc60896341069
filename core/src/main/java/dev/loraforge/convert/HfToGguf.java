package dev.loraforge.convert;

import dev.loraforge.io.Progress;
import dev.loraforge.adapter.AdapterCheck;
import dev.loraforge.adapter.LoraAdapter;
import dev.loraforge.format.ModelSource;
import dev.loraforge.format.gguf.GgmlType;
import dev.loraforge.format.gguf.GgufWriter;
import dev.loraforge.format.safetensors.ModelFiles;
import dev.loraforge.format.safetensors.SafetensorsFile;
import dev.loraforge.merge.LowRankKernel;
import dev.loraforge.merge.MergePlan;
import dev.loraforge.merge.ModelMerger;
import dev.loraforge.merge.WeightedAdapter;
import dev.loraforge.quant.GgmlCodec;
import dev.loraforge.quant.LlamaFileType;
import dev.loraforge.quant.QuantMix;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Hugging Face model folder → GGUF, as llama.cpp's {@code convert_hf_to_gguf.py} writes it for F32/F16/BF16
 * (same KV pairs and order, same tensor order and bytes), and for quantized types as {@code llama-quantize}
 * writes it from that file (its tensor order, its KV additions, ggml's quantizers), without an intermediate file.
 *
 * <p>Planning ({@link #plan}) reads only config/tokenizer files and tensor shapes; writing streams one tensor
 * at a time from the mapped source (or a merged tensor from a {@link TensorProvider}) into the mapped output.
 */
public final class HfToGguf {
    private HfToGguf() {
    }

    /** One output tensor: GGUF name, HF source name, type, ggml dims ({@code dims[0]} = row length). */
    public record PlannedTensor(String name, String source, GgmlType type, long[] dims, long permuteHeads, float shift) {
        public PlannedTensor {
            dims = dims.clone();
        }

        PlannedTensor(String name, String source, GgmlType type, long[] dims, long permuteHeads) {
            this(name, source, type, dims, permuteHeads, 0f);
        }

        @Override
        public long[] dims() {
            return dims.clone();
        }

        public long elementCount() {
            long n = 1;
            for (long d : dims) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    /** Everything the output file will hold, decided before any tensor data is read. */
    public record Plan(Architecture architecture, HfConfig config, OutputType type, List<MetaKv> kvs,
                       List<PlannedTensor> tensors) {
        /** Notes about the source folder. */
        public List<String> notes() {
            return HfToGguf.notes(config.file().getParent());
        }

        public Plan {
            kvs = List.copyOf(kvs);
            tensors = List.copyOf(tensors);
        }

        public Optional<MetaKv> kv(String key) {
            return kvs.stream().filter(k -> k.key().equals(key)).findFirst();
        }
    }

    /** Gives the tensor to convert for an HF name: the base's own, or a merged replacement. */
    @FunctionalInterface
    public interface TensorProvider {
        TensorView tensor(String hfName);

        /** Called once {@code view} (from {@link #tensor}) is written: memory made for it can go now. */
        default void release(String hfName, TensorView view) {
        }
    }

    /** What was written, and what the user should know (e.g. a model card that was not read). */
    public record Summary(Path file, OutputType type, int tensors, long bytes, List<String> notes) {
        public Summary {
            notes = List.copyOf(notes);
        }
    }

    /** Things llama.cpp's converter would read that this one does not. */
    static List<String> notes(Path modelDir) {
        List<String> notes = new ArrayList<>();
        if (Files.isRegularFile(modelDir.resolve("README.md"))) {
            notes.add(modelDir.resolve("README.md") + " is not read as a model card (llama.cpp takes general.* "
                    + "names, license, tags from its front matter); names come from config.json and the folder name");
        }
        return notes;
    }

    /**
     * The tensor order of convert_hf_to_gguf.py: safetensors parts sorted by file name, and within a part the
     * tensors sorted by name (gguf-py {@code SafetensorsLocal}).
     */
    public static List<String> converterOrder(TensorSource src) {
        List<String> names = new ArrayList<>(src.names());
        if (src instanceof ModelSource ms && ms.storage() == ModelSource.Storage.PYTORCH_BIN) {
            // torch.load'ed parts in file-name order, each part's state dict in its own order
            names.clear();
            ms.namesByFile().values().forEach(names::addAll);
        } else if (src instanceof ModelSource ms) {
            names.clear();
            ms.namesByFile().values().forEach(part -> part.stream().sorted().forEach(names::add));
        } else if (src instanceof ModelFiles mf) {
            names.sort(Comparator.comparing((String n) -> mf.fileOf(n).map(SafetensorsFile::path)
                    .map(p -> p.getFileName().toString()).orElse("")).thenComparing(Comparator.naturalOrder()));
        } else {
            names.sort(Comparator.naturalOrder());
        }
        return names;
    }

    /** Plans the conversion of {@code modelDir} whose weights are {@code src}. */
    public static Plan plan(Path modelDir, TensorSource src, OutputType type) {
        return plan(modelDir, converterOrder(src), name -> src.get(name).shape().dims(), type);
    }

    /** Plans from the tensor names in converter order and their (numpy-order) shapes. */
    public static Plan plan(Path modelDir, List<String> order, Function<String, long[]> shapeOf,
                            OutputType type) {
        HfConfig config = HfConfig.read(modelDir);
        String hfClass = config.architecture();
        Architecture arch = Architecture.forHfClass(hfClass).orElseThrow(() -> new ConvertException(
                ConvertException.Kind.UNSUPPORTED_ARCHITECTURE, config.file() + ": architecture '" + hfClass
                + "' is not supported (supported: " + Architecture.ALL.stream().flatMap(a -> a.hfClasses().stream()).toList() + ")"));
        long nHead = config.requireLong("n_heads", "num_attention_heads");
        long nHeadKv = config.requireLong("n_kv_heads", "num_key_value_heads");
        OutputType floatType = type.quantized() ? OutputType.F16 : type;

        List<PlannedTensor> tensors = new ArrayList<>();
        // generate_extra_tensors comes first in the converter's chain
        (arch.family() == Architecture.Family.LLAMA ? RopeFreqs.factors(config) : Optional.<float[]>empty()).ifPresent(f -> tensors.add(
                new PlannedTensor(RopeFreqs.NAME, RopeFreqs.SOURCE, GgmlType.F32, new long[] {f.length}, 0)));
        for (String hf : order) {
            if (Architecture.skipped(hf) || arch.dropped(hf)) {
                continue;
            }
            String name = arch.ggufTensorName(hf).orElseThrow(() -> new ConvertException(
                    ConvertException.Kind.UNMAPPED_TENSOR, modelDir + ": can not map tensor '" + hf + "' for " + hfClass));
            long[] shape = shapeOf.apply(hf);
            long[] dims = new long[shape.length];
            for (int i = 0; i < shape.length; i++) {
                dims[i] = shape[shape.length - 1 - i];
            }
            long heads = arch.permuteHeads(hf, nHead, nHeadKv);
            TensorEncoder.checkPermutable(hf, shape.length == 0 ? 1 : shape[0], heads);
            tensors.add(new PlannedTensor(name, hf, converterType(name, shape.length, floatType), dims, heads, arch.shift(hf)));
        }

        long total = 0;
        for (PlannedTensor p : tensors) {
            total = Math.addExact(total, p.elementCount());
        }
        List<MetaKv> kvs = new ArrayList<>();
        kvs.add(MetaKv.string("general.architecture", arch.ggufName()));
        kvs.add(MetaKv.string("general.type", "model"));
        ModelMetadata.addSampling(modelDir, kvs);
        ModelMetadata.addNaming(ModelMetadata.naming(modelDir, config.params(), total, new long[] {total, total, 0, 0}), kvs);
        ModelMetadata.addModelParameters(arch, config, floatType.fileType(), kvs);
        kvs.add(MetaKv.u32("general.quantization_version", ModelMetadata.QUANT_VERSION));
        addVocabulary(modelDir, config, arch, kvs);

        if (!type.quantized()) {
            return new Plan(arch, config, type, kvs, tensors);
        }
        return quantizedPlan(arch, config, type, kvs, tensors);
    }

    /** The float types of convert_hf_to_gguf.py {@code prepare_tensors}: norms, 1-D and non-weights stay F32. */
    static GgmlType converterType(String ggufName, int nDims, OutputType type) {
        if (nDims <= 1 || ggufName.endsWith("_norm.weight")) {
            return GgmlType.F32;
        }
        String tail = ggufName.length() >= 7 ? ggufName.substring(ggufName.length() - 7) : ggufName;
        if (!List.of(".weight", ".lora_a", ".lora_b").contains(tail)) {
            return GgmlType.F32;
        }
        return type.baseType();
    }

    private static void addVocabulary(Path modelDir, HfConfig config, Architecture arch, List<MetaKv> kvs) {
        if (arch.family() == Architecture.Family.GEMMA) {
            // GemmaModel.set_vocab: SentencePiece, CodeGemma FIM ids, no chat template twice, no space prefix
            VocabularyKvs.addSentencePiece(modelDir, config, kvs);
            SpecialVocab fim = new SpecialVocab(modelDir, false, List.of("prefix", "suffix", "middle", "fsep", "eot"), null);
            fim.setSpecialToken("prefix", 67);
            fim.setSpecialToken("suffix", 69);
            fim.setSpecialToken("middle", 68);
            fim.setSpecialToken("fsep", 70);
            fim.setSpecialToken("eot", 107);
            fim.clearChatTemplate();
            fim.addTo(kvs);
            SpecialVocab.put(kvs, MetaKv.bool("tokenizer.ggml.add_space_prefix", false));
            return;
        }
        Path tc = modelDir.resolve("tokenizer_config.json");
        if (arch.family() == Architecture.Family.LLAMA && Files.isRegularFile(tc)
                && HfConfig.readJson(tc, ConvertException.Kind.BAD_TOKENIZER).get("add_prefix_space") instanceof Boolean b) {
            SpecialVocab.put(kvs, MetaKv.bool("tokenizer.ggml.add_space_prefix", b));
        }
        // LlamaModel.set_vocab: SentencePiece first, then a Llama-2-style tokenizer.json (LlamaHfVocab), then GPT-2 BPE
        if (VocabularyKvs.hasSentencePiece(modelDir)) {
            VocabularyKvs.addSentencePiece(modelDir, config, kvs);
            return;
        }
        Path tj = modelDir.resolve("tokenizer.json");
        if (Files.isRegularFile(tj)) {
            Map<String, Object> parsed = HfConfig.readJson(tj, ConvertException.Kind.BAD_TOKENIZER);
            if (arch.family() == Architecture.Family.LLAMA && LlamaHfVocabularyKvs.accepts(parsed)) {
                LlamaHfVocabularyKvs.add(modelDir, parsed, kvs);
                return;
            }
            if (BpeVocabularyKvs.isByteLevelBpe(parsed)) {
                BpeVocabularyKvs.addGpt2(modelDir, config, parsed, kvs);
                return;
            }
        }
        throw new ConvertException(ConvertException.Kind.BAD_TOKENIZER, modelDir
                + ": no tokenizer.model and no BPE tokenizer.json that the converter knows");
    }

    private static final Pattern BLOCK = Pattern.compile("blk\\.(\\d+)\\..*");

    /** llama-model-loader's {@code weight_name_comparer}: non-layer tensors first, then by layer, then by name. */
    static final Comparator<String> LLAMA_CPP_ORDER = Comparator.comparingInt(HfToGguf::layerOf)
            .thenComparing(Comparator.naturalOrder());

    private static int layerOf(String name) {
        Matcher m = BLOCK.matcher(name);
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }

    /**
     * llama-quantize applied to the F16 plan: KVs copied with {@code general.quantization_version} and
     * {@code general.file_type} moved to the end, tensors in llama.cpp's loader order, 2-D weights quantized.
     */
    static Plan quantizedPlan(Architecture arch, HfConfig config, OutputType type, List<MetaKv> f16Kvs,
                              List<PlannedTensor> f16Tensors) {
        List<MetaKv> kvs = new ArrayList<>();
        for (MetaKv kv : f16Kvs) {
            if (!kv.key().equals("general.quantization_version") && !kv.key().equals("general.file_type")) {
                kvs.add(kv);
            }
        }
        kvs.add(MetaKv.u32("general.quantization_version", ModelMetadata.QUANT_VERSION));
        kvs.add(MetaKv.u32("general.file_type", type.fileType()));
        List<QuantMix.Tensor> mixIn = new ArrayList<>();
        for (PlannedTensor t : f16Tensors) {
            mixIn.add(new QuantMix.Tensor(t.name(), t.dims(), t.type()));
        }
        QuantMix.ModelParams hp = new QuantMix.ModelParams(
                Math.toIntExact(config.requireLong("n_layers", "num_hidden_layers", "n_layer", "num_layers")),
                Math.toIntExact(config.requireLong("n_heads", "num_attention_heads")),
                Math.toIntExact(config.requireLong("n_kv_heads", "num_key_value_heads")), 0);
        LlamaFileType ftype = LlamaFileType.fromId(type.fileType()).orElseThrow();
        List<GgmlType> types = QuantMix.plan(mixIn, hp, ftype).types();
        List<PlannedTensor> tensors = new ArrayList<>();
        for (int i = 0; i < f16Tensors.size(); i++) {
            PlannedTensor t = f16Tensors.get(i);
            tensors.add(new PlannedTensor(t.name(), t.source(), types.get(i), t.dims(), t.permuteHeads(), t.shift()));
        }
        tensors.sort(Comparator.comparing(PlannedTensor::name, LLAMA_CPP_ORDER));
        return new Plan(arch, config, type, kvs, tensors);
    }

    /** ggml's reference quantizer for {@code type} (what llama-quantize runs without an imatrix). */
    static RowQuantizer quantizer(GgmlType type) {
        GgmlCodec codec = GgmlCodec.of(type);
        return (src, n, dst, off) -> codec.quantize(src, 0, n, dst, off);
    }


    public static Summary write(Plan plan, TensorProvider provider, Path out, boolean overwrite) throws IOException {
        return write(plan, provider, out, overwrite, Progress.NONE);
    }

    /**
     * Writes {@code plan} to {@code out}, atomically. Tensors are encoded in parallel (one per core), each
     * through a bounded buffer written at its place in the output (no mapped output pages, and source pages
     * released as rows are done, so resident memory does not grow with the model); the bytes do not depend
     * on the order.
     */
    public static Summary write(Plan plan, TensorProvider given, Path out, boolean overwrite, Progress progress)
            throws IOException {
        float[] rope = plan.tensors().stream().anyMatch(t -> t.source().equals(RopeFreqs.SOURCE))
                ? RopeFreqs.factors(plan.config()).orElseThrow() : null;
        TensorProvider provider = rope == null ? given : new TensorProvider() {
            @Override
            public TensorView tensor(String name) {
                return name.equals(RopeFreqs.SOURCE) ? RopeFreqs.view(rope) : given.tensor(name);
            }

            @Override
            public void release(String name, TensorView view) {
                given.release(name, view);
            }
        };
        try (GgufWriter w = GgufWriter.create(out, overwrite)) {
            w.addKvs(GgufKvs.of(plan.kvs()));
            long bytes = 0;
            Map<String, Long> sizes = new LinkedHashMap<>();
            for (PlannedTensor t : plan.tensors()) {
                long size = w.addTensor(t.name(), t.type(), t.dims());
                sizes.put(t.name(), size);
                bytes += size;
            }
            w.writeHeader();
            long total = bytes;
            AtomicInteger done = new AtomicInteger();
            AtomicLong doneBytes = new AtomicLong();
            int threads = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), plan.tensors().size()));
            try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
                List<Future<?>> jobs = new ArrayList<>();
                for (PlannedTensor t : plan.tensors()) {
                    jobs.add(pool.submit(() -> {
                        TensorView src = provider.tensor(t.source());
                        long size = sizes.get(t.name());
                        RowQuantizer q = t.type().isQuantized() ? quantizer(t.type()) : null;
                        try {
                            TensorEncoder.encode(src, t.permuteHeads(), t.shift(), t.type(), q, size, w.tensorSink(t.name()));
                        } finally {
                            provider.release(t.source(), src);
                        }
                        progress.tensorDone(t.name(), done.incrementAndGet(), plan.tensors().size(),
                                doneBytes.addAndGet(size), total);
                        return null;
                    }));
                }
                for (Future<?> f : jobs) {
                    try {
                        f.get();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new java.io.InterruptedIOException("interrupted while writing " + out);
                    } catch (ExecutionException e) {
                        jobs.forEach(j -> j.cancel(true));
                        Throwable c = e.getCause();
                        if (c instanceof IOException io) {
                            throw io;
                        }
                        if (c instanceof RuntimeException r) {
                            throw r;
                        }
                        throw new IllegalStateException(c);
                    }
                }
            }
            w.finish();
            return new Summary(out, plan.type(), plan.tensors().size(), bytes, plan.notes());
        }
    }

    /** An adapter folder and the factor its scale is multiplied by ({@code --weight}). */
    public record AdapterSpec(Path dir, double weight) {
    }

    /**
     * Converts a model folder, with adapters merged first (each tensor exactly as the merge does it: float64,
     * one rounding to the base tensor's dtype), then converted; no intermediate file, one tensor in memory.
     */
    public static Summary convert(Path modelDir, List<AdapterSpec> adapters, Path out, OutputType type,
                                  boolean overwrite) throws IOException {
        return convert(modelDir, adapters, out, type, overwrite, Progress.NONE);
    }

    public static Summary convert(Path modelDir, List<AdapterSpec> adapters, Path out, OutputType type,
                                  boolean overwrite, Progress progress) throws IOException {
        if (adapters.isEmpty()) {
            try (ModelSource src = ModelSource.open(modelDir, scratchFor(out))) {
                return write(plan(modelDir, src, type), src::get, out, overwrite, progress);
            }
        }
        List<LoraAdapter> opened = new ArrayList<>();
        try (ModelSource src = ModelSource.open(modelDir, scratchFor(out))) {
            ModelMerger.startKernelWarmUp(src, null); // merged at the base's dtype, then converted
            List<WeightedAdapter> weighted = new ArrayList<>();
            for (AdapterSpec a : adapters) {
                LoraAdapter la = LoraAdapter.open(a.dir());
                opened.add(la);
                weighted.add(new WeightedAdapter(la, a.weight()));
            }
            HfConfig config = HfConfig.read(modelDir);
            MergePlan mp = MergePlan.build(
                    new AdapterCheck.Base(modelDir, src, config.params()), weighted, null);
            Map<String, MergePlan.Op> ops = new LinkedHashMap<>();
            for (MergePlan.Op op : mp.ops()) {
                ops.put(op.name(), op);
            }
            List<String> order = converterOrder(src);
            if (mp.untied() && !order.contains(AdapterCheck.LM_HEAD)) {
                // the merged folder would store lm_head.weight; in a single file it sorts first
                order.add(0, AdapterCheck.LM_HEAD);
            }
            Plan plan = plan(modelDir, order, name -> ops.get(name).shape().dims(), type);
            // a merged tensor lives in its own arena until it is written: freed then, not whenever a GC
            // comes (the serial collector rarely runs here, and auto arenas held 2.8 GB on a 1B model)
            Map<String, Arena> arenas = new java.util.concurrent.ConcurrentHashMap<>();
            TensorProvider merged = new TensorProvider() {
                @Override
                public TensorView tensor(String name) {
                    MergePlan.Op op = ops.get(name);
                    if (op instanceof MergePlan.Copy c && c.source().dtype() == c.outType()) {
                        return c.source();
                    }
                    long bytes = op.shape().byteCount(op.outType());
                    Arena arena = Arena.ofShared();
                    MemorySegment seg;
                    try {
                        seg = arena.allocate(bytes, 8);
                        MergePlan.compute(op, seg, LowRankKernel.preferred());
                    } catch (RuntimeException | Error e) {
                        arena.close(); // never handed out, so never released
                        throw e;
                    }
                    arenas.put(name, arena);
                    if (op instanceof MergePlan.Update u && u.base().data().isMapped()) {
                        u.base().data().unload(); // its pages are read; as TensorEncoder does for copies
                    }
                    return new TensorView(name, op.outType(), op.shape(), seg);
                }

                @Override
                public void release(String name, TensorView view) {
                    Arena arena = arenas.remove(name);
                    if (arena != null) {
                        arena.close();
                    }
                }
            };
            return write(plan, merged, out, overwrite, progress);
        } finally {
            for (LoraAdapter la : opened) {
                la.close();
            }
        }
    }

    /** Where a bitsandbytes base's dequantized weights spill: beside the output file. */
    private static Path scratchFor(Path out) {
        Path dir = out.toAbsolutePath().getParent();
        return dir != null && Files.isDirectory(dir) ? dir : null;
    }

    /** Converts a model folder without adapters. */
    public static Summary convert(Path modelDir, Path out, OutputType type, boolean overwrite) throws IOException {
        try (ModelSource src = ModelSource.open(modelDir, scratchFor(out))) {
            Plan plan = plan(modelDir, src, type);
            return write(plan, src::get, out, overwrite);
        }
    }
}
