package dev.loraforge.merge;

import dev.loraforge.io.Progress;
import dev.loraforge.format.ModelSource;
import dev.loraforge.format.safetensors.ShardIndex;
import dev.loraforge.format.safetensors.ShardPlan;
import dev.loraforge.format.safetensors.ShardedWriter;
import dev.loraforge.quant.bnb.Bnb4bit;
import dev.loraforge.quant.bnb.BnbFormatException;
import dev.loraforge.quant.bnb.BnbQuantState;
import dev.loraforge.quant.bnb.BnbQuantizer;
import dev.loraforge.quant.bnb.BnbTensorSource;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Unsloth's {@code merged_4bit_forced}: the merged weights re-quantized to the base's own 4-bit format (type,
 * blocksize, double quant, quant-state dtype). Each changed 4-bit weight is merged exactly in float64, rounded
 * once to its quant-state dtype (the tensor PEFT hands to {@code Params4bit} when it merges into a 4-bit layer)
 * and quantized as bitsandbytes does; unchanged 4-bit weights keep their stored bytes. The report says how much
 * the re-quantization costs: per tensor and overall, the relative error ‖Q(W+ΔW) − (W+ΔW)‖ / ‖W+ΔW‖ against the
 * exact merge, and how much of the update survives, ‖Q(W+ΔW) − Q(W)‖ / ‖ΔW‖ (Q(W) is the dequantized base)
 * together with its component along ΔW, ⟨Q(W+ΔW) − Q(W), ΔW⟩ / ‖ΔW‖² (quantization noise inflates the first,
 * not the second).
 */
public final class ForcedFourBit {
    /** Below this share of ΔW kept along its own direction, the adapter's effect is called mostly lost. */
    public static final double MOSTLY_LOST = 0.5;

    /** One re-quantized weight. */
    public record TensorError(String name, double relativeError, double deltaKept, double deltaAlong,
                              double deltaNorm, double mergedNorm) {
    }

    /** All re-quantized weights, and the figures over all of them (norms summed in squares). */
    public record Report(List<TensorError> tensors, double relativeError, double deltaKept, double deltaAlong) {
        public Report {
            tensors = List.copyOf(tensors);
        }

        /** True when less than {@link #MOSTLY_LOST} of the update survives along its direction. */
        public boolean mostlyLost() {
            return !tensors.isEmpty() && !(deltaAlong >= MOSTLY_LOST);
        }

        /** The user-facing warning when the adapter's effect is mostly lost. */
        public Optional<String> warning() {
            if (!mostlyLost()) {
                return Optional.empty();
            }
            return Optional.of(String.format(java.util.Locale.ROOT, "re-quantizing to 4 bits keeps only %.0f%% of the"
                    + " adapter's update (along its direction; ‖Q(W+ΔW) − Q(W)‖/‖ΔW‖ = %.3f): the adapter's effect is"
                    + " mostly lost; use the 16-bit merge (without --forced-4bit)", 100 * deltaAlong, deltaKept));
        }
    }

    /** Files written and the report. */
    public record Output(List<String> files, Report report) {
    }

    private ForcedFourBit() {
    }

    /** Refuses a base without 4-bit weights (int8 or unquantized), naming the folder. */
    static BnbTensorSource requireFourBit(ModelSource base) {
        BnbTensorSource b = base.bnb().orElse(null);
        if (b == null || b.fourBitWeights().isEmpty()) {
            throw new BnbFormatException(BnbFormatException.Kind.UNSUPPORTED, base.root() + ": a forced 4-bit merge needs a"
                    + " bitsandbytes 4-bit base (nf4/fp4), but this base is " + (b == null ? "not quantized"
                    : "LLM.int8-quantized") + "; merge to 16 bits instead");
        }
        return b;
    }

    /** Computes every output tensor and writes them as transformers shards them. */
    static Output write(MergePlan plan, ModelSource base, Path dir, long maxShardBytes, Progress progress)
            throws IOException {
        BnbTensorSource bnb = requireFourBit(base);
        LowRankKernel kernel = LowRankKernel.preferred();
        Map<String, TensorView> out = new LinkedHashMap<>();
        List<TensorError> errors = new ArrayList<>();
        int done = 0;
        for (MergePlan.Op op : plan.ops()) {
            Optional<BnbQuantState> qs = bnb.quantState(op.name());
            if (qs.isPresent() && op instanceof MergePlan.Copy) {
                copyStored(bnb.raw(), op.name(), out);
            } else if (qs.isPresent()) {
                errors.add(requantize(op, qs.get(), bnb, kernel, out));
            } else if (op instanceof MergePlan.Copy c && c.source().dtype() == c.outType()) {
                out.put(op.name(), c.source()); // the mapped base tensor itself (written under op.name()): no heap copy
            } else {
                MemorySegment seg = MemorySegment.ofArray(new byte[Math.toIntExact(op.shape().byteCount(op.outType()))]);
                MergePlan.compute(op, seg, kernel);
                out.put(op.name(), new TensorView(op.name(), op.outType(), op.shape(), seg));
            }
            progress.tensorDone(op.name(), ++done, plan.ops().size(), 0, 0);
        }
        TensorSource src = new MapSource(out);
        ShardPlan shards = ShardedWriter.write(dir, Map.of("format", "pt"), src, src.names(), maxShardBytes, false);
        List<String> files = new ArrayList<>(shards.shards().stream().map(ShardPlan.Shard::fileName).toList());
        if (!shards.isSingleFile()) {
            files.add(ShardIndex.FILE_NAME);
        }
        return new Output(files, summarize(errors));
    }

