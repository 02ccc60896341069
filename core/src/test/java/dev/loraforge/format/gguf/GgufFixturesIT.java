package dev.loraforge.format.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Reads GGUF files made by llama.cpp 3f545bec and compares every KV pair and tensor with the listing
 * that tools/gguf_listing.py (an independent numpy parser, checked against gguf-py) wrote for them; then
 * writes each file again through {@link GgufWriter} and expects the very same bytes.
 */
class GgufFixturesIT {
    static final String STORIES_F16 = "tinystories-260k/gguf/stories260k-f16.gguf";
    static final String Q4_0 = "tiny-llama-v512/gguf/tiny-llama-v512-q4_0.gguf";
    static final String Q4_K_M = "tiny-llama-v512/gguf/tiny-llama-v512-q4_k_m.gguf";
    static final String LORA_F16 = "tiny-llama-v512/gguf/tiny-llama-v512-lora-r8-f16.gguf";
    static final String VOCAB_SPM = "tokenizers/llamacpp-vocab/ggml-vocab-llama-spm.gguf";

    @TempDir
    Path tmp;

    static Path fixture(String rel) {
        try {
            return Path.of(GgufFixturesIT.class.getResource("/fixtures/" + rel).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Map<String, Object> listing(String rel) throws IOException {
        return JSON.std.mapFrom(Files.readString(fixture(rel + ".json")));
    }

    @ParameterizedTest
    @ValueSource(strings = {STORIES_F16, Q4_0, Q4_K_M, LORA_F16, VOCAB_SPM})
    void everyKvAndTensorMatchesTheListing(String rel) throws Exception {
        Map<String, Object> js = listing(rel);
        try (GgufFile f = GgufFile.open(fixture(rel))) {
            assertThat(f.fileSize()).isEqualTo(num(js.get("file_size")));
            assertThat(f.version()).isEqualTo(num(js.get("gguf_version")));
            assertThat(f.alignment()).isEqualTo(num(js.get("alignment")));
            assertThat(f.dataOffset()).isEqualTo(num(js.get("tensor_data_offset")));
            List<?> kvs = (List<?>) js.get("kv");
            List<?> tensors = (List<?>) js.get("tensors");
            assertThat(f.kvs()).hasSize(kvs.size()).hasSize((int) num(js.get("kv_count")));
            assertThat(f.tensors()).hasSize(tensors.size()).hasSize((int) num(js.get("tensor_count")));
            for (int i = 0; i < kvs.size(); i++) {
                checkKv((Map<?, ?>) kvs.get(i), f.kvs().get(i));
            }
            for (int i = 0; i < tensors.size(); i++) {
                checkTensor((Map<?, ?>) tensors.get(i), f.tensors().get(i), f.dataOffset());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {STORIES_F16, Q4_0, Q4_K_M, LORA_F16, VOCAB_SPM})
    void rewritingGivesTheSameBytes(String rel) throws Exception {
        Path out = tmp.resolve("out.gguf");
        try (GgufFile f = GgufFile.open(fixture(rel)); GgufWriter w = GgufWriter.create(out, false)) {
            w.addKvs(f.kvs());
            for (GgufTensor t : f.tensors()) {
                w.addTensor(t.name(), t.type(), t.dims());
            }
            List<GgufTensorInfo> placed = w.writeHeader();
            assertThat(placed).containsExactlyElementsOf(f.tensors().stream().map(GgufTensor::info).toList());
            assertThat(w.dataOffset()).isEqualTo(f.dataOffset());
            for (GgufTensor t : f.tensors()) {
                w.writeTensor(t.name(), t.data());
            }
            w.finish();
        }
        assertThat(Files.mismatch(out, fixture(rel))).isEqualTo(-1L);
        assertThat(sha256(Files.readAllBytes(out))).isEqualTo(listing(rel).get("file_sha256"));
    }

    @ParameterizedTest
    @ValueSource(strings = {STORIES_F16, Q4_K_M})
    void rewritingThroughMappedSegmentsInParallelGivesTheSameBytes(String rel) throws Exception {
        Path out = tmp.resolve("mapped.gguf");
        try (GgufFile f = GgufFile.open(fixture(rel)); GgufWriter w = GgufWriter.create(out, false)) {
            w.addKvs(f.kvs());
            for (GgufTensor t : f.tensors()) {
                w.addTensor(t.name(), t.type(), t.dims());
            }
            w.writeHeader();
            // claim in declared order, fill in reverse from worker threads
            List<MemorySegment> dst = new java.util.ArrayList<>();
            for (GgufTensor t : f.tensors()) {
                dst.add(w.tensorSegment(t.name()));
            }
            List<Thread> workers = new java.util.ArrayList<>();
            for (int i = f.tensors().size() - 1; i >= 0; i--) {
                MemorySegment d = dst.get(i);
                MemorySegment s = f.tensors().get(i).data();
                workers.add(Thread.ofPlatform().start(() -> d.copyFrom(s)));
            }
            for (Thread t : workers) {
                t.join();
            }
            w.finish();
        }
        assertThat(Files.mismatch(out, fixture(rel))).isEqualTo(-1L);
    }

    private static void checkKv(Map<?, ?> e, GgufKv kv) {
        String key = (String) e.get("key");
        assertThat(kv.key()).isEqualTo(key);
        assertThat(kv.value().type().name()).as(key).isEqualTo(e.get("type"));
        if (kv.value() instanceof GgufValue.Array a) {
            assertThat(a.elementType().name()).as(key).isEqualTo(e.get("element_type"));
            assertThat((long) a.size()).as(key).isEqualTo(num(e.get("length")));
            GgufEncoder enc = new GgufEncoder();
            for (GgufValue item : a.items()) {
                enc.value(item);
            }
            assertThat(sha256(enc.toByteArray())).as(key).isEqualTo(e.get("sha256"));
            List<?> head = (List<?>) e.get("head");
            assertThat(head).hasSize(Math.min(8, a.size()));
            for (int i = 0; i < head.size(); i++) {
                checkScalar(key + "[" + i + "]", head.get(i), null, a.get(i));
            }
        } else {
            checkScalar(key, e.get("value"), (String) e.get("bits"), kv.value());
        }
    }

    private static void checkScalar(String what, Object expected, String bits, GgufValue v) {
        switch (v) {
            case GgufValue.Str s -> assertThat(s.value()).as(what).isEqualTo(expected);
            case GgufValue.Scalar s when s.type() == GgufValueType.BOOL -> assertThat(s.asBool()).as(what).isEqualTo(expected);
            case GgufValue.Scalar s when s.type().isFloat() -> {
                assertThat(s.asDouble()).as(what).isEqualTo(((Number) expected).doubleValue());
                if (bits != null) {
                    String hex = s.type() == GgufValueType.FLOAT32 ? String.format("0x%08x", s.bits())
                            : String.format("0x%016x", s.bits());
                    assertThat(hex).as(what).isEqualTo(bits);
                }
            }
            case GgufValue.Scalar s -> {
                String actual = s.type() == GgufValueType.UINT64 ? Long.toUnsignedString(s.bits()) : Long.toString(s.asLong());
                assertThat(actual).as(what).isEqualTo(new BigInteger(expected.toString()).toString());
            }
            case GgufValue.Array a -> throw new AssertionError(what + ": nested arrays are not in the fixtures");
        }
    }

    private static void checkTensor(Map<?, ?> e, GgufTensor t, long dataOffset) {
        String name = (String) e.get("name");
        assertThat(t.name()).isEqualTo(name);
        assertThat(t.type().name()).as(name).isEqualTo(e.get("ggml_type"));
        assertThat((long) t.type().id()).as(name).isEqualTo(num(e.get("ggml_type_id")));
        assertThat(t.dims()).as(name).containsExactly(longs((List<?>) e.get("ne")));
        assertThat(t.shape()).as(name).containsExactly(longs((List<?>) e.get("shape")));
        assertThat(t.elementCount()).as(name).isEqualTo(num(e.get("n_elements")));
        assertThat(t.offset()).as(name).isEqualTo(num(e.get("offset")));
        assertThat(dataOffset + t.offset()).as(name).isEqualTo(num(e.get("file_offset")));
        assertThat(t.byteSize()).as(name).isEqualTo(num(e.get("n_bytes")));
        assertThat(sha256(t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))).as(name).isEqualTo(e.get("sha256"));
    }

    static long num(Object o) {
        return ((Number) o).longValue();
    }

    static long[] longs(List<?> l) {
        return l.stream().mapToLong(GgufFixturesIT::num).toArray();
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
