package dev.loraforge.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.format.gguf.GgufFile;
import dev.loraforge.format.gguf.GgufKv;
import dev.loraforge.format.gguf.GgufSummary;
import dev.loraforge.format.gguf.GgufTensorInfo;
import dev.loraforge.format.gguf.GgufValue;
import dev.loraforge.format.gguf.GgufValueType;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code loraforge inspect FILE.gguf}: the facts of {@link GgufSummary} as text (like gguf-dump) or JSON. */
final class GgufInspect {
    /** Array items shown before "… (n items)". */
    static final int ARRAY_HEAD = 8;
    /** Characters of a string value shown in text output (chat templates run to kilobytes). */
    static final int STRING_CHARS = 80;

    private GgufInspect() {
    }

    static void printText(GgufFile f, PrintWriter out) {
        GgufSummary s = GgufSummary.of(f);
        out.printf(Locale.ROOT, "%s: GGUF v%d, %,d bytes, alignment %d, tensor data at byte %,d%n",
                s.file(), s.version(), s.fileSize(), s.alignment(), s.dataOffset());
        out.printf(Locale.ROOT, "%d metadata pairs:%n", s.kvs().size());
        int w = Integer.toString(Math.max(s.kvs().size(), s.tensors().size())).length();
        int i = 0;
        for (GgufKv kv : s.kvs()) {
            out.printf(Locale.ROOT, "  %" + w + "d: %-10s %s = %s%n", ++i, GgufSummary.typeName(kv.value()), kv.key(),
                    text(kv.value(), true));
        }
        out.printf(Locale.ROOT, "%d tensors:%n", s.tensors().size());
        i = 0;
        for (GgufTensorInfo t : s.tensors()) {
            out.printf(Locale.ROOT, "  %" + w + "d: %-40s %-7s %-22s %,d B%n", ++i, t.name(), t.type(),
                    Arrays.toString(t.dims()), t.byteSize());
        }
        out.printf(Locale.ROOT, "totals: %,d tensors, %,d elements, %,d bytes (%.2f bits per weight)%n",
                s.tensors().size(), s.totalElements(), s.totalBytes(), s.bitsPerWeight());
        for (GgufSummary.TypeTotal t : s.byType()) {
            out.printf(Locale.ROOT, "  %-7s %4d tensors, %,d elements, %,d bytes%n", t.type(), t.tensors(), t.elements(),
                    t.bytes());
        }
        out.flush();
    }

    static String toJson(GgufFile f) {
        GgufSummary s = GgufSummary.of(f);
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("file", s.file());
        root.put("format", "gguf");
        root.put("file_size", s.fileSize());
        root.put("gguf_version", s.version());
        root.put("alignment", s.alignment());
        root.put("tensor_data_offset", s.dataOffset());
        s.architecture().ifPresent(a -> root.put("architecture", a));
        List<Object> kvs = new ArrayList<>();
        for (GgufKv kv : s.kvs()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("key", kv.key());
            m.put("type", kv.value().type().name());
            if (kv.value() instanceof GgufValue.Array a) {
                m.put("element_type", a.elementType().name());
                m.put("length", a.size());
                m.put("head", head(a));
            } else {
                m.put("value", json(kv.value()));
            }
            kvs.add(m);
        }
        root.put("kv", kvs);
        List<Object> tensors = new ArrayList<>();
        for (GgufTensorInfo t : s.tensors()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", t.name());
            m.put("type", t.type().name());
            m.put("ne", t.dims());
            m.put("offset", t.offset());
            m.put("n_bytes", t.byteSize());
            tensors.add(m);
        }
        root.put("tensors", tensors);
        Map<String, Object> totals = new LinkedHashMap<>();
        totals.put("tensors", s.tensors().size());
        totals.put("elements", s.totalElements());
        totals.put("bytes", s.totalBytes());
        Map<String, Object> byType = new LinkedHashMap<>();
        for (GgufSummary.TypeTotal t : s.byType()) {
            byType.put(t.type().name(), Map.of("tensors", t.tensors(), "elements", t.elements(), "bytes", t.bytes()));
        }
        totals.put("by_type", byType);
        root.put("totals", totals);
        try {
            return JSON.std.with(JSON.Feature.PRETTY_PRINT_OUTPUT).asString(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<Object> head(GgufValue.Array a) {
        List<Object> head = new ArrayList<>();
        for (int i = 0; i < Math.min(ARRAY_HEAD, a.size()); i++) {
            GgufValue v = a.get(i);
            head.add(v instanceof GgufValue.Array inner
                    ? Map.of("element_type", inner.elementType().name(), "length", inner.size(), "head", head(inner))
                    : json(v));
        }
        return head;
    }

    /** A JSON-ready scalar: numbers exact (UINT64 as unsigned), non-finite floats as strings. */
    private static Object json(GgufValue v) {
        return switch (v) {
            case GgufValue.Str s -> s.value();
            case GgufValue.Scalar s when s.type() == GgufValueType.BOOL -> s.asBool();
            case GgufValue.Scalar s when s.type().isFloat() -> {
                double d = s.asDouble();
                yield Double.isFinite(d) ? (Object) d : Double.toString(d);
            }
            case GgufValue.Scalar s when s.type() == GgufValueType.UINT64 && s.bits() < 0 ->
                    new java.math.BigInteger(Long.toUnsignedString(s.bits()));
            case GgufValue.Scalar s -> s.asLong();
            case GgufValue.Array a -> head(a);
        };
    }

    private static String text(GgufValue v, boolean top) {
        return switch (v) {
            case GgufValue.Str s -> quote(s.value());
            case GgufValue.Scalar s -> s.toString();
            case GgufValue.Array a -> {
                StringBuilder sb = new StringBuilder("[");
                for (int i = 0; i < Math.min(ARRAY_HEAD, a.size()); i++) {
                    sb.append(i > 0 ? ", " : "").append(text(a.get(i), false));
                }
                if (a.size() > ARRAY_HEAD) {
                    sb.append(", …");
                }
                sb.append("]");
                if (top || a.size() > ARRAY_HEAD) {
                    sb.append(" (").append(String.format(Locale.ROOT, "%,d", a.size())).append(" items)");
                }
                yield sb.toString();
            }
        };
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("'");
        int shown = 0;
        for (int i = 0; i < s.length() && shown < STRING_CHARS; i++, shown++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '\r' -> sb.append("\\r");
                case '\'' -> sb.append("\\'");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (c < 0x20 || c == 0x7F) {
                        sb.append(String.format("\\x%02x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append("'");
        if (s.length() > STRING_CHARS) {
            sb.append(String.format(Locale.ROOT, " … (%,d chars)", s.length()));
        }
        return sb.toString();
    }
}