    /** An unchanged 4-bit weight: its packed bytes and quant-state tensors exactly as stored. */
    private static void copyStored(TensorSource raw, String weight, Map<String, TensorView> out) {
        for (String n : raw.names()) {
            if (n.equals(weight) || n.startsWith(weight + ".")) {
                out.put(n, raw.get(n));
            }
        }
    }

    private static TensorError requantize(MergePlan.Op op, BnbQuantState qs, BnbTensorSource bnb, LowRankKernel kernel,
                                          Map<String, TensorView> out) {
        String name = op.name();
        int n = Math.toIntExact(qs.elementCount());
        MemorySegment exactSeg = MemorySegment.ofArray(new double[n]);
        MergePlan.compute(withOutType(op, DType.F64), exactSeg, kernel);
        double[] exact = exactSeg.toArray(java.lang.foreign.ValueLayout.JAVA_DOUBLE);
        // W+ΔW rounded once to the quant-state dtype, the tensor bitsandbytes quantizes
        MemorySegment rounded = MemorySegment.ofArray(new byte[Math.multiplyExact(n, qs.dtype().byteSize())]);
        TensorMerge.store(rounded, qs.dtype(), 0, exact, n);
        TensorView merged = new TensorView(name, qs.dtype(), op.shape(), rounded);
        BnbQuantizer.Options o = new BnbQuantizer.Options(qs.quantType(), qs.blocksize(), qs.nested().isPresent(),
                Bnb4bit.Rounding.NATIVE_CPU_LUT);
        Map<String, TensorView> q = BnbQuantizer.quantize(merged, o);
        out.putAll(q);
        double[] requant = new double[n];
        try (BnbTensorSource back = BnbTensorSource.wrap(new MapSource(q))) {
            back.get(name).readDoubles(0, requant, 0, n);
        }
        double[] base = new double[n];
        bnb.get(name).readDoubles(0, base, 0, n);
        double err2 = 0, merged2 = 0, kept2 = 0, delta2 = 0, dot = 0;
        for (int i = 0; i < n; i++) {
            double e = requant[i] - exact[i];
            double d = exact[i] - base[i];
            double k = requant[i] - base[i];
            err2 += e * e;
            merged2 += exact[i] * exact[i];
            delta2 += d * d;
            kept2 += k * k;
            dot += k * d;
        }
        return new TensorError(name, merged2 == 0 ? 0 : Math.sqrt(err2 / merged2),
                delta2 == 0 ? 1 : Math.sqrt(kept2 / delta2), delta2 == 0 ? 1 : dot / delta2, Math.sqrt(delta2),
                Math.sqrt(merged2));
    }

    private static MergePlan.Op withOutType(MergePlan.Op op, DType t) {
        return switch (op) {
            case MergePlan.Copy c -> new MergePlan.Copy(c.name(), c.source(), t);
            case MergePlan.Replace r -> new MergePlan.Replace(r.name(), r.source(), t);
            case MergePlan.Update u -> new MergePlan.Update(u.name(), u.base(), u.parts(), t);
        };
    }

    static Report summarize(List<TensorError> errors) {
        double err2 = 0, merged2 = 0, kept2 = 0, delta2 = 0, dot = 0;
        for (TensorError e : errors) {
            double m2 = e.mergedNorm() * e.mergedNorm();
            double d2 = e.deltaNorm() * e.deltaNorm();
            err2 += e.relativeError() * e.relativeError() * m2;
            merged2 += m2;
            kept2 += e.deltaKept() * e.deltaKept() * d2;
            delta2 += d2;
            dot += e.deltaAlong() * d2;
        }
        return new Report(errors, merged2 == 0 ? 0 : Math.sqrt(err2 / merged2), delta2 == 0 ? 1 : Math.sqrt(kept2 / delta2),
                delta2 == 0 ? 1 : dot / delta2);
    }

    /** The tensors one weight's quantization produced. */
    private record MapSource(Map<String, TensorView> tensors) implements TensorSource {
        @Override
        public List<String> names() {
            return List.copyOf(tensors.keySet());
        }

        @Override
        public Optional<TensorView> find(String name) {
            return Optional.ofNullable(tensors.get(name));
        }

        @Override
        public void close() {
        }
    }
}
