package dev.loraforge.quant.bnb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loraforge.quant.bnb.BnbFormatException.Kind;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.HalfFloat;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import dev.loraforge.testing.MapTensorSource;
import dev.loraforge.testing.SafetensorsTwin;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The bitsandbytes folders written by the numpy oracle (make_bnb_fixtures.py) read back as the oracle's
 * dequantized weights; quantizing stories260K here gives the oracle's files tensor for tensor.
 */
class BnbTensorSourceTest {

    static Map<String, SafetensorsTwin.Tensor> read(String path) throws Exception {
        return SafetensorsTwin.read(SafetensorsTwin.resource(path));
    }

    @ParameterizedTest
    @CsvSource({"stories260k-nf4-dq", "stories260k-fp4-bf16"})
    void dequantizedWeightsMatchTheOracle(String folder) throws Exception {
        var base = read("tinystories-260k/model.safetensors");
        var expected = read("bnb/" + folder + "/expected_dequant.safetensors");
        try (BnbTensorSource src = BnbTensorSource.wrap(MapTensorSource.of(read("bnb/" + folder + "/model.safetensors")))) {
            assertThat(src.names()).containsExactlyElementsOf(base.keySet()); // aux tensors hidden, order kept
            assertThat(expected).hasSize(35);
            for (String name : src.names()) {
                TensorView v = src.get(name);
                SafetensorsTwin.Tensor want = expected.containsKey(name) ? expected.get(name) : base.get(name);
                assertThat(src.isQuantized(name)).isEqualTo(expected.containsKey(name));
                assertThat(v.dtype().fileName()).as(name).isEqualTo(want.dtype());
                assertThat(v.shape().dims()).as(name).containsExactly(want.shape());
                assertThat(v.data().toArray(ValueLayout.JAVA_BYTE)).as(name).isEqualTo(want.data());
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"stories260k-nf4-dq, NF4, true, float32", "stories260k-fp4-bf16, FP4, false, bfloat16"})
    void quantizingStories260kReproducesTheOracleFiles(String folder, BnbQuantType type, boolean dq, String dtype)
            throws Exception {
        var base = read("tinystories-260k/model.safetensors");
        var oracle = read("bnb/" + folder + "/model.safetensors");
        BnbQuantizer.Options o = new BnbQuantizer.Options(type, 64, dq, Bnb4bit.Rounding.NATIVE_CPU_LUT);
        int quantized = 0;
        try (MapTensorSource src = MapTensorSource.of(base)) {
            for (String name : src.names()) {
                if (!name.endsWith("_proj.weight")) {
                    continue;
                }
                TensorView w = src.get(name);
                if (dtype.equals("bfloat16")) {
                    w = toBf16(w);
                }
                Map<String, TensorView> out = BnbQuantizer.quantize(w, o);
                for (var e : out.entrySet()) {
                    SafetensorsTwin.Tensor want = oracle.get(e.getKey());
                    assertThat(want).as(e.getKey()).isNotNull();
                    assertThat(e.getValue().dtype().fileName()).as(e.getKey()).isEqualTo(want.dtype());
                    assertThat(e.getValue().shape().dims()).as(e.getKey()).containsExactly(want.shape());
                    assertThat(e.getValue().data().toArray(ValueLayout.JAVA_BYTE)).as(e.getKey()
                            + (e.getKey().contains("quant_state") ? " " + new String(want.data(), StandardCharsets.UTF_8) : ""))
                            .isEqualTo(want.data());
                }
                quantized++;
            }
        }
        assertThat(quantized).isEqualTo(35);
    }

    private static TensorView toBf16(TensorView w) {
        float[] v = w.toFloatArray();
        MemorySegment seg = MemorySegment.ofArray(new byte[v.length * 2]);
        for (int i = 0; i < v.length; i++) {
            seg.setAtIndex(TensorView.I16_LE, i, HalfFloat.floatToBf16(v[i]));
        }
        return new TensorView(w.name(), DType.BF16, w.shape(), seg);
    }

    @Test
    void int8WeightsDequantizeWithScb() throws Exception {
        Bnb4bitTest.load(); // the int8 vectors live in Bnb4bitTest's fixture
        MapTensorSource raw = new MapTensorSource()
                .put("l.weight", DType.I8, new long[] {12, 40}, Bnb4bitTest.u8("int8.CB"))
                .put("l.SCB", Bnb4bitTest.f32("int8.SCB"), 12)
                .put("l.weight_format", DType.U8, new long[] {1}, new byte[] {0})
                .put("l.bias", new float[] {1, 2}, 2);
        try (BnbTensorSource src = BnbTensorSource.wrap(raw)) {
            assertThat(src.names()).containsExactly("l.weight", "l.bias");
            Bnb4bitTest.assertBitsEqual(src.get("l.weight").toFloatArray(), Bnb4bitTest.f32("int8.dequant"), "int8");
            assertThat(src.get("l.weight").shape()).isEqualTo(Shape.of(12, 40));
        }
    }

    private static MapTensorSource oneWeight(String json, int packedBytes, int absmaxCount) {
        byte[] blob = json.getBytes(StandardCharsets.UTF_8);
        return new MapTensorSource()
                .put("w", DType.U8, new long[] {packedBytes, 1}, new byte[packedBytes])
                .put("w.absmax", new float[absmaxCount], absmaxCount)
                .put("w.quant_map", BnbCodes.nf4(), 16)
                .put("w.quant_state.bitsandbytes__nf4", DType.U8, new long[] {blob.length}, blob);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [2, 64]}|64|2|",
        "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [2, 64]}|63|2|SIZE_MISMATCH",
        "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [2, 64]}|64|3|SIZE_MISMATCH",
        "{\"quant_type\": \"nf4\", \"blocksize\": 48, \"dtype\": \"float32\", \"shape\": [2, 64]}|64|2|UNSUPPORTED",
        "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"int8\", \"shape\": [2, 64]}|64|2|UNSUPPORTED",
        "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\"}|64|2|BAD_QUANT_STATE",
        "{\"quant_type\": \"nf5\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [2, 64]}|64|2|UNSUPPORTED",
        "not json|64|2|BAD_QUANT_STATE",
        "{\"quant_type\": \"nf4\", \"quant_type\": \"fp4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [2, 64]}|64|2|BAD_QUANT_STATE",
        "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [2, 64], \"nested_blocksize\": 256, \"nested_dtype\": \"float32\", \"nested_offset\": 0.5}|64|2|SIZE_MISMATCH"})
    void quantStateIsValidatedWhenWrapped(String json, int packed, int absmax, String kind) {
        MapTensorSource raw = oneWeight(json, packed, absmax);
        if (kind == null) {
            try (BnbTensorSource src = BnbTensorSource.wrap(raw)) {
                assertThat(src.names()).containsExactly("w");
                assertThat(src.get("w").shape()).isEqualTo(Shape.of(2, 64));
            }
            return;
        }
        assertThatThrownBy(() -> BnbTensorSource.wrap(raw)).isInstanceOf(BnbFormatException.class)
                .extracting(e -> ((BnbFormatException) e).kind()).isEqualTo(Kind.valueOf(kind));
    }

    @Test
    void missingAbsmaxIsNamed() {
        byte[] blob = "{\"quant_type\": \"fp4\", \"blocksize\": 64, \"dtype\": \"float16\", \"shape\": [64]}"
                .getBytes(StandardCharsets.UTF_8);
        TensorSource raw = new MapTensorSource().put("m.weight", DType.U8, new long[] {32, 1}, new byte[32])
                .put("m.weight.quant_state.bitsandbytes__fp4", DType.U8, new long[] {blob.length}, blob);
        assertThatThrownBy(() -> BnbTensorSource.wrap(raw)).isInstanceOf(BnbFormatException.class)
                .hasMessageContaining("m.weight.absmax");
    }

    @Test
    void roundTripErrorIsWithinHalfTheLargestCodeGap() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(42);
        float[] x = new float[64 * 40 + 10];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian() * 0.02f;
        }
        MapTensorSource src = new MapTensorSource().put("w", x, x.length);
        for (BnbQuantType t : BnbQuantType.values()) {
            for (boolean dq : new boolean[] {false, true}) {
                MapTensorSource q = new MapTensorSource();
                BnbQuantizer.quantize(src.get("w"), new BnbQuantizer.Options(t, 64, dq, Bnb4bit.Rounding.NATIVE_CPU_LUT))
                        .forEach((k, v) -> q.put(k, v.dtype(), v.shape().dims(), v.data().toArray(ValueLayout.JAVA_BYTE)));
                float[] back = BnbTensorSource.wrap(q).get("w").toFloatArray();
                for (int i = 0; i < x.length; i += 64) {
                    float am = 0;
                    for (int k = i; k < Math.min(x.length, i + 64); k++) {
                        am = Math.max(am, Math.abs(x[k]));
                    }
                    for (int k = i; k < Math.min(x.length, i + 64); k++) {
                        // largest gap: NF4 0.7229568..1.0, FP4 0.6666667..1.0; double quant adds a small absmax error
                        assertThat(Math.abs(back[k] - x[k])).as(t + " dq=" + dq + " at " + k).isLessThanOrEqualTo(am * 0.17f + 1e-4f);
                    }
                }
            }
        }
    }

    @Test
    void quantStateJsonIsWhatPythonWrites() {
        assertThat(BnbQuantState.pythonRepr(0.0123f)).isEqualTo("0.012299999594688416");
        assertThat(BnbQuantState.pythonRepr(1e-5f)).isEqualTo("9.999999747378752e-06");
        assertThat(BnbQuantState.pythonRepr(2f)).isEqualTo("2.0");
        assertThat(BnbQuantState.pythonRepr(1e20f)).isEqualTo("1.0000000200408773e+20");
        var qs = new BnbQuantState(BnbQuantType.NF4, 64, DType.BF16, new long[] {3, 4},
                java.util.Optional.of(new BnbQuantState.Nested(256, 0.5f)));
        assertThat(new String(qs.toJson(), StandardCharsets.UTF_8)).isEqualTo("{\"quant_type\": \"nf4\", \"blocksize\": 64,"
                + " \"dtype\": \"bfloat16\", \"shape\": [3, 4], \"nested_blocksize\": 256, \"nested_dtype\": \"float32\","
                + " \"nested_offset\": 0.5}");
        assertThat(BnbQuantState.parse(qs.toJson(), "x")).usingRecursiveComparison().isEqualTo(qs);
    }

    @ParameterizedTest
    @CsvSource({"stories260k-nf4-dq", "stories260k-fp4-bf16"})
    void folderOpensWithItsConfig(String folder) throws Exception {
        java.nio.file.Path dir = java.nio.file.Path.of(getClass().getResource("/fixtures/bnb/" + folder + "/config.json").toURI())
                .getParent();
        BnbConfig cfg = BnbConfig.read(dir.resolve("config.json")).orElseThrow();
        assertThat(cfg.loadIn4bit()).isTrue();
        try (BnbTensorSource src = BnbTensorSource.open(dir)) {
            assertThat(src.names()).hasSize(47);
            assertThat(src.quantState("model.layers.0.self_attn.q_proj.weight").orElseThrow().shape()).containsExactly(64, 64);
        }
    }

    @Test
    void folderWhoseConfigDisagreesIsRejected(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        java.nio.file.Path src = java.nio.file.Path.of(getClass().getResource("/fixtures/bnb/stories260k-nf4-dq/config.json")
                .toURI()).getParent();
        java.nio.file.Files.copy(src.resolve("model.safetensors"), tmp.resolve("model.safetensors"));
        String cfg = java.nio.file.Files.readString(src.resolve("config.json"))
                .replace("\"bnb_4bit_quant_type\": \"nf4\"", "\"bnb_4bit_quant_type\": \"fp4\"");
        java.nio.file.Files.writeString(tmp.resolve("config.json"), cfg);
        assertThatThrownBy(() -> BnbTensorSource.open(tmp)).isInstanceOf(BnbFormatException.class)
                .hasMessageContaining("is nf4 with double quant, but ").hasMessageContaining("config.json says fp4 with double quant");
    }

    /**
     * A float16 quant state dequantizes to float32 and then rounds to f16 (torch's {@code .to(float16)}), and
     * packed bytes kept in a bf16 tensor ({@code bnb_4bit_quant_storage=bfloat16}) are read as raw bytes.
     */
    @Test
    void float16StateAndNonUint8QuantStorage() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(7);
        float[] x = new float[2 * 64];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        Bnb4bit.Quantized4 q = Bnb4bit.quantize(x, BnbQuantType.NF4, 64);
        byte[] blob = "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float16\", \"shape\": [2, 64]}"
                .getBytes(StandardCharsets.UTF_8);
        MapTensorSource raw = new MapTensorSource()
                .put("w", DType.BF16, new long[] {q.packed().length / 2, 1}, q.packed())
                .put("w.absmax", q.absmax(), q.absmax().length)
                .put("w.quant_map", BnbCodes.nf4(), 16)
                .put("w.quant_state.bitsandbytes__nf4", DType.U8, new long[] {blob.length}, blob);
        float[] f32 = new float[x.length];
        Bnb4bit.dequantizeScalar(MemorySegment.ofArray(q.packed()), q.absmax(), BnbCodes.nf4(), 64, f32);
        try (BnbTensorSource src = BnbTensorSource.wrap(raw)) {
            TensorView w = src.get("w");
            assertThat(w.dtype()).isEqualTo(DType.F16);
            assertThat(src.dequantizeFloat32("w")).containsExactly(f32);
            for (int i = 0; i < x.length; i++) {
                assertThat(w.data().getAtIndex(TensorView.I16_LE, i)).isEqualTo(HalfFloat.floatToF16(f32[i]));
            }
        }
    }

    /** Export writes a folder that reads back through {@link BnbTensorSource#open} as the oracle's weights. */
    @Test
    void exportedModelReadsBackAsTheOracle(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        var base = read("tinystories-260k/model.safetensors");
        var oracle = read("bnb/stories260k-nf4-dq/model.safetensors");
        var expected = read("bnb/stories260k-nf4-dq/expected_dequant.safetensors");
        BnbQuantizer.Options o = BnbQuantizer.Options.nf4DoubleQuant();
        try (MapTensorSource src = MapTensorSource.of(base)) {
            BnbExport.write(dir, src, o, BnbExport.LINEAR_WEIGHTS, false);
        }
        String cfg = com.fasterxml.jackson.jr.ob.JSON.std.asString(java.util.Map.of("model_type", "llama",
                "quantization_config", BnbExport.quantizationConfig(o, "float32")));
        java.nio.file.Files.writeString(dir.resolve("config.json"), cfg);
        try (var st = dev.loraforge.format.safetensors.SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            assertThat(st.names()).containsExactlyInAnyOrderElementsOf(oracle.keySet());
            for (String n : st.names()) {
                assertThat(st.get(n).data().toArray(ValueLayout.JAVA_BYTE)).as(n).isEqualTo(oracle.get(n).data());
            }
        }
        try (BnbTensorSource src = BnbTensorSource.open(dir)) {
            assertThat(src.names()).containsExactlyInAnyOrderElementsOf(base.keySet());
            for (String n : expected.keySet()) {
                assertThat(src.get(n).data().toArray(ValueLayout.JAVA_BYTE)).as(n).isEqualTo(expected.get(n).data());
            }
        }
    }
}
