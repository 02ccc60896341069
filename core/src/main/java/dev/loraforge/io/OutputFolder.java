package dev.loraforge.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * An output folder built as a temporary sibling ({@code .loraforge-tmp-<name>-<pid>}) and renamed into
 * place by {@link #commit()}, so a crash or a failure never leaves a folder that looks complete. Temporary
 * folders of processes that no longer run are removed when the next one is created. Refuses a target
 * that is, contains or lies inside one of the input folders, and an existing non-empty target unless
 * overwriting.
 */
public final class OutputFolder implements AutoCloseable {
    private final Path target;
    private final Path temp;
    private final boolean overwrite;
    private boolean committed;

    private OutputFolder(Path target, Path temp, boolean overwrite) {
        this.target = target;
        this.temp = temp;
        this.overwrite = overwrite;
    }

    /**
     * @param inputs folders that must survive (base, adapters): the target may not be one of them, inside one,
     *               or contain one
     * @throws FileAlreadyExistsException for a refused target (the reason says why)
     */
    public static OutputFolder create(Path target, boolean overwrite, List<Path> inputs) throws IOException {
        Path abs = canonical(target);
        for (Path in : inputs) {
            Path i = canonical(in);
            if (abs.equals(i) || abs.startsWith(i) || i.startsWith(abs)) {
                throw new FileAlreadyExistsException(target.toString(), in.toString(), abs.equals(i)
                        ? "is an input folder (" + in + "); choose another output folder"
                        : abs.startsWith(i) ? "lies inside the input folder " + in + "; choose another output folder"
                        : "contains the input folder " + in + "; choose another output folder");
            }
        }
        if (Files.exists(abs)) {
            if (!Files.isDirectory(abs)) {
                throw new FileAlreadyExistsException(target.toString(), null, "exists and is not a folder");
            }
            if (!overwrite && !isEmpty(abs)) {
                throw new FileAlreadyExistsException(target.toString(), null,
                        "exists and is not empty; pass --overwrite to replace it");
            }
        }
        Path parent = abs.getParent();
        Files.createDirectories(parent);
        cleanStale(parent);
        Path temp = parent.resolve(AtomicFile.TEMP_PREFIX + abs.getFileName() + "-" + ProcessHandle.current().pid());
        deleteTree(temp); // our own pid: a leftover of an earlier run in this process
        Files.createDirectory(temp);
        return new OutputFolder(abs, temp, overwrite);
    }

    /** The folder to write into. */
    public Path temp() {
        return temp;
    }

    public Path target() {
        return target;
    }

    /** Renames the finished folder into place (replacing an existing target when overwriting). */
    public void commit() throws IOException {
        if (Files.exists(target)) {
            if (!overwrite && !isEmpty(target)) {
                throw new FileAlreadyExistsException(target.toString(), null, "appeared while writing");
            }
            Path old = target.resolveSibling(AtomicFile.TEMP_PREFIX + target.getFileName() + "-old-" + ProcessHandle.current().pid());
            deleteTree(old);
            Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            committed = true;
            deleteTree(old);
        } else {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            committed = true;
        }
    }

    /** Deletes the temporary folder unless committed. */
    @Override
    public void close() {
        if (!committed) {
            try {
                deleteTree(temp);
            } catch (IOException e) {
                throw new UncheckedIOException("could not remove temporary folder " + temp, e);
            }
        }
    }

    /**
     * Removes {@code .loraforge-tmp-<name>-<pid>} folders in {@code dir} whose process is gone.
     * @return how many were removed
     */
    public static int cleanStale(Path dir) throws IOException {
        int n = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, AtomicFile.TEMP_PREFIX + "*")) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                int dash = name.lastIndexOf('-');
                long pid;
                try {
                    pid = Long.parseLong(name.substring(dash + 1));
                } catch (NumberFormatException e) {
                    continue; // an AtomicFile temp (pid-random) or not ours
                }
                if (Files.isDirectory(p) && ProcessHandle.of(pid).map(ph -> !ph.isAlive()).orElse(true)) {
                    deleteTree(p);
                    n++;
                }
            }
        }
        return n;
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    private static Path canonical(Path p) throws IOException {
        Path abs = p.toAbsolutePath().normalize();
        if (Files.exists(abs)) {
            return abs.toRealPath();
        }
        return abs.getParent() == null ? abs : canonical(abs.getParent()).resolve(abs.getFileName());
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }
}
