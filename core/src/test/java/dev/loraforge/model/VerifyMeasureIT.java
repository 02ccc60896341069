package dev.loraforge.model;

import dev.loraforge.convert.HfToGguf;
import dev.loraforge.convert.OutputType;
import dev.loraforge.testing.FixtureFiles;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Prints the verify metrics of every GGUF type of both fixture models (the basis of VerifyThresholds). */
class VerifyMeasureIT {
    @TempDir
    Path tmp;

    @Test
    void measure() throws Exception {
        Path tiny = FixtureFiles.tinyLlama(tmp.resolve("tiny"));
        Path stories = FixtureFiles.stories(tmp.resolve("stories"));
        for (Path model : List.of(stories, tiny)) {
            for (OutputType t : OutputType.values()) {
                Path out = tmp.resolve(model.getFileName() + "-" + t + ".gguf");
                long t0 = System.nanoTime();
                try {
                    HfToGguf.convert(model, out, t, false);
                } catch (RuntimeException e) {
                    System.out.println(model.getFileName() + " " + t + " convert failed: " + e.getMessage());
                    continue;
                }
                long t1 = System.nanoTime();
                var r = Verification.run(new Verification.Spec(model, List.of()), new Verification.Spec(out, List.of()),
                        List.of(), new Verification.Options(512, null, false));
                long t2 = System.nanoTime();
                System.out.printf("MEASURE %s %s kind=%s %s ppl %.5f/%.5f layerLast %.3g  conv %.1fs verify %.1fs%n",
                        model.getFileName(), t, r.candidateKind(), r.logits(), r.pplReference(), r.pplCandidate(),
                        r.layers().get(r.layers().size() - 1).meanRelative(), (t1 - t0) / 1e9, (t2 - t1) / 1e9);
            }
        }
    }
}
