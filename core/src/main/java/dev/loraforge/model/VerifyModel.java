package dev.loraforge.model;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.adapter.AdapterCheck;
import dev.loraforge.adapter.LoraAdapter;
import dev.loraforge.convert.HfConfig;
import dev.loraforge.format.ModelSource;
import dev.loraforge.format.gguf.GgmlType;
import dev.loraforge.format.gguf.GgufFile;
import dev.loraforge.format.gguf.GgufTensor;
import dev.loraforge.format.gguf.GgufValue;
import dev.loraforge.format.gguf.GgufValueType;
import dev.loraforge.merge.LowRankKernel;
import dev.loraforge.merge.MergePlan;
import dev.loraforge.merge.WeightedAdapter;
import dev.loraforge.quant.LlamaFileType;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import dev.loraforge.tokenizer.Tokenizer;
import dev.loraforge.tokenizer.Tokenizers;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One side of a verification, opened: the runnable model (adapters applied unmerged), its tokenizer,
 * chat template, the tensors for the structural diff and what kind of storage it is. A Hugging Face
 * folder's diff side with adapters is the merge computed in memory (float64, one rounding to the base
 * dtype, exactly as {@code merge} writes it), so a correct merged output shows every tensor identical.
 */
final class VerifyModel implements AutoCloseable {

    final Verification.Spec spec;
    final LlamaModel model;
    final Tokenizer tokenizer;          // null when the folder has no tokenizer files
    final String tokenizerSource;
    final Optional<String> chatTemplate;
    final StructuralDiff.Side side;
    final String storage;               // GGUF file type name (Q4_K_M, F32, ...) or the folder's dtype
    final DType floatType;              // the folder's (widest-count) weight dtype; null for quantized GGUFs
    final Optional<String> bnbKind;     // NF4, FP4 or INT8 for a bitsandbytes folder (its weights dequantized)
    private final List<AutoCloseable> resources;

    private VerifyModel(Verification.Spec spec, LlamaModel model, Tokenizer tokenizer, String tokenizerSource,
                        Optional<String> chatTemplate, StructuralDiff.Side side, String storage, DType floatType,
                        Optional<String> bnbKind, List<AutoCloseable> resources) {
        this.spec = spec;
        this.model = model;
        this.tokenizer = tokenizer;
        this.tokenizerSource = tokenizerSource;
        this.chatTemplate = chatTemplate;
        this.side = side;
        this.storage = storage;
        this.floatType = floatType;
        this.bnbKind = bnbKind;
        this.resources = resources;
    }

    /**
     * @param inPlace keep the projections in the mapped files and decode rows at every use (memory ~ the file
     *                sizes, slower) instead of float32 copies of every matrix
     */
    static VerifyModel open(Verification.Spec spec, boolean inPlace) throws IOException {
        List<AutoCloseable> resources = new ArrayList<>();
        try {
            List<LoraAdapter> adapters = new ArrayList<>();
            for (Path a : spec.adapters()) {
                LoraAdapter la = LoraAdapter.open(a);
                resources.add(la);
                adapters.add(la);
            }
            boolean gguf = Files.isRegularFile(spec.model()) && spec.model().getFileName().toString().endsWith(".gguf");
            return gguf ? openGguf(spec, adapters, resources, inPlace) : openFolder(spec, adapters, resources, inPlace);
        } catch (IOException | RuntimeException e) {
            closeAll(resources, e);
            throw e;
        }
    }

