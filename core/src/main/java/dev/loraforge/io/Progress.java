package dev.loraforge.io;

/** Told after each tensor a streaming command has written (merge, unmerge, GGUF conversion). */
@FunctionalInterface
public interface Progress {
    void tensorDone(String name, int done, int total, long bytesDone, long bytesTotal);

    Progress NONE = (name, done, total, bytesDone, bytesTotal) -> { };
}
