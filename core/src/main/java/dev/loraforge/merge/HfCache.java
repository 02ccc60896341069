package dev.loraforge.merge;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Finds a base model offline: a folder, or a Hugging Face hub name in the local cache
 * ({@code <hub>/models--org--name/snapshots/<rev>}, rev read from {@code refs/main}). The hub folder is
 * {@code HF_HUB_CACHE}, else {@code HF_HOME/hub}, else {@code ~/.cache/huggingface/hub}. Never downloads.
 */
public final class HfCache {
    private HfCache() {
    }

    /** The hub cache folder for the given environment and home folder. */
    public static Path hubDir(Map<String, String> env, Path userHome) {
        String hub = env.get("HF_HUB_CACHE");
        if (hub != null && !hub.isEmpty()) {
            return Path.of(hub);
        }
        String home = env.get("HF_HOME");
        if (home != null && !home.isEmpty()) {
            return Path.of(home).resolve("hub");
        }
        return userHome.resolve(".cache").resolve("huggingface").resolve("hub");
    }

    /**
     * @throws NoSuchFileException naming both places looked in
     */
    public static Path resolve(String nameOrPath, Path hubDir) throws IOException {
        Path p = Path.of(nameOrPath);
        if (Files.isDirectory(p)) {
            return p;
        }
        if (!nameOrPath.contains("..") && nameOrPath.matches("[A-Za-z0-9][\\w.-]*(/[\\w.-]+)?")) {
            Path repo = hubDir.resolve("models--" + nameOrPath.replace("/", "--"));
            Path ref = repo.resolve("refs").resolve("main");
            if (Files.isRegularFile(ref)) {
                String rev = Files.readString(ref).trim();
                Path snap = repo.resolve("snapshots").resolve(rev);
                if (!rev.isEmpty() && !rev.contains("/") && Files.isDirectory(snap)) {
                    return snap;
                }
            }
        }
        throw new NoSuchFileException(nameOrPath, null,
                "no such folder, and not in the Hugging Face cache " + hubDir + " (loraforge never downloads; "
                        + "pass --base with the model folder)");
    }
}
