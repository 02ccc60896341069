package dev.loraforge.cli;

import dev.loraforge.convert.LoraToGguf;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "gguf-lora", description = {
        "Convert a PEFT LoRA adapter to a GGUF LoRA adapter (llama.cpp --lora), as convert_lora_to_gguf.py does,",
        "but with each module's true scale (rsLoRA, alpha_pattern) folded into lora_b so llama.cpp's alpha/rank is right.",
        "DoRA and modules_to_save adapters are refused: merge those with 'loraforge gguf MODEL --adapter DIR'."})
final class GgufLoraCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--adapter", paramLabel = "DIR", required = true, description = "PEFT adapter folder")
    Path adapter;

    @Option(names = "--base", paramLabel = "DIR|HF_NAME",
            description = "base model folder or Hugging Face name in the local cache (default: the adapter's base_model_name_or_path)")
    String base;

    @Option(names = "--out", paramLabel = "FILE.gguf", required = true, description = "output file")
    Path out;

    @Option(names = "--type", paramLabel = "f16|f32|bf16|q8_0", defaultValue = "f16",
            description = "tensor type (default: ${DEFAULT-VALUE})")
    String type;

    @Option(names = "--overwrite", description = "replace an existing output file")
    boolean overwrite;

    @Option(names = "--json", description = "print a JSON summary")
    boolean json;

    @Option(names = "--quiet", description = "no summary")
    boolean quiet;

    @Override
    public Integer call() throws IOException {
        LoraToGguf.LoraType t;
        try {
            t = LoraToGguf.LoraType.parse(type);
        } catch (RuntimeException e) {
            throw new UsageException("--type must be f16, f32, bf16 or q8_0, not '" + type + "'");
        }
        if (Files.exists(out) && !overwrite) {
            throw new FileAlreadyExistsException(out.toString(), null, "already exists (use --overwrite)");
        }
        LoraToGguf.Summary s = LoraToGguf.convert(adapter, MergeCommand.resolveBase(base, adapter), out, t, overwrite);
        PrintWriter o = spec.commandLine().getOut();
        if (json) {
            o.printf(Locale.ROOT, "{\"out\": %s, \"type\": \"%s\", \"modules\": %d, \"alpha\": %s, \"scales_folded\": %s, \"bytes\": %d}%n",
                    GgufCommand.quote(out.toString()), t.name(), s.modules(), s.alpha(), s.scalesFolded(), Files.size(out));
        } else if (!quiet) {
            o.printf(Locale.ROOT, "wrote %s: %d LoRA modules, %s, alpha %s%s%n", out, s.modules(), t.name(), s.alpha(),
                    s.scalesFolded() ? " (per-module scales folded into lora_b)" : "");
        }
        o.flush();
        return ExitCodes.OK;
    }
}
