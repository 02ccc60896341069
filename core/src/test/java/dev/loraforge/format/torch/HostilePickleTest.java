package dev.loraforge.format.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loraforge.format.torch.TorchFormatException.Kind;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Pickles that would run code under Python's pickle.load. Each must be refused with an error that names
 * what it tried to call, and must leave the file its payload would create absent.
 */
class HostilePickleTest {

    private static TorchFormatException readBytes(byte[] zip, String name) {
        try {
            TorchFile.read(MemorySegment.ofArray(zip), name, Arena.ofConfined()).close();
        } catch (TorchFormatException e) {
            return e;
        }
        throw new AssertionError(name + " was accepted");
    }

    /** Files made by Python's own pickle module (make_torch_fixtures.py); their payload is live under Python. */
    @ParameterizedTest
    @CsvSource({
        "os_system-p2, posix.system", "os_system-p4, posix.system",
        // protocol 2 writes Python 2 module names (fix_imports): __builtin__, commands; the error names what is written
        "builtins_eval-p2, __builtin__.eval", "builtins_eval-p4, builtins.eval",
        "builtins_exec-p2, __builtin__.exec", "builtins_exec-p4, builtins.exec",
        "subprocess_popen-p2, commands.Popen", "subprocess_popen-p4, subprocess.Popen",
        "nested_pickle-p2, pickle.loads", "nested_pickle-p4, _pickle.loads",
        "in_state_dict-p2, posix.system", "in_state_dict-p4, posix.system"})
    void pythonMadeHostileCheckpointIsRefusedAndNothingRuns(String file, String callee) throws Exception {
        Path cwd = Path.of("").toAbsolutePath();
        String pwned = "loraforge-pwned-" + file.substring(0, file.length() - 3);
        Files.deleteIfExists(cwd.resolve(pwned));
        Path path = TorchFileTest.fixture("torch/hostile/" + file + ".bin");
        assertThatThrownBy(() -> TorchFile.open(path).close())
                .isInstanceOf(TorchFormatException.class)
                .hasMessageContaining(file + ".bin/data.pkl")
                .hasMessageContaining("calls " + callee + ": refused")
                .extracting(e -> ((TorchFormatException) e).kind()).isEqualTo(Kind.REFUSED_GLOBAL);
        assertThat(cwd.resolve(pwned)).doesNotExist();
    }

