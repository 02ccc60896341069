package dev.loraforge.cli;

import dev.loraforge.convert.HfToGguf;
import dev.loraforge.convert.OllamaModelfile;
import dev.loraforge.convert.OutputType;
import dev.loraforge.io.AtomicFile;
import dev.loraforge.quant.LlamaFileType;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "gguf", description = {
        "Convert a Hugging Face model folder (optionally with LoRA adapters merged exactly) to GGUF.",
        "F32/F16/BF16 as llama.cpp's convert_hf_to_gguf.py writes them; quantized types as llama-quantize writes them",
        "from that file, without an intermediate file."})
final class GgufCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "MODEL", description = "Hugging Face model folder (config.json, safetensors, tokenizer)")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT adapter folder to merge first (repeatable)")
    List<Path> adapters = new ArrayList<>();

    @Option(names = "--weight", paramLabel = "W", description = "weight of each adapter, in order (default 1)")
    List<Double> weights = new ArrayList<>();

    @Option(names = "--type", paramLabel = "T", required = true,
            description = "f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k")
    String type;

    @Option(names = "--out", paramLabel = "FILE.gguf", required = true, description = "output file")
    Path out;

    @Option(names = "--overwrite", description = "replace an existing output file (and Modelfile)")
    boolean overwrite;

    @Option(names = "--json", description = "print a JSON summary")
    boolean json;

    @Option(names = "--quiet", description = "no progress bar and no summary")
    boolean quiet;

    @Option(names = "--modelfile", description = "also write an Ollama Modelfile next to the output")
    boolean modelfile;

    @Override
    public Integer call() throws IOException {
        if (!weights.isEmpty() && weights.size() != adapters.size()) {
            throw new UsageException(weights.size() + " --weight values for " + adapters.size()
                    + " --adapter folders; give one weight per adapter or none");
        }
        OutputType t = parseType(type);
        Path modelfilePath = out.toAbsolutePath().resolveSibling("Modelfile");
        if (modelfile && Files.exists(modelfilePath) && !overwrite) {
            throw new FileAlreadyExistsException(modelfilePath.toString(), null, "already exists (use --overwrite)");
        }
        if (Files.exists(out) && !overwrite) {
            throw new FileAlreadyExistsException(out.toString(), null, "already exists (use --overwrite)");
        }
        List<HfToGguf.AdapterSpec> specs = new ArrayList<>();
        for (int i = 0; i < adapters.size(); i++) {
            specs.add(new HfToGguf.AdapterSpec(adapters.get(i), weights.isEmpty() ? 1.0 : weights.get(i)));
        }
        PrintWriter err = spec.commandLine().getErr();
        ProgressBar bar = new ProgressBar(err, !quiet && !json && System.console() != null);
        long start = System.nanoTime();
        HfToGguf.Summary s = HfToGguf.convert(model, specs, out, t, overwrite, bar);
        bar.finish();
        double secs = (System.nanoTime() - start) / 1e9;
        if (modelfile) {
            String text = OllamaModelfile.build(model, out, adapters);
            try (AtomicFile f = AtomicFile.create(modelfilePath, overwrite)) {
                f.channel().write(java.nio.ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
                f.commit();
            }
        }
        PrintWriter o = spec.commandLine().getOut();
        if (json) {
            o.printf(Locale.ROOT, "{\"out\": %s, \"type\": \"%s\", \"file_type\": %d, \"tensors\": %d, \"bytes\": %d, "
                            + "\"adapters\": %d, \"modelfile\": %s, \"seconds\": %.3f}%n",
                    quote(out.toString()), t.name(), t.fileType(), s.tensors(), Files.size(out), adapters.size(),
                    modelfile ? quote(modelfilePath.toString()) : "null", secs);
        } else if (!quiet) {
            s.notes().forEach(n -> err.println("loraforge: note: " + n));
            err.flush();
            o.printf(Locale.ROOT, "wrote %s: %s, %d tensors, %.1f MB in %.1f s%s%n", out, t.name(), s.tensors(),
                    Files.size(out) / 1e6, secs, modelfile ? " (+ " + modelfilePath.getFileName() + ")" : "");
        }
        o.flush();
        return ExitCodes.OK;
    }

    /** The converter's names and llama-quantize's (including its aliases), case-insensitive. */
    static OutputType parseType(String s) {
        return OutputType.parse(s).or(() -> {
            try {
                return OutputType.parse(LlamaFileType.parse(s).name().replaceFirst("^(MOSTLY|ALL)_", ""));
            } catch (RuntimeException e) {
                return java.util.Optional.empty();
            }
        }).orElseThrow(() -> new UsageException("--type '" + s + "' is not one of f32, f16, bf16, q8_0, q4_0, q4_1, "
                + "q5_0, q5_1, q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k"));
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
