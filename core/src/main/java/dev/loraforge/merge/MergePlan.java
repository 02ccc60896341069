package dev.loraforge.merge;

import dev.loraforge.adapter.AdapterCheck;
import dev.loraforge.adapter.AdapterException;
import dev.loraforge.adapter.AdapterException.Kind;
import dev.loraforge.adapter.LoraModule;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorView;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What each output tensor is made of: a byte copy (or dtype conversion) of the base, a full replacement
 * from an adapter (modules_to_save, biases), or the base plus low-rank updates. Built and checked before
 * anything is written; {@link #compute} then fills one output tensor at a time.
 *
 * <p>Tied embeddings: when the base ties lm_head to the input embedding (no lm_head.weight stored) and an
 * adapter changes either one, the two are no longer equal after the merge, so the plan unties them: it
 * writes {@code lm_head.weight} explicitly and the saved config gets {@code tie_word_embeddings=false}.
 */
public final class MergePlan {

    /** One output tensor. */
    public sealed interface Op {
        String name();

        DType outType();

        Shape shape();

        default boolean changed() {
            return !(this instanceof Copy);
        }
    }

    /** The base tensor, unchanged (converted when the output dtype differs). */
    public record Copy(String name, TensorView source, DType outType) implements Op {
        public Shape shape() {
            return source.shape();
        }
    }

    /** A full tensor from an adapter replaces the base tensor. */
    public record Replace(String name, TensorView source, DType outType) implements Op {
        public Shape shape() {
            return source.shape();
        }
    }

    /** The base plus Σ weight·scaling·B·A of each part; DoRA-rescaled when a part has a magnitude. */
    public record Update(String name, TensorView base, List<Part> parts, DType outType) implements Op {
        public Shape shape() {
            return base.shape();
        }
    }

    /** One adapter module's contribution: its factors and the scale weight × scaling. */
    public record Part(LoraModule module, boolean transposed, double scale) {
    }

    private final List<Op> ops;
    private final boolean untied;
    private final List<String> notes;

    private MergePlan(List<Op> ops, boolean untied, List<String> notes) {
        this.ops = List.copyOf(ops);
        this.untied = untied;
        this.notes = List.copyOf(notes);
    }

    /**
     * @param outType output dtype for floating-point tensors, or null to keep each base tensor's dtype
     * @throws AdapterException when an adapter does not fit the base (see {@link AdapterCheck})
     */
    public static MergePlan build(AdapterCheck.Base base, List<WeightedAdapter> adapters, DType outType) {
        if (outType != null && !(outType == DType.BF16 || outType == DType.F16 || outType == DType.F32 || outType == DType.F64)) {
            throw new IllegalArgumentException("output dtype must be BF16, F16, F32 or F64, is " + outType);
        }
        for (WeightedAdapter wa : adapters) {
            AdapterCheck.check(base, wa.adapter()).throwIfErrors();
        }
        Map<String, List<Part>> updates = new LinkedHashMap<>();
        Map<String, TensorView> replaced = new LinkedHashMap<>();
        for (WeightedAdapter wa : adapters) {
            for (LoraModule m : wa.adapter().modules()) {
                updates.computeIfAbsent(m.baseTensor(), k -> new ArrayList<>())
                        .add(new Part(m, m.transposed(wa.adapter().config()), wa.weight() * m.scaling()));
            }
            for (var e : wa.adapter().fullTensors().entrySet()) {
                if (replaced.put(e.getKey(), e.getValue()) != null) {
                    throw new AdapterException(Kind.INCOMPATIBLE_ADAPTERS, "two adapters replace '" + e.getKey()
                            + "' (modules_to_save); only one may");
                }
            }
        }
        for (String name : replaced.keySet()) {
            if (updates.containsKey(name)) {
                throw new AdapterException(Kind.INCOMPATIBLE_ADAPTERS, "'" + name
                        + "' is both replaced (modules_to_save) and changed by LoRA; the result would depend on the order");
            }
        }
        for (var e : updates.entrySet()) {
            long dora = e.getValue().stream().filter(p -> p.module().magnitude() != null).count();
            if (dora > 0 && e.getValue().size() > 1) {
                throw new AdapterException(Kind.INCOMPATIBLE_ADAPTERS, "'" + e.getKey()
                        + "' has a DoRA update and other updates; DoRA's rescaling is defined for one adapter only");
            }
        }
        List<String> notes = new ArrayList<>();
        List<String> names = new ArrayList<>(base.tensors().names());
        boolean untie = false;
        Optional<String> emb = base.tiedEmbedding();
        if (emb.isPresent()) {
            String e = emb.get();
            boolean head = updates.containsKey(AdapterCheck.LM_HEAD) || replaced.containsKey(AdapterCheck.LM_HEAD);
            boolean input = updates.containsKey(e) || replaced.containsKey(e);
            if (head || input) {
                untie = true;
                names.add(AdapterCheck.LM_HEAD);
                notes.add("lm_head was tied to " + e + " and the adapter changes " + (head && input ? "both"
                        : head ? "only lm_head" : "only the input embedding")
                        + "; the output unties them (lm_head.weight written, tie_word_embeddings=false)");
            }
        }
        List<Op> ops = new ArrayList<>();
        for (String name : names) {
            TensorView src = base.resolve(name).orElseThrow();
            DType out = outType != null && src.dtype().isFloatingPoint() ? outType : src.dtype();
            if (replaced.containsKey(name)) {
                ops.add(new Replace(name, replaced.get(name), out));
            } else if (updates.containsKey(name)) {
                ops.add(new Update(name, src, updates.get(name), out));
            } else {
                ops.add(new Copy(name, src, out));
            }
        }
        return new MergePlan(ops, untie, notes);
    }

    public List<Op> ops() {
        return ops;
    }

    /** True when the output must have tie_word_embeddings=false. */
    public boolean untied() {
        return untied;
    }

    /** Things the user should know (untying). */
    public List<String> notes() {
        return notes;
    }

    public long changedCount() {
        return ops.stream().filter(Op::changed).count();
    }

    /** Fills {@code out} ({@code op.shape()} elements of {@code op.outType()}) with the op's result. */
    public static void compute(Op op, MemorySegment out, LowRankKernel kernel) {
        switch (op) {
            case Copy c -> TensorMerge.convert(c.source(), c.outType(), out);
            case Replace r -> TensorMerge.convert(r.source(), r.outType(), out);
            case Update u -> {
                Factors f = factors(u);
                TensorMerge.merge(u.base(), f.terms(), f.magnitude(), u.outType(), out, kernel);
            }
        }
    }

    /** An update's factors widened to float64 once per tensor, and its DoRA magnitude (or null). */
    record Factors(List<LowRankTerm> terms, double[] magnitude) {
    }

    static Factors factors(Update u) {
        List<LowRankTerm> terms = new ArrayList<>();
        double[] magnitude = null;
        for (Part p : u.parts()) {
            LoraModule m = p.module();
            terms.add(LowRankTerm.of(m.a(), m.b(), p.transposed(), p.scale()));
            if (m.magnitude() != null) {
                magnitude = new double[Math.toIntExact(m.magnitude().elementCount())];
                m.magnitude().readDoubles(0, magnitude, 0, magnitude.length);
            }
        }
        return new Factors(terms, magnitude);
    }
}
