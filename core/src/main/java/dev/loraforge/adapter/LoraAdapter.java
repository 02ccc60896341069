package dev.loraforge.adapter;

import dev.loraforge.adapter.AdapterException.Kind;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import dev.loraforge.format.safetensors.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A PEFT LoRA adapter: its config and its tensors grouped by module, as PEFT's {@code save_pretrained}
 * names them (adapter name stripped):
 * <ul>
 *   <li>{@code base_model.model.<module>.lora_A.weight} (r × in), {@code .lora_B.weight} (out × r);</li>
 *   <li>{@code base_model.model.<module>.lora_embedding_A} (r × vocab), {@code .lora_embedding_B} (dim × r);</li>
 *   <li>{@code base_model.model.<module>.lora_magnitude_vector} (DoRA; PEFT removes the {@code .weight});</li>
 *   <li>any other {@code base_model.model.<name>}: a full tensor that replaces {@code <name>} in the base
 *       (modules_to_save, and biases with bias=all/lora_only).</li>
 * </ul>
 */
public final class LoraAdapter implements AutoCloseable {
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    /** Read (through the restricted unpickler) only when there is no {@link #WEIGHTS_FILE}. */
    public static final String BIN_FILE = "adapter_model.bin";
    public static final String PREFIX = "base_model.model.";

    private final Path dir;
    private final AdapterConfig config;
    private final TensorSource tensors;
    private final List<LoraModule> modules;
    private final Map<String, TensorView> fullTensors;

    private LoraAdapter(Path dir, AdapterConfig config, TensorSource tensors, List<LoraModule> modules,
                        Map<String, TensorView> fullTensors) {
        this.dir = dir;
        this.config = config;
        this.tensors = tensors;
        this.modules = List.copyOf(modules);
        this.fullTensors = Map.copyOf(fullTensors);
    }

