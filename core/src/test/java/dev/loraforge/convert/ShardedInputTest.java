package dev.loraforge.convert;

import dev.loraforge.format.gguf.GgufFile;
import dev.loraforge.format.gguf.GgufTensor;
import dev.loraforge.format.safetensors.ModelFiles;
import dev.loraforge.format.safetensors.SafetensorsWriter;
import dev.loraforge.format.safetensors.ShardIndex;
import dev.loraforge.testing.FixtureFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A sharded model converts to the same tensors, in convert_hf_to_gguf.py's order for shards: parts sorted by
 * file name, each part's tensors sorted by name (so not globally sorted).
 */
class ShardedInputTest {
    @TempDir
    Path tmp;

    @Test
    void shardsAreTakenInPartOrderThenNameOrder() throws Exception {
        Path single = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        Path sharded = tmp.resolve("sharded/tinystories-260k");
        Files.createDirectories(sharded);
        for (String f : List.of("config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.json",
                "tokenizer.model", "tokenizer_config.json")) {
            Files.copy(single.resolve(f), sharded.resolve(f));
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        try (ModelFiles src = ModelFiles.open(single)) {
            List<String> first = new ArrayList<>();
            List<String> second = new ArrayList<>();
            for (String n : src.names()) {
                (n.startsWith("model.layers.0.") || n.startsWith("model.embed") ? second : first).add(n);
            }
            SafetensorsWriter.write(sharded.resolve("model-00001-of-00002.safetensors"), Map.of("format", "pt"), src, first,
                    SafetensorsWriter.Order.LIBRARY, false);
            SafetensorsWriter.write(sharded.resolve("model-00002-of-00002.safetensors"), Map.of("format", "pt"), src, second,
                    SafetensorsWriter.Order.LIBRARY, false);
            long total = 0;
            for (String n : first) {
                weightMap.put(n, "model-00001-of-00002.safetensors");
                total += src.get(n).byteSize();
            }
            for (String n : second) {
                weightMap.put(n, "model-00002-of-00002.safetensors");
                total += src.get(n).byteSize();
            }
            ShardIndex.of(total, new java.util.TreeMap<>(weightMap)).write(sharded.resolve(ShardIndex.FILE_NAME), false);
        }
        Path a = tmp.resolve("single.gguf");
        Path b = tmp.resolve("sharded.gguf");
        HfToGguf.convert(single, a, OutputType.F16, false);
        HfToGguf.convert(sharded, b, OutputType.F16, false);
        try (GgufFile fa = GgufFile.open(a); GgufFile fb = GgufFile.open(b)) {
            List<String> names = fb.tensors().stream().map(GgufTensor::name).toList();
            assertThat(names.getFirst()).isEqualTo("blk.1.attn_norm.weight"); // part 1 first
            assertThat(names.subList(names.size() - 10, names.size())).startsWith("token_embd.weight", "blk.0.attn_norm.weight");
            for (GgufTensor t : fb.tensors()) {
                assertThat(t.data().mismatch(fa.tensor(t.name()).data())).as(t.name()).isEqualTo(-1L);
            }
            assertThat(fb.kvs()).isEqualTo(fa.kvs());
        }
    }
}
