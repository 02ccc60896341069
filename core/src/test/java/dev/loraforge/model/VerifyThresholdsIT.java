package dev.loraforge.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loraforge.convert.HfToGguf;
import dev.loraforge.convert.OutputType;
import dev.loraforge.testing.FixtureFiles;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Re-measures the basis of {@link VerifyThresholds}: every GGUF type HfToGguf writes for both fixture models,
 * verified against the HF folder on the built-in text, passes its own row; prints the measured numbers.
 */
class VerifyThresholdsIT {
    @TempDir
    Path tmp;

    @Test
    void everyTypeOfBothFixtureModelsPassesItsRow() throws Exception {
        Path tiny = FixtureFiles.tinyLlama(tmp.resolve("tiny-llama-v512"));
        Path stories = FixtureFiles.stories(tmp.resolve("stories260k"));
        SoftAssertions soft = new SoftAssertions();
        int measured = 0;
        for (Path model : List.of(stories, tiny)) {
            for (OutputType t : OutputType.values()) {
                Path out = tmp.resolve(model.getFileName() + "-" + t + ".gguf");
                try {
                    HfToGguf.convert(model, out, t, false);
                } catch (dev.loraforge.LoraforgeException e) {
                    // stories260K's 172-wide rows have no Q8_0/Q4_x/Q5_x form; llama-quantize refuses them too
                    assertThat(model).isEqualTo(stories);
                    continue;
                }
                Verification.Result r = Verification.run(new Verification.Spec(model, List.of()),
                        new Verification.Spec(out, List.of()), List.of(), new Verification.Options(512, null, false));
                System.out.printf(Locale.ROOT, "%s %s kind %s: KL mean %.2g max %.2g, top-1 %.1f%% (near-tie %.1f%%), ppl %.4f -> %.4f%n",
                        model.getFileName(), t, r.candidateKind(), r.logits().klMean(), r.logits().klMax(),
                        100 * r.logits().top1Agreement(), 100 * r.top1NearTie(), r.pplReference(), r.pplCandidate());
                soft.assertThat(r.problems()).as(model.getFileName() + " " + t).isEmpty();
                if (t != OutputType.F32 && !(t == OutputType.BF16 && model.equals(tiny))) {
                    soft.assertThat(r.candidateKind()).as(t.toString()).isEqualTo(t.toString());
                }
                measured++;
            }
        }
        soft.assertAll();
        assertThat(measured).isEqualTo(2 * OutputType.values().length - 5);
    }
}
