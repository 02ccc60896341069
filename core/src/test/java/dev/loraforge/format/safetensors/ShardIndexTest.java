package dev.loraforge.format.safetensors;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** toJson must equal Python's json.dumps(indent=2, sort_keys=True); expected strings are Python's output. */
class ShardIndexTest {

    @ParameterizedTest
    @CsvSource({"1e-5, 1e-05", "1e16, 1e+16", "1e15, 1000000000000000.0", "0.1, 0.1", "123, 123.0",
            "1.5e300, 1.5e+300", "-0.0, -0.0", "0.0001, 0.0001", "1.5e-7, 1.5e-07", "-2.5, -2.5",
            "123456789.125, 123456789.125", "5e-324, 5e-324"})
    void floatsLikePythonRepr(double d, String python) {
        assertThat(dev.loraforge.io.PythonJson.pythonRepr(d)).isEqualTo(python);
    }

    @Test
    void keepsAndSortsOtherMetadata(@TempDir Path dir) throws IOException {
        ShardIndex idx = new ShardIndex(OptionalLong.of(10), Map.of("total_parameters", 5, "b", List.of(1, "é", true),
                "a", Map.of()), Map.of("w\u00e9\uD83D\uDE00", "model-00001-of-00001.safetensors", "a\u007f", "x"));
        String expected = """
                {
                  "metadata": {
                    "a": {},
                    "b": [
                      1,
                      "\\u00e9",
                      true
                    ],
                    "total_parameters": 5,
                    "total_size": 10
                  },
                  "weight_map": {
                    "a\\u007f": "x",
                    "w\\u00e9\\ud83d\\ude00": "model-00001-of-00001.safetensors"
                  }
                }
                """;
        assertThat(idx.toJson()).isEqualTo(expected);
        Path p = dir.resolve(ShardIndex.FILE_NAME);
        idx.write(p, false);
        ShardIndex back = ShardIndex.read(p);
        assertThat(back.totalSize()).hasValue(10);
        assertThat(back.weightMap()).isEqualTo(idx.weightMap());
        assertThat(back.otherMetadata()).containsEntry("total_parameters", 5).containsKey("b");
        assertThat(back.toJson()).isEqualTo(Files.readString(p));
    }
}
