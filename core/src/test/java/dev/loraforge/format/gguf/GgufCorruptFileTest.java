package dev.loraforge.format.gguf;

import static dev.loraforge.format.gguf.GgufException.Kind.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loraforge.format.gguf.GgufBytes.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** One handcrafted broken file per rule of the reader; each must fail with its own Kind. */
class GgufCorruptFileTest {

    enum Case {
        EMPTY_FILE(TRUNCATED, g -> g.truncateTo = 0),
        CUT_IN_HEADER(TRUNCATED, g -> g.truncateTo = 20),
        CUT_IN_TENSOR_INFOS(TRUNCATED, g -> g.truncateTo = 120),
        CUT_BEFORE_DATA_SECTION(TRUNCATED, g -> g.truncateTo = headerEnd() + 1),
        BAD_MAGIC(NOT_GGUF, g -> g.magic = "GGML".getBytes(StandardCharsets.US_ASCII)),
        BIG_ENDIAN_V3(BIG_ENDIAN, g -> g.bigEndianVersion = true),
        VERSION_0(UNSUPPORTED_VERSION, g -> g.version = 0),
        VERSION_1(UNSUPPORTED_VERSION, g -> g.version = 1),
        VERSION_4(UNSUPPORTED_VERSION, g -> g.version = 4),
        TENSOR_COUNT_HUGE(TOO_MANY_TENSORS, g -> g.nTensors = 1L << 40),
        TENSOR_COUNT_NEGATIVE(TOO_MANY_TENSORS, g -> g.nTensors = -1L),
        KV_COUNT_HUGE(TOO_MANY_KVS, g -> g.nKv = 1L << 40),
        KEY_LENGTH_LIES(STRING_TOO_LONG, g -> g.kvs.add(0, o -> o.u64(1L << 31).raw(new byte[] {'k'}))),
        STRING_OVER_LIMIT(STRING_TOO_LONG, g -> g.kvs.add(o -> o.str("k").u32(8).u64((1L << 30) + 1))),
        KEY_NOT_UTF8(INVALID_UTF8, g -> g.kvs.add(o -> o.u64(2).raw(new byte[] {(byte) 0xC3, 0x28}).u32(4).u32(1))),
        EMPTY_KEY_(EMPTY_KEY, g -> g.kvs.add(GgufBytes.kvU32("", 1))),
        DUPLICATE_KEY_(DUPLICATE_KEY, g -> g.kvs.add(GgufBytes.kvString("general.architecture", "gpt2"))),
        VALUE_TYPE_13(UNKNOWN_VALUE_TYPE, g -> g.kvs.add(o -> o.str("k").u32(13).u32(0))),
        ARRAY_ELEMENT_TYPE_13(UNKNOWN_VALUE_TYPE, g -> g.kvs.add(o -> o.str("k").u32(9).u32(13).u64(0))),
        ARRAY_COUNT_LIES(ARRAY_TOO_LONG, g -> g.kvs.add(o -> o.str("k").u32(9).u32(4).u64(1L << 40))),
        STRING_ARRAY_COUNT_LIES(ARRAY_TOO_LONG, g -> g.kvs.add(o -> o.str("k").u32(9).u32(8).u64(1000))),
        HEADER_VALUES_OVER_LIMIT(ARRAY_TOO_LONG, g -> g.kvs.add(o -> o.str("k").u32(9).u32(0)
                .u64(GgufFormat.MAX_HEADER_VALUES + 1).raw(new byte[(int) GgufFormat.MAX_HEADER_VALUES + 1])),
                "at most " + GgufFormat.MAX_HEADER_VALUES + " are read"),
        ARRAYS_NESTED_TOO_DEEP(ARRAY_TOO_DEEP, g -> g.kvs.add(o -> {
            o.str("k").u32(9);
            for (int i = 0; i < GgufFormat.MAX_ARRAY_DEPTH; i++) {
                o.u32(9).u64(1);
            }
            o.u32(4).u64(0);
        })),
        BOOL_IS_2(BAD_BOOL, g -> g.kvs.add(o -> o.str("k").u32(7).u8(2))),
        ALIGNMENT_AS_UINT64(ALIGNMENT_TYPE, g -> g.kvs.set(1, o -> o.str("general.alignment").u32(10).u64(32))),
        ALIGNMENT_48(BAD_ALIGNMENT, g -> g.kvs.set(1, GgufBytes.kvU32("general.alignment", 48))),
        ALIGNMENT_0(BAD_ALIGNMENT, g -> g.kvs.set(1, GgufBytes.kvU32("general.alignment", 0))),
        NAME_64_BYTES(NAME_TOO_LONG, g -> g.tensor(1, new Tensor("b".repeat(64), new long[] {32}, 1, 64))),
        NAME_WITH_NUL(NAME_HAS_NUL, g -> g.tensor(1, new Tensor("b\0a", new long[] {32}, 1, 64))),
        DUPLICATE_NAME(DUPLICATE_TENSOR, g -> g.tensor(1, new Tensor("a", new long[] {32}, 1, 64))),
        FIVE_DIMS(TOO_MANY_DIMS, g -> g.tensor(1, new Tensor("b", new long[] {32, 1, 1, 1, 1}, 1, 64))),
        DIM_NEGATIVE(NEGATIVE_DIM, g -> g.tensor(1, new Tensor("b", new long[] {32, -1}, 1, 64))),
        DIMS_WRAP_TO_ZERO(ELEMENT_COUNT_OVERFLOW, g -> g.tensor(1,
                new Tensor("b", new long[] {1L << 32, 1L << 32, 1L << 32}, 1, 64))),
        DIMS_OVERFLOW_BEHIND_A_ZERO(ELEMENT_COUNT_OVERFLOW, g -> g.tensor(1,
                new Tensor("b", new long[] {1L << 32, 0, 1L << 32}, 1, 64))),
        TYPE_RETIRED_4(UNKNOWN_TENSOR_TYPE, g -> g.tensor(1, new Tensor("b", new long[] {32}, 4, 64))),
        TYPE_RETIRED_31(UNKNOWN_TENSOR_TYPE, g -> g.tensor(1, new Tensor("b", new long[] {32}, 31, 64))),
        TYPE_PAST_COUNT(UNKNOWN_TENSOR_TYPE, g -> g.tensor(1, new Tensor("b", new long[] {32}, GgmlType.TYPE_COUNT, 64))),
        TYPE_MINUS_1(UNKNOWN_TENSOR_TYPE, g -> g.tensor(1, new Tensor("b", new long[] {32}, 0xFFFF_FFFFL, 64))),
        Q4_0_ROW_OF_16(ROW_NOT_BLOCK_MULTIPLE, g -> g.tensor(1, new Tensor("b", new long[] {16}, 2, 64))),
        BYTES_OVERFLOW(BYTE_SIZE_OVERFLOW, g -> g.tensor(1, new Tensor("b", new long[] {1L << 62}, 0, 64))),
        OFFSET_65(OFFSET_MISALIGNED, g -> g.tensor(1, new Tensor("b", new long[] {32}, 1, 65))),
        OFFSET_INSIDE_A(OFFSET_OVERLAP, g -> g.tensor(1, new Tensor("b", new long[] {32}, 1, 32))),
        OFFSET_GAP(OFFSET_UNEXPECTED, g -> {
            g.tensor(1, new Tensor("b", new long[] {32}, 1, 96));
            g.dataBytes = 160;
        }),
        DATA_CUT_SHORT(DATA_OUT_OF_BOUNDS, g -> g.dataBytes = 100),
        OFFSET_HUGE(DATA_OUT_OF_BOUNDS, g -> g.tensor(1, new Tensor("b", new long[] {32}, 1, 1L << 62))),
        OFFSET_NEGATIVE(DATA_OUT_OF_BOUNDS, g -> g.tensor(1, new Tensor("b", new long[] {32}, 1, -32)));

