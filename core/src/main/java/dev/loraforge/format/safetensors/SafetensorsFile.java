package dev.loraforge.format.safetensors;

import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A safetensors file mapped read-only. The header is validated before the file is mapped; tensors are
 * zero-copy slices of the mapping and stay valid until {@link #close()}. Safe for concurrent readers.
 */
public final class SafetensorsFile implements TensorSource {
    private final Path path;
    private final SafetensorsHeader header;
    private final Arena arena;
    private final MemorySegment file;
    private final List<String> names;
    private volatile boolean closed;

    private SafetensorsFile(Path path, SafetensorsHeader header, Arena arena, MemorySegment file) {
        this.path = path;
        this.header = header;
        this.arena = arena;
        this.file = file;
        List<String> n = new ArrayList<>(header.entries().size());
        for (SafetensorsHeader.Entry e : header.entries()) {
            n.add(e.name());
        }
        this.names = Collections.unmodifiableList(n);
    }

    /**
     * Opens and validates {@code path}.
     * @throws SafetensorsException when the file breaks a rule of the format
     */
    public static SafetensorsFile open(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            SafetensorsHeader header = SafetensorsHeader.read(path.toString(), ch);
            Arena arena = Arena.ofShared();
            try {
                // map exactly the validated extent; a file that changed size since is not the file we checked
                long size = header.dataStart() + header.dataLength();
                if (ch.size() != size) {
                    throw new IOException(path + " changed size while being opened (" + size + " -> " + ch.size() + ")");
                }
                MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
                return new SafetensorsFile(path, header, arena, seg);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        }
    }

    public Path path() {
        return path;
    }

    public SafetensorsHeader header() {
        return header;
    }

    /** The {@code __metadata__} map in file order; empty when absent. */
    public Map<String, String> metadata() {
        return header.metadata();
    }

    /** Tensor names in header order. */
    @Override
    public List<String> names() {
        return names;
    }

    @Override
    public Optional<TensorView> find(String name) {
        if (closed) {
            throw new IllegalStateException(path + " is closed");
        }
        return header.entry(name).map(e -> new TensorView(e.name(), e.dtype(), e.shape(),
                file.asSlice(header.dataStart() + e.begin(), e.byteSize())));
    }

    /** The whole mapped file (header included). */
    public MemorySegment segment() {
        return file;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + "]";
    }
}
