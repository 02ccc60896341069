package dev.loraforge.model;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.model.ModelException.Kind;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Applies a PEFT LoRA adapter at run time instead of merging it: a {@link LinearFactory} that wraps the
 * base projections which have {@code lora_A}/{@code lora_B} tensors, plus a {@link TensorSource} overlay
 * for {@code modules_to_save} (full replacement tensors). Targets come from the tensors present, so
 * {@code target_modules} and {@code layers_to_transform} need no interpretation.
 * <p>
 * TODO(model): switch {@link Settings} to the adapter package's config reader (branch merge) once it lands;
 * this is the minimal subset the forward pass needs.
 */
public final class UnmergedLora implements LinearFactory {

    /** PEFT's prefix of every saved adapter tensor. */
    public static final String PREFIX = "base_model.model.";

    /**
     * The adapter_config.json keys that change the forward pass.
     *
     * @param rankPattern  module-name regex (PEFT {@code get_pattern_key}) → r
     * @param alphaPattern module-name regex → lora_alpha
     */
    public record Settings(int r, double loraAlpha, boolean useRslora, boolean useDora,
                           Map<String, Integer> rankPattern, Map<String, Double> alphaPattern) {
        public Settings {
            rankPattern = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(rankPattern));
            alphaPattern = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(alphaPattern));
            if (r <= 0) {
                throw new ModelException(Kind.BAD_ADAPTER, "adapter r must be positive, got " + r);
            }
        }

        public static Settings parse(String json) {
            Map<String, Object> m;
            try {
                m = JSON.std.mapFrom(json);
            } catch (IOException | RuntimeException e) {
                throw new ModelException(Kind.BAD_ADAPTER, "adapter_config.json is not a JSON object: " + e.getMessage(), e);
            }
            Object type = m.get("peft_type");
            if (type != null && !"LORA".equals(type)) {
                throw new ModelException(Kind.UNSUPPORTED, "peft_type " + type + " is not supported (only LORA)");
            }
            if (Boolean.TRUE.equals(m.get("fan_in_fan_out"))) {
                throw new ModelException(Kind.UNSUPPORTED, "fan_in_fan_out adapters (Conv1D models) are not supported");
            }
            if (m.get("r") == null || m.get("lora_alpha") == null) {
                throw new ModelException(Kind.BAD_ADAPTER, "adapter_config.json lacks r or lora_alpha");
            }
            Map<String, Integer> rp = new LinkedHashMap<>();
            patterns(m, "rank_pattern").forEach((k, v) -> rp.put(k, v.intValue()));
            Map<String, Double> ap = new LinkedHashMap<>();
            patterns(m, "alpha_pattern").forEach((k, v) -> ap.put(k, v.doubleValue()));
            return new Settings(((Number) m.get("r")).intValue(), ((Number) m.get("lora_alpha")).doubleValue(),
                    Boolean.TRUE.equals(m.get("use_rslora")), Boolean.TRUE.equals(m.get("use_dora")), rp, ap);
        }

        private static Map<String, Number> patterns(Map<String, Object> m, String key) {
            Map<String, Number> out = new LinkedHashMap<>();
            if (m.get(key) instanceof Map<?, ?> p) {
                for (var e : p.entrySet()) {
                    if (!(e.getValue() instanceof Number n)) {
                        throw new ModelException(Kind.BAD_ADAPTER, key + "['" + e.getKey() + "'] is not a number: " + e.getValue());
                    }
                    out.put(String.valueOf(e.getKey()), n);
                }
            }
            return out;
        }

        public Settings withRslora(boolean rslora) {
            return new Settings(r, loraAlpha, rslora, useDora, rankPattern, alphaPattern);
        }

        /** PEFT's rank for a module: first rank_pattern key matching {@code (.*\.)?(key)$}, else r. */
        public int rankOf(String module) {
            return match(rankPattern, module).orElse(r);
        }

        public double alphaOf(String module) {
            return match(alphaPattern, module).orElse(loraAlpha);
        }

        /** {@code alpha / sqrt(r)} with rsLoRA, else {@code alpha / r}. */
        public double scaleOf(String module) {
            int rank = rankOf(module);
            double alpha = alphaOf(module);
            return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
        }

        private static <V> Optional<V> match(Map<String, V> patterns, String module) {
            for (var e : patterns.entrySet()) {
                if (Pattern.compile("(.*\\.)?(" + e.getKey() + ")$").matcher(module).matches()) {
                    return Optional.of(e.getValue());
                }
            }
            return Optional.empty();
        }
    }

    private final Settings settings;
    private final TensorSource adapter;
    private final LinearFactory base;
    private final Set<String> used = ConcurrentHashMap.newKeySet();

    public UnmergedLora(Settings settings, TensorSource adapter, LinearFactory base) {
        this.settings = settings;
        this.adapter = adapter;
        this.base = base;
    }

    /** Loads {@code base} with {@code adapter} applied unmerged; fails if any adapter tensor goes unused. */
    public static LlamaModel load(LlamaConfig config, TensorSource base, Settings settings, TensorSource adapter) {
        UnmergedLora lora = new UnmergedLora(settings, adapter, LinearFactory.DENSE);
        LlamaModel model = LlamaModel.load(config, lora.overlay(base), lora);
        lora.requireAllUsed();
        return model;
    }

    public Settings settings() {
        return settings;
    }

    @Override
    public Linear create(String module, String weight, int out, int in, TensorSource source) {
        Linear w = base.create(module, weight, out, in, source);
        String key = PREFIX + module;
        Optional<TensorView> av = adapter.find(key + ".lora_A.weight");
        Optional<TensorView> bv = adapter.find(key + ".lora_B.weight");
        if (av.isEmpty() && bv.isEmpty()) {
            return w;
        }
        if (av.isEmpty() || bv.isEmpty()) {
            throw new ModelException(Kind.BAD_ADAPTER, module + " has only one of lora_A / lora_B in " + adapter);
        }
        int r = settings.rankOf(module);
        DenseLinear.check(av.get(), r, in);  // PEFT: lora_A [r, in], lora_B [out, r]
        DenseLinear.check(bv.get(), out, r);
        float[] a = av.get().toFloatArray();
        float[] b = bv.get().toFloatArray();
        double scale = settings.scaleOf(module);
        used.add(av.get().name());
        used.add(bv.get().name());
        double[] dora = null;
        Optional<TensorView> mv = adapter.find(key + ".lora_magnitude_vector");
        if (settings.useDora()) {
            TensorView m = mv.orElseThrow(() -> new ModelException(Kind.BAD_ADAPTER,
                    "use_dora is set but " + key + ".lora_magnitude_vector is missing in " + adapter));
            if (m.shape().rank() != 1 || m.shape().dim(0) != out || !m.dtype().isFloatingPoint()) {
                throw new ModelException(Kind.BAD_ADAPTER, m.name() + " is " + m.dtype() + " " + m.shape()
                        + ", expected a float vector [" + out + "]");
            }
            if (!(w instanceof DenseLinear dense)) {
                throw new ModelException(Kind.UNSUPPORTED, "DoRA needs dense base weights for " + module);
            }
            double[] norms = LoraLinear.mergedRowNorms(dense, a, b, r, scale);
            dora = new double[out];
            for (int o = 0; o < out; o++) {
                dora[o] = m.getDouble(o) / norms[o];
            }
            used.add(m.name());
        }
        return new LoraLinear(w, a, b, r, scale, dora);
    }

    /** The base tensors, with {@code modules_to_save} replacements from the adapter taking precedence. */
    public TensorSource overlay(TensorSource baseSource) {
        UnmergedLora self = this;
        return new TensorSource() {
            @Override
            public List<String> names() {
                return baseSource.names();
            }

            @Override
            public Optional<TensorView> find(String name) {
                Optional<TensorView> replaced = adapter.find(PREFIX + name);
                if (replaced.isPresent()) {
                    self.used.add(replaced.get().name());
                    return replaced;
                }
                return baseSource.find(name);
            }

            @Override
            public void close() {
                baseSource.close();
            }

            @Override
            public String toString() {
                return baseSource + " + modules_to_save of " + adapter;
            }
        };
    }

    /** Fails naming the adapter tensors no projection or overlay consumed (e.g. embedding LoRA). */
    public void requireAllUsed() {
        Set<String> unused = new TreeSet<>(adapter.names());
        unused.removeAll(used);
        if (!unused.isEmpty()) {
            List<String> some = new ArrayList<>(unused).subList(0, Math.min(5, unused.size()));
            throw new ModelException(Kind.BAD_ADAPTER, unused.size() + " adapter tensors were not applied, e.g. " + some);
        }
    }
}
