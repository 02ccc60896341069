package dev.loraforge.merge;

import dev.loraforge.io.Progress;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.format.ModelSource;
import dev.loraforge.format.safetensors.ModelFiles;
import dev.loraforge.io.PythonJson;
import dev.loraforge.quant.bnb.BnbFormatException;
import dev.loraforge.quant.bnb.BnbQuantState;
import dev.loraforge.quant.bnb.BnbQuantizer;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.HalfFloat;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import dev.loraforge.testing.FixtureFiles;
import dev.loraforge.testing.QloraBases;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Merging into bitsandbytes bases made in the test from stories260K (NF4, NF4 + double quant, FP4 from bf16,
 * int8): every output element equals the exact value of dequantized W + s·B·A (BigDecimal, from a dequantization
 * written here from bitsandbytes' formulas) rounded once; {@code forced4bit} re-opens as the base's format and
 * its reported errors equal those recomputed from the files.
 */
class QloraMergeTest {
    @TempDir
    static Path tmp;
    static Path lora;
    static double scale;

    @BeforeAll
    static void adapter() throws IOException {
        lora = FixtureFiles.adapter("tinystories-260k/lora-r4", tmp.resolve("lora-r4"));
        Map<String, Object> cfg = JSON.std.mapFrom(Files.readString(lora.resolve("adapter_config.json")));
        scale = ((Number) cfg.get("lora_alpha")).doubleValue() / ((Number) cfg.get("r")).doubleValue();
    }

    static ModelMerger.Result merge(Path base, Path out, DType dtype, double weight, boolean forced) throws IOException {
        return ModelMerger.merge(new ModelMerger.Request(base, List.of(lora), List.of(weight), out, dtype,
                ModelMerger.DEFAULT_MAX_SHARD_BYTES, false, List.of("test"), forced), Progress.NONE);
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"NF4, F32", "NF4_DQ, F32", "FP4, BF16", "NF4_DQ, F16", "INT8, F32"})
    void merged16BitEqualsExactReference(QloraBases.Kind kind, DType dtype) throws IOException {
        Path base = QloraBases.write(kind, dtype, tmp.resolve("base-" + kind + "-" + dtype));
        Path out = tmp.resolve("merged-" + kind + "-" + dtype);
        ModelMerger.Result r = merge(base, out, null, 1.0, false);
        assertThat(r.changed()).isEqualTo(35);
        try (var left = Files.list(tmp)) { // the dequantized weights spilled beside the output, and are gone
            assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".loraforge-dequant-"));
        }
        Map<String, Object> config = PythonJson.parseObject(Files.readString(out.resolve("config.json")));
        assertThat(config).doesNotContainKey("quantization_config").containsEntry("torch_dtype", "bfloat16");
        try (ModelFiles raw = ModelFiles.open(base); ModelFiles merged = ModelFiles.open(out);
             ModelFiles adapter = ModelFiles.open(lora.resolve("adapter_model.safetensors"))) {
            assertThat(merged.names()).hasSize((int) raw.names().stream().filter(n -> !n.contains(".absmax")
                    && !n.contains("quant_") && !n.contains("nested_") && !n.endsWith(".SCB")).count());
            int checked = 0;
            for (String name : merged.names()) {
                TensorView got = merged.get(name);
                assertThat(got.dtype()).as(name).isEqualTo(DType.BF16);
                double[] w = dequantize(raw, name);
                String module = "base_model.model." + name.substring(0, name.length() - ".weight".length());
                Delta delta = adapter.find(module + ".lora_A.weight").isPresent()
                        ? Delta.of(adapter, module, got.shape().dim(1)) : null;
                for (int i = 0; i < w.length; i++) {
                    final int at = i;
                    java.util.function.Supplier<BigDecimal> exact = () -> delta == null ? new BigDecimal(w[at])
                            : new BigDecimal(w[at]).add(delta.at(at));
                    short want = delta == null ? roundBf16(w[i], 0, exact) : roundBf16(w[i] + delta.approx(i),
                            1e-9 * (Math.abs(w[i]) + delta.magnitude(i)), exact);
                    short have = got.data().getAtIndex(TensorView.I16_LE, i);
                    if (want != have) {
                        throw new AssertionError(name + "[" + i + "]: " + Integer.toHexString(have & 0xFFFF)
                                + " but the exact " + exact.get().round(MathContext.DECIMAL64) + " rounds to "
                                + Integer.toHexString(want & 0xFFFF));
                    }
                    checked++;
                }
            }
            assertThat(checked).isEqualTo(260_032);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"NF4_DQ, F32", "FP4, BF16", "NF4, F16"})
    void forced4BitRoundTripsAndReportsItsError(QloraBases.Kind kind, DType dtype) throws IOException {
        Path base = QloraBases.write(kind, dtype, tmp.resolve("fbase-" + kind + "-" + dtype));
        Path out = tmp.resolve("forced-" + kind + "-" + dtype);
        ModelMerger.Result r = merge(base, out, null, 1.0, true);
        ForcedFourBit.Report rep = r.requantization().orElseThrow();
        assertThat(rep.tensors()).hasSize(35);
        Map<String, Object> config = PythonJson.parseObject(Files.readString(out.resolve("config.json")));
        assertThat(config).containsKey("quantization_config");
        double err2 = 0, merged2 = 0, kept2 = 0, delta2 = 0;
        try (ModelSource b = ModelSource.open(base); ModelSource o = ModelSource.open(out);
             ModelFiles rawBase = ModelFiles.open(base); ModelFiles rawOut = ModelFiles.open(out);
             ModelFiles adapter = ModelFiles.open(lora.resolve("adapter_model.safetensors"))) {
            assertThat(o.quantized()).isTrue();
            assertThat(o.names()).containsExactlyElementsOf(b.names());
            assertThat(o.bnb().orElseThrow().fourBitWeights()).containsExactlyElementsOf(b.bnb().orElseThrow().fourBitWeights());
            for (String name : rawBase.names()) {
                if (!name.contains("_proj.")) { // embeddings, norms: bytes unchanged
                    assertThat(bytes(rawOut.get(name))).as(name).isEqualTo(bytes(rawBase.get(name)));
                }
            }
            for (ForcedFourBit.TensorError e : rep.tensors()) {
                String name = e.name();
                BnbQuantState qs = b.bnb().orElseThrow().quantState(name).orElseThrow();
                BnbQuantState got = o.bnb().orElseThrow().quantState(name).orElseThrow();
                assertThat(got.quantType()).isEqualTo(qs.quantType());
                assertThat(got.blocksize()).isEqualTo(qs.blocksize());
                assertThat(got.dtype()).isEqualTo(dtype);
                assertThat(got.nested().isPresent()).isEqualTo(qs.nested().isPresent());
                // expected bytes: the exact merge rounded once to the quant-state dtype, quantized
                double[] w = dequantize(rawBase, name);
                String module = "base_model.model." + name.substring(0, name.length() - ".weight".length());
                long cols = qs.shape()[1];
                double[] exact = new double[w.length];
                Delta delta = Delta.of(adapter, module, cols);
                java.lang.foreign.MemorySegment rounded = java.lang.foreign.MemorySegment.ofArray(new byte[w.length * dtype.byteSize()]);
                for (int i = 0; i < w.length; i++) {
                    final int at = i;
                    java.util.function.Supplier<BigDecimal> x = () -> new BigDecimal(w[at]).add(delta.at(at));
                    exact[i] = w[i] + delta.approx(i);
                    switch (dtype) {
                        case F32 -> rounded.setAtIndex(TensorView.F32_LE, i, x.get().floatValue());
                        case BF16 -> rounded.setAtIndex(TensorView.I16_LE, i, roundBf16(exact[i],
                                1e-9 * (Math.abs(w[i]) + delta.magnitude(i)), x));
                        default -> rounded.setAtIndex(TensorView.I16_LE, i, HalfFloat.doubleToF16(x.get().doubleValue()));
                    }
                }
                Map<String, TensorView> want = BnbQuantizer.quantize(new TensorView(name, dtype,
                        new dev.loraforge.tensor.Shape(qs.shape()), rounded), QloraBases.options(kind));
                for (var t : want.entrySet()) {
                    assertThat(bytes(rawOut.get(t.getKey()))).as(t.getKey()).isEqualTo(bytes(t.getValue()));
                }
                double[] q = dequantize(rawOut, name);
                double te2 = 0, tm2 = 0, tk2 = 0, td2 = 0;
                for (int i = 0; i < w.length; i++) {
                    te2 += (q[i] - exact[i]) * (q[i] - exact[i]);
                    tm2 += exact[i] * exact[i];
                    tk2 += (q[i] - w[i]) * (q[i] - w[i]);
                    td2 += (exact[i] - w[i]) * (exact[i] - w[i]);
                }
                assertThat(e.relativeError()).as(name).isCloseTo(Math.sqrt(te2 / tm2), org.assertj.core.data.Percentage.withPercentage(1e-6));
                assertThat(e.deltaKept()).as(name).isCloseTo(Math.sqrt(tk2 / td2), org.assertj.core.data.Percentage.withPercentage(1e-6));
                err2 += te2;
                merged2 += tm2;
                kept2 += tk2;
                delta2 += td2;
            }
        }
        assertThat(rep.relativeError()).isCloseTo(Math.sqrt(err2 / merged2), org.assertj.core.data.Percentage.withPercentage(1e-6));
        assertThat(rep.deltaKept()).isCloseTo(Math.sqrt(kept2 / delta2), org.assertj.core.data.Percentage.withPercentage(1e-6));
        System.out.printf(java.util.Locale.ROOT, "forced 4-bit %s %s: relative error %.4g, delta kept %.4f, along %.4f%n",
                kind, dtype, rep.relativeError(), rep.deltaKept(), rep.deltaAlong());
    }

    @Test
    void aTinyUpdateIsReportedAsMostlyLost() throws IOException {
        Path base = QloraBases.write(QloraBases.Kind.NF4_DQ, DType.F32, tmp.resolve("tiny-base"));
        ModelMerger.Result r = merge(base, tmp.resolve("tiny-forced"), null, 1e-3, true);
        ForcedFourBit.Report rep = r.requantization().orElseThrow();
        assertThat(rep.mostlyLost()).isTrue();
        assertThat(rep.warning()).hasValueSatisfying(w -> assertThat(w).contains("mostly lost"));
        System.out.printf(java.util.Locale.ROOT, "forced 4-bit, adapter weight 1e-3: delta kept %.4f, along %.4f%n",
                rep.deltaKept(), rep.deltaAlong());
    }

    @Test
    void forced4BitRefusesAnInt8Base() {
        Path base = QloraBases.write(QloraBases.Kind.INT8, DType.F32, tmp.resolve("int8-forced-base"));
        assertThatThrownBy(() -> merge(base, tmp.resolve("int8-forced"), null, 1.0, true))
                .isInstanceOf(BnbFormatException.class).hasMessageContaining(base.toString())
                .hasMessageContaining("LLM.int8");
        assertThat(tmp.resolve("int8-forced")).doesNotExist();
    }

    @Test
    void quantDataWithoutQuantizationConfigIsRefused() throws IOException {
        Path base = QloraBases.write(QloraBases.Kind.NF4, DType.F32, tmp.resolve("undeclared"));
        Map<String, Object> config = PythonJson.parseObject(Files.readString(base.resolve("config.json")));
        config.remove("quantization_config");
        Files.writeString(base.resolve("config.json"), PythonJson.write(config, 2, false));
        assertThatThrownBy(() -> ModelSource.open(base)).isInstanceOf(BnbFormatException.class)
                .hasMessageContaining(base.toString()).hasMessageContaining("model.layers.0.")
                .hasMessageContaining("no bitsandbytes quantization_config");
    }

    @Test
    void aQuantStateDisagreeingWithTheConfigNamesFolderAndTensor() throws IOException {
        Path base = QloraBases.write(QloraBases.Kind.NF4, DType.F32, tmp.resolve("disagree"));
        String text = Files.readString(base.resolve("config.json")).replace("\"nf4\"", "\"fp4\"");
        Files.writeString(base.resolve("config.json"), text);
        assertThatThrownBy(() -> ModelSource.open(base)).isInstanceOf(BnbFormatException.class)
                .hasMessageContaining(base.toString()).hasMessageContaining("_proj.weight is nf4")
                .hasMessageContaining("config.json says fp4");
    }

    // --- an independent dequantization, from bitsandbytes' formulas ---

    /** The stored weight as float64 values: plain floats, or bitsandbytes' dequantization in the state's dtype. */
    static double[] dequantize(TensorSource raw, String name) throws IOException {
        var state = raw.names().stream().filter(n -> n.startsWith(name + ".quant_state.")).findFirst();
        TensorView w = raw.get(name);
        if (state.isEmpty() && w.dtype() != DType.I8) {
            double[] v = new double[Math.toIntExact(w.elementCount())];
            w.readDoubles(0, v, 0, v.length);
            return v;
        }
        if (w.dtype() == DType.I8) { // int8_vectorwise_dequant: (q · SCB[row]) · 1/127 in float32
            float[] scb = raw.get(name.substring(0, name.length() - 7) + ".SCB").toFloatArray();
            int cols = Math.toIntExact(w.shape().dim(1));
            double[] v = new double[Math.toIntExact(w.elementCount())];
            for (int i = 0; i < v.length; i++) {
                float p = w.data().get(ValueLayout.JAVA_BYTE, i) * scb[i / cols];
                v[i] = p * 7.874015718698502e-3f;
            }
            return v;
        }
        Map<String, Object> qs = JSON.std.mapFrom(new String(bytes(raw.get(state.get())), StandardCharsets.UTF_8));
        int block = ((Number) qs.get("blocksize")).intValue();
        List<?> shape = (List<?>) qs.get("shape");
        int n = ((Number) shape.get(0)).intValue() * ((Number) shape.get(1)).intValue();
        float[] code = raw.get(name + ".quant_map").toFloatArray();
        float[] absmax;
        TensorView am = raw.get(name + ".absmax");
        if (qs.containsKey("nested_offset")) { // absmax = nested_code[c] · nested_absmax[block] + offset
            float[] nestedCode = raw.get(name + ".nested_quant_map").toFloatArray();
            float[] nestedAbsmax = raw.get(name + ".nested_absmax").toFloatArray();
            int nb = ((Number) qs.get("nested_blocksize")).intValue();
            float offset = ((Number) qs.get("nested_offset")).floatValue();
            absmax = new float[Math.toIntExact(am.elementCount())];
            for (int i = 0; i < absmax.length; i++) {
                absmax[i] = nestedCode[am.data().get(ValueLayout.JAVA_BYTE, i) & 0xFF] * nestedAbsmax[i / nb] + offset;
            }
        } else {
            absmax = am.toFloatArray();
        }
        String dtype = (String) qs.get("dtype");
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            int b = w.data().get(ValueLayout.JAVA_BYTE, i / 2) & 0xFF;
            int nibble = i % 2 == 0 ? b >>> 4 : b & 0xF; // high nibble first
            float f = code[nibble] * absmax[i / block];
            v[i] = switch (dtype) {
                case "bfloat16" -> HalfFloat.bf16ToFloat(roundBf16(f, 0, () -> new BigDecimal(f)));
                case "float16" -> HalfFloat.f16ToFloat(HalfFloat.floatToF16(f));
                default -> f;
            };
        }
        return v;
    }

    /** s · B · A of one module, exact (BigDecimal), element by element. */
    record Delta(BigDecimal[] a, BigDecimal[] b, double[] ad, double[] bd, int r, long cols, BigDecimal s) {
        static Delta of(TensorSource adapter, String module, long cols) {
            TensorView a = adapter.get(module + ".lora_A.weight");
            TensorView b = adapter.get(module + ".lora_B.weight");
            return new Delta(big(a), big(b), doubles(a), doubles(b), Math.toIntExact(a.shape().dim(0)), cols,
                    new BigDecimal(scale));
        }

        /** The float64 value, within a few float64 ulps of {@link #magnitude}. */
        double approx(long i) {
            long row = i / cols;
            long col = i % cols;
            double sum = 0;
            for (int k = 0; k < r; k++) {
                sum += bd[(int) (row * r + k)] * ad[(int) (k * cols + col)];
            }
            return sum * scale;
        }

        /** s · Σ |B·A| terms: bounds the float64 error of {@link #approx}. */
        double magnitude(long i) {
            long row = i / cols;
            long col = i % cols;
            double sum = 0;
            for (int k = 0; k < r; k++) {
                sum += Math.abs(bd[(int) (row * r + k)] * ad[(int) (k * cols + col)]);
            }
            return sum * Math.abs(scale);
        }

        private static double[] doubles(TensorView t) {
            double[] out = new double[Math.toIntExact(t.elementCount())];
            t.readDoubles(0, out, 0, out.length);
            return out;
        }

        BigDecimal at(long i) {
            long row = i / cols;
            long col = i % cols;
            BigDecimal sum = BigDecimal.ZERO;
            for (int k = 0; k < r; k++) {
                sum = sum.add(b[(int) (row * r + k)].multiply(a[(int) (k * cols + col)]));
            }
            return sum.multiply(s);
        }

        private static BigDecimal[] big(TensorView t) {
            BigDecimal[] out = new BigDecimal[Math.toIntExact(t.elementCount())];
            for (int i = 0; i < out.length; i++) {
                out[i] = new BigDecimal(t.getDouble(i));
            }
            return out;
        }
    }

    /**
     * bf16 rounding of a value known as {@code approx} within {@code bound}: decided in float64 when approx is
     * farther than bound from every rounding boundary, else from the exact value.
     */
    static short roundBf16(double approx, double bound, java.util.function.Supplier<BigDecimal> exact) {
        int top = Float.floatToRawIntBits((float) approx) >>> 16;
        for (int c = top - 1; c <= top + 1; c++) {
            double lo = HalfFloat.bf16ToFloat((short) c);
            double hi = HalfFloat.bf16ToFloat((short) (c + 1));
            double mid = (lo + hi) / 2; // exact: 9 significant bits
            if (Math.abs(approx - mid) <= bound || Double.isNaN(mid)) {
                return roundBf16(exact.get());
            }
        }
        short best = 0;
        double bestDist = Double.POSITIVE_INFINITY;
        for (int c = top - 1; c <= top + 1; c++) {
            double d = Math.abs(HalfFloat.bf16ToFloat((short) c) - approx);
            if (d < bestDist) {
                best = (short) c;
                bestDist = d;
            }
        }
        return best;
    }

    /** Round-to-nearest-even of an exact value to bf16, choosing among neighbours by exact distance. */
    static short roundBf16(BigDecimal x) {
        float f = x.floatValue();
        int top = Float.floatToRawIntBits(f) >>> 16;
        short best = 0;
        BigDecimal bestDist = null;
        for (int c = top - 1; c <= top + 1; c++) {
            short bits = (short) c;
            float v = HalfFloat.bf16ToFloat(bits);
            if (Float.isNaN(v) || Float.isInfinite(v)) {
                continue;
            }
            BigDecimal d = new BigDecimal(v).subtract(x).abs();
            int cmp = bestDist == null ? -1 : d.compareTo(bestDist);
            if (cmp < 0 || (cmp == 0 && (bits & 1) == 0)) {
                best = bits;
                bestDist = d;
            }
        }
        return best;
    }

    static byte[] bytes(TensorView t) {
        return t.data().toArray(ValueLayout.JAVA_BYTE);
    }
}
