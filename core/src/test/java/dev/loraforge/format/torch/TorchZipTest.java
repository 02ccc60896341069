package dev.loraforge.format.torch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loraforge.format.torch.TorchFormatException.Kind;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** One hand-made zip per container rule; each must fail with its own kind before any tensor is read. */
class TorchZipTest {
    private static final byte[] EMPTY_DICT = {(byte) 0x80, 2, '}', '.'};
    private static final byte[] SIX_FLOATS = new byte[24];

    private static ZipBuilder base() {
        ZipBuilder z = new ZipBuilder();
        z.add("archive/data.pkl", EMPTY_DICT);
        return z;
    }

    private static TorchFile read(byte[] zip) {
        return TorchFile.read(MemorySegment.ofArray(zip), "z.bin", Arena.ofConfined());
    }

    static Stream<Arguments> corrupt() {
        return Stream.of(
                Arguments.of("dot-dot entry", (Supplier<byte[]>) () -> {
                    ZipBuilder z = base();
                    z.add("archive/../../evil", SIX_FLOATS);
                    return z.build();
                }, Kind.BAD_ENTRY_NAME, "'archive/../../evil'"),
                Arguments.of("absolute entry", (Supplier<byte[]>) () -> {
                    ZipBuilder z = base();
                    z.add("/etc/evil", SIX_FLOATS);
                    return z.build();
                }, Kind.BAD_ENTRY_NAME, "'/etc/evil'"),
                Arguments.of("backslash entry", (Supplier<byte[]>) () -> {
                    ZipBuilder z = base();
                    z.add("archive/..\\evil", SIX_FLOATS);
                    return z.build();
                }, Kind.BAD_ENTRY_NAME, "evil"),
                Arguments.of("second archive folder", (Supplier<byte[]>) () -> {
                    ZipBuilder z = base();
                    z.add("other/data/0", SIX_FLOATS);
                    return z.build();
                }, Kind.BAD_ENTRY_NAME, "outside the archive folder 'archive/'"),
                Arguments.of("overlapping entries", (Supplier<byte[]>) () -> {
                    ZipBuilder z = base();
                    z.add("archive/data/0", SIX_FLOATS).centralSizeOverride = 24L + 40;
                    z.add("archive/data/1", SIX_FLOATS);
                    return z.build();
                }, Kind.OVERLAPPING_ENTRIES, "overlaps entry 'archive/data/0'"),
                Arguments.of("entry over the directory", (Supplier<byte[]>) () -> {
                    ZipBuilder z = base();
                    z.add("archive/data/0", SIX_FLOATS).centralSizeOverride = 24L + 10;
                    return z.build();
                }, Kind.OVERLAPPING_ENTRIES, "inside the central directory"),
                Arguments.of("two directory entries, one header", (Supplier<byte[]>) () -> {
                    ZipBuilder z = base();
                    z.add("archive/data.pkl", EMPTY_DICT).centralOffsetOverride = 0L;
                    return z.build();
                }, Kind.OVERLAPPING_ENTRIES, "appears twice"),
                Arguments.of("local name differs", (Supplier<byte[]>) () -> {
                    ZipBuilder z = base();
                    z.add("archive/data/0", SIX_FLOATS).localNameOverride = "archive/data/9";
                    return z.build();
                }, Kind.BAD_ZIP, "names 'archive/data/9'"),
                Arguments.of("deflated entry", (Supplier<byte[]>) () -> {
                    ZipBuilder z = base();
                    z.add("archive/data/0", SIX_FLOATS).method = 8;
                    return z.build();
                }, Kind.COMPRESSED_ENTRY, "compression method 8"),
                Arguments.of("encrypted entry", (Supplier<byte[]>) () -> {
                    ZipBuilder z = base();
                    z.add("archive/data/0", SIX_FLOATS).flags = 1;
                    return z.build();
                }, Kind.COMPRESSED_ENTRY, "encrypted"),
                Arguments.of("huge zip64 size", (Supplier<byte[]>) () -> {
                    ZipBuilder z = base();
                    z.zip64 = true;
                    z.add("archive/data/0", SIX_FLOATS).centralSizeOverride = 1L << 40;
                    return z.build();
                }, Kind.SIZE_LIMIT, "declares 1099511627776 bytes"),
                Arguments.of("truncated", (Supplier<byte[]>) () -> {
                    byte[] b = base().build();
                    return Arrays.copyOf(b, b.length - 5);
                }, Kind.BAD_ZIP, "no end-of-central-directory"),
                Arguments.of("not a checkpoint", (Supplier<byte[]>) () -> "hello, world".getBytes(StandardCharsets.US_ASCII),
                        Kind.NOT_ZIP, "legacy"),
                Arguments.of("pickle without the legacy magic", (Supplier<byte[]>) () -> new byte[] {(byte) 0x80, 2, 'N', '.'},
                        Kind.NOT_ZIP, "no magic number"),
                Arguments.of("legacy, truncated magic", (Supplier<byte[]>) () -> new byte[] {(byte) 0x80, 2, (byte) 0x8a, 10},
                        Kind.SIZE_LIMIT, "declares 10 bytes"),
                Arguments.of("no data.pkl", (Supplier<byte[]>) () -> {
                    ZipBuilder z = new ZipBuilder();
                    z.add("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
                    return z.build();
                }, Kind.MISSING_ENTRY, "no 'archive/data.pkl'"),
                Arguments.of("big-endian data", (Supplier<byte[]>) () -> {
                    ZipBuilder z = base();
                    z.add("archive/byteorder", "big".getBytes(StandardCharsets.US_ASCII));
                    return z.build();
                }, Kind.UNSUPPORTED, "byteorder 'big'"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corrupt")
    void corruptContainerIsRejected(String label, Supplier<byte[]> zip, Kind kind, String message) {
        try {
            read(zip.get()).close();
        } catch (TorchFormatException e) {
            assertThat(e.kind()).as(e.getMessage()).isEqualTo(kind);
            assertThat(e).hasMessageContaining("z.bin").hasMessageContaining(message);
            return;
        }
        throw new AssertionError(label + " was accepted");
    }

    @Test
    void badCrcOfThePickleIsRejected() {
        byte[] b = base().build();
        b[30 + "archive/data.pkl".length() + 2] = ']'; // flip '}' (dict) to ']' (list) without fixing the CRC
        try {
            read(b).close();
            throw new AssertionError("accepted");
        } catch (TorchFormatException e) {
            assertThat(e.kind()).isEqualTo(Kind.BAD_ZIP);
            assertThat(e).hasMessageContaining("CRC-32");
        }
    }

    @Test
    void realDeflatedZipIsRejected() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream out = new ZipOutputStream(bytes)) {
            out.putNextEntry(new ZipEntry("archive/data.pkl"));
            out.write(EMPTY_DICT);
            out.closeEntry();
        }
        try {
            read(bytes.toByteArray()).close();
            throw new AssertionError("accepted");
        } catch (TorchFormatException e) {
            assertThat(e.kind()).isEqualTo(Kind.COMPRESSED_ENTRY);
        }
    }

    @Test
    void zip64DirectoryReads() {
        ZipBuilder z = base();
        z.zip64 = true;
        z.add("archive/data/0", SIX_FLOATS);
        TorchZip zip = TorchZip.read(MemorySegment.ofArray(z.build()), "z64.bin");
        assertThat(zip.prefix()).isEqualTo("archive");
        assertThat(zip.find("data/0").orElseThrow().size()).isEqualTo(24);
        try (TorchFile f = read(z.build())) {
            assertThat(f.names()).isEmpty();
        }
    }

    /** torch 2.x adds {@code .data/serialization_id}, {@code .data/version} and {@code byteorder} entries. */
    @Test
    void torch2ExtraEntriesAreAccepted() {
        ZipBuilder z = new ZipBuilder();
        z.add("pytorch_model/data.pkl", EMPTY_DICT);
        z.add("pytorch_model/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        z.add("pytorch_model/.data/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        z.add("pytorch_model/.data/serialization_id", "1234567890".getBytes(StandardCharsets.US_ASCII));
        z.add("pytorch_model/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        try (TorchFile f = read(z.build())) {
            assertThat(f.names()).isEmpty();
            assertThat(f.zip().orElseThrow().prefix()).isEqualTo("pytorch_model");
        }
    }
}
