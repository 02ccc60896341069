package dev.loraforge.quant.bnb;

import dev.loraforge.format.safetensors.ModelFiles;
import dev.loraforge.format.torch.TorchCheckpoint;
import dev.loraforge.quant.bnb.BnbFormatException.Kind;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.HalfFloat;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Presents a checkpoint saved with bitsandbytes (4-bit NF4/FP4 with or without double quant, or
 * LLM.int8) as plain float tensors: each quantized {@code weight} comes back dequantized, in the dtype
 * its quant state records (float32 for int8, which records none); the auxiliary tensors
 * ({@code absmax}, {@code quant_map}, {@code nested_*}, {@code quant_state.*}, {@code SCB},
 * {@code weight_format}) are hidden. Every quant state is validated when the source is wrapped.
 */
public final class BnbTensorSource implements TensorSource {
    /** {@code 1/127} as bitsandbytes multiplies by it in {@code int8_vectorwise_dequant}. */
    static final float INV_127 = 7.874015718698502e-3f;

    private final TensorSource raw;
    private final List<String> names;
    private final Map<String, BnbQuantState> fourBit;
    private final Set<String> int8;

    private BnbTensorSource(TensorSource raw, List<String> names, Map<String, BnbQuantState> fourBit, Set<String> int8) {
        this.raw = raw;
        this.names = names;
        this.fourBit = fourBit;
        this.int8 = int8;
    }

    /** Wraps {@code raw}; closing the wrapper closes it. */
    public static BnbTensorSource wrap(TensorSource raw) {
        Map<String, BnbQuantState> fourBit = new LinkedHashMap<>();
        Set<String> int8 = new java.util.LinkedHashSet<>();
        Set<String> hidden = new HashSet<>();
        for (String n : raw.names()) {
            int at = n.indexOf("." + BnbQuantState.KEY_PREFIX);
            if (at > 0) {
                String weight = n.substring(0, at);
                TensorView blob = raw.get(n);
                BnbQuantState qs = BnbQuantState.parse(blob.data().toArray(ValueLayout.JAVA_BYTE), n);
                if (!n.endsWith(BnbQuantState.KEY_PREFIX + qs.quantType().fileName())) {
                    throw new BnbFormatException(Kind.BAD_QUANT_STATE, n + ": key says one type, JSON says "
                            + qs.quantType().fileName());
                }
                fourBit.put(weight, qs);
                hidden.add(n);
                for (String aux : List.of(".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map")) {
                    hidden.add(weight + aux);
                }
            } else if (n.endsWith(".SCB")) {
                String weight = n.substring(0, n.length() - 4) + ".weight";
                if (raw.find(weight).filter(w -> w.dtype() == DType.I8).isPresent()) {
                    int8.add(weight);
                    hidden.add(n);
                    hidden.add(n.substring(0, n.length() - 4) + ".weight_format");
                }
            }
        }
        List<String> names = new ArrayList<>();
        for (String n : raw.names()) {
            if (!hidden.contains(n)) {
                names.add(n);
            }
        }
        BnbTensorSource s = new BnbTensorSource(raw, List.copyOf(names), fourBit, int8);
        fourBit.keySet().forEach(s::checkFourBit);
        int8.forEach(s::checkInt8);
        return s;
    }

    /**
     * Opens a transformers model folder saved with bitsandbytes: safetensors (single or sharded) or, failing
     * that, PyTorch {@code .bin}; checks every quant state against {@code config.json}'s quantization_config.
     */
    public static BnbTensorSource open(Path dir) throws IOException {
        BnbConfig cfg = BnbConfig.read(dir.resolve("config.json")).orElseThrow(() -> new BnbFormatException(
                Kind.UNSUPPORTED, dir.getFileName() + "/config.json has no bitsandbytes quantization_config"));
        boolean safetensors = Files.exists(dir.resolve(ModelFiles.SINGLE_FILE))
                || Files.exists(dir.resolve("model.safetensors.index.json"));
        TensorSource raw = safetensors ? ModelFiles.open(dir) : TorchCheckpoint.open(dir);
        try {
            return wrap(raw, cfg, dir.getFileName() + "/config.json");
        } catch (RuntimeException e) {
            raw.close();
            throw e;
        }
    }