        final GgufException.Kind kind;
        final Consumer<GgufBytes> breakIt;
        /** Part of the message, where two rules share a Kind. */
        final String says;

        Case(GgufException.Kind kind, Consumer<GgufBytes> breakIt) {
            this(kind, breakIt, "");
        }

        Case(GgufException.Kind kind, Consumer<GgufBytes> breakIt, String says) {
            this.kind = kind;
            this.breakIt = breakIt;
            this.says = says;
        }
    }

    /** Kinds the reader never raises for a file: they answer callers' questions. */
    static final Set<GgufException.Kind> NOT_FILE_RULES = EnumSet.of(MISSING_KEY, WRONG_VALUE_TYPE, MISSING_TENSOR);

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(Case.class)
    void rejectsWithItsKind(Case c) throws IOException {
        GgufBytes g = new GgufBytes();
        c.breakIt.accept(g);
        Path p = write(g.build());
        assertThatThrownBy(() -> GgufFile.open(p).close())
                .isInstanceOfSatisfying(GgufException.class, e -> {
                    assertThat(e.kind()).as(e.getMessage()).isEqualTo(c.kind);
                    assertThat(e.getMessage()).contains(p.toString()).contains(c.says);
                });
    }

    @Test
    void everyFileRuleHasACase() {
        Set<GgufException.Kind> covered = EnumSet.noneOf(GgufException.Kind.class);
        for (Case c : Case.values()) {
            covered.add(c.kind);
        }
        covered.addAll(NOT_FILE_RULES);
        assertThat(covered).containsExactlyInAnyOrder(GgufException.Kind.values());
    }

