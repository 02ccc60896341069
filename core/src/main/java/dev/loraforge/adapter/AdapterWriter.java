package dev.loraforge.adapter;

import dev.loraforge.format.safetensors.SafetensorsWriter;
import dev.loraforge.io.AtomicFile;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Map;

/**
 * Writes a PEFT adapter folder as PEFT's {@code save_pretrained} does: {@code adapter_config.json}
 * ({@code json.dumps(indent=2, sort_keys=True)}, no trailing newline) and {@code adapter_model.safetensors}
 * (safetensors library layout, {@code {"format": "pt"}} metadata) with the tensors' PEFT key names.
 */
public final class AdapterWriter {
    private AdapterWriter() {
    }

    /**
     * @param configJson the config text (e.g. from {@link AdapterConfig#toJson})
     * @param tensors    views named with PEFT keys ({@code base_model.model.<module>.lora_A.weight}, ...)
     */
    public static void write(Path dir, String configJson, Collection<TensorView> tensors, boolean overwrite) throws IOException {
        AdapterConfig.parse(configJson, dir.resolve(AdapterConfig.FILE_NAME).toString()); // refuse what we could not read back
        Files.createDirectories(dir);
        SafetensorsWriter.write(dir.resolve(LoraAdapter.WEIGHTS_FILE), Map.of("format", "pt"), tensors,
                SafetensorsWriter.Order.LIBRARY, overwrite);
        try (AtomicFile f = AtomicFile.create(dir.resolve(AdapterConfig.FILE_NAME), overwrite)) {
            f.channel().write(java.nio.ByteBuffer.wrap(configJson.getBytes(StandardCharsets.UTF_8)));
            f.commit();
        }
    }

    /** Writes {@code config} as PEFT lays it out, with the given tensors. */
    public static void write(Path dir, AdapterConfig config, Collection<TensorView> tensors, boolean overwrite) throws IOException {
        write(dir, config.toJson(Map.of()), tensors, overwrite);
    }

}
