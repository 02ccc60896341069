package dev.loraforge.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;

/** Test resources under {@code fixtures/} and llama.cpp's vocab test vectors. */
final class Fixtures {
    private Fixtures() {
    }

    static Path path(String relative) {
        URL url = Fixtures.class.getResource("/fixtures/" + relative);
        if (url == null) {
            throw new IllegalStateException("missing test resource fixtures/" + relative);
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A gzipped tokenizer.json unpacked into a temp dir next to its tokenizer_config.json copy. */
    static Path gunzipToDir(String relativeGz, Path dir) {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(path(relativeGz)))) {
            Path out = dir.resolve("tokenizer.json");
            Files.write(out, in.readAllBytes());
            Path cfg = path(relativeGz).resolveSibling("tokenizer_config.json");
            if (Files.exists(cfg)) {
                Files.copy(cfg, dir.resolve("tokenizer_config.json"));
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One llama.cpp test-tokenizer-0 case: the text and the expected ids without BOS. */
    record VocabCase(int index, String text, int[] ids) {
        @Override
        public String toString() {
            return index + ": " + text.replace("\n", "\\n").replace("\t", "\\t");
        }
    }

    /** {@code ggml-vocab-NAME.gguf.inp} / {@code .out}: strings split by the llama.cpp separator. */
    static List<VocabCase> vocabCases(String name) {
        try {
            String inp = Files.readString(path("tokenizers/llamacpp-vocab/ggml-vocab-" + name + ".gguf.inp"), StandardCharsets.UTF_8);
            List<String> outLines = Files.readAllLines(path("tokenizers/llamacpp-vocab/ggml-vocab-" + name + ".gguf.out"), StandardCharsets.UTF_8);
            List<String> texts = new ArrayList<>(Arrays.asList(inp.split("\n__ggml_vocab_test__\n", -1)));
            if (texts.getLast().isEmpty()) {
                texts.removeLast();
            }
            if (texts.size() != outLines.size()) {
                throw new IllegalStateException(name + ": " + texts.size() + " strings but " + outLines.size() + " id lines");
            }
            List<VocabCase> cases = new ArrayList<>();
            for (int i = 0; i < texts.size(); i++) {
                String line = outLines.get(i).strip();
                int[] ids = line.isEmpty() ? new int[0] : Arrays.stream(line.split(" +")).mapToInt(Integer::parseInt).toArray();
                cases.add(new VocabCase(i, texts.get(i), ids));
            }
            return cases;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