    /** Wraps {@code raw} and checks every quant state against {@code cfg} (read from {@code where}). */
    public static BnbTensorSource wrap(TensorSource raw, BnbConfig cfg, String where) {
        BnbTensorSource s = wrap(raw);
        s.checkAgainst(cfg, where);
        return s;
    }

    /** The stored tensors (packed weights and quant-state tensors included). */
    public TensorSource raw() {
        return raw;
    }

    /** Names of the 4-bit weights, in file order. */
    public java.util.Set<String> fourBitWeights() {
        return java.util.Collections.unmodifiableSet(fourBit.keySet());
    }

    /** Names of the LLM.int8 weights. */
    public java.util.Set<String> int8Weights() {
        return java.util.Collections.unmodifiableSet(int8);
    }

    private void checkAgainst(BnbConfig cfg, String where) {
        for (Map.Entry<String, BnbQuantState> e : fourBit.entrySet()) {
            BnbQuantState qs = e.getValue();
            if (!cfg.loadIn4bit() || cfg.quantType().orElseThrow() != qs.quantType()
                    || cfg.doubleQuant() != qs.nested().isPresent()) {
                throw new BnbFormatException(Kind.BAD_QUANT_STATE, e.getKey() + " is " + qs.quantType().fileName()
                        + (qs.nested().isPresent() ? " with" : " without") + " double quant, but " + where + " says "
                        + (cfg.loadIn4bit() ? cfg.quantType().orElseThrow().fileName() + (cfg.doubleQuant() ? " with"
                        : " without") + " double quant" : "no 4-bit quantization"));
            }
        }
        if (!int8.isEmpty() && !cfg.loadIn8bit()) {
            throw new BnbFormatException(Kind.BAD_QUANT_STATE, "int8 weights present but " + where + " has no load_in_8bit");
        }
    }

    /** The quant state of a 4-bit weight, or empty for any other tensor. */
    public Optional<BnbQuantState> quantState(String name) {
        return Optional.ofNullable(fourBit.get(name));
    }

    /** True when {@code name} is stored quantized (4-bit or int8). */
    public boolean isQuantized(String name) {
        return fourBit.containsKey(name) || int8.contains(name);
    }

    @Override
    public List<String> names() {
        return names;
    }

    @Override
    public Optional<TensorView> find(String name) {
        BnbQuantState qs = fourBit.get(name);
        if (qs != null) {
            return Optional.of(toView(name, qs.dtype(), qs.shape(), dequantizeFloat32(name)));
        }
        if (int8.contains(name)) {
            return Optional.of(toView(name, DType.F32, raw.get(name).shape().dims(), dequantizeFloat32(name)));
        }
        return names.contains(name) ? raw.find(name) : Optional.empty();
    }

    /** The weight as bitsandbytes' float32 dequantization gives it (before any cast to the recorded dtype). */
    public float[] dequantizeFloat32(String name) {
        BnbQuantState qs = fourBit.get(name);
        if (qs != null) {
            long n = qs.elementCount();
            if (n > Integer.MAX_VALUE - 8) {
                throw new BnbFormatException(Kind.UNSUPPORTED, name + ": " + n + " elements, too many for one array");
            }
            float[] out = new float[(int) n];
            Bnb4bit.dequantize(raw.get(name).data(), absmax(name, qs), BnbCodes.of(qs.quantType()), qs.blocksize(), out);
            return out;
        }
        if (int8.contains(name)) {
            TensorView w = raw.get(name);
            float[] scb = raw.get(name.substring(0, name.length() - ".weight".length()) + ".SCB").toFloatArray();
            return BnbInt8.dequantize(w.data().toArray(ValueLayout.JAVA_BYTE), scb,
                    Math.toIntExact(w.shape().dim(w.shape().rank() - 1)));
        }
        throw new IllegalArgumentException(name + " is not a bitsandbytes-quantized weight");
    }

