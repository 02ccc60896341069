package dev.loraforge.model;

import dev.loraforge.adapter.LoraAdapter;
import dev.loraforge.adapter.LoraModule;
import dev.loraforge.model.ModelException.Kind;
import dev.loraforge.tensor.RowReader;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Applies a PEFT LoRA adapter at run time instead of merging it: a {@link LinearFactory} that wraps every
 * base projection the adapter has a module for (LoRA, rsLoRA, rank/alpha patterns, DoRA; scaling from
 * {@link LoraModule#scaling()}), plus a {@link TensorSource} overlay for {@code modules_to_save}
 * (full replacement tensors). Whatever the forward pass cannot apply (embedding LoRA, fan_in_fan_out)
 * is an error, never silently dropped.
 */
public final class UnmergedLora implements LinearFactory {

    private final LoraAdapter adapter;
    private final LinearFactory base;
    private final Map<String, LoraModule> modules = new LinkedHashMap<>();
    private final Set<String> used = ConcurrentHashMap.newKeySet();

    public UnmergedLora(LoraAdapter adapter, LinearFactory base) {
        this.adapter = adapter;
        this.base = base;
        if (adapter.config().fanInFanOut()) {
            throw new ModelException(Kind.UNSUPPORTED, "fan_in_fan_out adapters (Conv1D models) cannot run on a Llama");
        }
        for (LoraModule m : adapter.modules()) {
            modules.put(m.module(), m);
        }
    }

    /** Loads {@code base} with {@code adapter} applied unmerged; fails if any adapter tensor goes unused. */
    public static LlamaModel load(LlamaConfig config, TensorSource base, LoraAdapter adapter) {
        return load(config, base, adapter, LinearFactory.DENSE);
    }

    /** As {@link #load(LlamaConfig, TensorSource, LoraAdapter)}, with the base projections built by {@code baseFactory}. */
    public static LlamaModel load(LlamaConfig config, TensorSource base, LoraAdapter adapter, LinearFactory baseFactory) {
        UnmergedLora lora = new UnmergedLora(adapter, baseFactory);
        LlamaModel model = LlamaModel.load(config, lora.overlay(base), lora);
        lora.requireAllUsed();
        return model;
    }

    @Override
    public Linear create(String module, String weight, int out, int in, TensorSource source) {
        Linear w = base.create(module, weight, out, in, source);
        LoraModule m = modules.get(module);
        if (m == null) {
            return w;
        }
        if (m.embedding()) {
            return w; // reported by requireAllUsed: a tied head never takes the embedding's LoRA
        }
        int r = m.rank();
        DenseLinear.check(m.a(), r, in);  // PEFT: lora_A [r, in], lora_B [out, r]
        DenseLinear.check(m.b(), out, r);
        float[] a = m.a().toFloatArray();
        float[] b = m.b().toFloatArray();
        double[] dora = null;
        if (m.magnitude() != null) {
            if (!(w instanceof RowLinear rows)) {
                throw new ModelException(Kind.UNSUPPORTED, "DoRA needs readable base weight rows for " + module
                        + ", got " + w.getClass().getSimpleName());
            }
            double[] norms = LoraLinear.mergedRowNorms(rows, a, b, r, m.scaling());
            dora = new double[out];
            for (int o = 0; o < out; o++) {
                dora[o] = m.magnitude().getDouble(o) / norms[o];
            }
        }
        used.add(module);
        return new LoraLinear(w, a, b, r, m.scaling(), dora);
    }

    /** The base tensors, with {@code modules_to_save} replacements from the adapter taking precedence. */
    public TensorSource overlay(TensorSource baseSource) {
        Map<String, TensorView> full = adapter.fullTensors();
        return new TensorSource() {
            @Override
            public List<String> names() {
                return baseSource.names();
            }

            @Override
            public Optional<TensorView> find(String name) {
                TensorView replaced = full.get(name);
                if (replaced != null) {
                    used.add(name);
                    return Optional.of(replaced);
                }
                return baseSource.find(name);
            }

            @Override
            public boolean contains(String name) {
                if (full.containsKey(name)) {
                    used.add(name); // as find does
                    return true;
                }
                return baseSource.contains(name);
            }

            @Override
            public Optional<RowReader> rowReader(String name) {
                return full.containsKey(name) ? Optional.empty() : baseSource.rowReader(name);
            }

            @Override
            public void close() {
                baseSource.close();
            }

            @Override
            public String toString() {
                return baseSource + " + modules_to_save of " + adapter.dir();
            }
        };
    }

    /** Fails naming the adapter modules and tensors no projection or overlay consumed. */
    public void requireAllUsed() {
        Set<String> unused = new TreeSet<>(modules.keySet());
        unused.addAll(adapter.fullTensors().keySet());
        unused.removeAll(used);
        if (!unused.isEmpty()) {
            List<String> some = new ArrayList<>(unused).subList(0, Math.min(5, unused.size()));
            throw new ModelException(Kind.BAD_ADAPTER, unused.size() + " adapter modules/tensors of "
                    + adapter.dir() + " were not applied by the forward pass, e.g. " + some);
        }
    }
}
