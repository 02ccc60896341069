package dev.loraforge.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON as the Hugging Face tools write it: Python's {@code json.dumps(obj, indent=2)} layout (", " free
 * lines, {@code ": "} after keys, {@code \\uXXXX} for non-ASCII, floats in Python's {@code repr}), so
 * config files we rewrite differ from the originals only where a value changed. Reading keeps key order
 * and rejects duplicate keys.
 */
public final class PythonJson {
    private static final JSON STRICT = JSON.std.with(JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build());

    private PythonJson() {
    }

    /** Parses one JSON object, keeping key order. */
    public static Map<String, Object> parseObject(String text) throws IOException {
        Map<String, Object> m = STRICT.mapFrom(text);
        if (m == null) {
            throw new IOException("not a JSON object");
        }
        return new LinkedHashMap<>(m);
    }

    /** {@code json.dumps(value, indent=indent, sort_keys=sortKeys)}. */
    public static String write(Object value, int indent, boolean sortKeys) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, indent, sortKeys, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v, int indent, boolean sort, int depth) {
        switch (v) {
            case null -> sb.append("null");
            case Boolean b -> sb.append(b ? "true" : "false");
            case String s -> string(sb, s);
            case Double d -> sb.append(pythonRepr(d));
            case Float f -> sb.append(pythonRepr(f.doubleValue()));
            case BigDecimal d -> sb.append(pythonRepr(d.doubleValue()));
            case Number n -> sb.append(n.toString());
            case Map<?, ?> m -> {
                if (m.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                List<? extends Map.Entry<?, ?>> entries = List.copyOf(m.entrySet());
                if (sort) {
                    entries = entries.stream().sorted((a, b) -> compareCodePoints(String.valueOf(a.getKey()),
                            String.valueOf(b.getKey()))).toList();
                }
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : entries) {
                    sb.append(first ? "" : ",");
                    first = false;
                    newline(sb, indent, depth + 1);
                    string(sb, String.valueOf(e.getKey()));
                    sb.append(": ");
                    write(sb, e.getValue(), indent, sort, depth + 1);
                }
                newline(sb, indent, depth);
                sb.append('}');
            }
            case List<?> l -> {
                if (l.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                for (int i = 0; i < l.size(); i++) {
                    sb.append(i == 0 ? "" : ",");
                    newline(sb, indent, depth + 1);
                    write(sb, l.get(i), indent, sort, depth + 1);
                }
                newline(sb, indent, depth);
                sb.append(']');
            }
            default -> throw new IllegalArgumentException("cannot write " + v.getClass().getName() + " as JSON");
        }
    }

    /** Python sorts str keys by code point (Java's String order is by UTF-16 unit). */
    public static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    private static void newline(StringBuilder sb, int indent, int depth) {
        sb.append('\n').repeat(' ', indent * depth);
    }

    private static void string(StringBuilder sb, String s) {
        string(sb, s, true);
    }

    /** A JSON string as Python writes it; {@code ensureAscii} escapes everything outside space..'~'. */
    public static void string(StringBuilder sb, String s, boolean ensureAscii) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || (ensureAscii && c > 0x7E)) {
                        sb.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /** Python's {@code repr(float)}: shortest round-trip digits, scientific below 1e-4 and from 1e16. */
    public static String pythonRepr(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal bd = new BigDecimal(Double.toString(d)).stripTrailingZeros(); // shortest digits...
        if (bd.precision() == 2) { // ...except Java keeps 2 digits where 1 would do (4.9E-324 vs Python 5e-324)
            BigDecimal one = bd.round(new java.math.MathContext(1, java.math.RoundingMode.HALF_EVEN));
            if (Double.parseDouble(one.toString()) == d) {
                bd = one.stripTrailingZeros();
            }
        }
        String digits = bd.unscaledValue().abs().toString();
        int exp10 = digits.length() - 1 - bd.scale(); // value = d.ddd × 10^exp10
        String sign = d < 0 ? "-" : "";
        if (exp10 < -4 || exp10 >= 16) {
            String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return sign + mant + "e" + (exp10 < 0 ? "-" : "+") + String.format(java.util.Locale.ROOT, "%02d", Math.abs(exp10));
        }
        String plain = bd.abs().toPlainString();
        return sign + (plain.contains(".") ? plain : plain + ".0");
    }
}
