package dev.loraforge.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every line of two corpora through loraforge's tokenizer and the real Hugging Face tokenizers
 * library (Rust, via DJL's JNI binding, natives shipped in its jar): ids must be identical.
 */
class HfTokenizersIT {
    private static Path dir;

    @BeforeAll
    static void unpack() throws IOException {
        System.setProperty("ai.djl.offline", "true"); // natives come from the jar; never download
        dir = Files.createTempDirectory("loraforge-tok-it");
        for (String name : List.of("llama3", "qwen3")) {
            try (InputStream in = new GZIPInputStream(Files.newInputStream(Fixtures.path("tokenizers/" + name + "/tokenizer.json.gz")))) {
                Files.write(dir.resolve(name + ".json"), in.readAllBytes());
            }
        }
        Files.copy(Fixtures.path("tokenizers/llama2/tokenizer.json"), dir.resolve("llama2.json"));
    }

    @AfterAll
    static void cleanUp() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.delete(p);
            }
        }
        Files.delete(dir);
    }

    /** Batch encodings are padded to the longest line; the attention mask says which ids are real. */
    private static long[] unpadded(Encoding e) {
        long[] ids = e.getIds();
        long[] mask = e.getAttentionMask();
        return java.util.stream.IntStream.range(0, ids.length).filter(i -> mask[i] != 0).mapToLong(i -> ids[i]).toArray();
    }

    /** Where two id sequences part, with the token texts around it. */
    private static String firstDifference(Tokenizer t, long[] want, int[] got) {
        int k = 0;
        while (k < want.length && k < got.length && want[k] == got[k]) {
            k++;
        }
        StringBuilder sb = new StringBuilder("first difference at token " + k + "; hf");
        for (int j = Math.max(0, k - 3); j < Math.min(want.length, k + 6); j++) {
            sb.append(" ").append(want[j]).append("'").append(t.tokenText((int) want[j])).append("'");
        }
        sb.append("; ours");
        for (int j = Math.max(0, k - 3); j < Math.min(got.length, k + 6); j++) {
            sb.append(" ").append(got[j]).append("'").append(t.tokenText(got[j])).append("'");
        }
        return sb.toString();
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String tok : List.of("llama2", "llama3", "qwen3")) {
            for (String corpus : List.of("tinyshakespeare.txt", "wikitext-2-raw-test.joined.crlf.txt")) {
                out.add(Arguments.of(tok, corpus));
            }
        }
        return out.stream();
    }

    /** Added tokens flagged lstrip / rstrip swallow neighbouring whitespace as HF does. */
    @org.junit.jupiter.api.Test
    void addedTokenStripFlagsMatchHuggingFace() throws IOException {
        String json = Files.readString(Fixtures.path("tinystories-260k/tokenizer.json"))
                .replaceFirst("(\"content\": \"</s>\",\\s*\"single_word\": false,\\s*\"lstrip\": )false(,\\s*\"rstrip\": )false", "$1true$2true")
                .replaceFirst("(\"content\": \"<s>\",\\s*\"single_word\": false,\\s*\"lstrip\": false,\\s*\"rstrip\": )false", "$1true");
        assertThat(json).contains("\"lstrip\": true").contains("\"rstrip\": true");
        Path file = Files.writeString(dir.resolve("strip.json"), json);
        Tokenizer ours = Tokenizers.fromTokenizerJson(file);
        List<String> texts = List.of("Once upon  </s>  a time", "<s>  Lily\n</s>\nTom", "a </s></s> b", " <s> ", "x\t</s>\t<s>\ty",
                "</s>", "  </s>", "Hi<s>there");
        try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(file, Map.of("truncation", "false", "padding", "false"))) {
            for (String text : texts) {
                long[] want = hf.encode(text, false, false).getIds();
                assertThat(Arrays.stream(ours.encode(text, false)).asLongStream().toArray()).as(text).containsExactly(want);
            }
        }
    }

    /** BOS/EOS as the tokenizer.json post-processor adds them (llama2: BOS; llama3/qwen3 files: none). */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"llama2", "llama3", "qwen3"})
    void specialTokensMatchHuggingFace(String tokenizer) throws IOException {
        Path json = dir.resolve(tokenizer + ".json");
        Tokenizer ours = Tokenizers.fromTokenizerJson(json);
        List<String> lines = Files.readString(Fixtures.path("corpora/tinyshakespeare.txt")).lines().limit(300).toList();
        try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(json, Map.of("truncation", "false", "padding", "false"))) {
            for (String line : lines) {
                long[] want = hf.encode(line, true, false).getIds();
                assertThat(Arrays.stream(ours.encode(line, true)).asLongStream().toArray()).as(line).containsExactly(want);
            }
        }
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void everyLineMatchesHuggingFace(String tokenizer, String corpus) throws IOException {
        Path json = dir.resolve(tokenizer + ".json");
        Tokenizer ours = Tokenizers.fromTokenizerJson(json);
        String text = Files.readString(Fixtures.path("corpora/" + corpus), StandardCharsets.UTF_8).replace("\r", "");
        List<String> lines = text.lines().toList();
        int mismatches = 0;
        List<String> firstMismatches = new ArrayList<>();
        try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(json, Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"))) {
            for (int from = 0; from < lines.size(); from += 512) {
                List<String> batch = lines.subList(from, Math.min(lines.size(), from + 512));
                Encoding[] expected = hf.batchEncode(batch, false, false);
                for (int i = 0; i < batch.size(); i++) {
                    long[] want = unpadded(expected[i]);
                    int[] got = ours.encode(batch.get(i), false);
                    if (!Arrays.equals(Arrays.stream(got).asLongStream().toArray(), want)) {
                        if (mismatches++ < 5) {
                            firstMismatches.add("line " + (from + i + 1) + ": " + firstDifference(ours, want, got));
                        }
                    }
                }
            }
        }
        System.out.printf("%s on %s: %d/%d lines identical%n", tokenizer, corpus, lines.size() - mismatches, lines.size());
        assertThat(firstMismatches).as("%d of %d lines differ", mismatches, lines.size()).isEmpty();
    }
}
