package dev.loraforge.bench;

import dev.loraforge.format.gguf.GgufFile;
import dev.loraforge.format.safetensors.ModelFiles;
import dev.loraforge.model.Generator;
import dev.loraforge.model.GgufLlama;
import dev.loraforge.model.LinearFactory;
import dev.loraforge.model.LlamaConfig;
import dev.loraforge.model.LlamaModel;
import dev.loraforge.model.Session;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Forward-pass throughput of the pure-Java model: batched prefill and greedy decode, in tokens/s.
 * Usage: {@code Forward MODEL_DIR_OR_GGUF [prompt_tokens=256] [decode_tokens=64] [dense|in-place]}.
 */
public final class Forward {

    public static void main(String[] args) throws IOException {
        Path path = Path.of(args[0]);
        int prompt = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        int decode = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        boolean inPlace = args.length > 3 && args[3].equals("in-place");
        long t0 = System.nanoTime();
        if (path.toString().endsWith(".gguf")) {
            try (GgufFile f = GgufFile.open(path)) {
                run(inPlace ? GgufLlama.loadInPlace(f) : GgufLlama.load(f), prompt, decode, t0);
            }
        } else {
            try (ModelFiles files = ModelFiles.open(path)) {
                LlamaConfig c = LlamaConfig.read(path);
                run(LlamaModel.load(c, files, inPlace ? LinearFactory.IN_PLACE : LinearFactory.DENSE), prompt, decode, t0);
            }
        }
    }

    private static void run(LlamaModel m, int prompt, int decode, long t0) {
        System.out.printf("load %.2f s%n", (System.nanoTime() - t0) / 1e9);
        SplittableRandom r = new SplittableRandom(1);
        int[] ids = new int[prompt];
        for (int i = 0; i < prompt; i++) {
            ids[i] = r.nextInt(m.config().vocabSize());
        }
        for (int round = 0; round < 2; round++) { // the first round warms the JIT up
            Session s = m.newSession(prompt + 1);
            long a = System.nanoTime();
            s.prefill(ids);
            double prefill = (System.nanoTime() - a) / 1e9;
            a = System.nanoTime();
            int[] out = Generator.generate(m, new int[] {ids[0]}, Generator.Options.greedy(decode), null);
            double dec = (System.nanoTime() - a) / 1e9;
            System.out.printf("%s: prefill %d tokens %.1f tokens/s; greedy decode %d tokens %.1f tokens/s%n",
                    round == 0 ? "warm-up" : "measured", prompt, prompt / prefill, out.length, out.length / dec);
        }
    }
}
