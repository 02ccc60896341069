package dev.loraforge.format.safetensors;

import static dev.loraforge.format.safetensors.StBytes.entry;
import static dev.loraforge.format.safetensors.StBytes.file;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loraforge.format.safetensors.SafetensorsException.Kind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** One or more corrupt files per validation rule; each must fail with its own Kind before data is read. */
class SafetensorsCorruptFileTest {

    record Case(String label, Kind kind, byte[] bytes, String mustMention) {
        @Override
        public String toString() {
            return kind + ": " + label;
        }
    }

    private static final String OK_A = entry("a", "F32", "[2]", 0, 8);

    static List<Case> cases() {
        List<Case> c = new ArrayList<>();
        c.add(new Case("5 bytes", Kind.FILE_TOO_SHORT, new byte[5], "5 bytes"));
        c.add(new Case("empty file", Kind.FILE_TOO_SHORT, new byte[0], "0 bytes"));
        c.add(new Case("limit + 1", Kind.HEADER_TOO_LARGE,
                StBytes.raw(100_000_001L, "{}".getBytes(StandardCharsets.UTF_8), 6, 0), "100000001"));
        c.add(new Case("u64 max", Kind.HEADER_TOO_LARGE,
                StBytes.raw(-1L, "{}".getBytes(StandardCharsets.UTF_8), 6, 0), "18446744073709551615"));
        c.add(new Case("length past end", Kind.HEADER_BEYOND_FILE,
                StBytes.raw(64, "{}".getBytes(StandardCharsets.UTF_8), 6, 0), "64"));
        byte[] notUtf8 = file("{\"__metadata__\":{\"k\":\"xx\"}}", 0);
        notUtf8[8 + 22] = (byte) 0xFF;
        c.add(new Case("0xFF in a string", Kind.HEADER_NOT_UTF8, notUtf8, "UTF-8"));
        c.add(new Case("array", Kind.HEADER_NOT_JSON_OBJECT, file("[1,2]", 0), "not a JSON object"));
        c.add(new Case("unterminated", Kind.HEADER_NOT_JSON_OBJECT, file("{\"a\":", 0), "JSON"));
        c.add(new Case("two objects", Kind.HEADER_NOT_JSON_OBJECT, file("{}{}", 0), "after the header"));
        c.add(new Case("garbage after", Kind.HEADER_NOT_JSON_OBJECT, file("{} x", 0), "JSON"));
        c.add(new Case("lone surrogate", Kind.HEADER_NOT_JSON_OBJECT,
                file("{\"__metadata__\":{\"k\":\"\\ud800\"}}", 0), "surrogate"));
        c.add(new Case("comment", Kind.HEADER_NOT_JSON_OBJECT, file("{/*x*/}", 0), "JSON"));
        c.add(new Case("duplicate tensor", Kind.DUPLICATE_KEY, file("{" + OK_A + "," + OK_A + "}", 8), "'a'"));
        c.add(new Case("duplicate field", Kind.DUPLICATE_KEY,
                file("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "dtype"));
        c.add(new Case("duplicate metadata key", Kind.DUPLICATE_KEY,
                file("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0), "k"));
        c.add(new Case("metadata value a number", Kind.METADATA_INVALID,
                file("{\"__metadata__\":{\"format\":1}}", 0), "format"));
        c.add(new Case("metadata a string", Kind.METADATA_INVALID, file("{\"__metadata__\":\"pt\"}", 0), "__metadata__"));
        c.add(new Case("metadata nested", Kind.METADATA_INVALID,
                file("{\"__metadata__\":{\"a\":{\"b\":\"c\"}}}", 0), "'a'"));
        c.add(new Case("entry a number", Kind.TENSOR_ENTRY_INVALID, file("{\"t\":5}", 0), "'t'"));
        c.add(new Case("no shape", Kind.TENSOR_ENTRY_INVALID,
                file("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,0]}}", 0), "shape"));
        c.add(new Case("no data_offsets", Kind.TENSOR_ENTRY_INVALID,
                file("{\"t\":{\"dtype\":\"F32\",\"shape\":[]}}", 0), "data_offsets"));
        c.add(new Case("dtype a number", Kind.TENSOR_ENTRY_INVALID,
                file("{\"t\":{\"dtype\":7,\"shape\":[],\"data_offsets\":[0,4]}}", 4), "dtype"));
        c.add(new Case("extra field", Kind.UNKNOWN_FIELD,
                file("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"offset\":0}}", 8), "\"offset\""));
        c.add(new Case("F128", Kind.UNKNOWN_DTYPE, file("{" + entry("t", "F128", "[2]", 0, 32) + "}", 32), "F128"));
        c.add(new Case("lower-case f32", Kind.UNKNOWN_DTYPE, file("{" + entry("t", "f32", "[2]", 0, 8) + "}", 8), "f32"));
        c.add(new Case("negative dim", Kind.SHAPE_INVALID, file("{" + entry("t", "F32", "[-1]", 0, 0) + "}", 0), "-1"));
        c.add(new Case("fractional dim", Kind.SHAPE_INVALID, file("{" + entry("t", "F32", "[1.5]", 0, 4) + "}", 4), "1.5"));
        c.add(new Case("2.0 dim", Kind.SHAPE_INVALID, file("{" + entry("t", "F32", "[2.0]", 0, 8) + "}", 8), "2.0"));
        c.add(new Case("string dim", Kind.SHAPE_INVALID, file("{" + entry("t", "F32", "[\"2\"]", 0, 8) + "}", 8), "'t'"));
        c.add(new Case("shape not array", Kind.SHAPE_INVALID, file("{" + entry("t", "F32", "2", 0, 8) + "}", 8), "shape"));
        c.add(new Case("2^32 x 2^32", Kind.ELEMENT_COUNT_OVERFLOW,
                file("{" + entry("t", "U8", "[4294967296,4294967296]", 0, 0) + "}", 0), "[4294967296, 4294967296]"));
        c.add(new Case("2^62 F32 bits", Kind.ELEMENT_COUNT_OVERFLOW,
                file("{" + entry("t", "F32", "[4611686018427387904]", 0, 0) + "}", 0), "'t'"));
        c.add(new Case("dim beyond u64", Kind.ELEMENT_COUNT_OVERFLOW,
                file("{" + entry("t", "F32", "[99999999999999999999]", 0, 0) + "}", 0), "99999999999999999999"));
        c.add(new Case("3 x F4", Kind.MISALIGNED_SUBBYTE, file("{" + entry("t", "F4", "[3]", 0, 2) + "}", 2), "12 bits"));
        c.add(new Case("begin > end", Kind.OFFSETS_INVALID, file("{" + entry("t", "F32", "[0]", 4, 0) + "}", 0), "[4, 0]"));
        c.add(new Case("one offset", Kind.OFFSETS_INVALID,
                file("{\"t\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0]}}", 0), "[0]"));
        c.add(new Case("three offsets", Kind.OFFSETS_INVALID,
                file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8), "[0, 4, 8]"));
        c.add(new Case("negative offset", Kind.OFFSETS_INVALID,
                file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 0), "-4"));
        c.add(new Case("offset beyond i64", Kind.OFFSETS_INVALID,
                file("{\"t\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,18446744073709551615]}}", 0), "18446744073709551615"));
        c.add(new Case("F32 [2] in 4 bytes", Kind.SIZE_MISMATCH, file("{" + entry("t", "F32", "[2]", 0, 4) + "}", 4), "needs 8"));
        c.add(new Case("BF16 [3] in 8 bytes", Kind.SIZE_MISMATCH, file("{" + entry("t", "BF16", "[3]", 0, 8) + "}", 8), "span 8"));
        c.add(new Case("overlap", Kind.TENSORS_OVERLAP,
                file("{" + OK_A + "," + entry("b", "F32", "[2]", 4, 12) + "}", 12), "'b' [4, 12) overlaps tensor 'a'"));
        c.add(new Case("same range twice", Kind.TENSORS_OVERLAP,
                file("{" + OK_A + "," + entry("b", "F32", "[2]", 0, 8) + "}", 16), "overlaps"));
        c.add(new Case("hole between", Kind.DATA_HOLE,
                file("{" + OK_A + "," + entry("b", "F32", "[1]", 12, 16) + "}", 16), "[8, 12)"));
        c.add(new Case("hole before first", Kind.DATA_HOLE, file("{" + entry("a", "F32", "[1]", 4, 8) + "}", 8), "[0, 4)"));
        c.add(new Case("data cut short", Kind.DATA_TRUNCATED, file("{" + OK_A + "}", 5), "only 5"));
        c.add(new Case("no data at all", Kind.DATA_TRUNCATED, file("{" + OK_A + "}", 0), "'a'"));
        c.add(new Case("4 bytes extra", Kind.TRAILING_BYTES, file("{" + OK_A + "}", 12), "4 bytes after"));
        c.add(new Case("data without tensors", Kind.TRAILING_BYTES, file("{}", 1), "1 bytes after"));
        return c;
    }

    static Stream<Case> caseStream() {
        return cases().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("caseStream")
    void corruptFileFailsWithItsKind(Case c, @TempDir Path dir) throws IOException {
        Path p = dir.resolve("bad.safetensors");
        Files.write(p, c.bytes());
        assertThatThrownBy(() -> SafetensorsFile.open(p).close())
                .isInstanceOfSatisfying(SafetensorsException.class, e -> assertThat(e.kind()).isEqualTo(c.kind()))
                .hasMessageContaining(p.toString())
                .hasMessageContaining(c.mustMention());
        // the in-memory parser agrees with the file reader
        assertThatThrownBy(() -> SafetensorsHeader.parse("mem", c.bytes()))
                .isInstanceOfSatisfying(SafetensorsException.class, e -> assertThat(e.kind()).isEqualTo(c.kind()));
    }

    @Test
    void everySingleFileRuleHasACorruptFile() {
        Set<Kind> shardKinds = EnumSet.of(Kind.NO_MODEL_FILES, Kind.INDEX_INVALID, Kind.SHARD_MISSING,
                Kind.SHARD_LACKS_TENSOR, Kind.TENSOR_NOT_IN_INDEX, Kind.TENSOR_IN_TWO_SHARDS, Kind.TOTAL_SIZE_MISMATCH);
        Set<Kind> covered = EnumSet.noneOf(Kind.class);
        cases().forEach(c -> covered.add(c.kind()));
        assertThat(covered).containsAll(EnumSet.complementOf(EnumSet.copyOf(shardKinds)));
    }

    @Test
    void edgeCasesTheFormatAllows() {
        // null metadata, empty header, zero-size tensors sharing an offset, scalars, key order free of offset order
        assertThat(SafetensorsHeader.parse("m", file("{\"__metadata__\":null}", 0)).hasMetadata()).isFalse();
        assertThat(SafetensorsHeader.parse("m", file("{}", 0)).entries()).isEmpty();
        SafetensorsHeader h = SafetensorsHeader.parse("m", file("{" + entry("z1", "F32", "[0,3]", 4, 4) + ","
                + entry("s", "F32", "[]", 0, 4) + "," + entry("z2", "BF16", "[5,0]", 4, 4) + ","
                + entry("f4", "F4", "[2]", 4, 5) + "}", 5));
        assertThat(h.entries()).extracting(SafetensorsHeader.Entry::name).containsExactly("z1", "s", "z2", "f4");
        assertThat(h.entry("s").orElseThrow().shape().rank()).isZero();
        assertThat(h.dataLength()).isEqualTo(5);
        // a 25 M-char metadata value (over jackson's default string cap, fine for the format)
        String big = "x".repeat(25_000_000);
        assertThat(SafetensorsHeader.parse("m", file("{\"__metadata__\":{\"k\":\"" + big + "\"}}", 0))
                .metadata().get("k")).hasSize(25_000_000);
        // header length need not be a multiple of 8, leading whitespace is JSON whitespace
        byte[] json = " {} ".getBytes(StandardCharsets.UTF_8);
        assertThat(SafetensorsHeader.parse("m", StBytes.raw(json.length, json, 0, 0)).entries()).isEmpty();
    }
}
