package dev.loraforge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.convert.HfToGguf;
import dev.loraforge.convert.OutputType;
import dev.loraforge.testing.FixtureFiles;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

class VerifyCommandTest {

    @TempDir
    Path tmp;

    private static GenerateCommandTest.Run run(String... args) {
        return GenerateCommandTest.run(args);
    }

    private static Map<String, Object> json(GenerateCommandTest.Run r) throws Exception {
        return JSON.std.mapFrom(r.out());
    }

    private static double num(Map<String, Object> m, String key) {
        return ((Number) m.get(key)).doubleValue();
    }

    @Test
    void storiesMergeIsEquivalentToTheUnmergedAdapterAndTheHtmlReportIsWellFormed() throws Exception {
        Path base = FixtureFiles.stories(tmp.resolve("stories"));
        Path lora = FixtureFiles.adapter("tinystories-260k/lora-r4", tmp.resolve("lora-r4"));
        Path merged = tmp.resolve("merged");
        GenerateCommandTest.Run m = run("merge", "--base", base.toString(), "--adapter", lora.toString(), "--out", merged.toString(), "--quiet");
        assertThat(m.code()).as(m.err()).isZero();
        Path html = tmp.resolve("report.html");
        GenerateCommandTest.Run r = run("verify", "--reference", base.toString(), "--adapter", lora.toString(),
                "--candidate", merged.toString(), "--json", "--html", html.toString());
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(ExitCodes.OK);
        Map<String, Object> j = json(r);
        assertThat(j.get("kind")).isEqualTo("exact");
        assertThat(num(j, "kl_mean")).isLessThanOrEqualTo(1e-6);
        assertThat(num(j, "kl_max")).isLessThanOrEqualTo(1e-5);
        assertThat(num(j, "top1")).isEqualTo(1.0);
        assertThat(num(j, "ppl_candidate") / num(j, "ppl_reference")).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-6));
        @SuppressWarnings("unchecked")
        Map<String, Object> tensors = (Map<String, Object>) j.get("tensors");
        // the in-memory merge of the reference side equals the merged file bit for bit
        assertThat((List<?>) tensors.get("differing")).isEmpty();
        assertThat((List<?>) tensors.get("missing")).isEmpty();

        String page = Files.readString(html);
        assertThat(page).startsWith("<!DOCTYPE html>").contains("verdict: EQUIVALENT").doesNotContain("<script")
                .contains(String.format(java.util.Locale.ROOT, "%.4g", num(j, "kl_mean")))
                .contains(String.format(java.util.Locale.ROOT, "%.4g", num(j, "ppl_reference")));
        Matcher svg = Pattern.compile("<svg .*?</svg>", Pattern.DOTALL).matcher(page);
        int plots = 0;
        while (svg.find()) {
            Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                    .parse(new ByteArrayInputStream(svg.group().getBytes(StandardCharsets.UTF_8)));
            assertThat(d.getDocumentElement().getTagName()).isEqualTo("svg");
            plots++;
        }
        assertThat(plots).isEqualTo(2);
        assertThat(page).contains("<path d=\"M").contains("<rect ");
        // an existing report is not replaced without --overwrite
        assertThat(run("verify", "--reference", base.toString(), "--candidate", merged.toString(), "--html", html.toString()).code())
                .isEqualTo(ExitCodes.USAGE);
    }

    @Test
    void theFloat64ReferenceMergeIsEquivalentToo() {
        Path base = FixtureFiles.stories(tmp.resolve("stories"));
        Path lora = FixtureFiles.adapter("tinystories-260k/lora-r4", tmp.resolve("lora-r4"));
        Path merged = FixtureFiles.stories(tmp.resolve("numpy-merged"));
        try {
            Files.delete(merged.resolve("model.safetensors"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        FixtureFiles.copy("tinystories-260k/lora-r4-merged/model.safetensors", merged.resolve("model.safetensors"));
        GenerateCommandTest.Run r = run("verify", "--reference", base.toString(), "--adapter", lora.toString(),
                "--candidate", merged.toString());
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(ExitCodes.OK);
        assertThat(r.out()).contains("verdict: EQUIVALENT (exact thresholds").contains("0 differ");
    }

    @Test
    void aWrongScaleIsNotEquivalentAndSaysWhy() throws Exception {
        Path base = FixtureFiles.stories(tmp.resolve("stories"));
        Path lora = FixtureFiles.adapter("tinystories-260k/lora-r4", tmp.resolve("lora-r4"));
        Path merged = tmp.resolve("merged");
        assertThat(run("merge", "--base", base.toString(), "--adapter", lora.toString(), "--out", merged.toString(), "--quiet").code()).isZero();
        // the same adapter with use_rslora flipped: scale alpha/sqrt(r) = 4 instead of alpha/r = 2
        Path wrong = FixtureFiles.adapter("tinystories-260k/lora-r4", tmp.resolve("lora-r4-rslora"));
        Path cfg = wrong.resolve("adapter_config.json");
        String text = Files.readString(cfg);
        assertThat(text).contains("\"use_rslora\": false");
        Files.writeString(cfg, text.replace("\"use_rslora\": false", "\"use_rslora\": true"));
        GenerateCommandTest.Run r = run("verify", "--reference", base.toString(), "--adapter", wrong.toString(),
                "--candidate", merged.toString());
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(ExitCodes.NOT_EQUIVALENT);
        assertThat(r.out()).containsPattern("verdict: NOT EQUIVALENT: KL mean [0-9.e-]+ > 1.00e-06")
                .contains("exact thresholds").containsPattern("differs: model.layers.0.self_attn.q_proj.weight");
        assertThat(r.out()).contains("the difference starts at layer 0");
    }

    @Test
    void tinyLlamaQ8_0AndQ4_K_MPassTheirThresholds() throws Exception {
        Path model = FixtureFiles.tinyLlama(tmp.resolve("tiny-llama-v512"));
        Path q8 = tmp.resolve("tiny-q8_0.gguf");
        HfToGguf.convert(model, q8, OutputType.Q8_0, false);
        // llama-quantize's own Q4_K_M file
        Path q4 = FixtureFiles.copy("tiny-llama-v512/gguf/tiny-llama-v512-q4_k_m.gguf", tmp.resolve("q4_k_m.gguf"));
        for (Path cand : List.of(q8, q4)) {
            GenerateCommandTest.Run r = run("verify", "--reference", model.toString(), "--candidate", cand.toString(), "--json");
            assertThat(r.code()).as(r.out() + r.err()).isEqualTo(ExitCodes.OK);
            Map<String, Object> j = json(r);
            assertThat(j.get("kind")).isEqualTo(cand == q8 ? "Q8_0" : "Q4_K_M");
            assertThat(num(j, "kl_mean")).isGreaterThan(0).isLessThanOrEqualTo(cand == q8 ? 1e-4 : 1e-2); // measured 1.9e-5, 3.3e-3
            assertThat((List<?>) j.get("tokenizer_problems")).isEmpty();
        }
        // a threshold override turns the same Q4_K_M into a failure
        GenerateCommandTest.Run strict = run("verify", "--reference", model.toString(), "--candidate", q4.toString(),
                "--max-kl-mean", "1e-6", "--no-structure");
        assertThat(strict.code()).isEqualTo(ExitCodes.NOT_EQUIVALENT);
        assertThat(strict.out()).contains("KL mean <= 1.00e-06");
    }

    @Test
    void promptsAreEvaluatedSeparatelyAndBadOptionsAreUsageErrors() throws Exception {
        Path base = FixtureFiles.stories(tmp.resolve("stories"));
        Path prompts = Files.writeString(tmp.resolve("prompts.txt"), "Once upon a time\n\nThe cat sat on the mat.\n");
        GenerateCommandTest.Run r = run("verify", "--reference", base.toString(), "--candidate", base.toString(),
                "--prompts", prompts.toString());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("prompt 1: 5 tokens").contains("prompt 2:").doesNotContain("prompt 3");
        Path text = Files.writeString(tmp.resolve("story.txt"), dev.loraforge.model.Verification.DEFAULT_TEXT);
        GenerateCommandTest.Run windows = run("verify", "--reference", base.toString(), "--candidate", base.toString(),
                "--text", text.toString(), "--ctx", "50", "--no-structure");
        assertThat(windows.code()).as(windows.out() + windows.err()).isZero();
        // the built-in text is 132 tokens: windows of 50, 50 and 32
        assertThat(windows.out()).contains("text window 1: 50 tokens").contains("text window 3: 32 tokens")
                .contains("logits: 132 positions, max |dlogit| 0.00").doesNotContain("tensors:");
        assertThat(run("verify", "--reference", base.toString(), "--candidate", base.toString(), "--prompts",
                prompts.toString(), "--text", prompts.toString()).code()).isEqualTo(ExitCodes.USAGE);
        assertThat(run("verify", "--reference", base.toString(), "--candidate", base.toString(), "--ctx", "1").code())
                .isEqualTo(ExitCodes.USAGE);
        assertThat(run("verify", "--reference", base.toString(), "--candidate", tmp.resolve("nope").toString()).code())
                .isEqualTo(ExitCodes.BAD_INPUT);
    }

    @Test
    void mergeWithVerifyPrintsTheVerdict() {
        Path base = FixtureFiles.stories(tmp.resolve("stories"));
        Path lora = FixtureFiles.adapter("tinystories-260k/lora-r4", tmp.resolve("lora-r4"));
        GenerateCommandTest.Run r = run("merge", "--base", base.toString(), "--adapter", lora.toString(),
                "--out", tmp.resolve("merged").toString(), "--verify");
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(ExitCodes.OK);
        assertThat(r.out()).contains("merged 1 adapter").contains("verdict: EQUIVALENT (exact thresholds");
        assertThat(run("merge", "--base", base.toString(), "--adapter", lora.toString(), "--weight", "0.5",
                "--out", tmp.resolve("half").toString(), "--verify").code()).isEqualTo(ExitCodes.USAGE);
    }

    @Test
    void ggufCandidateTokenizerAndChatTemplateTraps() throws Exception {
        Path base = FixtureFiles.stories(tmp.resolve("stories"));
        Path gguf = FixtureFiles.copy("tinystories-260k/gguf/stories260k-f32.gguf", tmp.resolve("stories260k-f32.gguf"));
        GenerateCommandTest.Run ok = run("verify", "--reference", base.toString(), "--candidate", gguf.toString());
        assertThat(ok.code()).as(ok.out() + ok.err()).isEqualTo(ExitCodes.OK);
        assertThat(ok.out()).contains("(kind exact)").contains("verdict: EQUIVALENT").doesNotContain("tokenizer:");

        // the reference gains a chat template the GGUF does not carry
        Path cfg = base.resolve("tokenizer_config.json");
        String original = Files.readString(cfg);
        Files.writeString(cfg, original.replaceFirst("\\{", "{\n  \"chat_template\": \"{% for m in messages %}{{ m.content }}{% endfor %}\","));
        GenerateCommandTest.Run lost = run("verify", "--reference", base.toString(), "--candidate", gguf.toString());
        assertThat(lost.code()).as(lost.out() + lost.err()).isEqualTo(ExitCodes.NOT_EQUIVALENT);
        assertThat(lost.out()).contains("tokenizer: the candidate lacks the chat template the reference has")
                .contains("verdict: NOT EQUIVALENT: the candidate lacks the chat template");

        // a candidate folder whose tokenizer no longer adds BOS gives other ids
        Files.writeString(cfg, original);
        Path noBos = FixtureFiles.stories(tmp.resolve("no-bos"));
        Path noBosCfg = noBos.resolve("tokenizer_config.json");
        Files.writeString(noBosCfg, Files.readString(noBosCfg).replace("\"add_bos_token\": true", "\"add_bos_token\": false"));
        GenerateCommandTest.Run ids = run("verify", "--reference", base.toString(), "--candidate", noBos.toString());
        assertThat(ids.code()).as(ids.out() + ids.err()).isEqualTo(ExitCodes.NOT_EQUIVALENT);
        assertThat(ids.out()).contains("tokenizers disagree on the text at token 0: reference id 1");
    }

    @Test
    void modelsOfDifferentShapeAreNotEquivalentWithTheReasonAndATensorDiff() throws Exception {
        Path stories = FixtureFiles.stories(tmp.resolve("stories"));
        Path tiny = FixtureFiles.tinyLlama(tmp.resolve("tiny-llama-v512"));
        Path html = tmp.resolve("r.html");
        GenerateCommandTest.Run r = run("verify", "--reference", stories.toString(), "--candidate", tiny.toString(),
                "--html", html.toString());
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(ExitCodes.NOT_EQUIVALENT);
        assertThat(r.out()).contains("verdict: NOT EQUIVALENT: the models cannot be compared: reference 5 layers, hidden 64,"
                + " vocabulary 512; candidate 4 layers, hidden 256, vocabulary 512")
                .contains("missing: model.layers.4.input_layernorm.weight").contains("extra: lm_head.weight")
                .contains("differs: model.embed_tokens.weight F32->BF16 [512, 64] vs [512, 256]");
        assertThat(Files.readString(html)).contains("the models cannot be compared").doesNotContain("<svg");
    }

    /** 16-bit merges round each changed weight once, the unmerged reference does not: their own rows. */
    @Test
    void sixteenBitMergesPassTheirRows() throws Exception {
        Path model = FixtureFiles.tinyLlama(tmp.resolve("tiny-llama-v512"));
        // lora-r8 has the largest KL of the four fixture adapters (1.3e-6), DoRA the other merge path
        for (String name : List.of("lora-r8", "lora-dora")) {
            Path lora = FixtureFiles.adapter(name, tmp.resolve(name));
            GenerateCommandTest.Run r = run("merge", "--base", model.toString(), "--adapter", lora.toString(),
                    "--out", tmp.resolve(name + "-merged").toString(), "--verify", "--quiet");
            assertThat(r.code()).as(name + ": " + r.out() + r.err()).isEqualTo(ExitCodes.OK);
            assertThat(r.out()).as(name).contains("verdict: EQUIVALENT (BF16-merge thresholds");
        }
        // an F32 base merged into 16-bit output: every tensor rounded, the F16/BF16 rows
        Path stories = FixtureFiles.stories(tmp.resolve("stories"));
        Path lora4 = FixtureFiles.adapter("tinystories-260k/lora-r4", tmp.resolve("lora-r4"));
        for (String dt : List.of("bf16", "f16")) {
            GenerateCommandTest.Run r = run("merge", "--base", stories.toString(), "--adapter", lora4.toString(),
                    "--out", tmp.resolve("stories-" + dt).toString(), "--dtype", dt, "--verify", "--quiet");
            assertThat(r.code()).as(dt + ": " + r.out() + r.err()).isEqualTo(ExitCodes.OK);
            assertThat(r.out()).contains("verdict: EQUIVALENT (" + dt.toUpperCase(java.util.Locale.ROOT) + " thresholds");
        }
    }

    /** A QLoRA base (NF4, dequantized to BF16 as bitsandbytes does) merged to BF16 verifies as a BF16 merge; --forced-4bit as NF4. */
    @Test
    void qloraBaseMergeVerifies() {
        Path nf4 = dev.loraforge.testing.QloraBases.write(dev.loraforge.testing.QloraBases.Kind.NF4_DQ,
                dev.loraforge.tensor.DType.BF16, tmp.resolve("nf4").resolve("tinystories-260k"));
        Path lora = FixtureFiles.adapter("tinystories-260k/lora-r4", tmp.resolve("lora-r4"));
        GenerateCommandTest.Run r = run("merge", "--base", nf4.toString(), "--adapter", lora.toString(),
                "--out", tmp.resolve("merged").toString(), "--verify", "--quiet");
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(ExitCodes.OK);
        assertThat(r.out()).contains("verdict: EQUIVALENT (BF16-merge thresholds");
        GenerateCommandTest.Run forced = run("merge", "--base", nf4.toString(), "--adapter", lora.toString(),
                "--out", tmp.resolve("forced").toString(), "--forced-4bit", "--verify", "--quiet");
        // re-quantized to NF4 after the merge: judged as a 4-bit model
        assertThat(forced.code()).as(forced.out() + forced.err()).isEqualTo(ExitCodes.OK);
        assertThat(forced.out()).contains("verdict: EQUIVALENT (NF4 thresholds");
    }
}
