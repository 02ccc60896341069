package dev.loraforge.testing;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real llama.cpp as a test oracle: runs {@code src/test/node/oracle.mjs} (node-llama-cpp 3.22.1 and its
 * prebuilt linux-x64 CPU binaries) in a child process with a hard timeout. The first use installs the npm
 * packages from the committed lock file if they are missing. No Node.js or npm on the machine is a test
 * failure with a message that says so, never a silent skip: the oracle is the point of these tests.
 */
public final class LlamaCppOracle {
    /** Pinned in package.json; installed with the prebuilt CPU binary only (the optional GPU ones are 600 MB). */
    public static final String NODE_LLAMA_CPP_VERSION = "3.22.1";
    static final int MIN_NODE_MAJOR = 20;
    static final long INSTALL_TIMEOUT_SECONDS = 600;
    static final long RUN_TIMEOUT_SECONDS = 120;

    /** Last-token logits (float32, full vocabulary), the greedy ids after the prompt, the script's JSON line. */
    public record Result(float[] logits, int[] generated, Map<String, Object> json) {
    }

    private static volatile boolean installed;

    private LlamaCppOracle() {
    }

    /**
     * The folder with package.json and oracle.mjs: {@code -Dloraforge.oracle.dir}, else {@code src/test/node}
     * of the core module (tests run in the module folder; from the repository root it is {@code core/...}).
     */
    public static Path dir() {
        String configured = System.getProperty("loraforge.oracle.dir");
        if (configured != null) {
            return Path.of(configured).toAbsolutePath();
        }
        for (Path candidate : List.of(Path.of("src/test/node"), Path.of("core/src/test/node"), Path.of("../core/src/test/node"))) {
            if (Files.isRegularFile(candidate.resolve("oracle.mjs"))) {
                return candidate.toAbsolutePath().normalize();
            }
        }
        throw new IllegalStateException("llama.cpp oracle: core/src/test/node/oracle.mjs not found from "
                + Path.of("").toAbsolutePath() + "; set -Dloraforge.oracle.dir");
    }

    /** Checks node/npm and installs node_modules from the lock file when missing (once per JVM). */
    public static synchronized void ensureInstalled() {
        if (installed) {
            return;
        }
        Path dir = dir();
        String version = command(dir, 30, "node", "--version").strip();
        int major = Integer.parseInt(version.replaceFirst("^v", "").split("\\.")[0]);
        if (major < MIN_NODE_MAJOR) {
            throw new IllegalStateException("llama.cpp oracle needs Node.js >= " + MIN_NODE_MAJOR + ", found " + version);
        }
        if (!Files.isRegularFile(dir.resolve("node_modules/node-llama-cpp/package.json"))
                || !Files.isRegularFile(dir.resolve("node_modules/@node-llama-cpp/linux-x64/package.json"))) {
            // the lock file pins every version; --omit=optional skips the GPU/other-OS binaries, --ignore-scripts
            // node-llama-cpp's postinstall (it would look for or build binaries; the prebuilt one is enough)
            command(dir, INSTALL_TIMEOUT_SECONDS, "npm", "install", "--no-save", "--omit=optional", "--ignore-scripts",
                    "--no-audit", "--no-fund");
        }
        installed = true;
    }

    /**
     * Evaluates {@code tokens} with F32 KV cache and no flash attention (llama-debug's {@code -ctk f32 -ctv f32
     * -fa off}), one thread, context 256; returns the last token's logits and {@code generate} greedy ids.
     */
    public static Result run(Path model, Path lora, double loraScale, int[] tokens, int generate, Path work) {
        ensureInstalled();
        try {
            Files.createDirectories(work);
            Path logitsFile = Files.createTempFile(work, "llamacpp-logits", ".bin");
            List<String> cmd = new ArrayList<>(List.of("node", dir().resolve("oracle.mjs").toString(),
                    "--model", model.toAbsolutePath().toString(), "--tokens", join(tokens),
                    "--generate", Integer.toString(generate), "--logits-out", logitsFile.toString(), "--exact"));
            if (lora != null) {
                cmd.addAll(List.of("--lora", lora.toAbsolutePath().toString(), "--lora-scale", Double.toString(loraScale)));
            }
            String stdout = command(dir(), RUN_TIMEOUT_SECONDS, cmd.toArray(String[]::new));
            String line = stdout.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow(() ->
                    new IllegalStateException("llama.cpp oracle printed no JSON line: " + stdout));
            Map<String, Object> json = JSON.std.mapFrom(line);
            byte[] raw = Files.readAllBytes(logitsFile);
            float[] logits = MemorySegment.ofArray(raw).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN));
            int nVocab = ((Number) json.get("nVocab")).intValue();
            if (logits.length != nVocab) {
                throw new IllegalStateException("llama.cpp oracle wrote " + logits.length + " logits, n_vocab is " + nVocab);
            }
            List<?> gen = (List<?>) json.get("generated");
            int[] generated = gen.stream().mapToInt(o -> ((Number) o).intValue()).toArray();
            return new Result(logits, generated, json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String join(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(sb.isEmpty() ? "" : ",").append(id);
        }
        return sb.toString();
    }

    /** Runs a command in {@code dir}; stdout is returned, stderr (llama.cpp's log) goes into the failure message. */
    static String command(Path dir, long timeoutSeconds, String... cmd) {
        Path out = null;
        Path err = null;
        try {
            out = Files.createTempFile("loraforge-oracle", ".out");
            err = Files.createTempFile("loraforge-oracle", ".err");
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(nullFile()));
            // never let node-llama-cpp download or build llama.cpp: the prebuilt binary or nothing
            pb.environment().put("NODE_LLAMA_CPP_SKIP_DOWNLOAD", "true");
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                throw new IllegalStateException("llama.cpp oracle: cannot run '" + cmd[0] + "' (" + e.getMessage()
                        + "). The llama.cpp oracle tests need Node.js >= " + MIN_NODE_MAJOR + " and npm on the PATH "
                        + "(Debian: apt-get install nodejs npm); they install node-llama-cpp " + NODE_LLAMA_CPP_VERSION
                        + " from the npm registry into " + dir + "/node_modules themselves.", e);
            }
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                throw new IllegalStateException("llama.cpp oracle: '" + String.join(" ", cmd) + "' did not finish in "
                        + timeoutSeconds + " s; stderr: " + tail(err));
            }
            String stdout = Files.readString(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new IllegalStateException("llama.cpp oracle: '" + String.join(" ", cmd) + "' exited with "
                        + p.exitValue() + "; stderr: " + tail(err) + "; stdout: " + stdout);
            }
            return stdout;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } finally {
            for (Path f : new Path[] {out, err}) {
                if (f != null) {
                    try {
                        Files.deleteIfExists(f);
                    } catch (IOException ignored) {
                        // a temp file left behind is harmless
                    }
                }
            }
        }
    }

    private static java.io.File nullFile() {
        return new java.io.File(System.getProperty("os.name").startsWith("Windows") ? "NUL" : "/dev/null");
    }

    private static String tail(Path file) throws IOException {
        String s = Files.readString(file, StandardCharsets.UTF_8);
        return s.length() > 4000 ? "..." + s.substring(s.length() - 4000) : s;
    }
}
