package dev.loraforge.quant.bnb;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.quant.bnb.BnbFormatException.Kind;
import dev.loraforge.tensor.DType;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The non-tensor part of a bitsandbytes 4-bit quant state, as {@code QuantState.as_dict(packed=True)}
 * stores it in the uint8 tensor {@code <weight>.quant_state.bitsandbytes__<type>}: a UTF-8 JSON object
 * with {@code quant_type}, {@code blocksize}, {@code dtype}, {@code shape}, and with double quant
 * {@code nested_blocksize}, {@code nested_dtype}, {@code nested_offset}.
 */
public record BnbQuantState(BnbQuantType quantType, int blocksize, DType dtype, long[] shape,
        Optional<Nested> nested) {

    /** Double quantization of absmax: 8-bit codes in blocks of {@code blocksize}, plus {@code offset}. */
    public record Nested(int blocksize, float offset) {
    }

    /** Rejects duplicate keys (a second value for a tensor or a setting is an error, never "last one wins"). */
    private static final JSON STRICT_JSON = JSON.builder(com.fasterxml.jackson.core.JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build()).build();

    public static final String KEY_PREFIX = "quant_state.bitsandbytes__";

    public BnbQuantState {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** bitsandbytes' dtype names ({@code str(torch.bfloat16).strip("torch.")}) for the types it quantizes. */
    public static Optional<DType> dtypeOf(String name) {
        return switch (name) {
            case "float32" -> Optional.of(DType.F32);
            case "bfloat16" -> Optional.of(DType.BF16);
            case "float16" -> Optional.of(DType.F16);
            default -> Optional.empty();
        };
    }

    public static String dtypeName(DType d) {
        return switch (d) {
            case F32 -> "float32";
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> throw new IllegalArgumentException("bitsandbytes does not quantize " + d);
        };
    }

    /** Parses the JSON blob; {@code where} names the tensor in errors. */
    public static BnbQuantState parse(byte[] json, String where) {
        Map<String, Object> m;
        try {
            m = STRICT_JSON.mapFrom(new String(json, java.nio.charset.StandardCharsets.UTF_8));
        } catch (Exception e) {
            throw new BnbFormatException(Kind.BAD_QUANT_STATE, where + ": quant state is not a JSON object: " + e.getMessage());
        }
        String qt = string(m, "quant_type", where);
        BnbQuantType type = BnbQuantType.fromFileName(qt).orElseThrow(() -> new BnbFormatException(Kind.UNSUPPORTED,
                where + ": quant_type '" + qt + "' is not nf4 or fp4"));
        int blocksize = intValue(m, "blocksize", where);
        if (!Bnb4bit.isValidBlocksize(blocksize)) {
            throw new BnbFormatException(Kind.UNSUPPORTED, where + ": blocksize " + blocksize + " is not one bitsandbytes uses");
        }
        String dt = string(m, "dtype", where);
        DType dtype = dtypeOf(dt).orElseThrow(() -> new BnbFormatException(Kind.UNSUPPORTED,
                where + ": dtype '" + dt + "' is not float32, bfloat16 or float16"));
        if (!(m.get("shape") instanceof List<?> l) || l.isEmpty()) {
            throw new BnbFormatException(Kind.BAD_QUANT_STATE, where + ": quant state has no shape list");
        }
        long[] shape = new long[l.size()];
        for (int i = 0; i < shape.length; i++) {
            if (!(l.get(i) instanceof Number num) || num.longValue() < 0) {
                throw new BnbFormatException(Kind.BAD_QUANT_STATE, where + ": shape " + l + " is not a list of sizes");
            }
            shape[i] = num.longValue();
        }
        Optional<Nested> nested = Optional.empty();
        if (m.containsKey("nested_blocksize") || m.containsKey("nested_offset")) {
            int nb = intValue(m, "nested_blocksize", where);
            if (nb <= 0) {
                throw new BnbFormatException(Kind.UNSUPPORTED, where + ": nested_blocksize " + nb);
            }
            String nd = string(m, "nested_dtype", where);
            if (!nd.equals("float32")) {
                throw new BnbFormatException(Kind.UNSUPPORTED, where + ": nested_dtype '" + nd + "', expected float32");
            }
            if (!(m.get("nested_offset") instanceof Number off)) {
                throw new BnbFormatException(Kind.BAD_QUANT_STATE, where + ": nested_offset missing");
            }
            nested = Optional.of(new Nested(nb, off.floatValue())); // Python wrote float(float32): exact
        }
        BnbQuantState s = new BnbQuantState(type, blocksize, dtype, shape, nested);
        try {
            s.elementCount();
        } catch (ArithmeticException e) {
            throw new BnbFormatException(Kind.BAD_QUANT_STATE, where + ": shape " + l + " overflows");
        }
        return s;
    }

    /** The JSON blob bitsandbytes writes for this state (key order as {@code as_dict}). */
    public byte[] toJson() {
        StringBuilder sb = new StringBuilder();
        sb.append("{\"quant_type\": \"").append(quantType.fileName()).append("\", \"blocksize\": ").append(blocksize)
                .append(", \"dtype\": \"").append(dtypeName(dtype)).append("\", \"shape\": [");
        for (int i = 0; i < shape.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        sb.append("]");
        nested.ifPresent(n -> sb.append(", \"nested_blocksize\": ").append(n.blocksize())
                .append(", \"nested_dtype\": \"float32\", \"nested_offset\": ").append(pythonRepr(n.offset())));
        return sb.append("}").toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Python's {@code repr} of the float64 value of a float32: shortest round-trip digits, Python's layout. */
    static String pythonRepr(float f) {
        double d = f;
        if (d == 0) {
            return (Float.floatToRawIntBits(f) < 0 ? "-" : "") + "0.0";
        }
        java.math.BigDecimal bd = new java.math.BigDecimal(Double.toString(d)).stripTrailingZeros();
        int exp = bd.precision() - bd.scale() - 1;
        if (exp >= -4 && exp < 16) {
            String plain = bd.toPlainString();
            return plain.contains(".") ? plain : plain + ".0";
        }
        String digits = bd.unscaledValue().abs().toString();
        String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return (d < 0 ? "-" : "") + mant + "e" + (exp < 0 ? "-" : "+") + String.format("%02d", Math.abs(exp));
    }

    private static String string(Map<String, Object> m, String k, String where) {
        if (m.get(k) instanceof String s) {
            return s;
        }
        throw new BnbFormatException(Kind.BAD_QUANT_STATE, where + ": quant state key '" + k + "' missing or not a string");
    }

    private static int intValue(Map<String, Object> m, String k, String where) {
        if (m.get(k) instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())
                && Math.abs(n.doubleValue()) < Integer.MAX_VALUE) {
            return n.intValue();
        }
        throw new BnbFormatException(Kind.BAD_QUANT_STATE, where + ": quant state key '" + k + "' missing or not an integer");
    }
}
