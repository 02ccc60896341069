package dev.loraforge.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The training run of the launcher's ahead-of-time cache (JDK 25 {@code -XX:AOTCacheOutput}, JEP 483/515):
 * the commands users run, on the bundled tiny model, in one JVM, so the cache holds their classes loaded and
 * linked and their methods' profiles. A later run with the cache starts the JIT on profiles instead of
 * collecting them (the 1B merge: 3.6-3.9 s -> 2.9-3.2 s). Not a user command; {@code bin/aot.sh} runs it.
 */
public final class AotTraining {
    private AotTraining() {
    }

    /** {@code AotTraining MODEL_DIR WORK_DIR}: MODEL_DIR holds a Llama model with a LoRA in {@code lora-r4}. */
    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: AotTraining MODEL_DIR WORK_DIR");
            System.exit(2);
        }
        int failed = run(args[0], Path.of(args[1]));
        if (failed > 0) {
            System.err.println("AotTraining: " + failed + " commands failed");
            System.exit(1);
        }
    }

    /** Runs the training commands in {@code workDir} (deleted afterwards); returns how many failed. */
    static int run(String model, Path workDir) throws IOException {
        Path work = Files.createDirectories(workDir);
        String adapter = model + "/lora-r4";
        String w = work.toString();
        List<String[]> commands = List.of(
                new String[] {"merge", "--base", model, "--adapter", adapter, "--out", w + "/merged", "--verify", "--quiet"},
                new String[] {"gguf", model, "--type", "f16", "--out", w + "/f16.gguf", "--quiet"},
                new String[] {"gguf", model, "--type", "q4_k_m", "--out", w + "/q4_k_m.gguf", "--quiet"},
                new String[] {"gguf", model, "--adapter", adapter, "--type", "bf16", "--out", w + "/merged-bf16.gguf", "--quiet"},
                new String[] {"gguf-lora", "--adapter", adapter, "--base", model, "--out", w + "/lora.gguf", "--quiet"},
                new String[] {"generate", w + "/f16.gguf", "--ids", "1,403,407,261", "-n", "16", "--print-ids"},
                new String[] {"inspect", w + "/q4_k_m.gguf"});
        PrintStream out = System.out;
        int failed = 0;
        try {
            System.setOut(new PrintStream(OutputStream.nullOutputStream())); // the commands' output is not wanted
            for (String[] c : commands) {
                if (Main.run(c) != ExitCodes.OK) {
                    failed++;
                }
            }
        } finally {
            System.setOut(out);
            try (Stream<Path> s = Files.walk(work)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
        return failed;
    }
}
