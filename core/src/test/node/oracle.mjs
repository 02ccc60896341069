// Runs a real llama.cpp (node-llama-cpp's prebuilt CPU binaries) on a GGUF file for loraforge's tests.
//
//   node oracle.mjs --model F.gguf --tokens 1,403,407 [--lora A.gguf [--lora-scale 1]] [--generate N]
//                   [--logits-out F.bin] [--threads 1] [--exact | --default-kv] [--bench N]
//
// Evaluates the prompt ids in one batch, writes the last token's raw logits (float32 LE x n_vocab) to
// --logits-out, then greedy-generates N ids (argmax of the raw logits, lowest id on ties).
// Prints ONE JSON line on stdout; llama.cpp's own log goes to stderr.
// --exact (the default) = llama-debug's "-ctk f32 -ctv f32 -fa off": F32 KV cache, no flash attention.
// --bench N: time N greedy tokens through node-llama-cpp's ordinary evaluate() path (no logits copy).
import {writeFileSync} from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

function parseArgs(argv) {
    const args = {loraScale: 1, generate: 0, threads: 1, exact: true, bench: 0, contextSize: 256};
    for (let i = 0; i < argv.length; i++) {
        const key = argv[i];
        const value = () => {
            if (i + 1 >= argv.length) throw new Error(`missing value after ${key}`);
            return argv[++i];
        };
        switch (key) {
            case "--model": args.model = value(); break;
            case "--lora": args.lora = value(); break;
            case "--lora-scale": args.loraScale = Number(value()); break;
            case "--tokens": args.tokens = value().split(",").map((s) => Number.parseInt(s, 10)); break;
            case "--generate": args.generate = Number.parseInt(value(), 10); break;
            case "--logits-out": args.logitsOut = value(); break;
            case "--threads": args.threads = Number.parseInt(value(), 10); break;
            case "--context": args.contextSize = Number.parseInt(value(), 10); break;
            case "--exact": args.exact = true; break;
            case "--default-kv": args.exact = false; break;
            case "--bench": args.bench = Number.parseInt(value(), 10); break;
            default: throw new Error(`unknown argument ${key}`);
        }
    }
    if (!args.model) throw new Error("--model is required");
    if (!args.tokens || args.tokens.length === 0 || args.tokens.some((t) => !Number.isInteger(t) || t < 0))
        throw new Error("--tokens needs a comma-separated list of token ids");
    return args;
}

function argmax(logits) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
}

// node-llama-cpp hands logits over as a Map sorted by value; put them back in id order.
function logitsToArray(map, nVocab) {
    const out = new Float32Array(nVocab).fill(Number.NaN);
    for (const [token, logit] of map) out[token] = logit;
    for (let i = 0; i < nVocab; i++)
        if (Number.isNaN(out[i])) throw new Error(`llama.cpp returned no logit for token ${i}`);
    return out;
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    // build "never" + skipDownload: use only the prebuilt binary from @node-llama-cpp/linux-x64, never
    // fetch or compile llama.cpp at run time (CI has no network beyond the registries).
    const llama = await getLlama({
        gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true,
        progressLogs: false, logLevel: LlamaLogLevel.error, maxThreads: args.threads,
    });
    const model = await llama.loadModel({modelPath: args.model, gpuLayers: 0, useMmap: true});
    const contextOptions = {
        contextSize: args.contextSize, batchSize: args.contextSize, sequences: 1,
        threads: {ideal: args.threads, min: args.threads},
        flashAttention: args.exact ? false : "auto",
    };
    if (args.exact) {
        contextOptions.experimentalKvCacheKeyType = "F32";
        contextOptions.experimentalKvCacheValueType = "F32";
    }
    if (args.lora) contextOptions.lora = {adapters: [{filePath: args.lora, scale: args.loraScale}]};
    const context = await model.createContext(contextOptions);
    const sequence = context.getSequence();
    // n_vocab from the GGUF's token list; logits must cover every id
    const vocabSize = Number(model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0);

    const result = {
        llamaCpp: {bindings: "node-llama-cpp", release: llama.llamaCppRelease?.release ?? null,
            build: llama.buildType ?? null, gpu: llama.gpu},
        settings: {threads: args.threads, contextSize: context.contextSize,
            flashAttention: context.flashAttention, kvCache: args.exact ? "F32" : "default",
            lora: args.lora ?? null, loraScale: args.lora ? args.loraScale : null},
        prompt: args.tokens,
    };

    if (args.bench > 0) {
        // Prompt evaluation, then N greedy tokens through the ordinary generation path.
        const t0 = process.hrtime.bigint();
        let first = null;
        let n = 0;
        const generated = [];
        for await (const token of sequence.evaluate(args.tokens, {temperature: 0})) {
            if (first === null) first = process.hrtime.bigint();
            generated.push(token);
            if (++n >= args.bench) break;
        }
        const t1 = process.hrtime.bigint();
        const genSeconds = Number(t1 - first) / 1e9;
        result.bench = {promptTokens: args.tokens.length, generated: generated.length,
            promptAndFirstSeconds: Number(first - t0) / 1e9, generateSeconds: genSeconds,
            // decode only (after the first generated token), and prompt + generated over the whole run
            tokensPerSecond: (generated.length - 1) / genSeconds,
            allTokensPerSecond: (args.tokens.length + generated.length) / (Number(t1 - t0) / 1e9)};
        result.generated = generated;
    } else {
        const input = args.tokens.map((t, i) => i === args.tokens.length - 1
            ? [t, {generateNext: {logits: true}}] : t);
        const out = await sequence.controlledEvaluate(input);
        const last = out[args.tokens.length - 1];
        if (!last?.next?.logits) throw new Error("llama.cpp returned no logits for the last prompt token");
        const n = vocabSize > 0 ? vocabSize : last.next.logits.size;
        const logits = logitsToArray(last.next.logits, n);
        if (args.logitsOut) writeFileSync(args.logitsOut, Buffer.from(logits.buffer));
        result.nVocab = n;
        result.argmax = argmax(logits);
        const generated = [];
        let next = result.argmax;
        for (let i = 0; i < args.generate; i++) {
            generated.push(next);
            if (i + 1 === args.generate) break;
            const step = await sequence.controlledEvaluate([[next, {generateNext: {logits: true}}]]);
            next = argmax(logitsToArray(step[0].next.logits, n));
        }
        result.generated = generated;
    }
    process.stdout.write(JSON.stringify(result) + "\n");
    // Dispose explicitly so the native threads end and the process exits by itself.
    await context.dispose();
    await model.dispose();
    await llama.dispose();
}

main().catch((error) => {
    process.stderr.write(`oracle: ${error?.stack ?? error}\n`);
    process.exit(1);
});