    private static VerifyModel openGguf(Verification.Spec spec, List<LoraAdapter> adapters, List<AutoCloseable> resources,
                                        boolean inPlace) throws IOException {
        GgufFile f = GgufFile.open(spec.model());
        resources.add(f);
        LlamaConfig config = GgufLlama.config(f);
        // never cached (the diff reads each tensor once, the model keeps what it needs); the embedding is read by rows
        TensorSource weights = GgufLlama.tensors(f, config);
        LlamaModel model = withAdapters(config, weights, adapters, inPlace ? GgufLlama.inPlace(f, config) : LinearFactory.DENSE);
        Map<String, String> types = new LinkedHashMap<>();
        List<String> unmapped = new ArrayList<>();
        Map<GgmlType, Long> byType = new LinkedHashMap<>();
        for (GgufTensor t : f.tensors()) {
            String hf = GgufLlama.hfName(t.name());
            if (hf == null) {
                unmapped.add(t.name() + " (GGUF)");
            } else {
                types.put(hf, t.type().toString());
            }
            byType.merge(t.type(), t.elementCount(), Long::sum);
        }
        // general.file_type names the mix; without it, the type holding the most values stands for the file
        Optional<LlamaFileType> fileType = LlamaFileType.fromId(storageId(f));
        Optional<GgmlType> dominant = byType.entrySet().stream()
                .max(Map.Entry.comparingByValue()).map(Map.Entry::getKey);
        String storage = fileType.map(LlamaFileType::displayName).orElseGet(() -> dominant.map(Object::toString).orElse("?"));
        DType floatType = fileType.map(LlamaFileType::defaultType).or(() -> dominant).flatMap(GgufTensor::dtypeOf).orElse(null);
        Tokenizer tok = Tokenizers.fromGgufMetadata(key -> f.find(key).map(VerifyModel::plain).orElse(null));
        Optional<String> template = f.find("tokenizer.chat_template").map(VerifyModel::plain).map(Object::toString);
        return new VerifyModel(spec, model, tok, spec.model().getFileName() + " metadata", template,
                new StructuralDiff.Side(weights, types, unmapped), storage, floatType, Optional.empty(), resources);
    }

    private static int storageId(GgufFile f) {
        return f.find("general.file_type").isPresent() ? (int) f.requireLong("general.file_type") : -1;
    }

    private static VerifyModel openFolder(Verification.Spec spec, List<LoraAdapter> adapters, List<AutoCloseable> resources,
                                          boolean inPlace) throws IOException {
        LlamaConfig config = LlamaConfig.read(spec.model());
        // safetensors, PyTorch .bin or a bitsandbytes (QLoRA) base, as every command opens a model folder
        ModelSource files = ModelSource.open(spec.model());
        resources.add(files);
        LlamaModel model = withAdapters(config, files, adapters, inPlace ? LinearFactory.IN_PLACE : LinearFactory.DENSE);
        Map<DType, Long> counts = new EnumMap<>(DType.class);
        for (String n : files.names()) {
            TensorView t = files.get(n);
            counts.merge(t.dtype(), t.elementCount(), Long::sum);
        }
        DType main = counts.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(DType.F32);
        // an adapter's own tokenizer (added tokens) is what the fine-tuned model uses, as merge copies it
        Path tokDir = spec.model();
        for (Path a : spec.adapters()) {
            if (Files.exists(a.resolve("tokenizer.json")) || Files.exists(a.resolve("tokenizer.model"))) {
                tokDir = a;
            }
        }
        Tokenizer tok = Files.exists(tokDir.resolve("tokenizer.json")) || Files.exists(tokDir.resolve("tokenizer.model"))
                ? Tokenizers.load(tokDir) : null;
        Map<String, MergePlan.Op> ops = adapters.isEmpty() ? Map.of() : mergeOps(spec.model(), files, adapters);
        Map<String, String> types = new LinkedHashMap<>();
        if (adapters.isEmpty()) {
            files.names().forEach(n -> types.put(n, files.get(n).dtype().toString()));
        } else {
            ops.forEach((n, op) -> types.put(n, op.outType().toString()));
        }
        TensorSource diff = adapters.isEmpty() ? files : merged(spec.model(), ops, adapters.size());
        Optional<String> bnb = files.bnbConfig().map(c -> c.loadIn8bit() ? "INT8"
                : c.quantType().map(Enum::name).orElse("NF4"));
        return new VerifyModel(spec, model, tok, tokDir.toString(), chatTemplate(tokDir),
                new StructuralDiff.Side(diff, types, List.of()), bnb.map(k -> k + " (bitsandbytes, as " + main + ")")
                .orElse(main.toString()), main, bnb, resources);
    }

