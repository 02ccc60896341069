package dev.loraforge.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A file written under a temporary name beside its target and renamed into place by {@link #commit()}.
 * Closing without committing deletes the temporary file, so a failed write leaves nothing that looks
 * complete. The temporary name starts with {@value #TEMP_PREFIX} so leftovers of a killed process can
 * be recognised and removed.
 */
public final class AtomicFile implements AutoCloseable {
    public static final String TEMP_PREFIX = ".loraforge-tmp-";

    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private final boolean overwrite;
    private boolean committed;

    private AtomicFile(Path target, Path temp, FileChannel channel, boolean overwrite) {
        this.target = target;
        this.temp = temp;
        this.channel = channel;
        this.overwrite = overwrite;
    }

    /**
     * Opens a temporary file beside {@code target}.
     * @throws FileAlreadyExistsException when the target exists and {@code overwrite} is false
     */
    public static AtomicFile create(Path target, boolean overwrite) throws IOException {
        Path abs = target.toAbsolutePath();
        if (!overwrite && Files.exists(abs)) {
            throw new FileAlreadyExistsException(abs.toString(), null, "exists; pass overwrite to replace it");
        }
        if (Files.isDirectory(abs)) {
            throw new FileAlreadyExistsException(abs.toString(), null, "is a directory");
        }
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path temp = dir.resolve(TEMP_PREFIX + abs.getFileName() + "-" + ProcessHandle.current().pid()
                + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.READ);
        return new AtomicFile(abs, temp, ch, overwrite);
    }

    public Path target() {
        return target;
    }

    public Path tempPath() {
        return temp;
    }

    /** The channel to write through (positioned writes are fine). */
    public FileChannel channel() {
        return channel;
    }

    /** Flushes to disk and renames over the target. */
    public void commit() throws IOException {
        channel.force(true);
        channel.close();
        if (overwrite) {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } else {
            if (Files.exists(target)) {
                throw new FileAlreadyExistsException(target.toString(), null, "appeared while writing");
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        }
        committed = true;
    }

    @Override
    public void close() {
        if (committed) {
            return;
        }
        try {
            channel.close();
            Files.deleteIfExists(temp);
        } catch (IOException e) {
            throw new UncheckedIOException("could not remove temporary file " + temp, e);
        }
    }
}
