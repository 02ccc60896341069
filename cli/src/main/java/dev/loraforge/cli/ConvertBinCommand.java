package dev.loraforge.cli;

import dev.loraforge.format.safetensors.SafetensorsWriter;
import dev.loraforge.format.torch.TorchCheckpoint;
import dev.loraforge.tensor.TensorSource;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "convert-bin",
        description = {"Convert a PyTorch .bin checkpoint (model or PEFT adapter folder, sharded or not, or one .bin file)"
                + " to safetensors. The pickle is read by a restricted unpickler: nothing in it is ever run.",
            "Writes model.safetensors (adapter_model.safetensors for an adapter) and copies the folder's other files"
                + " (config, tokenizer, adapter_config.json)."})
final class ConvertBinCommand implements Callable<Integer> {
    @Parameters(paramLabel = "PATH", description = "folder with pytorch_model.bin[.index.json] or adapter_model.bin, or a .bin file")
    Path path;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder (created if missing)")
    Path out;

    @Option(names = "--force", description = "overwrite files that already exist in the output folder")
    boolean force;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Path in = path.toAbsolutePath().normalize();
        Path dst = out.toAbsolutePath().normalize();
        if (Files.isDirectory(in) && in.equals(dst)) {
            throw new UsageException("--out must differ from the input folder");
        }
        boolean adapter = isAdapter(in);
        String target = adapter ? "adapter_model.safetensors" : "model.safetensors";
        int count;
        try (TensorSource src = TorchCheckpoint.open(in)) { // validates everything before any output exists
            List<String> names = src.names();
            Files.createDirectories(dst);
            SafetensorsWriter.write(dst.resolve(target), Map.of("format", "pt"), src, names,
                    SafetensorsWriter.Order.LIBRARY, force);
            count = names.size();
        }
        int copied = Files.isDirectory(in) ? copySideFiles(in, dst) : 0;
        PrintWriter o = spec.commandLine().getOut();
        o.println("wrote " + count + " tensors to " + dst.resolve(target) + (copied > 0 ? ", copied " + copied + " files" : ""));
        o.flush();
        return ExitCodes.OK;
    }

    private static boolean isAdapter(Path in) {
        if (Files.isDirectory(in)) {
            return !Files.exists(in.resolve(TorchCheckpoint.INDEX)) && !Files.exists(in.resolve("pytorch_model.bin"))
                    && Files.exists(in.resolve("adapter_model.bin"));
        }
        return in.getFileName().toString().startsWith("adapter_model");
    }

    /** Copies the regular files that are not part of the .bin checkpoint. */
    private int copySideFiles(Path in, Path dst) throws IOException {
        int n = 0;
        try (Stream<Path> files = Files.list(in)) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                if (!Files.isRegularFile(f) || name.endsWith(".bin") || name.equals(TorchCheckpoint.INDEX)
                        || name.startsWith(".")) {
                    continue;
                }
                Path t = dst.resolve(name);
                if (Files.exists(t) && !force) {
                    throw new FileAlreadyExistsException(t.toString(), null, "already exists (use --force)");
                }
                Files.copy(f, t, StandardCopyOption.REPLACE_EXISTING);
                n++;
            }
        }
        return n;
    }
}
