package dev.loraforge.quant.bnb;

import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorView;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Quantizes one weight to bitsandbytes 4-bit and returns the tensors transformers saves for it
 * ({@code Params4bit} + {@code QuantState.as_dict(packed=True)}), named after the weight: the packed
 * uint8 weight of shape [(n+1)/2, 1], {@code .absmax}, {@code .quant_map}, with double quant
 * {@code .nested_absmax} and {@code .nested_quant_map}, and the JSON blob
 * {@code .quant_state.bitsandbytes__<type>}.
 */
public final class BnbQuantizer {
    private BnbQuantizer() {
    }

    /** Options of a 4-bit export; blocksize 64 and the native CPU rounding are what bitsandbytes uses by default. */
    public record Options(BnbQuantType type, int blocksize, boolean doubleQuant, Bnb4bit.Rounding rounding) {
        public static Options nf4DoubleQuant() {
            return new Options(BnbQuantType.NF4, 64, true, Bnb4bit.Rounding.NATIVE_CPU_LUT);
        }
    }

    public static Map<String, TensorView> quantize(TensorView weight, Options o) {
        DType dtype = weight.dtype();
        BnbQuantState.dtypeName(dtype); // rejects types bitsandbytes does not quantize
        float[] x = weight.toFloatArray();
        Bnb4bit.Quantized4 q = Bnb4bit.quantize(x, o.type(), o.blocksize());
        String n = weight.name();
        Map<String, TensorView> out = new LinkedHashMap<>();
        out.put(n, bytes(n, q.packed(), q.packed().length, 1));
        Optional<BnbQuantState.Nested> nested = Optional.empty();
        if (o.doubleQuant()) {
            Bnb4bit.DoubleQuant dq = Bnb4bit.doubleQuantize(q.absmax(), o.rounding());
            out.put(n + ".absmax", bytes(n + ".absmax", dq.codes(), dq.codes().length));
            out.put(n + ".nested_absmax", floats(n + ".nested_absmax", dq.nestedAbsmax()));
            out.put(n + ".nested_quant_map", floats(n + ".nested_quant_map", BnbCodes.dynamic8()));
            nested = Optional.of(new BnbQuantState.Nested(Bnb4bit.NESTED_BLOCKSIZE, dq.offset()));
        } else {
            out.put(n + ".absmax", floats(n + ".absmax", q.absmax()));
        }
        out.put(n + ".quant_map", floats(n + ".quant_map", BnbCodes.of(o.type())));
        BnbQuantState qs = new BnbQuantState(o.type(), o.blocksize(), dtype, weight.shape().dims(), nested);
        byte[] json = qs.toJson();
        String key = n + "." + BnbQuantState.KEY_PREFIX + o.type().fileName();
        out.put(key, bytes(key, json, json.length));
        return out;
    }

    private static TensorView bytes(String name, byte[] b, long... shape) {
        return new TensorView(name, DType.U8, new Shape(shape), MemorySegment.ofArray(b));
    }

    private static TensorView floats(String name, float[] v) {
        return BnbTensorSource.toView(name, DType.F32, new long[] {v.length}, v);
    }
}