    static Stream<Arguments> handMadePayloads() {
        Function<Path, byte[]> osSystem = marker -> new PickleBuilder().proto(2)
                .call("os", "system", "touch " + marker).stop().bytes();
        Function<Path, byte[]> stackGlobal = marker -> new PickleBuilder().proto(4)
                .shortStr("os").shortStr("system").op(0x93).shortStr("touch " + marker).tuple1().reduce().stop().bytes();
        Function<Path, byte[]> evalInTensorList = marker -> new PickleBuilder().proto(2).op('}').str("w")
                .call("builtins", "eval", "open('" + marker + "','w')").op('s').stop().bytes();
        Function<Path, byte[]> popen = marker -> new PickleBuilder().proto(2).global("subprocess", "Popen")
                .op(']').str("touch").op('a').str(marker.toString()).op('a').tuple1().reduce().stop().bytes();
        // torch's own _rebuild_from_type_v2 with a hostile "type": the type is refused when it is named
        Function<Path, byte[]> fromTypeV2 = marker -> new PickleBuilder().proto(2)
                .global("torch._tensor", "_rebuild_from_type_v2").mark().global("torch._utils", "_rebuild_tensor_v2")
                .global("os", "system").tuple().reduce().stop().bytes();
        // INST (protocol 0 class instantiation) names module and class inline
        Function<Path, byte[]> inst = marker -> new PickleBuilder().mark().str("touch " + marker)
                .op('i').raw("os\nsystem\n".chars().toArray()).stop().bytes();
        // OBJ with an allowed class is still an object construction: refused
        Function<Path, byte[]> obj = marker -> new PickleBuilder().proto(2).mark().global("torch", "Tensor")
                .str(marker.toString()).op('o').stop().bytes();
        // NEWOBJ of an allowed type
        Function<Path, byte[]> newobj = marker -> new PickleBuilder().proto(2).global("torch.nn.parameter", "Parameter")
                .op(')').op(0x81).stop().bytes();
        // REDUCE on a type that is allowed only as a marker (torch.Tensor)
        Function<Path, byte[]> callType = marker -> new PickleBuilder().proto(2).global("torch", "Tensor")
                .op(')').reduce().stop().bytes();
        // copyreg extension registry
        Function<Path, byte[]> ext = marker -> new PickleBuilder().proto(2).op(0x82).raw(1).stop().bytes();
        // BUILD on a tensor storage type with a dict: would call __setstate__
        Function<Path, byte[]> build = marker -> new PickleBuilder().proto(2).global("torch", "FloatStorage")
                .op('}').op('b').stop().bytes();
        return Stream.of(
                Arguments.of("os.system", osSystem, "calls os.system: refused"),
                Arguments.of("STACK_GLOBAL os.system", stackGlobal, "calls os.system: refused"),
                Arguments.of("builtins.eval in a dict", evalInTensorList, "calls builtins.eval: refused"),
                Arguments.of("subprocess.Popen", popen, "calls subprocess.Popen: refused"),
                Arguments.of("_rebuild_from_type_v2", fromTypeV2, "calls os.system: refused"),
                Arguments.of("INST", inst, "creates an object of os.system (INST): refused"),
                Arguments.of("OBJ", obj, "creates an object of torch.Tensor (OBJ): refused"),
                Arguments.of("NEWOBJ", newobj, "creates an object of torch.nn.parameter.Parameter (NEWOBJ): refused"),
                Arguments.of("call a type", callType, "calls torch.Tensor: refused"),
                Arguments.of("EXT1", ext, "extension registry (EXT1): refused"),
                Arguments.of("BUILD", build, "sets the state of torch.FloatStorage (BUILD): refused"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("handMadePayloads")
    void handMadeHostilePickleIsRefusedAndNothingRuns(String label, Function<Path, byte[]> payload, String message,
            @TempDir Path dir) {
        Path marker = dir.resolve("pwned");
        TorchFormatException e = readBytes(PickleBuilder.torchZip(payload.apply(marker)), "evil.bin");
        assertThat(e.kind()).isEqualTo(Kind.REFUSED_GLOBAL);
        assertThat(e).hasMessageContaining("pickle in evil.bin/data.pkl").hasMessageContaining(message);
        assertThat(marker).doesNotExist();
    }

    @Test
    void nestedPickleBytesAreNeverUnpickled(@TempDir Path dir) {
        byte[] inner = new PickleBuilder().proto(2).call("os", "system", "touch " + dir.resolve("pwned")).stop().bytes();
        PickleBuilder outer = new PickleBuilder().proto(3).global("pickle", "loads").op('B').i32(inner.length);
        byte[] head = outer.bytes();
        byte[] pkl = new byte[head.length + inner.length + 3];
        System.arraycopy(head, 0, pkl, 0, head.length);
        System.arraycopy(inner, 0, pkl, head.length, inner.length);
        pkl[pkl.length - 3] = (byte) 0x85;
        pkl[pkl.length - 2] = 'R';
        pkl[pkl.length - 1] = '.';
        assertThat(readBytes(PickleBuilder.torchZip(pkl), "evil.bin")).hasMessageContaining("calls pickle.loads: refused");
        assertThat(dir.resolve("pwned")).doesNotExist();
    }

    @Test
    void codecsEncodeIsOnlyAllowedForLatin1Bytes() {
        byte[] ok = new PickleBuilder().proto(2).op('}').str("b").global("_codecs", "encode").str("\u00ff")
                .str("latin1").op(0x86).reduce().op('s').stop().bytes();
        TorchFile.read(MemorySegment.ofArray(PickleBuilder.torchZip(ok)), "ok.bin", Arena.ofConfined()).close();
        byte[] bad = new PickleBuilder().proto(2).global("_codecs", "encode").str("x").str("rot13").op(0x86).reduce()
                .stop().bytes();
        assertThat(readBytes(PickleBuilder.torchZip(bad), "bad.bin")).hasMessageContaining("_codecs.encode");
    }

    static Stream<Arguments> malformed() {
        return Stream.of(
                Arguments.of("huge BINUNICODE8", new PickleBuilder().proto(4).op(0x8d).i64(1L << 62).stop().bytes(),
                        Kind.SIZE_LIMIT, "declares 4611686018427387904 bytes"),
                Arguments.of("negative BINBYTES8", new PickleBuilder().proto(4).op(0x8e).i64(-1).stop().bytes(),
                        Kind.SIZE_LIMIT, "declares 18446744073709551615 bytes"),
                Arguments.of("huge BINUNICODE", new PickleBuilder().proto(2).op('X').i32(-2).stop().bytes(),
                        Kind.SIZE_LIMIT, "declares 4294967294 bytes"),
                Arguments.of("huge LONG4", new PickleBuilder().proto(2).op(0x8b).i32(100).raw(new int[100]).stop().bytes(),
                        Kind.BAD_PICKLE, "integer of 100 bytes"),
                Arguments.of("no STOP", new PickleBuilder().proto(2).op('N').bytes(), Kind.BAD_PICKLE, "without STOP"),
                Arguments.of("underflow", new PickleBuilder().proto(2).op('0').stop().bytes(), Kind.BAD_PICKLE,
                        "stack underflow"),
                Arguments.of("pop through a mark", new PickleBuilder().proto(2).op('N').mark().op(0x85).stop().bytes(),
                        Kind.BAD_PICKLE, "stack underflow"),
                Arguments.of("bad memo", new PickleBuilder().proto(2).op('h').raw(7).stop().bytes(), Kind.BAD_PICKLE,
                        "memo key 7"),
                Arguments.of("unknown opcode", new PickleBuilder().proto(2).op(0xff).bytes(), Kind.BAD_PICKLE,
                        "unknown opcode 0xff"),
                Arguments.of("protocol 6", new PickleBuilder().proto(6).op('N').stop().bytes(), Kind.BAD_PICKLE,
                        "protocol 6"),
                Arguments.of("list as key", new PickleBuilder().proto(2).op('}').op(']').op('N').op('s').stop().bytes(),
                        Kind.BAD_PICKLE, "unhashable key"),
                Arguments.of("not a dict", new PickleBuilder().proto(2).op(']').stop().bytes(), Kind.BAD_PICKLE,
                        "not a state dict"),
                Arguments.of("unterminated GLOBAL", new PickleBuilder().proto(2).op('c').raw('o', 's').bytes(),
                        Kind.BAD_PICKLE, "unterminated"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void malformedPickleIsRejected(String label, byte[] pkl, Kind kind, String message) {
        TorchFormatException e = readBytes(PickleBuilder.torchZip(pkl), "bad.bin");
        assertThat(e.kind()).isEqualTo(kind);
        assertThat(e).hasMessageContaining(message);
    }

    @Test
    void deeplyNestedTuplesFailCleanly() {
        PickleBuilder p = new PickleBuilder().proto(2).op('}');
        p.op('N');
        for (int i = 0; i < 200_000; i++) {
            p.op(0x85);
        }
        p.op('N').op('s').stop();
        assertThat(readBytes(PickleBuilder.torchZip(p.bytes()), "deep.bin").kind()).isEqualTo(Kind.BAD_PICKLE);
    }

    static Stream<Arguments> badTensors() {
        byte[] six = new byte[24];
        return Stream.of(
                Arguments.of("offset past storage", tensor(6, 5, 2, 1, six), Kind.BAD_TENSOR, "reaches past storage"),
                Arguments.of("stride past storage", tensor(6, 0, 3, 3, six), Kind.BAD_TENSOR, "reaches past storage"),
                Arguments.of("numel lies about entry", tensor(7, 0, 6, 1, six), Kind.BAD_TENSOR,
                        "declares 7 elements of FloatStorage, its entry has 24 bytes"),
                Arguments.of("missing storage entry", PickleBuilder.torchZip(new PickleBuilder().proto(2).op('}').str("w")
                        .tensor1d("FloatStorage", "0", 6, 0, 6, 1).op('s').stop().bytes()), Kind.MISSING_ENTRY,
                        "no entry 'archive/data/0'"),
                Arguments.of("escaping storage key", PickleBuilder.torchZip(new PickleBuilder().proto(2).op('}').str("w")
                        .tensor1d("FloatStorage", "../../etc/passwd", 6, 0, 6, 1).op('s').stop().bytes()),
                        Kind.BAD_ENTRY_NAME, "storage key '../../etc/passwd'"),
                Arguments.of("unknown storage type", PickleBuilder.torchZip(new PickleBuilder().proto(2).op('}').str("w")
                        .tensor1d("ComplexFloatStorage", "0", 6, 0, 6, 1).op('s').stop().bytes(), "0", six),
                        Kind.REFUSED_GLOBAL, "torch.ComplexFloatStorage"));
    }

    private static byte[] tensor(int numel, int offset, int size, int stride, byte[] data) {
        byte[] pkl = new PickleBuilder().proto(2).op('}').str("w").tensor1d("FloatStorage", "0", numel, offset, size, stride)
                .op('s').stop().bytes();
        return PickleBuilder.torchZip(pkl, "0", data);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badTensors")
    void badTensorIsRejected(String label, byte[] zip, Kind kind, String message) {
        TorchFormatException e = readBytes(zip, "t.bin");
        assertThat(e.kind()).isEqualTo(kind);
        assertThat(e).hasMessageContaining(message);
    }

    @Test
    void handMadeTensorReads() {
        byte[] data = new byte[24];
        for (int i = 0; i < 6; i++) {
            java.nio.ByteBuffer.wrap(data).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(i * 4, i + 0.5f);
        }
        try (TorchFile f = TorchFile.read(MemorySegment.ofArray(tensor(6, 1, 3, 2, data)), "t.bin", Arena.ofConfined())) {
            assertThat(f.get("w").toFloatArray()).containsExactly(1.5f, 3.5f, 5.5f);
        }
    }

    /** The legacy format: magic, version and sys_info pickles, then a main pickle that calls os.system. */
    @Test
    void legacyFormatPickleIsRestrictedToo(@TempDir Path dir) {
        Path marker = dir.resolve("pwned");
        java.io.ByteArrayOutputStream f = new java.io.ByteArrayOutputStream();
        // LONG1 of 10 bytes: 0x1950a86a20f9469cfc6c little-endian
        f.writeBytes(new PickleBuilder().proto(2).op(0x8a).raw(10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19)
                .stop().bytes());
        f.writeBytes(new PickleBuilder().proto(2).op('M').raw(0xe9, 0x03).stop().bytes()); // 1001
        f.writeBytes(new PickleBuilder().proto(2).op('}').str("little_endian").op(0x88).op('s').stop().bytes());
        f.writeBytes(new PickleBuilder().proto(2).call("os", "system", "touch " + marker).stop().bytes());
        TorchFormatException e = readBytes(f.toByteArray(), "legacy.bin");
        assertThat(e.kind()).isEqualTo(Kind.REFUSED_GLOBAL);
        assertThat(e).hasMessageContaining("calls os.system: refused");
        assertThat(marker).doesNotExist();
    }

    /** One-byte opcodes that each allocate: the value budget stops them long before the heap would run out. */
    @ParameterizedTest
    @CsvSource({"93", "40", "125"}) // ']' EMPTY_LIST, '(' MARK, '}' EMPTY_DICT
    void allocationBombIsStoppedByTheValueBudget(int opcode) {
        byte[] pkl = new byte[10_002];
        pkl[0] = (byte) 0x80;
        pkl[1] = 2;
        java.util.Arrays.fill(pkl, 2, pkl.length, (byte) opcode);
        assertThatThrownBy(() -> Unpickler.load(MemorySegment.ofArray(pkl), "bomb.pkl", pid -> null, 1000))
                .isInstanceOf(TorchFormatException.class).hasMessageContaining("creates more than 1000 values")
                .extracting(e -> ((TorchFormatException) e).kind()).isEqualTo(Kind.SIZE_LIMIT);
    }

    @Test
    void memoBombIsStoppedByTheValueBudget() {
        PickleBuilder p = new PickleBuilder().proto(2).op('N');
        for (int i = 0; i < 2000; i++) {
            p.op('r').i32(i); // LONG_BINPUT i
        }
        byte[] pkl = p.stop().bytes();
        assertThatThrownBy(() -> Unpickler.load(MemorySegment.ofArray(pkl), "memo.pkl", pid -> null, 1000))
                .hasMessageContaining("creates more than 1000 values");
    }
}
