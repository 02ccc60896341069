package dev.loraforge.convert;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.format.gguf.GgufFile;
import dev.loraforge.format.gguf.GgufKv;
import dev.loraforge.format.gguf.GgufTensor;
import dev.loraforge.format.gguf.GgufValue;
import dev.loraforge.format.gguf.GgufValueType;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A fixture listing made by the fixture tool {@code gguf_listing.py} (every KV with type and value, arrays by
 * sha256, every tensor with type, dims and sha256) and a comparison of a GGUF file against it that reports
 * every difference as a line of text.
 */
final class GgufListing {
    final Map<String, Object> json;

    private GgufListing(Map<String, Object> json) {
        this.json = json;
    }

    static Path fixture(String rel) {
        try {
            return Path.of(GgufListing.class.getResource("/fixtures/" + rel).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing test fixture " + rel, e);
        }
    }

    static GgufListing read(String rel) throws IOException {
        return new GgufListing(JSON.std.mapFrom(Files.readString(fixture(rel))));
    }

    @SuppressWarnings("unchecked")
    List<Map<String, Object>> kvs() {
        return (List<Map<String, Object>>) json.get("kv");
    }

    @SuppressWarnings("unchecked")
    List<Map<String, Object>> tensors() {
        return (List<Map<String, Object>>) json.get("tensors");
    }

    String fileSha256() {
        return (String) json.get("file_sha256");
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static String sha256(Path p) throws IOException {
        return sha256(Files.readAllBytes(p));
    }

    /** Differences between {@code file} and this listing; keys in {@code ignore} are skipped (both sides). */
    List<String> diff(Path file, Set<String> ignore) throws IOException {
        List<String> out = new ArrayList<>();
        try (GgufFile f = GgufFile.open(file)) {
            List<GgufKv> got = f.kvs().stream().filter(kv -> !ignore.contains(kv.key())).toList();
            List<Map<String, Object>> want = kvs().stream().filter(kv -> !ignore.contains((String) kv.get("key"))).toList();
            if (got.size() != want.size()) {
                out.add("kv count " + got.size() + " != " + want.size());
            }
            for (int i = 0; i < Math.min(got.size(), want.size()); i++) {
                String d = kvDiff(got.get(i), want.get(i));
                if (d != null) {
                    out.add("kv #" + i + ": " + d);
                }
            }
            List<GgufTensor> ts = f.tensors();
            if (ts.size() != tensors().size()) {
                out.add("tensor count " + ts.size() + " != " + tensors().size());
            }
            for (int i = 0; i < Math.min(ts.size(), tensors().size()); i++) {
                GgufTensor t = ts.get(i);
                Map<String, Object> w = tensors().get(i);
                List<Long> ne = new ArrayList<>();
                for (long d : t.dims()) {
                    ne.add(d);
                }
                List<Long> wantNe = ((List<?>) w.get("ne")).stream().map(o -> ((Number) o).longValue()).toList();
                String sha = sha256(t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                if (!t.name().equals(w.get("name")) || !t.type().name().equals(w.get("ggml_type")) || !ne.equals(wantNe)
                        || !sha.equals(w.get("sha256"))) {
                    out.add("tensor #" + i + " " + t.name() + " " + t.type() + " " + ne + " " + sha.substring(0, 12)
                            + " != " + w.get("name") + " " + w.get("ggml_type") + " " + wantNe + " "
                            + ((String) w.get("sha256")).substring(0, 12));
                }
            }
        }
        return out;
    }

    private static String kvDiff(GgufKv kv, Map<String, Object> w) {
        String where = kv.key();
        if (!kv.key().equals(w.get("key"))) {
            return "key " + kv.key() + " != " + w.get("key");
        }
        GgufValue v = kv.value();
        if (!v.type().name().equals(w.get("type"))) {
            return where + ": type " + v.type() + " != " + w.get("type");
        }
        if (v instanceof GgufValue.Array a) {
            if (!a.elementType().name().equals(w.get("element_type")) || a.size() != ((Number) w.get("length")).intValue()) {
                return where + ": array " + a.elementType() + "×" + a.size() + " != " + w.get("element_type") + "×" + w.get("length");
            }
            String sha = arraySha(a);
            return sha.equals(w.get("sha256")) ? null : where + ": array sha " + sha + " != " + w.get("sha256");
        }
        if (v instanceof GgufValue.Str s) {
            return s.value().equals(w.get("value")) ? null : where + ": '" + s.value() + "' != '" + w.get("value") + "'";
        }
        GgufValue.Scalar sc = (GgufValue.Scalar) v;
        if (w.containsKey("bits")) {
            String bits = "0x" + (sc.type() == GgufValueType.FLOAT32 ? String.format("%08x", sc.bits()) : String.format("%016x", sc.bits()));
            return bits.equals(w.get("bits")) ? null : where + ": bits " + bits + " != " + w.get("bits");
        }
        Object want = w.get("value");
        Object got = sc.type() == GgufValueType.BOOL ? (Object) sc.asBool() : (Object) sc.asLong();
        if (want instanceof Number n) {
            want = n.longValue();
        }
        return got.equals(want) ? null : where + ": " + got + " != " + want;
    }

    /** The listing tool's array digest: see {@link #arrayBytes}. */
    static String arraySha(GgufValue.Array a) {
        return sha256(arrayBytes(a));
    }

    /**
     * The array payload as stored: strings as uint64 length + UTF-8 bytes, numbers little-endian
     * (the digest convention of the fixture listing tool).
     */
    static byte[] arrayBytes(GgufValue.Array a) {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        for (GgufValue e : a.items()) {
            if (e instanceof GgufValue.Str s) {
                byte[] u = s.value().getBytes(StandardCharsets.UTF_8);
                b.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(u.length).array());
                b.writeBytes(u);
            } else if (e instanceof GgufValue.Scalar sc) {
                int size = sc.type().size();
                ByteBuffer bb = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(sc.bits());
                b.write(bb.array(), 0, size);
            }
        }
        return b.toByteArray();
    }
}
