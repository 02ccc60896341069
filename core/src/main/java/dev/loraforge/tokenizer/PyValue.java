package dev.loraforge.tokenizer;

import dev.loraforge.io.PythonJson;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Python value semantics for template values: None is {@code null}, ints are {@link Long}, floats
 * {@link Double}, lists {@link List}, dicts {@link Map}; {@link Undefined} is Jinja's undefined.
 */
final class PyValue {
    private PyValue() {
    }

    /** Jinja's undefined value: prints as "", is false, iterates as empty. */
    enum Undefined {
        INSTANCE;

        @Override
        public String toString() {
            return "";
        }
    }

    /** Jinja's {@code namespace()}: the one object templates may assign attributes on. */
    static final class Namespace {
        final Map<String, Object> attrs;

        Namespace(Map<String, Object> attrs) {
            this.attrs = attrs;
        }
    }

    /** A global function, filter-less callable or bound method. */
    @FunctionalInterface
    interface Callable {
        Object call(List<Object> args, Map<String, Object> kwargs);
    }

    /** Caller values in template form: Integer etc. become Long, Float becomes Double, collections Lists/Maps. */
    static Object normalize(Object v) {
        return switch (v) {
            case null -> null;
            case Integer x -> (long) x;
            case Short x -> (long) x;
            case Byte x -> (long) x;
            case Float x -> (double) x;
            case java.math.BigInteger x -> x.longValueExact();
            case java.math.BigDecimal x -> x.doubleValue();
            case Map<?, ?> m -> {
                Map<String, Object> out = new java.util.LinkedHashMap<>();
                m.forEach((k, x) -> out.put(String.valueOf(k), normalize(x)));
                yield out;
            }
            case Iterable<?> it -> {
                List<Object> out = new ArrayList<>();
                it.forEach(x -> out.add(normalize(x)));
                yield out;
            }
            default -> v;
        };
    }

    static boolean truthy(Object v) {
        if (v == null || v == Undefined.INSTANCE) {
            return false;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof Long l) {
            return l != 0;
        }
        if (v instanceof Double d) {
            return d != 0.0;
        }
        if (v instanceof CharSequence s) {
            return !s.isEmpty();
        }
        if (v instanceof List<?> l) {
            return !l.isEmpty();
        }
        if (v instanceof Map<?, ?> m) {
            return !m.isEmpty();
        }
        return true;
    }

    /** Python {@code str()}. */
    static String str(Object v) {
        if (v instanceof String s) {
            return s;
        }
        if (v == Undefined.INSTANCE) {
            return "";
        }
        return repr(v);
    }

