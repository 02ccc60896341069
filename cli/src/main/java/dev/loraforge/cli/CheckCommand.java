package dev.loraforge.cli;

import dev.loraforge.adapter.AdapterCheck;
import dev.loraforge.adapter.CheckReport;
import dev.loraforge.adapter.LoraAdapter;
import dev.loraforge.adapter.LoraModule;
import dev.loraforge.format.ModelSource;
import dev.loraforge.io.PythonJson;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "check", description = "Check that a PEFT adapter fits a base model, without writing anything (exit 3 on a mismatch).")
final class CheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--base", paramLabel = "DIR|HF_NAME", description = "base model (default: the adapter's base_model_name_or_path)")
    String base;

    @Option(names = "--adapter", paramLabel = "DIR", required = true, description = "PEFT adapter folder")
    Path adapter;

    @Option(names = "--json", description = "print the report as JSON")
    boolean json;

    @Override
    public Integer call() throws IOException {
        Path baseDir = MergeCommand.resolveBase(base, adapter);
        PrintWriter out = spec.commandLine().getOut();
        try (ModelSource files = ModelSource.open(baseDir); LoraAdapter a = LoraAdapter.open(adapter)) {
            Path dir = Files.isDirectory(baseDir) ? baseDir : baseDir.toAbsolutePath().getParent();
            Map<String, Object> config = Files.isRegularFile(dir.resolve("config.json"))
                    ? PythonJson.parseObject(Files.readString(dir.resolve("config.json"))) : Map.of();
            CheckReport report = AdapterCheck.check(new AdapterCheck.Base(dir, files, config), a);
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("ok", report.ok());
                m.put("modules", a.modules().size());
                m.put("full_tensors", a.fullTensors().size());
                m.put("findings", report.findings().stream().map(f -> {
                    Map<String, Object> e = new LinkedHashMap<>();
                    e.put("severity", f.severity().name().toLowerCase(Locale.ROOT));
                    e.put("kind", f.kind() == null ? null : f.kind().name());
                    e.put("message", f.message());
                    return e;
                }).toList());
                out.println(PythonJson.write(m, 2, false));
            } else {
                List<LoraModule> mods = a.modules();
                out.printf(Locale.ROOT, "%s: LoRA, %d modules%s%s on %s%n", adapter, mods.size(),
                        a.config().useRslora() ? ", rsLoRA" : "", a.config().useDora() ? ", DoRA" : "", baseDir);
                if (!a.fullTensors().isEmpty()) {
                    out.println("  replaces " + a.fullTensors().keySet().stream().sorted().toList());
                }
                report.findings().stream().distinct().forEach(f -> out.println("  " + f));
                out.println(report.ok() ? "ok: the adapter fits the base" : "not ok: " + report.errors().size() + " problem(s)");
            }
            out.flush();
            return report.ok() ? ExitCodes.OK : ExitCodes.BAD_INPUT;
        }
    }
}
