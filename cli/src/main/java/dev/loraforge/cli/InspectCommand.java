package dev.loraforge.cli;

import dev.loraforge.adapter.AdapterConfig;
import dev.loraforge.adapter.LoraAdapter;
import dev.loraforge.adapter.LoraModule;
import dev.loraforge.format.gguf.GgufFile;
import dev.loraforge.format.ModelSource;
import dev.loraforge.format.safetensors.SafetensorsFile;
import dev.loraforge.inspect.ModelFacts;
import dev.loraforge.io.PythonJson;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "inspect", description = "Show what a model folder (safetensors, PyTorch .bin, bitsandbytes 4-bit/8-bit),"
        + " PEFT adapter folder, .safetensors, .bin or .gguf file holds.")
final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "PATH", description = "model folder (single or sharded), PEFT adapter folder, .safetensors or .gguf file")
    Path path;

    @Option(names = "--json", description = "print one JSON document instead of text")
    boolean json;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString());
        }
        if (Files.isRegularFile(path) && path.toString().endsWith(".gguf")) {
            try (GgufFile g = GgufFile.open(path)) {
                if (json) {
                    out.println(GgufInspect.toJson(g));
                } else {
                    GgufInspect.printText(g, out);
                }
            }
        } else if (Files.isDirectory(path) && Files.isRegularFile(path.resolve(AdapterConfig.FILE_NAME))) {
            adapter(out);
        } else if (Files.isRegularFile(path) && path.toString().endsWith(".safetensors")) {
            try (SafetensorsFile f = SafetensorsFile.open(path)) {
                model(out, f, Map.of(), "safetensors file");
            }
        } else if (Files.isDirectory(path) || path.toString().endsWith(".bin")) {
            try (ModelSource m = ModelSource.open(path)) {
                Path cfg = m.root().resolve("config.json");
                Map<String, Object> config = Files.isRegularFile(cfg)
                        ? PythonJson.parseObject(Files.readString(cfg)) : Map.of();
                int files = m.fileNames().size();
                String kind = m.storage() == ModelSource.Storage.SAFETENSORS ? "safetensors" : "PyTorch .bin";
                String what = (Files.isDirectory(path) ? "Hugging Face model, " : "")
                        + (files == 1 ? "1 " + kind + " file" : files + " " + kind + " shards")
                        + m.bnb().map(b -> ", bitsandbytes-quantized").orElse("");
                quantization = ModelQuantization.of(m).orElse(null);
                // sizes and shapes need no dequantization
                model(out, quantization == null ? m : ModelQuantization.shapesOnly(m), config, what);
            }
        } else {
            throw new UsageException(path + ": not a model folder, adapter folder, .safetensors, .bin or .gguf file");
        }
        out.flush();
        return ExitCodes.OK;
    }

    /** The bitsandbytes facts of the model being shown, or null. */
    private ModelQuantization quantization;

    private void model(PrintWriter out, TensorSource src, Map<String, Object> config, String what) {
        GgufEstimate.Result gguf = GgufEstimate.of(path, config, src);
        ModelFacts f = ModelFacts.of(config, src, gguf.bytes());
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("path", path.toString());
            m.put("kind", "model");
            m.put("architecture", f.architecture());
            m.put("model_type", f.modelType());
            put(m, "hidden_size", f.hiddenSize());
            put(m, "num_hidden_layers", f.layers());
            put(m, "num_attention_heads", f.heads());
            put(m, "num_key_value_heads", f.kvHeads());
            put(m, "head_dim", f.headDim());
            put(m, "intermediate_size", f.ffnSize());
            put(m, "vocab_size", f.vocabSize());
            put(m, "context_length", f.context());
            m.put("tied_embeddings", f.tiedEmbeddings());
            m.put("tensors", f.tensorCount());
            m.put("parameters", f.parameters());
            m.put("parameters_label", ModelFacts.sizeLabel(f.parameters()));
            Map<String, Object> dt = new LinkedHashMap<>();
            f.dtypeBytes().forEach((k, v) -> dt.put(k.name(), v));
            m.put("bytes_by_dtype", dt);
            Map<String, Object> est = new LinkedHashMap<>();
            est.put("adapter_r16_all_linear_f32", f.estimates().adapterBytes());
            est.put("merged_16bit", f.estimates().merged16Bytes());
            est.put("merged_16bit_shards_5GB", f.estimates().merged16Shards());
            f.estimates().ggufBytes().forEach((k, v) -> est.put("gguf_" + k, v));
            gguf.unavailable().forEach((k, v) -> est.put("gguf_" + k + "_unavailable", v));
            m.put("estimated_output_bytes", est);
            if (quantization != null) {
                m.put("quantization", quantization.toJson());
            }
            out.println(PythonJson.write(m, 2, false));
            return;
        }
        out.println(path + ": " + what + " (" + f.architecture() + ", " + f.modelType() + ")");
        List<String[]> rows = new ArrayList<>();
        row(rows, "hidden size", f.hiddenSize());
        row(rows, "layers", f.layers());
        if (f.heads().isPresent()) {
            rows.add(new String[] {"attention heads", num(f.heads().getAsLong()) + " (" + num(f.kvHeads().orElse(0))
                    + " KV heads" + (f.headDim().isPresent() ? ", head dim " + num(f.headDim().getAsLong()) : "") + ")"});
        }
        row(rows, "FFN size", f.ffnSize());
        row(rows, "vocabulary", f.vocabSize());
        row(rows, "context", f.context());
        rows.add(new String[] {"tied embeddings", f.tiedEmbeddings() ? "yes" : "no"});
        rows.add(new String[] {"parameters", num(f.parameters()) + " (" + ModelFacts.sizeLabel(f.parameters()) + ")"});
        StringBuilder dt = new StringBuilder();
        f.dtypeBytes().forEach((k, v) -> dt.append(dt.isEmpty() ? "" : ", ").append(k.name()).append(' ').append(bytes(v)));
        rows.add(new String[] {"tensors", num(f.tensorCount()) + ": " + dt
                + (quantization != null ? " (dequantized; as stored: " + quantization.storedBytes() + ")" : "")});
        if (quantization != null) {
            rows.add(new String[] {"quantization", quantization.describe()});
        }
        print(out, rows);
        out.println("estimated output sizes:");
        List<String[]> est = new ArrayList<>();
        est.add(new String[] {"LoRA adapter only (r=16, all linear, F32)", bytes(f.estimates().adapterBytes())});
        int shards = f.estimates().merged16Shards();
        est.add(new String[] {"merged 16-bit safetensors", bytes(f.estimates().merged16Bytes()) + " ("
                + (shards == 1 ? "1 file" : shards + " shards of 5 GB") + ")"});
        f.estimates().ggufBytes().forEach((k, v) -> est.add(new String[] {"GGUF " + k + " (tensor data)", bytes(v)}));
        gguf.unavailable().forEach((k, v) -> est.add(new String[] {"GGUF " + k, "cannot be made: " + v}));
        print(out, est);
    }

    private void adapter(PrintWriter out) throws IOException {
        try (LoraAdapter a = LoraAdapter.open(path)) {
            AdapterConfig c = a.config();
            List<LoraModule> mods = a.modules();
            TreeSet<String> targeted = new TreeSet<>();
            Map<DType, Long> dtypes = new LinkedHashMap<>();
            long params = 0;
            for (String n : a.tensors().names()) {
                TensorView v = a.tensors().get(n);
                dtypes.merge(v.dtype(), v.byteSize(), Long::sum);
                params += v.elementCount();
            }
            for (LoraModule m : mods) {
                String mod = m.module();
                targeted.add(mod.substring(mod.lastIndexOf('.') + 1));
            }
            long size;
            try (Stream<Path> files = Files.list(path)) {
                size = files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
            }
            double scale = c.useRslora() ? c.loraAlpha() / Math.sqrt(c.r()) : c.loraAlpha() / c.r();
            List<String> target = c.targetModules() != null ? c.targetModules() : List.of(String.valueOf(c.targetRegex()));
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("path", path.toString());
                m.put("kind", "adapter");
                m.put("peft_type", c.peftType());
                m.put("base_model_name_or_path", c.baseModelNameOrPath());
                m.put("r", c.r());
                m.put("lora_alpha", c.loraAlpha());
                m.put("scaling", scale);
                m.put("use_rslora", c.useRslora());
                m.put("use_dora", c.useDora());
                m.put("target_modules", target);
                m.put("rank_pattern", c.rankPattern());
                m.put("alpha_pattern", c.alphaPattern());
                m.put("modules_to_save", c.modulesToSave());
                m.put("bias", c.bias());
                m.put("lora_modules", mods.size());
                m.put("full_tensors", new ArrayList<>(a.fullTensors().keySet()));
                m.put("tensors", a.tensors().names().size());
                m.put("parameters", params);
                Map<String, Object> dt = new LinkedHashMap<>();
                dtypes.forEach((k, v) -> dt.put(k.name(), v));
                m.put("bytes_by_dtype", dt);
                m.put("folder_bytes", size);
                out.println(PythonJson.write(m, 2, false));
                return;
            }
            out.println(path + ": PEFT " + c.peftType() + " adapter");
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"base model", String.valueOf(c.baseModelNameOrPath())});
            rows.add(new String[] {"r", num(c.r()) + (c.rankPattern().isEmpty() ? "" : " (rank_pattern " + c.rankPattern() + ")")});
            rows.add(new String[] {"lora_alpha", fmt(c.loraAlpha()) + " (scale " + fmt(scale) + (c.useRslora() ? ", α/√r" : ", α/r") + ")"
                    + (c.alphaPattern().isEmpty() ? "" : " (alpha_pattern " + c.alphaPattern() + ")")});
            rows.add(new String[] {"rsLoRA", c.useRslora() ? "yes" : "no"});
            rows.add(new String[] {"DoRA", c.useDora() ? "yes" : "no"});
            rows.add(new String[] {"target modules", String.join(", ", target)});
            rows.add(new String[] {"modules_to_save", c.modulesToSave().isEmpty() ? "none" : String.join(", ", c.modulesToSave())});
            rows.add(new String[] {"bias", String.valueOf(c.bias())});
            rows.add(new String[] {"LoRA modules", num(mods.size()) + " (" + String.join(", ", targeted) + ")"});
            StringBuilder dt = new StringBuilder();
            dtypes.forEach((k, v) -> dt.append(dt.isEmpty() ? "" : ", ").append(k.name()).append(' ').append(bytes(v)));
            rows.add(new String[] {"tensors", num(a.tensors().names().size()) + ", " + num(params) + " parameters: " + dt});
            rows.add(new String[] {"size", bytes(size)});
            print(out, rows);
        }
    }

    private static void put(Map<String, Object> m, String key, OptionalLong v) {
        m.put(key, v.isPresent() ? v.getAsLong() : null);
    }

    private static void row(List<String[]> rows, String key, OptionalLong v) {
        if (v.isPresent()) {
            rows.add(new String[] {key, num(v.getAsLong())});
        }
    }

    private static void print(PrintWriter out, List<String[]> rows) {
        int w = rows.stream().mapToInt(r -> r[0].length()).max().orElse(0);
        for (String[] r : rows) {
            out.printf(Locale.ROOT, "  %-" + w + "s  %s%n", r[0], r[1]);
        }
    }

    static String num(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : String.format(Locale.ROOT, "%.4g", d);
    }

    /** Exact bytes with thousands separators and a decimal-unit form (as file managers and transformers count). */
    static String bytes(long b) {
        String[] units = {"B", "kB", "MB", "GB", "TB"};
        double v = b;
        int u = 0;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return num(b) + " bytes" + (u == 0 ? "" : String.format(Locale.ROOT, " (%.1f %s)", v, units[u]));
    }
}
