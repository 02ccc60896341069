package dev.loraforge.format.safetensors;

import java.net.URISyntaxException;
import java.nio.file.Path;

/** Paths of the fixture files copied under src/test/resources/fixtures. */
final class Fixtures {
    private Fixtures() {
    }

    static Path path(String relative) {
        try {
            var url = Fixtures.class.getResource("/fixtures/" + relative);
            if (url == null) {
                throw new IllegalStateException("missing test fixture " + relative);
            }
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static final String STORIES_MODEL = "tinystories-260k/model.safetensors";
    static final String STORIES_ADAPTER = "tinystories-260k/lora-r4/adapter_model.safetensors";
}
