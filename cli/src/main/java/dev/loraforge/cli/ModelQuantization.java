package dev.loraforge.cli;

import dev.loraforge.format.ModelSource;
import dev.loraforge.quant.bnb.BnbConfig;
import dev.loraforge.quant.bnb.BnbQuantState;
import dev.loraforge.quant.bnb.BnbTensorSource;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/** What inspect reports about a bitsandbytes model: the config's settings and what the quant states hold. */
record ModelQuantization(BnbConfig config, int fourBit, int int8, List<String> types, List<Integer> blocksizes,
                         List<String> stateDtypes, boolean nested, long storedBytes) {

    static Optional<ModelQuantization> of(ModelSource m) {
        if (m.bnb().isEmpty()) {
            return Optional.empty();
        }
        BnbTensorSource b = m.bnb().get();
        TreeSet<String> types = new TreeSet<>();
        TreeSet<Integer> blocks = new TreeSet<>();
        TreeSet<String> dtypes = new TreeSet<>();
        boolean nested = false;
        for (String w : b.fourBitWeights()) {
            BnbQuantState qs = b.quantState(w).orElseThrow();
            types.add(qs.quantType().fileName());
            blocks.add(qs.blocksize());
            dtypes.add(BnbQuantState.dtypeName(qs.dtype()));
            nested |= qs.nested().isPresent();
        }
        if (!b.int8Weights().isEmpty()) {
            types.add("int8");
        }
        long stored = 0;
        for (String n : b.raw().names()) {
            TensorView v = b.raw().get(n);
            stored += v.byteSize();
        }
        return Optional.of(new ModelQuantization(m.bnbConfig().orElseThrow(), b.fourBitWeights().size(),
                b.int8Weights().size(), new ArrayList<>(types), new ArrayList<>(blocks), new ArrayList<>(dtypes), nested,
                stored));
    }

    /**
     * The model's names, dtypes and shapes as its dequantized weights have them, without dequantizing: quantized
     * weights share one zero buffer. For size and shape facts only; the values are not the weights.
     */
    static TensorSource shapesOnly(ModelSource m) {
        BnbTensorSource b = m.bnb().orElseThrow();
        Map<String, TensorView> views = new LinkedHashMap<>();
        long largest = 0;
        for (String n : b.names()) {
            if (b.isQuantized(n)) {
                largest = Math.max(largest, shapeOf(b, n).byteCount(dtypeOf(b, n)));
            }
        }
        MemorySegment zeros = Arena.ofAuto().allocate(Math.max(1, largest), 8);
        for (String n : b.names()) {
            if (b.isQuantized(n)) {
                Shape shape = shapeOf(b, n);
                DType dtype = dtypeOf(b, n);
                views.put(n, new TensorView(n, dtype, shape, zeros.asSlice(0, shape.byteCount(dtype))));
            }
        }
        return new TensorSource() {
            @Override
            public List<String> names() {
                return b.names();
            }

            @Override
            public Optional<TensorView> find(String name) {
                TensorView v = views.get(name);
                return v != null ? Optional.of(v) : b.find(name);
            }

            @Override
            public void close() {
            }
        };
    }

    private static Shape shapeOf(BnbTensorSource b, String n) {
        return b.quantState(n).map(q -> new Shape(q.shape())).orElseGet(() -> b.raw().get(n).shape());
    }

    private static DType dtypeOf(BnbTensorSource b, String n) {
        return b.quantState(n).map(BnbQuantState::dtype).orElse(DType.F32); // int8 dequantizes to float32
    }

    String describe() {
        List<String> parts = new ArrayList<>();
        if (fourBit > 0) {
            parts.add("bitsandbytes 4-bit " + String.join("/", types.stream().filter(t -> !t.equals("int8")).toList())
                    + (nested ? " with double quant" : " without double quant") + ", " + fourBit + " weights, blocksize "
                    + blocksizes.stream().map(String::valueOf).toList().toString().replaceAll("[\\[\\]]", "")
                    + ", dequantizes to " + String.join("/", stateDtypes) + ", compute dtype " + config.computeDtype()
                    + ", storage " + config.quantStorage());
        }
        if (int8 > 0) {
            parts.add("bitsandbytes LLM.int8, " + int8 + " weights (row-wise absmax, SCB), dequantizes to float32");
        }
        if (parts.isEmpty()) {
            parts.add("bitsandbytes quantization_config but no quantized weights");
        }
        return String.join("; ", parts);
    }

    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", "bitsandbytes");
        m.put("load_in_4bit", config.loadIn4bit());
        m.put("load_in_8bit", config.loadIn8bit());
        m.put("quant_type", config.quantType().map(t -> (Object) t.fileName()).orElse(int8 > 0 ? "int8" : null));
        m.put("double_quant", nested);
        m.put("compute_dtype", config.computeDtype());
        m.put("quant_storage", config.quantStorage());
        m.put("blocksizes", blocksizes);
        m.put("dequantized_dtypes", stateDtypes);
        m.put("quantized_4bit_tensors", fourBit);
        m.put("quantized_int8_tensors", int8);
        m.put("stored_bytes", storedBytes);
        return m;
    }
}
