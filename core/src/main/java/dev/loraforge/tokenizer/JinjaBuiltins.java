package dev.loraforge.tokenizer;

import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Globals, filters, tests and the Python str/list/dict methods chat templates use, with Python's
 * semantics (transformers renders templates with Python Jinja2).
 */
final class JinjaBuiltins {
    private final Clock clock;

    JinjaBuiltins(Clock clock) {
        this.clock = clock;
    }

    Map<String, Object> globals() {
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("raise_exception", (PyValue.Callable) (args, kw) -> {
            throw JinjaTemplate.error(args.isEmpty() ? "raise_exception" : PyValue.str(args.getFirst()));
        });
        g.put("strftime_now", (PyValue.Callable) (args, kw) -> strftime(PyValue.str(arg(args, 0, "%Y-%m-%d")), ZonedDateTime.now(clock)));
        g.put("namespace", (PyValue.Callable) (args, kw) -> {
            Map<String, Object> attrs = new LinkedHashMap<>();
            for (Object a : args) {
                if (a instanceof Map<?, ?> m) {
                    m.forEach((k, v) -> attrs.put(PyValue.str(k), v));
                }
            }
            attrs.putAll(kw);
            return new PyValue.Namespace(attrs);
        });
        g.put("dict", (PyValue.Callable) (args, kw) -> new LinkedHashMap<>(kw));
        g.put("range", (PyValue.Callable) (args, kw) -> {
            long start = args.size() > 1 ? num(args.get(0)) : 0, stop = num(args.get(args.size() > 1 ? 1 : 0));
            long step = args.size() > 2 ? num(args.get(2)) : 1;
            if (step == 0 || Math.abs((stop - start) / step) > 1_000_000) {
                throw JinjaTemplate.error("range too large or step 0");
            }
            List<Object> out = new ArrayList<>();
            for (long v = start; step > 0 ? v < stop : v > stop; v += step) {
                out.add(v);
            }
            return out;
        });
        return g;
    }