    private float[] absmax(String name, BnbQuantState qs) {
        TensorView am = raw.get(name + ".absmax");
        if (qs.nested().isEmpty()) {
            return am.toFloatArray();
        }
        BnbQuantState.Nested nested = qs.nested().get();
        byte[] codes = am.data().toArray(ValueLayout.JAVA_BYTE);
        return Bnb4bit.dequantizeAbsmax(codes, raw.get(name + ".nested_absmax").toFloatArray(),
                raw.get(name + ".nested_quant_map").toFloatArray(), nested.blocksize(), nested.offset());
    }

    private void checkFourBit(String name) {
        BnbQuantState qs = fourBit.get(name);
        long n = qs.elementCount();
        long blocks = (n + qs.blocksize() - 1) / qs.blocksize();
        TensorView w = need(name, "the packed weight");
        if (w.byteSize() != (n + 1) / 2) {
            throw new BnbFormatException(Kind.SIZE_MISMATCH, name + ": " + w.byteSize() + " packed bytes, "
                    + (n + 1) / 2 + " expected for shape " + new Shape(qs.shape()));
        }
        TensorView am = need(name + ".absmax", "absmax");
        if (qs.nested().isPresent()) {
            expect(am, DType.U8, blocks);
            long nb = qs.nested().get().blocksize();
            expect(need(name + ".nested_absmax", "nested absmax"), DType.F32, (blocks + nb - 1) / nb);
            expect(need(name + ".nested_quant_map", "nested quant map"), DType.F32, 256);
        } else {
            expect(am, DType.F32, blocks);
        }
    }

    private void checkInt8(String name) {
        TensorView w = raw.get(name);
        if (w.shape().rank() != 2) {
            throw new BnbFormatException(Kind.SIZE_MISMATCH, name + ": int8 weight of rank " + w.shape().rank()
                    + ", expected 2");
        }
        expect(raw.get(name.substring(0, name.length() - ".weight".length()) + ".SCB"), DType.F32, w.shape().dim(0));
    }

    private TensorView need(String tensor, String what) {
        return raw.find(tensor).orElseThrow(() -> new BnbFormatException(Kind.MISSING_TENSOR,
                "no tensor '" + tensor + "' (" + what + ") in " + raw));
    }

    private static void expect(TensorView t, DType dtype, long count) {
        if (t.dtype() != dtype || t.elementCount() != count) {
            throw new BnbFormatException(Kind.SIZE_MISMATCH, t.name() + ": " + t.dtype() + " " + t.shape() + ", expected "
                    + count + " values of " + dtype);
        }
    }

    /** float32 values as a view of {@code dtype}, rounding to nearest even like torch's {@code .to(dtype)}. */
    static TensorView toView(String name, DType dtype, long[] shape, float[] v) {
        MemorySegment seg = MemorySegment.ofArray(new byte[Math.multiplyExact(v.length, dtype.byteSize())]);
        for (int i = 0; i < v.length; i++) {
            switch (dtype) {
                case F32 -> seg.setAtIndex(TensorView.F32_LE, i, v[i]);
                case BF16 -> seg.setAtIndex(TensorView.I16_LE, i, HalfFloat.floatToBf16(v[i]));
                case F16 -> seg.setAtIndex(TensorView.I16_LE, i, HalfFloat.floatToF16(v[i]));
                default -> throw new IllegalArgumentException(dtype.toString());
            }
        }
        return new TensorView(name, dtype, new Shape(shape), seg);
    }

    @Override
    public void close() {
        raw.close();
    }

    @Override
    public String toString() {
        return "bitsandbytes(" + raw + ")";
    }
}
