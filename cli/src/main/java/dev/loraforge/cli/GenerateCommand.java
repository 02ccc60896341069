package dev.loraforge.cli;

import dev.loraforge.adapter.LoraAdapter;
import dev.loraforge.format.gguf.GgufFile;
import dev.loraforge.format.gguf.GgufValue;
import dev.loraforge.format.gguf.GgufValueType;
import dev.loraforge.format.ModelSource;
import dev.loraforge.model.GgufLlama;
import dev.loraforge.model.Generator;
import dev.loraforge.model.LlamaConfig;
import dev.loraforge.model.LinearFactory;
import dev.loraforge.model.LlamaModel;
import dev.loraforge.model.UnmergedLora;
import dev.loraforge.tokenizer.Tokenizer;
import dev.loraforge.tokenizer.Tokenizers;
import dev.loraforge.tensor.TensorSource;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "generate", description = "Continue a prompt with a model folder (pure-Java forward pass); "
        + "greedy by default. A PEFT adapter can be applied unmerged.")
final class GenerateCommand implements Callable<Integer> {

    @Parameters(paramLabel = "MODEL", description = "Hugging Face model folder (config.json, *.safetensors, tokenizer) or a llama.cpp .gguf file")
    Path model;

    @Option(names = {"-p", "--prompt"}, description = "prompt text (BOS added as the tokenizer config says)")
    String prompt = "";

    @Option(names = "--ids", split = ",", paramLabel = "ID", description = "prompt as token ids instead of text")
    int[] ids;

    @Option(names = {"-n", "--max-tokens"}, description = "new tokens at most (default ${DEFAULT-VALUE})")
    int maxTokens = 128;

    @Option(names = "--temperature", description = "0 = greedy (default ${DEFAULT-VALUE})")
    double temperature = 0;

    @Option(names = "--top-p", description = "nucleus mass for sampling (default ${DEFAULT-VALUE})")
    double topP = 1;

    @Option(names = "--seed", description = "sampling seed (default ${DEFAULT-VALUE})")
    long seed = 0;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT adapter folder, applied without merging")
    Path adapter;

    @Option(names = "--ignore-eos", description = "keep going after an end-of-sequence token")
    boolean ignoreEos;

    @Option(names = "--no-warmup", description = "skip the warm-up at load: a throwaway pass over three tokens "
            + "(as llama.cpp's warm-up run), so the JIT compiles the forward pass before the first real token")
    boolean noWarmup;

    @Option(names = "--print-ids", description = "print the generated token ids instead of text")
    boolean printIds;