    /** Base weights with each adapter applied unmerged (adapters stack: each wraps the previous). */
    private static LlamaModel withAdapters(LlamaConfig config, TensorSource weights, List<LoraAdapter> adapters,
                                           LinearFactory base) {
        LinearFactory factory = base;
        TensorSource source = weights;
        List<UnmergedLora> loras = new ArrayList<>();
        for (LoraAdapter a : adapters) {
            UnmergedLora lora = new UnmergedLora(a, factory);
            loras.add(lora);
            factory = lora;
            source = lora.overlay(source);
        }
        LlamaModel m = LlamaModel.load(config, source, factory);
        loras.forEach(UnmergedLora::requireAllUsed);
        return m;
    }

    /** The exact merge the {@code merge} command would write, computed tensor by tensor on demand. */
    private static TensorSource merged(Path dir, Map<String, MergePlan.Op> ops, int adapters) {
        return new TensorSource() {
            @Override
            public List<String> names() {
                return new ArrayList<>(ops.keySet());
            }

            @Override
            public Optional<TensorView> find(String name) {
                MergePlan.Op op = ops.get(name);
                if (op == null) {
                    return Optional.empty();
                }
                if (op instanceof MergePlan.Copy c && c.source().dtype() == c.outType()) {
                    return Optional.of(c.source());
                }
                MemorySegment seg = Arena.ofAuto().allocate(op.shape().byteCount(op.outType()), 8);
                MergePlan.compute(op, seg, LowRankKernel.preferred());
                return Optional.of(new TensorView(name, op.outType(), op.shape(), seg));
            }

            @Override
            public void close() {
            }

            @Override
            public String toString() {
                return dir + " merged with " + adapters + " adapter(s) in memory";
            }
        };
    }

    private static Map<String, MergePlan.Op> mergeOps(Path dir, ModelSource files, List<LoraAdapter> adapters) {
        List<WeightedAdapter> weighted = adapters.stream().map(a -> new WeightedAdapter(a, 1.0)).toList();
        MergePlan plan = MergePlan.build(new AdapterCheck.Base(dir, files, HfConfig.read(dir).params()), weighted, null);
        Map<String, MergePlan.Op> ops = new LinkedHashMap<>();
        for (MergePlan.Op op : plan.ops()) {
            ops.put(op.name(), op);
        }
        return ops;
    }

    /** tokenizer_config.json's chat_template (a string, or PEFT/transformers' list of named ones) or chat_template.jinja. */
    static Optional<String> chatTemplate(Path dir) throws IOException {
        Path jinja = dir.resolve("chat_template.jinja");
        if (Files.exists(jinja)) {
            return Optional.of(Files.readString(jinja));
        }
        Path cfg = dir.resolve("tokenizer_config.json");
        if (!Files.exists(cfg)) {
            return Optional.empty();
        }
        Object t = JSON.std.mapFrom(Files.readString(cfg)).get("chat_template");
        if (t instanceof String s) {
            return Optional.of(s);
        }
        if (t instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof Map<?, ?> m && "default".equals(m.get("name")) && m.get("template") instanceof String s) {
                    return Optional.of(s);
                }
            }
            return list.isEmpty() ? Optional.empty() : Optional.of(list.toString());
        }
        return Optional.empty();
    }

    /** A GGUF metadata value as plain Java: String, Long, Double, Boolean or List. */
    static Object plain(GgufValue v) {
        return switch (v) {
            case GgufValue.Str s -> s.value();
            case GgufValue.Scalar s when s.type() == GgufValueType.BOOL -> s.asBool();
            case GgufValue.Scalar s when s.type().isInteger() -> s.asLong();
            case GgufValue.Scalar s -> s.asDouble();
            case GgufValue.Array a -> a.items().stream().map(VerifyModel::plain).toList();
        };
    }

    String describe() {
        StringBuilder sb = new StringBuilder(spec.model().toString());
        for (Path a : spec.adapters()) {
            sb.append(" + ").append(a);
        }
        return sb.append(" [").append(storage).append(']').toString();
    }

    @Override
    public void close() {
        closeAll(resources, null);
    }

    private static void closeAll(List<AutoCloseable> resources, Throwable primary) {
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                if (primary != null) {
                    primary.addSuppressed(e);
                }
            }
        }
    }
}
