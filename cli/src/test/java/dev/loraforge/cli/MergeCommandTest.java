package dev.loraforge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loraforge.merge.DiskSpace;
import dev.loraforge.testing.FixtureFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** loraforge merge / check through Main.run: exit codes, one-line errors, and no output left on failure. */
class MergeCommandTest {
    @TempDir
    static Path shared;
    static Path tinyLlama;
    static Path stories;

    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
    }

    @BeforeAll
    static void bases() {
        tinyLlama = FixtureFiles.tinyLlama(shared.resolve("tiny-llama-v512"));
        stories = FixtureFiles.stories(shared.resolve("tinystories-260k"));
    }

    static Run run(String... args) {
        return runWith(CommandLine.defaultFactory(), args);
    }

    /** Commands made with {@code env} as merge/unmerge's surroundings. */
    static CommandLine.IFactory mergeWith(MergeEnvironment env) {
        return new CommandLine.IFactory() {
            @Override
            public <K> K create(Class<K> cls) throws Exception {
                if (cls == MergeCommand.class) {
                    return cls.cast(new MergeCommand(env));
                }
                if (cls == UnmergeCommand.class) {
                    return cls.cast(new UnmergeCommand(env));
                }
                return CommandLine.defaultFactory().create(cls);
            }
        };
    }

    static synchronized Run runWith(CommandLine.IFactory factory, String... args) {
        PrintStream o = System.out;
        PrintStream e = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(factory, args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(o);
            System.setErr(e);
        }
    }

    void assertNoOutputLeft(Path out) throws IOException {
        assertThat(out).doesNotExist();
        try (Stream<Path> s = Files.list(out.getParent())) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".loraforge-tmp-"));
        }
    }

    static void assertOneLineError(Run r, int code, String... fragments) {
        assertThat(r.code()).as(r.err()).isEqualTo(code);
        assertThat(r.err().strip()).startsWith("loraforge: ").doesNotContain("\n").doesNotContain("Exception");
        for (String f : fragments) {
            assertThat(r.err()).contains(f);
        }
    }

    @Test
    void mergeWritesTheModelAndJsonSummary() throws IOException {
        Path adapter = FixtureFiles.adapter("lora-rslora-patterns", tmp.resolve("adapter"));
        Path out = tmp.resolve("out");
        Run r = run("merge", "--base", tinyLlama.toString(), "--adapter", adapter.toString(), "--out", out.toString(), "--json");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"tensors\": 39").contains("\"tensors_changed\": 8");
        assertThat(out.resolve("model.safetensors")).exists();
        assertThat(Files.readString(out.resolve("loraforge.json"))).contains("\"merge\"").contains("--json");
    }

    @Test
    void unmergeGivesTheBaseBackWithinTheBound() throws IOException {
        Path adapter = FixtureFiles.adapter("lora-rslora-patterns", tmp.resolve("adapter"));
        Path merged = tmp.resolve("merged");
        Path restored = tmp.resolve("restored");
        assertThat(run("merge", "--base", tinyLlama.toString(), "--adapter", adapter.toString(), "--out", merged.toString(), "--quiet").code()).isZero();
        Run r = run("unmerge", "--base", merged.toString(), "--adapter", adapter.toString(), "--out", restored.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("unmerged 1 adapter");
        assertThat(Files.readString(restored.resolve("loraforge.json"))).contains("\"unmerge\"");
        Run dora = run("unmerge", "--base", merged.toString(), "--adapter",
                FixtureFiles.adapter("lora-dora", tmp.resolve("dora")).toString(), "--out", tmp.resolve("x").toString());
        assertOneLineError(dora, ExitCodes.BAD_INPUT, "DoRA");
    }

    @Test
    void combineCatWritesAnAdapterAndLinearRefusesUnequalRanks() throws IOException {
        Path r8 = FixtureFiles.adapter("lora-r8", tmp.resolve("r8"));
        Path rs = FixtureFiles.adapter("lora-rslora-patterns", tmp.resolve("rs"));
        Run c = run("combine", "--adapter", r8.toString(), "--weight", "0.7", "--adapter", rs.toString(), "--weight", "0.3",
                "--method", "cat", "--out", tmp.resolve("cat").toString());
        assertThat(c.code()).as(c.err()).isZero();
        assertThat(c.out()).contains("28 modules");
        Run bad = run("combine", "--adapter", r8.toString(), "--adapter", rs.toString(), "--method", "linear",
                "--out", tmp.resolve("lin").toString());
        assertOneLineError(bad, ExitCodes.BAD_INPUT, "equal ranks");
        assertThat(tmp.resolve("lin").resolve("adapter_model.safetensors")).doesNotExist();
    }

    @Test
    void baseNamedByTheAdapterThatIsNowhereIsAUsageError() {
        Path adapter = FixtureFiles.adapter("lora-r8", tmp.resolve("adapter")); // base_model_name_or_path "tiny-llama-v512"
        Run r = run("merge", "--adapter", adapter.toString(), "--out", tmp.resolve("o").toString());
        assertOneLineError(r, ExitCodes.USAGE, "'tiny-llama-v512'", "never downloads");
    }

    @Test
    void checkReportsOkAndMismatch() {
        Path adapter = FixtureFiles.adapter("lora-r8", tmp.resolve("adapter"));
        Run ok = run("check", "--base", tinyLlama.toString(), "--adapter", adapter.toString());
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("28 modules").contains("ok: the adapter fits");
        Run bad = run("check", "--base", stories.toString(), "--adapter", adapter.toString());
        assertThat(bad.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(bad.out()).contains("model.layers.0.self_attn.q_proj.weight").contains("[64, 64]").contains("not ok");
    }

    @Test
    void adapterForAnotherBase() throws IOException {
        Path adapter = FixtureFiles.adapter("lora-r8", tmp.resolve("adapter"));
        Path out = tmp.resolve("out");
        Run r = run("merge", "--base", stories.toString(), "--adapter", adapter.toString(), "--out", out.toString());
        assertOneLineError(r, ExitCodes.BAD_INPUT, "down_proj.weight", "[64, 172]", "[256, 768]");
        assertNoOutputLeft(out);
    }

    @Test
    void missingAdapterConfig() throws IOException {
        Path adapter = tmp.resolve("adapter");
        FixtureFiles.copy("tiny-llama-v512/lora-r8/adapter_model.safetensors", adapter.resolve("adapter_model.safetensors"));
        Path out = tmp.resolve("out");
        Run r = run("merge", "--base", tinyLlama.toString(), "--adapter", adapter.toString(), "--out", out.toString());
        assertOneLineError(r, ExitCodes.BAD_INPUT, "adapter_config.json");
        assertNoOutputLeft(out);
    }

    @Test
    void unknownPeftMethod() throws IOException {
        Path adapter = FixtureFiles.adapter("lora-r8", tmp.resolve("adapter"));
        Files.writeString(adapter.resolve("adapter_config.json"), "{\"peft_type\": \"LOKR\", \"r\": 8}");
        Path out = tmp.resolve("out");
        Run r = run("merge", "--base", tinyLlama.toString(), "--adapter", adapter.toString(), "--out", out.toString());
        assertOneLineError(r, ExitCodes.BAD_INPUT, "LOKR", "not supported");
        assertNoOutputLeft(out);
    }

    @Test
    void corruptAdapterSafetensors() throws IOException {
        Path adapter = FixtureFiles.adapter("lora-r8", tmp.resolve("adapter"));
        Path st = adapter.resolve("adapter_model.safetensors");
        byte[] b = Files.readAllBytes(st);
        Files.write(st, java.util.Arrays.copyOf(b, b.length - 1000)); // truncated download
        Path out = tmp.resolve("out");
        Run r = run("merge", "--base", tinyLlama.toString(), "--adapter", adapter.toString(), "--out", out.toString());
        assertOneLineError(r, ExitCodes.BAD_INPUT, "adapter_model.safetensors");
        assertNoOutputLeft(out);
    }

    @Test
    void outputIsAnExistingNonEmptyFolder() throws IOException {
        Path adapter = FixtureFiles.adapter("lora-r8", tmp.resolve("adapter"));
        Path out = tmp.resolve("out");
        Files.createDirectories(out);
        Files.writeString(out.resolve("notes.txt"), "mine");
        Run r = run("merge", "--base", tinyLlama.toString(), "--adapter", adapter.toString(), "--out", out.toString());
        assertOneLineError(r, ExitCodes.USAGE, "not empty", "--overwrite");
        assertThat(out.resolve("notes.txt")).hasContent("mine");
        try (Stream<Path> s = Files.list(out)) {
            assertThat(s.count()).isEqualTo(1);
        }
    }

    @Test
    void outputIsTheAdapterFolder() throws IOException {
        Path adapter = FixtureFiles.adapter("lora-r8", tmp.resolve("adapter"));
        Run r = run("merge", "--base", tinyLlama.toString(), "--adapter", adapter.toString(), "--out", adapter.toString(), "--overwrite");
        assertOneLineError(r, ExitCodes.USAGE, "input folder");
        try (Stream<Path> s = Files.list(adapter)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("adapter_config.json", "adapter_model.safetensors");
        }
    }

    @Test
    void diskFull() throws IOException {
        Path adapter = FixtureFiles.adapter("lora-r8", tmp.resolve("adapter"));
        Path out = tmp.resolve("out");
        Run r = runWith(mergeWith(new MergeEnvironment(dir -> DiskSpace.limited(5_000_000), UnaryOperator.identity())),
                "merge", "--base", tinyLlama.toString(), "--adapter", adapter.toString(), "--out", out.toString(),
                "--max-shard-size", "3MB");
        assertOneLineError(r, ExitCodes.IO_ERROR, "No space left on device");
        assertNoOutputLeft(out);
    }

    @Test
    void killedMidWriteLeavesNoOutputAndTheNextRunCleansUp() throws Exception {
        Path adapter = FixtureFiles.adapter("lora-r8", tmp.resolve("adapter"));
        Path out = tmp.resolve("out");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), SlowMerge.class.getName(),
                "merge", "--base", tinyLlama.toString(), "--adapter", adapter.toString(), "--out", out.toString(), "--quiet"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
        Path temp = tmp.resolve(".loraforge-tmp-out-" + p.pid());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!hasShardData(temp) && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(p.isAlive()).as(Files.readString(tmp.resolve("child.log"))).isTrue();
        p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        assertThat(out).doesNotExist();
        assertThat(temp).exists(); // what a killed process leaves behind
        Run r = run("merge", "--base", tinyLlama.toString(), "--adapter", adapter.toString(), "--out", out.toString(), "--quiet");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(temp).doesNotExist();
        assertThat(out.resolve("model.safetensors")).exists();
    }

    /** The CLI with a merge that waits 50 ms after each tensor: slow enough to be killed mid-write. */
    public static final class SlowMerge {
        public static void main(String[] args) {
            System.exit(Main.run(mergeWith(new MergeEnvironment(DiskSpace::of, p -> (name, done, total, bytes, all) -> {
                p.tensorDone(name, done, total, bytes, all);
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            })), args));
        }
    }

    private static boolean hasShardData(Path temp) throws IOException {
        if (!Files.isDirectory(temp)) {
            return false;
        }
        try (Stream<Path> s = Files.list(temp)) {
            return s.anyMatch(f -> f.getFileName().toString().contains("model"));
        }
    }

    @Test
    void weightsMustPairWithAdapters() {
        Path adapter = FixtureFiles.adapter("lora-r8", tmp.resolve("adapter"));
        Run r = run("merge", "--base", tinyLlama.toString(), "--adapter", adapter.toString(), "--weight", "0.5",
                "--weight", "0.5", "--out", tmp.resolve("o").toString());
        assertOneLineError(r, ExitCodes.USAGE, "2 --weight values for 1 --adapter");
        assertThat(MergeCommand.parseSize("5GB")).isEqualTo(5_000_000_000L);
        assertThat(MergeCommand.parseSize("10GiB")).isEqualTo(10L << 30);
        assertThat(MergeCommand.parseSize("500MB")).isEqualTo(500_000_000L);
    }
}
