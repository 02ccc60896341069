package dev.loraforge.model;

import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Tensor-by-tensor comparison of two models under HF names: which tensors are missing or extra, which
 * differ in shape or storage type, per-tensor statistics of each side, and where the values differ at
 * all. Values are compared as float32 (quantized GGUF tensors dequantized), sums in float64.
 */
public final class StructuralDiff {

    /** Elements read per chunk: bounded memory however large the tensor. */
    private static final int CHUNK = 1 << 16;

    /** mean, standard deviation (population) and largest |value| of one tensor; NaN/inf counted apart. */
    public record Stats(double mean, double std, double maxAbs, long nonFinite) {
    }

    /**
     * One tensor present on both sides. {@code diffCount} elements differ; {@code maxAbsDiff} and
     * {@code relRms} = ‖cand − ref‖ / ‖ref‖ measure how much (NaN when the shapes differ).
     */
    public record Entry(String name, List<Long> shape, List<Long> candidateShape, String refType, String candType,
                        Stats reference, Stats candidate, long diffCount, double maxAbsDiff, double relRms) {
        public Entry {
            shape = List.copyOf(shape);
            candidateShape = List.copyOf(candidateShape);
        }

        public boolean shapeDiffers() {
            return !shape.equals(candidateShape);
        }

        public boolean identical() {
            return !shapeDiffers() && diffCount == 0;
        }
    }

    /**
     * @param missing tensors of the reference the candidate lacks; extra the other way round (a GGUF
     *                tensor with no HF counterpart keeps its GGUF name)
     */
    public record Result(List<Entry> entries, List<String> missing, List<String> extra) {
        public Result {
            entries = List.copyOf(entries);
            missing = List.copyOf(missing);
            extra = List.copyOf(extra);
        }

        public List<Entry> differing() {
            return entries.stream().filter(e -> !e.identical()).toList();
        }

        public List<Entry> shapeMismatches() {
            return entries.stream().filter(Entry::shapeDiffers).toList();
        }

        public List<Entry> typeMismatches() {
            return entries.stream().filter(e -> !e.refType().equals(e.candType())).toList();
        }

        /** One line: counts of compared, identical, differing, missing and extra tensors. */
        public String summary() {
            return String.format("%d tensors compared: %d identical, %d differ (%d in shape, %d in type); %d missing, %d extra",
                    entries.size(), entries.size() - differing().size(), differing().size(), shapeMismatches().size(),
                    typeMismatches().size(), missing.size(), extra.size());
        }
    }

    /**
     * A model's tensors for the diff: HF-named views, the storage type of each (e.g. {@code BF16},
     * {@code Q4_K}) and names of stored tensors that have no HF name.
     */
    public record Side(TensorSource tensors, Map<String, String> types, List<String> unmapped) {
        public Side {
            types = Map.copyOf(types);
            unmapped = List.copyOf(unmapped);
        }
    }

    private StructuralDiff() {
    }

    public static Result compare(Side reference, Side candidate) {
        Set<String> refNames = new LinkedHashSet<>(reference.tensors().names());
        Set<String> candNames = new LinkedHashSet<>(candidate.tensors().names());
        List<Entry> entries = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (String name : new TreeSet<>(refNames)) {
            if (!candNames.contains(name)) {
                missing.add(name);
                continue;
            }
            entries.add(entry(name, reference.tensors().get(name), candidate.tensors().get(name),
                    reference.types().getOrDefault(name, "?"), candidate.types().getOrDefault(name, "?")));
        }
        List<String> extra = new ArrayList<>(new TreeSet<>(candNames.stream().filter(n -> !refNames.contains(n)).toList()));
        // tensors without an HF name are matched by their own names
        candidate.unmapped().stream().filter(n -> !reference.unmapped().contains(n)).forEach(extra::add);
        reference.unmapped().stream().filter(n -> !candidate.unmapped().contains(n)).forEach(missing::add);
        return new Result(entries, missing, extra);
    }

    static Entry entry(String name, TensorView ref, TensorView cand, String refType, String candType) {
        List<Long> rs = Arrays.stream(ref.shape().dims()).boxed().toList();
        List<Long> cs = Arrays.stream(cand.shape().dims()).boxed().toList();
        Accumulator a = new Accumulator();
        Accumulator b = new Accumulator();
        boolean sameShape = rs.equals(cs);
        long diffCount = 0;
        double maxDiff = 0;
        double num = 0;
        double den = 0;
        float[] x = new float[CHUNK];
        float[] y = new float[CHUNK];
        long n = ref.elementCount();
        for (long from = 0; from < n; from += CHUNK) {
            int len = (int) Math.min(CHUNK, n - from);
            ref.readFloats(from, x, 0, len);
            a.add(x, len);
            if (sameShape) {
                cand.readFloats(from, y, 0, len);
                for (int i = 0; i < len; i++) {
                    // compare bit patterns of values so NaN == NaN and -0 vs +0 counts as a difference
                    if (Float.floatToIntBits(x[i]) != Float.floatToIntBits(y[i])) {
                        diffCount++;
                        double d = (double) y[i] - x[i];
                        maxDiff = Math.max(maxDiff, Math.abs(d));
                        num += d * d;
                    }
                    den += (double) x[i] * x[i];
                }
            }
        }
        Stats candStats;
        if (sameShape && diffCount == 0) {
            candStats = a.stats();
        } else {
            long m = cand.elementCount();
            for (long from = 0; from < m; from += CHUNK) {
                int len = (int) Math.min(CHUNK, m - from);
                cand.readFloats(from, y, 0, len);
                b.add(y, len);
            }
            candStats = b.stats();
        }
        double rel = !sameShape ? Double.NaN : den == 0 ? (num == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.sqrt(num / den);
        return new Entry(name, rs, cs, refType, candType, a.stats(), candStats, sameShape ? diffCount : -1,
                sameShape ? maxDiff : Double.NaN, rel);
    }

    /** Running sums for mean/std/max|x| (float64; finite values only). */
    private static final class Accumulator {
        long count;
        long nonFinite;
        double sum;
        double sum2;
        double maxAbs;

        void add(float[] v, int len) {
            for (int i = 0; i < len; i++) {
                float f = v[i];
                if (!Float.isFinite(f)) {
                    nonFinite++;
                    continue;
                }
                count++;
                sum += f;
                sum2 += (double) f * f;
                maxAbs = Math.max(maxAbs, Math.abs(f));
            }
        }

        Stats stats() {
            if (count == 0) {
                return new Stats(Double.NaN, Double.NaN, Double.NaN, nonFinite);
            }
            double mean = sum / count;
            double var = Math.max(0, sum2 / count - mean * mean);
            return new Stats(mean, Math.sqrt(var), maxAbs, nonFinite);
        }
    }
}