    @Test
    void theUnbrokenFileReads() throws IOException {
        try (GgufFile f = GgufFile.open(write(new GgufBytes().build()))) {
            assertThat(f.requireString("general.architecture")).isEqualTo("llama");
            assertThat(f.alignment()).isEqualTo(32);
            assertThat(f.tensor("a").dims()).containsExactly(8, 2);
            assertThat(f.tensor("a").view().getFloat(0)).isEqualTo(Float.intBitsToFloat(0x03020100));
            assertThat(f.tensor("b").offset()).isEqualTo(64);
            assertThat(f.tensor("b").data().byteSize()).isEqualTo(64);
        }
    }

    @Test
    void acceptsTheEdgesOfEachRule() throws IOException {
        GgufBytes g = new GgufBytes();
        g.version = 2; // v2 has the v3 layout
        g.tensor(0, new Tensor("z".repeat(GgufFormat.MAX_NAME - 1), new long[] {8, 2}, 0, 0)); // 63 bytes fit
        g.tensors.add(new Tensor("empty", new long[] {0, 1L << 40}, 0, 128)); // zero-size tensors are legal
        g.kvs.add(o -> o.str("nested").u32(9).u32(9).u64(2).u32(4).u64(1).u32(7).u32(0).u64(0)); // [[7], []]
        g.kvs.add(o -> o.str("flag").u32(7).u8(1));
        try (GgufFile f = GgufFile.open(write(g.build()))) {
            assertThat(f.version()).isEqualTo(2);
            assertThat(f.tensor("empty").byteSize()).isZero();
            assertThat(f.tensor("empty").elementCount()).isZero();
            GgufValue.Array nested = f.requireArray("nested");
            assertThat(nested.elementType()).isEqualTo(GgufValueType.ARRAY);
            assertThat(nested.get(0).asArray().longs()).containsExactly(7);
            assertThat(nested.get(1).asArray().size()).isZero();
            assertThat(f.requireBool("flag")).isTrue();
        }
    }

    @Test
    void answersMissingAndMistypedKeysWithKinds() throws IOException {
        try (GgufFile f = GgufFile.open(write(new GgufBytes().build()))) {
            assertThatThrownBy(() -> f.require("llama.block_count"))
                    .isInstanceOfSatisfying(GgufException.class, e -> assertThat(e.kind()).isEqualTo(MISSING_KEY));
            assertThatThrownBy(() -> f.requireLong("general.architecture"))
                    .isInstanceOfSatisfying(GgufException.class, e -> assertThat(e.kind()).isEqualTo(WRONG_VALUE_TYPE));
            assertThatThrownBy(() -> f.tensor("c"))
                    .isInstanceOfSatisfying(GgufException.class, e -> assertThat(e.kind()).isEqualTo(MISSING_TENSOR));
            assertThat(f.requireLong("general.alignment")).isEqualTo(32);
        }
    }

    /** Where the tensor infos of the default file end (176: not a multiple of 32, so padding follows). */
    static int headerEnd() {
        GgufBytes g = new GgufBytes();
        g.alignment = 1; // the builder then adds no padding; the file still says 32
        g.dataBytes = 0;
        return g.build().length;
    }

    private Path write(byte[] bytes) throws IOException {
        Path p = tmp.resolve("broken.gguf");
        Files.write(p, bytes);
        return p;
    }
}
