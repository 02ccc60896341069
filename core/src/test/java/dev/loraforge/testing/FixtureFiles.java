package dev.loraforge.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Copies fixture files from the classpath ({@code /fixtures/...}, also when they sit inside the core
 * test-jar) into a folder, so tests of every module can hand real paths to the code under test.
 */
public final class FixtureFiles {
    public static final List<String> ADAPTERS = List.of("lora-r8", "lora-rslora-patterns", "lora-dora", "lora-modules-to-save");
    private static final List<String> STORIES = List.of("config.json", "generation_config.json", "model.safetensors",
            "special_tokens_map.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json");

    private FixtureFiles() {
    }

    /** The four tiny-llama-v512 adapter names (a JUnit method source). */
    public static List<String> adapters() {
        return ADAPTERS;
    }

    /** Copies {@code /fixtures/<relative>} to {@code target} (parents created). */
    public static Path copy(String relative, Path target) {
        try (InputStream in = FixtureFiles.class.getResourceAsStream("/fixtures/" + relative)) {
            if (in == null) {
                throw new IllegalStateException("missing test fixture " + relative);
            }
            Files.createDirectories(target.toAbsolutePath().getParent());
            Files.copy(in, target);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A PEFT adapter folder of tiny-llama-v512 ({@code lora-r8}, ...) or {@code tinystories-260k/lora-r4}. */
    public static Path adapter(String name, Path dir) {
        String base = name.contains("/") ? name : "tiny-llama-v512/" + name;
        copy(base + "/adapter_config.json", dir.resolve("adapter_config.json"));
        copy(base + "/adapter_model.safetensors", dir.resolve("adapter_model.safetensors"));
        return dir;
    }

    /** The tinystories-260k model folder (tied embeddings, F32). */
    public static Path stories(Path dir) {
        for (String f : STORIES) {
            copy("tinystories-260k/" + f, dir.resolve(f));
        }
        return dir;
    }

    /** The tiny-llama-v512 model folder, regenerated (6.5 MB, BF16). */
    public static Path tinyLlama(Path dir) {
        try {
            return RandomLlama.writeFolder(RandomLlama.TINY_LLAMA_V512, dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