    /** Python strftime for the directives chat templates use. */
    static String strftime(String fmt, ZonedDateTime t) {
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < fmt.length(); k++) {
            char c = fmt.charAt(k);
            if (c != '%' || k + 1 == fmt.length()) {
                sb.append(c);
                continue;
            }
            char d = fmt.charAt(++k);
            sb.append(switch (d) {
                case 'd' -> "%02d".formatted(t.getDayOfMonth());
                case 'm' -> "%02d".formatted(t.getMonthValue());
                case 'Y' -> String.valueOf(t.getYear());
                case 'y' -> "%02d".formatted(t.getYear() % 100);
                case 'H' -> "%02d".formatted(t.getHour());
                case 'I' -> "%02d".formatted((t.getHour() + 11) % 12 + 1);
                case 'M' -> "%02d".formatted(t.getMinute());
                case 'S' -> "%02d".formatted(t.getSecond());
                case 'p' -> t.getHour() < 12 ? "AM" : "PM";
                case 'b' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case 'j' -> "%03d".formatted(t.getDayOfYear());
                case '%' -> "%";
                default -> "%" + d;
            });
        }
        return sb.toString();
    }

    /** {@code obj.name}: a method of the value's Python type, else a dict key / namespace attribute. */
    Object attribute(Object obj, String name) {
        PyValue.Callable method = method(obj, name);
        if (method != null) {
            return method;
        }
        if (obj instanceof PyValue.Namespace ns) {
            return ns.attrs.containsKey(name) ? ns.attrs.get(name) : PyValue.Undefined.INSTANCE;
        }
        return item(obj, name);
    }

    /** {@code obj[key]}; missing keys and out-of-range indexes are undefined. */
    Object item(Object obj, Object key) {
        if (obj instanceof Map<?, ?> m) {
            Object k = key instanceof String ? key : PyValue.str(key);
            return m.containsKey(k) ? m.get(k) : PyValue.Undefined.INSTANCE;
        }
        if (obj instanceof PyValue.Namespace ns) {
            return attribute(ns, PyValue.str(key));
        }
        if ((obj instanceof List<?> || obj instanceof String) && key instanceof Long idx) {
            List<Object> items = obj instanceof List<?> l ? new ArrayList<>(l) : PyValue.iterate(obj);
            long k = idx < 0 ? idx + items.size() : idx;
            return k >= 0 && k < items.size() ? items.get((int) k) : PyValue.Undefined.INSTANCE;
        }
        return PyValue.Undefined.INSTANCE;
    }

    static Object slice(Object obj, Object start, Object stop, Object step) {
        if (obj == PyValue.Undefined.INSTANCE || obj == null) {
            return PyValue.Undefined.INSTANCE;
        }
        List<Object> items = PyValue.iterate(obj);
        int n = items.size();
        long st = step == null ? 1 : num(step);
        if (st == 0) {
            throw JinjaTemplate.error("slice step cannot be zero");
        }
        long a, b;
        if (st > 0) {
            a = start == null ? 0 : clamp(num(start), n, 0, n);
            b = stop == null ? n : clamp(num(stop), n, 0, n);
        } else {
            a = start == null ? n - 1 : clamp(num(start), n, -1, n - 1);
            b = stop == null ? -1 : clamp(num(stop), n, -1, n - 1);
        }
        List<Object> out = new ArrayList<>();
        for (long k = a; st > 0 ? k < b : k > b; k += st) {
            out.add(items.get((int) k));
        }
        if (obj instanceof String) {
            StringBuilder sb = new StringBuilder();
            out.forEach(sb::append);
            return sb.toString();
        }
        return out;
    }

    private static long clamp(long v, int n, long lo, long hi) {
        long k = v < 0 ? v + n : v;
        return Math.max(lo, Math.min(hi, k));
    }

    static boolean contains(Object container, Object item) {
        if (container instanceof String s) {
            return s.contains(PyValue.str(item));
        }
        if (container instanceof Map<?, ?> m) {
            return m.containsKey(item);
        }
        if (container instanceof List<?> l) {
            for (Object x : l) {
                if (PyValue.eq(x, item)) {
                    return true;
                }
            }
            return false;
        }
        if (container == PyValue.Undefined.INSTANCE || container == null) {
            throw JinjaTemplate.error("argument of type '" + PyValue.typeName(container) + "' is not iterable");
        }
        return false;
    }

    static Object arithmetic(String op, Object a, Object b) {
        if (op.equals("+") && a instanceof String x && b instanceof String y) {
            return x + y;
        }
        if (op.equals("+") && a instanceof List<?> x && b instanceof List<?> y) {
            List<Object> out = new ArrayList<>(x);
            out.addAll(y);
            return out;
        }
        if (op.equals("*") && a instanceof String s && b instanceof Long n) {
            return s.repeat((int) Math.max(0, Math.min(n, 1 << 20)));
        }
        if (a instanceof Boolean x) {
            a = x ? 1L : 0L;
        }
        if (b instanceof Boolean y) {
            b = y ? 1L : 0L;
        }
        if (!(a instanceof Number x) || !(b instanceof Number y)) {
            throw JinjaTemplate.error("unsupported operand type(s) for " + op + ": '" + PyValue.typeName(a) + "' and '" + PyValue.typeName(b) + "'");
        }
        boolean ints = x instanceof Long && y instanceof Long;
        try {
            return switch (op) {
                case "+" -> ints ? (Object) Math.addExact(x.longValue(), y.longValue()) : x.doubleValue() + y.doubleValue();
                case "-" -> ints ? (Object) Math.subtractExact(x.longValue(), y.longValue()) : x.doubleValue() - y.doubleValue();
                case "*" -> ints ? (Object) Math.multiplyExact(x.longValue(), y.longValue()) : x.doubleValue() * y.doubleValue();
                case "/" -> x.doubleValue() / nonZero(y).doubleValue();
                case "//" -> ints ? (Object) Math.floorDiv(x.longValue(), nonZero(y).longValue()) : Math.floor(x.doubleValue() / nonZero(y).doubleValue());
                case "%" -> ints ? (Object) Math.floorMod(x.longValue(), nonZero(y).longValue())
                        : x.doubleValue() - Math.floor(x.doubleValue() / nonZero(y).doubleValue()) * y.doubleValue();
                case "**" -> ints && y.longValue() >= 0 ? (Object) (long) Math.pow(x.longValue(), y.longValue()) : Math.pow(x.doubleValue(), y.doubleValue());
                default -> throw JinjaTemplate.error("unknown operator " + op);
            };
        } catch (ArithmeticException e) {
            throw JinjaTemplate.error("integer overflow in " + op);
        }
    }

    private static Number nonZero(Number n) {
        if (n.doubleValue() == 0) {
            throw JinjaTemplate.error("division by zero");
        }
        return n;
    }

    static long num(Object o) {
        if (o instanceof Number n) {
            return n.longValue();
        }
        if (o instanceof Boolean b) {
            return b ? 1 : 0;
        }
        throw JinjaTemplate.error("expected an integer, got " + PyValue.typeName(o));
    }

    private static Object arg(List<Object> args, int k, Object dflt) {
        return k < args.size() ? args.get(k) : dflt;
    }

    private static Object arg(List<Object> args, Map<String, Object> kw, int k, String name, Object dflt) {
        return kw.containsKey(name) ? kw.get(name) : arg(args, k, dflt);
    }

    /** Bound Python methods of str, list and dict values; null when the name is not one. */
    private PyValue.Callable method(Object obj, String name) {
        if (obj instanceof String s) {
            return switch (name) {
                case "strip", "lstrip", "rstrip" -> (args, kw) -> {
                    Object chars = arg(args, 0, null);
                    return PyValue.strip(s, chars == null ? null : PyValue.str(chars), !name.equals("rstrip"), !name.equals("lstrip"));
                };
                case "split", "rsplit" -> (args, kw) -> split(s, arg(args, kw, 0, "sep", null), num(arg(args, kw, 1, "maxsplit", -1L)), name.equals("rsplit"));
                case "startswith", "endswith" -> (args, kw) -> {
                    Object p = arg(args, 0, "");
                    for (Object x : p instanceof List<?> l ? l : List.of(p)) {
                        if (name.equals("startswith") ? s.startsWith(PyValue.str(x)) : s.endsWith(PyValue.str(x))) {
                            return true;
                        }
                    }
                    return false;
                };
                case "upper" -> (args, kw) -> s.toUpperCase(Locale.ROOT);
                case "lower" -> (args, kw) -> s.toLowerCase(Locale.ROOT);
                case "title" -> (args, kw) -> title(s);
                case "capitalize" -> (args, kw) -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
                case "replace" -> (args, kw) -> replace(s, PyValue.str(arg(args, 0, "")), PyValue.str(arg(args, 1, "")), num(arg(args, 2, -1L)));
                case "find" -> (args, kw) -> (long) s.indexOf(PyValue.str(arg(args, 0, "")));
                case "rfind" -> (args, kw) -> (long) s.lastIndexOf(PyValue.str(arg(args, 0, "")));
                case "count" -> (args, kw) -> (long) (s.split(Pattern.quote(PyValue.str(arg(args, 0, ""))), -1).length - 1);
                case "join" -> (args, kw) -> {
                    List<String> parts = new ArrayList<>();
                    PyValue.iterate(arg(args, 0, List.of())).forEach(x -> parts.add(PyValue.str(x)));
                    return String.join(s, parts);
                };
                case "splitlines" -> (args, kw) -> new ArrayList<Object>(s.lines().toList());
                case "isdigit" -> (args, kw) -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
                case "isalpha" -> (args, kw) -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
                case "isspace" -> (args, kw) -> !s.isEmpty() && s.chars().allMatch(PyValue::isSpace);
                case "removeprefix" -> (args, kw) -> s.startsWith(PyValue.str(arg(args, 0, ""))) ? s.substring(PyValue.str(arg(args, 0, "")).length()) : s;
                case "removesuffix" -> (args, kw) -> {
                    String suffix = PyValue.str(arg(args, 0, ""));
                    return !suffix.isEmpty() && s.endsWith(suffix) ? s.substring(0, s.length() - suffix.length()) : s;
                };
                default -> null;
            };
        }
        if (obj instanceof Map<?, ?> m) {
            return switch (name) {
                case "items" -> (args, kw) -> {
                    List<Object> out = new ArrayList<>();
                    m.forEach((k, v) -> out.add(new ArrayList<>(java.util.Arrays.asList(k, v)))); // values may be None
                    return out;
                };
                case "keys" -> (args, kw) -> new ArrayList<Object>(m.keySet());
                case "values" -> (args, kw) -> new ArrayList<Object>(m.values());
                case "get" -> (args, kw) -> {
                    Object k = arg(args, 0, null);
                    return m.containsKey(k) ? m.get(k) : arg(args, 1, null);
                };
                default -> null;
            };
        }
        if (obj instanceof List<?> l) {
            return switch (name) {
                case "index" -> (args, kw) -> {
                    for (int k = 0; k < l.size(); k++) {
                        if (PyValue.eq(l.get(k), arg(args, 0, null))) {
                            return (long) k;
                        }
                    }
                    throw JinjaTemplate.error("value is not in list");
                };
                case "count" -> (args, kw) -> l.stream().filter(x -> PyValue.eq(x, arg(args, 0, null))).count();
                default -> null;
            };
        }
        return null;
    }

    private static List<Object> split(String s, Object sep, long maxsplit, boolean fromRight) {
        List<Object> out = new ArrayList<>();
        if (sep == null) {
            String t = PyValue.strip(s, null, true, true);
            if (t.isEmpty()) {
                return out;
            }
            String[] parts = t.split("[\\s\\u0085\\u001c-\\u001f]+", maxsplit < 0 || fromRight ? -1 : (int) maxsplit + 1);
            Collections.addAll(out, (Object[]) parts);
        } else {
            String d = PyValue.str(sep);
            if (d.isEmpty()) {
                throw JinjaTemplate.error("empty separator");
            }
            String[] parts = s.split(Pattern.quote(d), -1);
            Collections.addAll(out, (Object[]) parts);
            if (maxsplit >= 0 && out.size() > maxsplit + 1) {
                int keep = (int) maxsplit;
                if (fromRight) {
                    List<Object> head = out.subList(0, out.size() - keep);
                    String joined = String.join(d, head.stream().map(PyValue::str).toList());
                    List<Object> r = new ArrayList<>();
                    r.add(joined);
                    r.addAll(out.subList(out.size() - keep, out.size()));
                    return r;
                }
                List<Object> r = new ArrayList<>(out.subList(0, keep));
                r.add(String.join(d, out.subList(keep, out.size()).stream().map(PyValue::str).toList()));
                return r;
            }
        }
        return out;
    }

    private static String replace(String s, String old, String with, long count) {
        if (count < 0) {
            return s.replace(old, with);
        }
        StringBuilder sb = new StringBuilder();
        int from = 0;
        for (long k = 0; k < count; k++) {
            int at = s.indexOf(old, from);
            if (at < 0 || old.isEmpty()) {
                break;
            }
            sb.append(s, from, at).append(with);
            from = at + old.length();
        }
        return sb.append(s.substring(from)).toString();
    }

    private static String title(String s) {
        StringBuilder sb = new StringBuilder();
        boolean prevLetter = false;
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            sb.append(prevLetter ? Character.toLowerCase(c) : Character.toUpperCase(c));
            prevLetter = Character.isLetter(c);
        }
        return sb.toString();
    }

    Object filter(String name, Object v, List<Object> args, Map<String, Object> kw) {
        return switch (name) {
            case "trim" -> PyValue.strip(PyValue.str(v), arg(args, 0, null) == null ? null : PyValue.str(args.getFirst()), true, true);
            case "length", "count" -> PyValue.length(v);
            case "string" -> PyValue.str(v);
            case "tojson" -> {
                Object indent = arg(args, kw, 0, "indent", null);
                try {
                    yield PyValue.toJson(v, indent == null ? null : (int) num(indent));
                } catch (IllegalArgumentException e) {
                    throw JinjaTemplate.error(e.getMessage());
                }
            }
            case "join" -> {
                String sep = PyValue.str(arg(args, kw, 0, "d", ""));
                Object attr = kw.get("attribute");
                List<String> parts = new ArrayList<>();
                for (Object x : PyValue.iterate(v)) {
                    parts.add(PyValue.str(attr == null ? x : attribute(x, PyValue.str(attr))));
                }
                yield String.join(sep, parts);
            }
            case "items" -> v == PyValue.Undefined.INSTANCE ? List.of() : method(v, "items").call(List.of(), Map.of());
            case "list" -> PyValue.iterate(v);
            case "first" -> {
                List<Object> l = PyValue.iterate(v);
                yield l.isEmpty() ? PyValue.Undefined.INSTANCE : l.getFirst();
            }
            case "last" -> {
                List<Object> l = PyValue.iterate(v);
                yield l.isEmpty() ? PyValue.Undefined.INSTANCE : l.getLast();
            }
            case "upper" -> PyValue.str(v).toUpperCase(Locale.ROOT);
            case "lower" -> PyValue.str(v).toLowerCase(Locale.ROOT);
            case "capitalize" -> method(PyValue.str(v), "capitalize").call(List.of(), Map.of());
            case "title" -> title(PyValue.str(v));
            case "default", "d" -> {
                boolean bool = PyValue.truthy(arg(args, kw, 1, "boolean", false));
                yield v == PyValue.Undefined.INSTANCE || (bool && !PyValue.truthy(v)) ? arg(args, kw, 0, "default_value", "") : v;
            }
            case "replace" -> replace(PyValue.str(v), PyValue.str(arg(args, 0, "")), PyValue.str(arg(args, 1, "")), num(arg(args, 2, -1L)));
            case "int" -> {
                try {
                    yield v instanceof Number n ? (Object) n.longValue() : (Object) Long.parseLong(PyValue.str(v).strip());
                } catch (NumberFormatException e) {
                    yield arg(args, 0, 0L);
                }
            }
            case "float" -> {
                try {
                    yield v instanceof Number n ? n.doubleValue() : Double.parseDouble(PyValue.str(v).strip());
                } catch (NumberFormatException e) {
                    yield arg(args, 0, 0.0);
                }
            }
            case "abs" -> v instanceof Long l ? (Object) Math.abs(l) : (Object) Math.abs(((Number) v).doubleValue());
            case "safe", "e", "escape" -> v;
            case "reverse" -> {
                if (v instanceof String s) {
                    yield new StringBuilder(s).reverse().toString();
                }
                List<Object> l = PyValue.iterate(v);
                Collections.reverse(l);
                yield l;
            }
            case "unique" -> new ArrayList<>(new LinkedHashSet<>(PyValue.iterate(v)));
            case "select", "reject" -> {
                List<Object> out = new ArrayList<>();
                for (Object x : PyValue.iterate(v)) {
                    boolean pass = args.isEmpty() ? PyValue.truthy(x) : test(PyValue.str(args.getFirst()), x, args.subList(1, args.size()));
                    if (pass == name.equals("select")) {
                        out.add(x);
                    }
                }
                yield out;
            }
            case "selectattr", "rejectattr" -> {
                List<Object> out = new ArrayList<>();
                String attr = PyValue.str(arg(args, 0, ""));
                for (Object x : PyValue.iterate(v)) {
                    Object a = attribute(x, attr);
                    boolean pass = args.size() < 2 ? PyValue.truthy(a) : test(PyValue.str(args.get(1)), a, args.subList(2, args.size()));
                    if (pass == name.equals("selectattr")) {
                        out.add(x);
                    }
                }
                yield out;
            }
            case "map" -> {
                List<Object> out = new ArrayList<>();
                for (Object x : PyValue.iterate(v)) {
                    out.add(kw.containsKey("attribute") ? attribute(x, PyValue.str(kw.get("attribute")))
                            : filter(PyValue.str(arg(args, 0, "string")), x, args.size() > 1 ? args.subList(1, args.size()) : List.of(), Map.of()));
                }
                yield out;
            }
            case "sort" -> {
                List<Object> l = PyValue.iterate(v);
                Object attr = kw.get("attribute");
                l.sort((a, b) -> attr == null ? PyValue.compare(a, b) : PyValue.compare(attribute(a, PyValue.str(attr)), attribute(b, PyValue.str(attr))));
                if (PyValue.truthy(kw.get("reverse"))) {
                    Collections.reverse(l);
                }
                yield l;
            }
            case "indent" -> {
                String pad = " ".repeat((int) num(arg(args, kw, 0, "width", 4L)));
                boolean first = PyValue.truthy(arg(args, kw, 1, "first", false));
                String s = PyValue.str(v).replace("\n", "\n" + pad);
                yield first ? pad + s : s;
            }
            default -> throw JinjaTemplate.error("unknown filter '" + name + "'");
        };
    }

    boolean test(String name, Object v, List<Object> args) {
        return switch (name) {
            case "defined" -> v != PyValue.Undefined.INSTANCE;
            case "undefined" -> v == PyValue.Undefined.INSTANCE;
            case "none" -> v == null;
            case "string" -> v instanceof String;
            case "number" -> v instanceof Long || v instanceof Double;
            case "integer" -> v instanceof Long;
            case "float" -> v instanceof Double;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "mapping" -> v instanceof Map<?, ?>;
            case "iterable" -> v instanceof List<?> || v instanceof Map<?, ?> || v instanceof String;
            case "sequence" -> v instanceof List<?> || v instanceof String || v instanceof Map<?, ?>;
            case "callable" -> v instanceof PyValue.Callable;
            case "equalto", "eq", "==", "sameas" -> PyValue.eq(v, arg(args, 0, null));
            case "ne", "!=" -> !PyValue.eq(v, arg(args, 0, null));
            case "odd" -> num(v) % 2 != 0;
            case "even" -> num(v) % 2 == 0;
            case "divisibleby" -> num(v) % num(arg(args, 0, 1L)) == 0;
            case "in" -> contains(arg(args, 0, List.of()), v);
            case "lower" -> PyValue.str(v).equals(PyValue.str(v).toLowerCase(Locale.ROOT));
            case "upper" -> PyValue.str(v).equals(PyValue.str(v).toUpperCase(Locale.ROOT));
            default -> throw JinjaTemplate.error("unknown test '" + name + "'");
        };
    }
}