    @Option(names = "--in-place", description = "read weights from the file at every use instead of copying them "
            + "as floats (less memory, slower except Q8_0, which a GGUF always keeps in place; chosen "
            + "automatically when the copies would not fit the heap)")
    boolean inPlace;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (maxTokens < 0) {
            throw new UsageException("--max-tokens must be >= 0, got " + maxTokens);
        }
        if (!(temperature >= 0) || !(topP > 0 && topP <= 1)) {
            throw new UsageException("--temperature must be >= 0 and --top-p in (0, 1]");
        }
        if (ids != null && !prompt.isEmpty()) {
            throw new UsageException("give either --prompt or --ids, not both");
        }
        if (Files.isRegularFile(model) && model.getFileName().toString().endsWith(".gguf")) {
            try (GgufFile gguf = GgufFile.open(model);
                 LoraAdapter lora = adapter == null ? null : LoraAdapter.open(adapter)) {
                LlamaConfig config = GgufLlama.config(gguf);
                TensorSource weights = GgufLlama.tensors(gguf, config);
                LinearFactory f = inPlace(config) ? GgufLlama.inPlace(gguf, config) : GgufLlama.fastest(gguf, config);
                LlamaModel m = lora == null ? LlamaModel.load(config, weights, f) : UnmergedLora.load(config, weights, lora, f);
                Tokenizer tok = printIds && ids != null ? null : Tokenizers.fromGgufMetadata(key -> plain(gguf, key));
                return generate(m, tok);
            }
        }
        LlamaConfig config = LlamaConfig.read(model);
        try (ModelSource files = ModelSource.open(model);
             LoraAdapter lora = adapter == null ? null : LoraAdapter.open(adapter)) {
            LinearFactory f = inPlace(config) ? LinearFactory.IN_PLACE : LinearFactory.DENSE;
            LlamaModel m = lora == null ? LlamaModel.load(config, files, f) : UnmergedLora.load(config, files, lora, f);
            Tokenizer tok = printIds && ids != null ? null : Tokenizers.load(model);
            return generate(m, tok);
        }
    }

    /** Float copies of every projection unless they would take more than half the heap, or --in-place. */
    private boolean inPlace(LlamaConfig c) {
        long perLayer = 2L * c.qDim() * c.hiddenSize() + 2L * c.kvDim() * c.hiddenSize()
                + 3L * c.intermediateSize() * c.hiddenSize();
        long floats = perLayer * c.numHiddenLayers() + (long) c.vocabSize() * c.hiddenSize();
        return inPlace || 4 * floats > Runtime.getRuntime().maxMemory() / 2;
    }

    private int generate(LlamaModel m, Tokenizer tok) {
        LlamaConfig config = m.config();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        int[] input = ids != null ? ids : tok.encode(prompt, true);
        if (input.length == 0) {
            if (config.bosTokenId() < 0) {
                throw new UsageException("empty prompt and the model has no BOS token; give --prompt or --ids");
            }
            input = new int[] {config.bosTokenId()};
        }
        var options = new Generator.Options(maxTokens, temperature, topP, seed, !ignoreEos);
        if (!noWarmup && maxTokens > 0) {
            // part of loading: a batched prefill and two decode steps, so no real token waits for the JIT
            int t = input[0];
            Generator.generate(m, new int[] {t, t, t}, new Generator.Options(2, 0, 1, 0, false), null);
        }
        TextStream stream = printIds ? null : new TextStream(tok, input, out);
        long t0 = System.nanoTime();
        long[] firstAt = {0};
        int[] generated = Generator.generate(m, input, options, token -> {
            if (firstAt[0] == 0) {
                firstAt[0] = System.nanoTime();
            }
            if (stream != null) {
                stream.add(token);
            }
            return true;
        });
        long end = System.nanoTime();
        double seconds = (end - t0) / 1e9;
        if (printIds) {
            StringBuilder sb = new StringBuilder();
            for (int t : generated) {
                sb.append(sb.isEmpty() ? "" : " ").append(t);
            }
            out.println(sb);
        } else {
            stream.finish();
        }
        out.flush();
        err.printf("%d prompt + %d generated tokens in %.2f s (%.2f tokens/s", input.length, generated.length,
                seconds, (input.length + generated.length) / seconds);
        if (generated.length > 1) { // llama.cpp's decode rate: the tokens after the first, over their time
            err.printf("; %.2f tokens/s after the first", (generated.length - 1) / ((end - firstAt[0]) / 1e9));
        }
        err.printf(")%n");
        err.flush();
        return ExitCodes.OK;
    }

    /** A GGUF metadata value as the tokenizer wants it: String, Long, Double, Boolean or List; null if absent. */
    private static Object plain(GgufFile f, String key) {
        return f.find(key).map(GenerateCommand::plain).orElse(null);
    }

    private static Object plain(GgufValue v) {
        return switch (v) {
            case GgufValue.Str s -> s.value();
            case GgufValue.Scalar s when s.type() == GgufValueType.BOOL -> s.asBool();
            case GgufValue.Scalar s when s.type().isInteger() -> s.asLong();
            case GgufValue.Scalar s -> s.asDouble();
            case GgufValue.Array a -> a.items().stream().map(GenerateCommand::plain).toList();
        };
    }

    /**
     * Prints text as tokens arrive: decodes the whole sequence (minus special tokens) and prints what is new,
     * holding back a trailing U+FFFD until the rest of a multi-byte character arrives.
     */
    private static final class TextStream {
        private final Tokenizer tok;
        private final List<Integer> ids = new ArrayList<>();
        private final PrintWriter out;
        private int printed;

        TextStream(Tokenizer tok, int[] prompt, PrintWriter out) {
            this.tok = tok;
            this.out = out;
            for (int t : prompt) {
                ids.add(t);
            }
            emit(false);
        }

        void add(int token) {
            ids.add(token);
            emit(false);
        }

        void finish() {
            emit(true);
            out.println();
        }

        private void emit(boolean last) {
            String text = tok.decode(ids.stream().filter(t -> !tok.isSpecial(t)).mapToInt(Integer::intValue).toArray());
            int end = text.length();
            while (!last && end > printed && text.charAt(end - 1) == '\uFFFD') {
                end--;
            }
            if (end > printed) {
                out.print(text.substring(printed, end));
                out.flush();
                printed = end;
            }
        }
    }
}
