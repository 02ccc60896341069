package dev.loraforge.merge;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Space on the output's file system, asked before the output is started and before each shard is written,
 * so a full disk is reported as such instead of as a SIGBUS on a mapped page. Tests inject a limit with the
 * system property {@value #LIMIT_PROPERTY} (bytes) to simulate a full disk.
 */
@FunctionalInterface
public interface DiskSpace {
    String LIMIT_PROPERTY = "loraforge.test.diskLimit";

    /** @throws IOException ("No space left on device") when {@code bytes} more will not fit */
    void reserve(long bytes) throws IOException;

    /** The real free space of {@code dir}'s file store, or the test limit when the property is set. */
    static DiskSpace of(Path dir) {
        String limit = System.getProperty(LIMIT_PROPERTY);
        if (limit != null) {
            return limited(Long.parseLong(limit));
        }
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