    /**
     * Opens a PEFT adapter folder: adapter_config.json + adapter_model.safetensors, or, as PEFT falls back,
     * adapter_model.bin (read with the restricted unpickler: no code runs).
     */
    public static LoraAdapter open(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            if (Files.exists(dir)) {
                throw new AdapterException(Kind.MISSING_FILE, dir + " is not a folder; pass the adapter folder");
            }
            throw new NoSuchFileException(dir.toString());
        }
        AdapterConfig config = AdapterConfig.read(dir);
        Path weights = dir.resolve(WEIGHTS_FILE);
        TensorSource file;
        if (Files.isRegularFile(weights)) {
            file = SafetensorsFile.open(weights);
        } else if (Files.isRegularFile(dir.resolve(BIN_FILE))) {
            file = dev.loraforge.format.torch.TorchFile.open(dir.resolve(BIN_FILE));
        } else {
            throw new AdapterException(Kind.MISSING_FILE, dir + ": neither " + WEIGHTS_FILE + " nor " + BIN_FILE);
        }
        try {
            return of(dir, config, file);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** Groups the tensors by module and checks each module is complete and has the config's rank. */
    public static LoraAdapter of(Path dir, AdapterConfig config, TensorSource tensors) {
        String src = dir == null ? "adapter" : dir.resolve(Files.isRegularFile(dir.resolve(WEIGHTS_FILE))
                || !Files.isRegularFile(dir.resolve(BIN_FILE)) ? WEIGHTS_FILE : BIN_FILE).toString();
        Map<String, TensorView[]> parts = new LinkedHashMap<>(); // module -> A, B, magnitude
        Map<String, Boolean> embedding = new LinkedHashMap<>();
        Map<String, TensorView> full = new LinkedHashMap<>();
        for (String name : tensors.names()) {
            if (!name.startsWith(PREFIX)) {
                throw new AdapterException(Kind.UNKNOWN_TENSOR, src + ": tensor '" + name
                        + "' does not start with '" + PREFIX + "'; not a PEFT adapter file");
            }
            String key = name.substring(PREFIX.length());
            TensorView t = tensors.get(name);
            int slot;
            String module;
            boolean emb = false;
            if (key.endsWith(".lora_A.weight")) {
                module = cut(key, ".lora_A.weight");
                slot = 0;
            } else if (key.endsWith(".lora_B.weight")) {
                module = cut(key, ".lora_B.weight");
                slot = 1;
            } else if (key.endsWith(".lora_embedding_A")) {
                module = cut(key, ".lora_embedding_A");
                slot = 0;
                emb = true;
            } else if (key.endsWith(".lora_embedding_B")) {
                module = cut(key, ".lora_embedding_B");
                slot = 1;
                emb = true;
            } else if (key.endsWith(".lora_magnitude_vector")) {
                module = cut(key, ".lora_magnitude_vector");
                slot = 2;
            } else if (key.endsWith(".lora_magnitude_vector.weight")) {
                module = cut(key, ".lora_magnitude_vector.weight");
                slot = 2;
            } else if (key.endsWith(".lora_B.bias")) {
                throw new AdapterException(Kind.UNSUPPORTED_OPTION, src + ": tensor '" + name
                        + "' is a LoRA bias (lora_bias=true), which merging does not support yet");
            } else if (key.contains(".lora_")) {
                throw new AdapterException(Kind.UNKNOWN_TENSOR, src + ": tensor '" + name
                        + "' is not one of PEFT's LoRA keys (lora_A.weight, lora_B.weight, lora_embedding_A/B,"
                        + " lora_magnitude_vector); was the adapter name left in the key?");
            } else {
                full.put(key, t);
                continue;
            }
            if (!t.dtype().isFloatingPoint()) {
                throw new AdapterException(Kind.BAD_DTYPE, src + ": tensor '" + name + "' has dtype " + t.dtype());
            }
            TensorView[] p = parts.computeIfAbsent(module, k -> new TensorView[3]);
            p[slot] = t;
            if (slot < 2) {
                Boolean prev = embedding.put(module, emb);
                if (prev != null && prev != emb) {
                    throw new AdapterException(Kind.INCOMPLETE_MODULE, src + ": module '" + module
                            + "' mixes lora_A/B and lora_embedding_A/B tensors");
                }
            }
        }
        List<LoraModule> modules = new ArrayList<>();
        for (var e : parts.entrySet()) {
            String module = e.getKey();
            TensorView[] p = e.getValue();
            if (p[0] == null || p[1] == null) {
                throw new AdapterException(Kind.INCOMPLETE_MODULE, src + ": module '" + module + "' has "
                        + (p[0] == null ? "no lora_A" : "no lora_B") + " tensor");
            }
            boolean emb = embedding.getOrDefault(module, false);
            if (p[0].shape().rank() != 2 || p[1].shape().rank() != 2) {
                throw new AdapterException(Kind.SHAPE_MISMATCH, src + ": module '" + module + "': A is "
                        + p[0].shape() + " and B is " + p[1].shape() + ", both must be 2-D");
            }
            long r = p[0].shape().dim(0);
            if (p[1].shape().dim(1) != r) {
                throw new AdapterException(Kind.SHAPE_MISMATCH, src + ": module '" + module + "': A is "
                        + p[0].shape() + " (r × in) but B is " + p[1].shape() + " (out × r)");
            }
            int rank = config.rankFor(module);
            if (r != rank) {
                throw new AdapterException(Kind.RANK_MISMATCH, src + ": module '" + module + "' has rank " + r
                        + " in its tensors but " + rank + " in adapter_config.json (r / rank_pattern)");
            }
            if (config.useDora() && p[2] == null) {
                throw new AdapterException(Kind.INCOMPLETE_MODULE, src + ": use_dora is set but module '" + module
                        + "' has no lora_magnitude_vector");
            }
            if (!config.useDora() && p[2] != null) {
                throw new AdapterException(Kind.INCOMPLETE_MODULE, src + ": module '" + module
                        + "' has a lora_magnitude_vector but use_dora is false");
            }
            if (p[2] != null && (emb || config.fanInFanOut())) {
                throw new AdapterException(Kind.UNSUPPORTED_OPTION, src + ": DoRA on " + (emb ? "an embedding" : "a fan_in_fan_out layer")
                        + " ('" + module + "') is not supported");
            }
            if (p[2] != null && (p[2].shape().rank() != 1 || p[2].shape().dim(0) != p[1].shape().dim(0))) {
                throw new AdapterException(Kind.SHAPE_MISMATCH, src + ": module '" + module + "': magnitude "
                        + p[2].shape() + " does not match B's " + p[1].shape().dim(0) + " output rows");
            }
            modules.add(new LoraModule(module, emb, p[0], p[1], p[2], rank, config.alphaFor(module),
                    config.scalingFor(module)));
        }
        return new LoraAdapter(dir, config, tensors, modules, full);
    }

    private static String cut(String key, String suffix) {
        return key.substring(0, key.length() - suffix.length());
    }

    public Path dir() {
        return dir;
    }

    public AdapterConfig config() {
        return config;
    }

    public TensorSource tensors() {
        return tensors;
    }

    /** LoRA modules in file order. */
    public List<LoraModule> modules() {
        return modules;
    }

    /** Full tensors (modules_to_save, biases) by the base tensor name they replace. */
    public Map<String, TensorView> fullTensors() {
        return fullTensors;
    }

    @Override
    public void close() {
        tensors.close();
    }
}
