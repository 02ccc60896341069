package dev.loraforge.cli;

import dev.loraforge.io.Progress;
import dev.loraforge.merge.DiskSpace;
import java.nio.file.Path;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * What {@code merge} and {@code unmerge} take from their surroundings: the free space of the output's disk and
 * a wrapper around the progress sink. {@link #REAL} everywhere but in tests, which simulate a full disk or a
 * slow writer (to kill it mid-write) through {@link Main#run(picocli.CommandLine.IFactory, String...)}.
 */
record MergeEnvironment(Function<Path, DiskSpace> diskSpace, UnaryOperator<Progress> progress) {
    static final MergeEnvironment REAL = new MergeEnvironment(DiskSpace::of, UnaryOperator.identity());
}
