package dev.loraforge.merge;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Space on the output's file system, asked before the output is started and before each shard is written,
 * so a full disk is reported as such instead of as a SIGBUS on a mapped page. Callers may pass another
 * source to {@link ModelMerger#merge(ModelMerger.Request, dev.loraforge.io.Progress, java.util.function.Function)}
 * (tests simulate a full disk with {@link #limited}).
 */
@FunctionalInterface
public interface DiskSpace {
    /** @throws IOException ("No space left on device") when {@code bytes} more will not fit */
    void reserve(long bytes) throws IOException;

    /** The real free space of {@code dir}'s file store. */
    static DiskSpace of(Path dir) {
        return bytes -> {
            long free = Files.getFileStore(dir).getUsableSpace();
            if (bytes > free) {
                throw new IOException("No space left on device: " + dir + " has " + free + " bytes free, "
                        + bytes + " more needed");
            }
        };
    }

    /** A budget of {@code total} bytes shared by all reservations. */
    static DiskSpace limited(long total) {
        long[] used = {0};
        return bytes -> {
            synchronized (used) {
                if (used[0] + bytes > total) {
                    throw new IOException("No space left on device: limit " + total + " bytes, "
                            + (used[0] + bytes) + " needed");
                }
                used[0] += bytes;
            }
        };
    }
}
