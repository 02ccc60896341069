package dev.loraforge.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "inspect", description = "Show what a model folder, adapter folder, .safetensors or .gguf file holds.")
final class InspectCommand implements Callable<Integer> {
    @Parameters(paramLabel = "PATH", description = "model folder, PEFT adapter folder, .safetensors or .gguf file")
    Path path;

    @Option(names = "--json", description = "print one JSON document instead of text")
    boolean json;

    @Override
    public Integer call() {
        throw new UsageException("inspect is not built yet");
    }
}
