package dev.loraforge.convert;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.adapter.LoraAdapter;
import dev.loraforge.format.safetensors.ModelFiles;
import dev.loraforge.model.Generator;
import dev.loraforge.model.LlamaConfig;
import dev.loraforge.model.LlamaModel;
import dev.loraforge.model.UnmergedLora;
import dev.loraforge.testing.FixtureFiles;
import dev.loraforge.testing.LlamaCppOracle;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Our GGUF files in a REAL llama.cpp (node-llama-cpp 3.22.1, prebuilt CPU build; see {@link LlamaCppOracle}),
 * F32 KV cache and no flash attention, as the fixtures' {@code llama-debug ... -ctk f32 -ctv f32 -fa off} runs:
 * <ul>
 * <li>our Q4_K_M (byte-identical to llama-quantize's) gives the fixture's llama.cpp Q4_K_M logits;</li>
 * <li>our F32, F16, BF16 and Q8_0 files give llama-debug's logits of llama.cpp's own files;</li>
 * <li>our F32 base plus our GGUF LoRA (F32 or F16) of lora-r8 gives the fixture's {@code llama-debug --lora} logits;</li>
 * <li>our GGUF LoRA of the rsLoRA + rank/alpha-pattern adapter (PEFT scales folded into lora_b) gives PEFT's
 *     semantics, i.e. the float64 merged model's numpy logits, not llama.cpp's alpha/rank reading of it;</li>
 * </ul>
 * each within 1e-3, and the same greedy continuation as the pure-Java forward pass of the same weights
 * (for Q4_K_M: as llama.cpp on llama-quantize's own file, recorded in a fixture).
 */
class LlamaCppOracleIT {
    static final int[] PROMPT = {1, 403, 407, 261, 378};
    static final int GREEDY = 16;
    static final double TOLERANCE = 1e-3;
    static final String DIR = "tiny-llama-v512/";

    @TempDir
    static Path tmp;
    static Path model;
    static LlamaConfig config;

    @BeforeAll
    static void setUp() throws IOException {
        LlamaCppOracle.ensureInstalled(); // fails loudly without node/npm
        model = FixtureFiles.tinyLlama(tmp.resolve("tiny-llama-v512"));
        config = LlamaConfig.read(model);
    }

    @Test
    void ourQ4KmGivesLlamaCppsQ4KmLogits() throws Exception {
        Path gguf = tmp.resolve("tiny-llama-v512-q4_k_m.gguf");
        HfToGguf.convert(model, gguf, OutputType.Q4_K_M, false);
        GgufListing listing = GgufListing.read(DIR + "gguf/tiny-llama-v512-q4_k_m.gguf.json");
        assertThat(listing.diff(gguf, Set.of())).isEmpty();
        assertThat(GgufListing.sha256(gguf)).isEqualTo(listing.fileSha256()); // same bytes as llama-quantize's file

        LlamaCppOracle.Result r = LlamaCppOracle.run(gguf, null, 1, PROMPT, GREEDY, tmp);
        float[] fixture = f32(DIR + "llamacpp-logits/exact/llamacpp-tiny-llama-v512-q4_k_m.bin");
        double d = maxAbs(r.logits(), fixture);
        Map<String, Object> recorded = json(DIR + "llamacpp-greedy/tiny-llama-v512-q4_k_m.json");
        int[] expected = ((List<?>) recorded.get("generated")).stream().mapToInt(o -> ((Number) o).intValue()).toArray();
        System.out.printf("Q4_K_M in llama.cpp %s: max |d| vs llama-debug logits %.3g; greedy %s (recorded %s;"
                        + " pure-Java forward of the unquantized BF16 model %s)%n", r.json().get("llamaCpp"), d,
                Arrays.toString(r.generated()), Arrays.toString(expected), Arrays.toString(javaGreedy(null)));
        assertThat(d).isLessThan(TOLERANCE);
        assertThat(r.generated()[0]).isEqualTo(argmax(fixture));
        assertThat(r.generated()).containsExactly(expected);
    }

    /** The other file types llama-debug has exact logits for: the same numbers from our (byte-identical) files. */
    @ParameterizedTest
    @ValueSource(strings = {"f32", "f16", "bf16", "q8_0"})
    void ourOtherTypesGiveLlamaCppsLogits(String type) throws Exception {
        Path gguf = type.equals("f32") ? f32Base() : tmp.resolve("tiny-llama-v512-" + type + ".gguf");
        if (!type.equals("f32")) {
            HfToGguf.convert(model, gguf, OutputType.parse(type).orElseThrow(), false);
        }
        LlamaCppOracle.Result r = LlamaCppOracle.run(gguf, null, 1, PROMPT, 1, tmp);
        float[] fixture = f32(DIR + "llamacpp-logits/exact/llamacpp-tiny-llama-v512-" + type + ".bin");
        double d = maxAbs(r.logits(), fixture);
        System.out.printf("%s in llama.cpp: max |d| vs llama-debug logits %.3g%n", type, d);
        assertThat(d).isLessThan(TOLERANCE);
        assertThat(r.generated()[0]).isEqualTo(argmax(fixture));
    }

    @ParameterizedTest
    @ValueSource(strings = {"f32", "f16"})
    void ourLoraR8GivesLlamaDebugRuntimeLoraLogits(String type) throws Exception {
        Path base = f32Base();
        Path adapter = FixtureFiles.adapter("lora-r8", tmp.resolve("lora-r8-" + type));
        Path lora = tmp.resolve("lora-r8-" + type + ".gguf");
        LoraToGguf.convert(adapter, model, lora, LoraToGguf.LoraType.parse(type), false);

        LlamaCppOracle.Result r = LlamaCppOracle.run(base, lora, 1, PROMPT, GREEDY, tmp);
        double vsLlamaDebug = maxAbs(r.logits(), f32(DIR + "llamacpp-logits/runtime-lora-r8/exact/llamacpp-tiny-llama-v512-f32.bin"));
        double vsFloat64 = maxAbs(r.logits(), numpy("tiny-llama-v512-lora-r8-merged-f32.json"));
        int[] java = javaGreedy(adapter);
        System.out.printf("lora-r8 %s GGUF LoRA in llama.cpp: max |d| vs llama-debug --lora (F32 adapter) %.3g, vs float64"
                + " merge %.3g; greedy %s, pure-Java forward %s%n", type, vsLlamaDebug, vsFloat64, Arrays.toString(r.generated()), Arrays.toString(java));
        assertThat(vsLlamaDebug).isLessThan(TOLERANCE);
        assertThat(vsFloat64).isLessThan(TOLERANCE);
        assertThat(r.generated()).containsExactly(java);
    }

    @Test
    void ourRsloraPatternsLoraHasPeftSemanticsInLlamaCpp() throws Exception {
        Path base = f32Base();
        Path adapter = FixtureFiles.adapter("lora-rslora-patterns", tmp.resolve("lora-rslora-patterns"));
        Path lora = tmp.resolve("lora-rslora-patterns-f32.gguf");
        LoraToGguf.Summary s = LoraToGguf.convert(adapter, model, lora, LoraToGguf.LoraType.F32, false);
        assertThat(s.scalesFolded()).isTrue();

        LlamaCppOracle.Result r = LlamaCppOracle.run(base, lora, 1, PROMPT, GREEDY, tmp);
        double vsFloat64 = maxAbs(r.logits(), numpy("tiny-llama-v512-lora-rslora-patterns-merged-f32.json"));
        // llama.cpp's own converter output read with alpha/rank: what PEFT users would NOT get
        double vsConvertLora = maxAbs(r.logits(), f32(DIR
                + "llamacpp-logits/runtime-lora-rslora-patterns/exact/llamacpp-tiny-llama-v512-f32.bin"));
        int[] java = javaGreedy(adapter);
        System.out.printf("lora-rslora-patterns GGUF LoRA in llama.cpp: max |d| vs float64 PEFT merge %.3g"
                        + " (convert_lora_to_gguf.py's file is %.3g off); greedy %s, pure-Java forward %s%n",
                vsFloat64, vsConvertLora, Arrays.toString(r.generated()), Arrays.toString(java));
        assertThat(vsFloat64).isLessThan(TOLERANCE);
        assertThat(vsConvertLora).isGreaterThan(0.5);
        assertThat(r.generated()).containsExactly(java);
    }

    @Test
    void rsloraMergedAtConversionMatchesPeftInLlamaCpp() throws Exception {
        Path adapter = FixtureFiles.adapter("lora-rslora-patterns", tmp.resolve("merge-rslora"));
        Path gguf = tmp.resolve("tiny-llama-v512-rslora-merged-f32.gguf");
        HfToGguf.convert(model, List.of(new HfToGguf.AdapterSpec(adapter, 1.0)), gguf, OutputType.F32, false);

        LlamaCppOracle.Result r = LlamaCppOracle.run(gguf, null, 1, PROMPT, GREEDY, tmp);
        // the merge rounds once to the base's dtype (BF16), then F32 holds those values exactly
        double vsFloat64 = maxAbs(r.logits(), numpy("tiny-llama-v512-lora-rslora-patterns-merged-bf16.json"));
        int[] java = javaGreedy(adapter);
        System.out.printf("gguf --adapter lora-rslora-patterns (merged to BF16, written F32) in llama.cpp: max |d| vs"
                + " float64 forward of the BF16 reference merge %.3g; greedy %s, pure-Java forward %s%n",
                vsFloat64, Arrays.toString(r.generated()), Arrays.toString(java));
        assertThat(vsFloat64).isLessThan(TOLERANCE);
        assertThat(r.generated()).containsExactly(java);
    }

    private static Path f32BaseFile;

    /** Our F32 GGUF of the base (byte-identical to convert_hf_to_gguf.py's: checked in TinyLlamaConversionTest). */
    static synchronized Path f32Base() throws IOException {
        if (f32BaseFile == null) {
            Path out = tmp.resolve("tiny-llama-v512-f32.gguf");
            HfToGguf.convert(model, out, OutputType.F32, false);
            f32BaseFile = out;
        }
        return f32BaseFile;
    }

    /** Greedy ids of the pure-Java forward pass, the adapter applied unmerged (PEFT's scaling). */
    static int[] javaGreedy(Path adapter) throws IOException {
        try (ModelFiles files = ModelFiles.open(model);
             LoraAdapter lora = adapter == null ? null : LoraAdapter.open(adapter)) {
            LlamaModel m = lora == null ? LlamaModel.load(config, files) : UnmergedLora.load(config, files, lora);
            return Generator.generate(m, PROMPT, new Generator.Options(GREEDY, 0, 1, 0, false), t -> true);
        }
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    static double maxAbs(float[] got, float[] ref) {
        double[] d = new double[ref.length];
        for (int i = 0; i < ref.length; i++) {
            d[i] = ref[i];
        }
        return maxAbs(got, d);
    }

    static double maxAbs(float[] got, double[] ref) {
        assertThat(got).hasSize(ref.length);
        double worst = 0;
        for (int i = 0; i < ref.length; i++) {
            worst = Math.max(worst, Math.abs(got[i] - ref[i]));
        }
        return worst;
    }

    static byte[] resource(String rel) throws IOException {
        try (InputStream in = LlamaCppOracleIT.class.getResourceAsStream("/fixtures/" + rel)) {
            if (in == null) {
                throw new IllegalStateException("missing test fixture " + rel);
            }
            return in.readAllBytes();
        }
    }

    static float[] f32(String rel) throws IOException {
        return MemorySegment.ofArray(resource(rel)).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
    }

    static Map<String, Object> json(String rel) throws IOException {
        return JSON.std.mapFrom(resource(rel));
    }

    static double[] numpy(String name) throws IOException {
        return ((List<?>) json(DIR + "numpy-logits/" + name).get("last_logits")).stream()
                .mapToDouble(o -> ((Number) o).doubleValue()).toArray();
    }
}
