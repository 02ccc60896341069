package dev.loraforge.cli;

import dev.loraforge.io.Progress;
import java.io.PrintWriter;
import java.util.Locale;

/** Progress bar on stderr, only on a terminal: tensors, bytes, rate, ETA (merge, unmerge, gguf). */
final class ProgressBar implements Progress {
    private final PrintWriter err;
    private final boolean show;
    private final long start = System.nanoTime();
    private long last;

    ProgressBar(PrintWriter err, boolean show) {
        this.err = err;
        this.show = show;
    }

    @Override
    public synchronized void tensorDone(String name, int done, int total, long bytesDone, long bytesTotal) {
        if (!show) {
            return;
        }
        long now = System.nanoTime();
        if (now - last < 100_000_000L && done < total) {
            return;
        }
        last = now;
        double secs = Math.max(1e-9, (now - start) / 1e9);
        double rate = bytesDone / secs;
        double eta = rate > 0 ? (bytesTotal - bytesDone) / rate : 0;
        int width = 30;
        int fill = (int) (width * (double) bytesDone / Math.max(1, bytesTotal));
        err.printf(Locale.ROOT, "\r[%s%s] %d/%d tensors  %.1f/%.1f MB  %.1f MB/s  ETA %.0fs ",
                "#".repeat(fill), " ".repeat(width - fill), done, total, bytesDone / 1e6, bytesTotal / 1e6,
                rate / 1e6, eta);
        err.flush();
    }

    void finish() {
        if (show) {
            err.println();
            err.flush();
        }
    }
}