    /** Python {@code repr()}. */
    static String repr(Object v) {
        if (v == null) {
            return "None";
        }
        if (v instanceof Boolean b) {
            return b ? "True" : "False";
        }
        if (v instanceof Double d) {
            return floatRepr(d);
        }
        if (v instanceof String s) {
            String q = s.contains("'") && !s.contains("\"") ? "\"" : "'";
            StringBuilder sb = new StringBuilder(q);
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    default -> {
                        if (String.valueOf(c).equals(q)) {
                            sb.append('\\');
                        }
                        sb.append(c);
                    }
                }
            }
            return sb.append(q).toString();
        }
        if (v instanceof List<?> l) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < l.size(); i++) {
                sb.append(i == 0 ? "" : ", ").append(repr(l.get(i)));
            }
            return sb.append(']').toString();
        }
        if (v instanceof Map<?, ?> m) {
            StringBuilder sb = new StringBuilder("{");
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sb.append(first ? "" : ", ").append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
                first = false;
            }
            return sb.append('}').toString();
        }
        if (v == Undefined.INSTANCE) {
            return "";
        }
        return String.valueOf(v);
    }

    /** Python's {@code repr(float)} (also what {@code str()} prints). */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        return PythonJson.pythonRepr(d);
    }

    static boolean eq(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) {
            return x instanceof Double || y instanceof Double ? x.doubleValue() == y.doubleValue() : x.longValue() == y.longValue();
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if (x.size() != y.size()) {
                return false;
            }
            for (int i = 0; i < x.size(); i++) {
                if (!eq(x.get(i), y.get(i))) {
                    return false;
                }
            }
            return true;
        }
        return Objects.equals(a, b);
    }

    static int compare(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) {
            return Double.compare(x.doubleValue(), y.doubleValue());
        }
        if (a instanceof String x && b instanceof String y) {
            return x.compareTo(y);
        }
        throw new IllegalArgumentException("'<' not supported between " + typeName(a) + " and " + typeName(b));
    }

    static String typeName(Object v) {
        if (v == null) {
            return "NoneType";
        }
        if (v == Undefined.INSTANCE) {
            return "Undefined";
        }
        return switch (v) {
            case String s -> "str";
            case Long l -> "int";
            case Double d -> "float";
            case Boolean b -> "bool";
            case List<?> l -> "list";
            case Map<?, ?> m -> "dict";
            default -> v.getClass().getSimpleName();
        };
    }

    /** What a for loop iterates: list items, dict keys, string characters. */
    static List<Object> iterate(Object v) {
        if (v == null || v == Undefined.INSTANCE) {
            return List.of();
        }
        if (v instanceof List<?> l) {
            return new ArrayList<>(l);
        }
        if (v instanceof Map<?, ?> m) {
            return new ArrayList<>(m.keySet());
        }
        if (v instanceof String s) {
            List<Object> out = new ArrayList<>();
            s.codePoints().forEach(cp -> out.add(Character.toString(cp)));
            return out;
        }
        if (v instanceof Iterable<?> it) {
            List<Object> out = new ArrayList<>();
            for (Iterator<?> i = it.iterator(); i.hasNext(); ) {
                out.add(i.next());
            }
            return out;
        }
        throw new IllegalArgumentException("'" + typeName(v) + "' object is not iterable");
    }

    static long length(Object v) {
        if (v instanceof String s) {
            return s.codePointCount(0, s.length());
        }
        if (v instanceof List<?> l) {
            return l.size();
        }
        if (v instanceof Map<?, ?> m) {
            return m.size();
        }
        if (v == Undefined.INSTANCE) {
            return 0;
        }
        throw new IllegalArgumentException("object of type '" + typeName(v) + "' has no len()");
    }

    /** Python's whitespace for str.strip() / str.split(). */
    static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85 || (c >= 0x1C && c <= 0x1F);
    }

    static String strip(String s, String chars, boolean left, boolean right) {
        int a = 0, b = s.length();
        while (left && a < b && (chars == null ? isSpace(s.charAt(a)) : chars.indexOf(s.charAt(a)) >= 0)) {
            a++;
        }
        while (right && b > a && (chars == null ? isSpace(s.charAt(b - 1)) : chars.indexOf(s.charAt(b - 1)) >= 0)) {
            b--;
        }
        return s.substring(a, b);
    }

    /** json.dumps(v, ensure_ascii=False, indent=indent), as transformers' tojson filter does. */
    static String toJson(Object v, Integer indent) {
        StringBuilder sb = new StringBuilder();
        json(v, indent, 0, sb);
        return sb.toString();
    }

    private static void json(Object v, Integer indent, int level, StringBuilder sb) {
        if (v == null || v == Undefined.INSTANCE) {
            sb.append("null");
        } else if (v instanceof Boolean b) {
            sb.append(b ? "true" : "false");
        } else if (v instanceof Double d) {
            sb.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity") : floatRepr(d));
        } else if (v instanceof Number n) {
            sb.append(n.longValue());
        } else if (v instanceof String s) {
            jsonString(s, sb);
        } else if (v instanceof List<?> l) {
            if (l.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                sb.append(i == 0 ? "" : indent == null ? ", " : ",");
                newline(indent, level + 1, sb);
                json(l.get(i), indent, level + 1, sb);
            }
            newline(indent, level, sb);
            sb.append(']');
        } else if (v instanceof Map<?, ?> m) {
            if (m.isEmpty()) {
                sb.append("{}");
                return;
            }
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sb.append(first ? "" : indent == null ? ", " : ",");
                first = false;
                newline(indent, level + 1, sb);
                jsonString(String.valueOf(e.getKey()), sb);
                sb.append(": ");
                json(e.getValue(), indent, level + 1, sb);
            }
            newline(indent, level, sb);
            sb.append('}');
        } else if (v instanceof Namespace ns) {
            json(ns.attrs, indent, level, sb);
        } else {
            throw new IllegalArgumentException("Object of type " + typeName(v) + " is not JSON serializable");
        }
    }

    private static void newline(Integer indent, int level, StringBuilder sb) {
        if (indent != null) {
            sb.append('\n').append(" ".repeat(indent * level));
        }
    }

    private static void jsonString(String s, StringBuilder sb) {
        PythonJson.string(sb, s, false); // transformers' tojson: ensure_ascii=False
    }
}
