package dev.loraforge.merge;

import dev.loraforge.adapter.AdapterException;
import dev.loraforge.adapter.AdapterException.Kind;
import dev.loraforge.adapter.AdapterWriter;
import dev.loraforge.adapter.LoraAdapter;
import dev.loraforge.adapter.LoraModule;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * PEFT's {@code add_weighted_adapter} for LoRA, writing a new adapter folder (F32 tensors, computed in
 * float64 and rounded once):
 * <ul>
 *   <li>{@link Method#CAT}: A' = [A₁; A₂; …] (rows), B' = [w₁s₁B₁, w₂s₂B₂, …] (columns), rank Σrᵢ (modules
 *       that not every adapter targets are padded with zeros to that rank, as PEFT does), so
 *       B'·A' = Σ wᵢsᵢBᵢAᵢ: the combined adapter is the weighted sum of the updates;</li>
 *   <li>{@link Method#LINEAR}: equal ranks only; A' = Σ √(wᵢsᵢ)·Aᵢ and B' = Σ √(wᵢsᵢ)·Bᵢ (PEFT's
 *       {@code task_arithmetic} on A and B separately, so cross terms BᵢAⱼ appear: not the sum of the updates).</li>
 * </ul>
 * The new config has r = lora_alpha = the new rank (scaling 1), no rsLoRA, no patterns, and target_modules
 * the union of the modules' last names; other keys come from the first adapter.
 */
public final class AdapterCombiner {
    public enum Method { LINEAR, CAT }

    private AdapterCombiner() {
    }

    /** @return the number of combined modules */
    public static int combine(List<WeightedAdapter> adapters, Method method, Path out, boolean overwrite) throws IOException {
        if (adapters.isEmpty()) {
            throw new IllegalArgumentException("no adapters to combine");
        }
        for (WeightedAdapter wa : adapters) {
            LoraAdapter a = wa.adapter();
            if (a.config().useDora() || !a.fullTensors().isEmpty()) {
                throw new AdapterException(Kind.INCOMPATIBLE_ADAPTERS, a.dir() + ": "
                        + (a.config().useDora() ? "DoRA" : "modules_to_save") + " adapters cannot be combined");
            }
        }
        Map<String, List<Object[]>> byModule = new LinkedHashMap<>(); // module -> [LoraModule, weight·scaling]
        for (WeightedAdapter wa : adapters) {
            for (LoraModule m : wa.adapter().modules()) {
                byModule.computeIfAbsent(m.module(), k -> new ArrayList<>()).add(new Object[] {m, wa.weight() * m.scaling()});
            }
        }
        int newRank = 0;
        if (method == Method.LINEAR) {
            TreeSet<Integer> ranks = new TreeSet<>();
            byModule.values().forEach(l -> l.forEach(o -> ranks.add(((LoraModule) o[0]).rank())));
            if (ranks.size() != 1) {
                throw new AdapterException(Kind.INCOMPATIBLE_ADAPTERS, "linear combination needs equal ranks, the adapters have "
                        + ranks + "; use cat");
            }
            newRank = ranks.first();
        }
        int maxRank = newRank;
        for (List<Object[]> parts : method == Method.CAT ? byModule.values() : List.<List<Object[]>>of()) {
            maxRank = Math.max(maxRank, parts.stream().mapToInt(p -> ((LoraModule) p[0]).rank()).sum());
        }
        List<TensorView> tensors = new ArrayList<>();
        TreeSet<String> targets = new TreeSet<>();
        for (var e : byModule.entrySet()) {
            List<Object[]> parts = e.getValue();
            LoraModule first = (LoraModule) parts.getFirst()[0];
            boolean emb = first.embedding();
            long in = first.a().shape().dim(1);
            long outRows = first.b().shape().dim(0);
            for (Object[] p : parts) {
                LoraModule m = (LoraModule) p[0];
                if (m.embedding() != emb || m.a().shape().dim(1) != in || m.b().shape().dim(0) != outRows) {
                    throw new AdapterException(Kind.INCOMPATIBLE_ADAPTERS, "module '" + e.getKey() + "' has different shapes "
                            + "in the adapters: " + first.a().shape() + "/" + first.b().shape() + " vs " + m.a().shape() + "/" + m.b().shape());
                }
            }
            // cat: PEFT gives every module the summed rank and leaves unused rows/columns zero
            int rank = method == Method.CAT ? maxRank : newRank;
            double[] a = new double[Math.toIntExact(rank * in)];
            double[] b = new double[Math.toIntExact(outRows * rank)];
            int off = 0;
            for (Object[] p : parts) {
                LoraModule m = (LoraModule) p[0];
                double ws = (double) p[1];
                int r = m.rank();
                double[] ai = new double[Math.toIntExact(r * in)];
                m.a().readDoubles(0, ai, 0, ai.length);
                double[] bi = new double[Math.toIntExact(outRows * r)];
                m.b().readDoubles(0, bi, 0, bi.length);
                if (method == Method.CAT) {
                    System.arraycopy(ai, 0, a, off * (int) in, ai.length);
                    for (int row = 0; row < outRows; row++) {
                        for (int k = 0; k < r; k++) {
                            b[row * rank + off + k] = bi[row * r + k] * ws;
                        }
                    }
                    off += r;
                } else {
                    if (ws < 0) {
                        throw new AdapterException(Kind.INCOMPATIBLE_ADAPTERS, "linear combination takes √(weight·scaling); "
                                + "module '" + e.getKey() + "' has weight·scaling " + ws + " < 0; use cat");
                    }
                    double f = Math.sqrt(ws);
                    for (int i = 0; i < ai.length; i++) {
                        a[i] += f * ai[i];
                    }
                    for (int i = 0; i < bi.length; i++) {
                        b[i] += f * bi[i];
                    }
                }
            }
            String key = LoraAdapter.PREFIX + e.getKey();
            tensors.add(f32(key + (emb ? ".lora_embedding_A" : ".lora_A.weight"), a, rank, in));
            tensors.add(f32(key + (emb ? ".lora_embedding_B" : ".lora_B.weight"), b, outRows, rank));
            targets.add(e.getKey().substring(e.getKey().lastIndexOf('.') + 1));
        }
        Map<String, Object> changes = new LinkedHashMap<>();
        changes.put("r", maxRank);
        changes.put("lora_alpha", maxRank);
        changes.put("use_rslora", false);
        changes.put("rank_pattern", Map.of());
        changes.put("alpha_pattern", Map.of());
        changes.put("target_modules", List.copyOf(targets));
        changes.put("layers_to_transform", null);
        changes.put("layers_pattern", null);
        AdapterWriter.write(out, adapters.getFirst().adapter().config().toJson(changes), tensors, overwrite);
        return byModule.size();
    }

    private static TensorView f32(String name, double[] v, long rows, long cols) {
        MemorySegment seg = MemorySegment.ofArray(new byte[v.length * 4]);
        TensorMerge.store(seg, DType.F32, 0, v, v.length);
        return new TensorView(name, DType.F32, Shape.of(rows, cols), seg);
    }
}
