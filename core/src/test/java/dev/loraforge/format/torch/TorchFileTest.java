package dev.loraforge.format.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loraforge.format.safetensors.SafetensorsFile;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.testing.SafetensorsTwin;
import dev.loraforge.tensor.TensorView;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Real checkpoints written by torch 1.13.1 (make_torch_fixtures.py) must read back as exactly the
 * tensors of their safetensors twins: the oracle is the safetensors file torch was fed, byte for byte.
 */
class TorchFileTest {

    static Path fixture(String rel) throws URISyntaxException {
        return Path.of(TorchFileTest.class.getResource("/fixtures/" + rel).toURI());
    }

    private static void assertSameAsTwin(TensorSource src, Map<String, SafetensorsTwin.Tensor> twin, boolean sameOrder) {
        if (sameOrder) {
            assertThat(src.names()).containsExactlyElementsOf(twin.keySet());
        } else {
            assertThat(src.names()).containsExactlyInAnyOrderElementsOf(twin.keySet());
        }
        for (Map.Entry<String, SafetensorsTwin.Tensor> e : twin.entrySet()) {
            TensorView v = src.get(e.getKey());
            assertThat(v.dtype().fileName()).as(e.getKey()).isEqualTo(e.getValue().dtype());
            assertThat(v.shape().dims()).as(e.getKey()).containsExactly(e.getValue().shape());
            assertThat(v.data().toArray(ValueLayout.JAVA_BYTE)).as(e.getKey()).isEqualTo(e.getValue().data());
        }
    }

    /** The same comparison through the project's own safetensors reader. */
    @ParameterizedTest
    @CsvSource({
        "torch/stories260k/pytorch_model.bin, tinystories-260k/model.safetensors",
        "torch/stories260k-lora-r4/adapter_model.bin, tinystories-260k/lora-r4/adapter_model.safetensors"})
    void realTorchFileMatchesSafetensorsFile(String bin, String twin) throws Exception {
        try (TorchFile f = TorchFile.open(fixture(bin));
                SafetensorsFile st = SafetensorsFile.open(fixture(twin))) {
            assertThat(f.names()).containsExactlyInAnyOrderElementsOf(st.names());
            for (String name : st.names()) {
                TensorView a = f.get(name);
                TensorView b = st.get(name);
                assertThat(a.dtype()).as(name).isEqualTo(b.dtype());
                assertThat(a.shape()).as(name).isEqualTo(b.shape());
                assertThat(a.data().mismatch(b.data())).as(name).isEqualTo(-1);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({
        "torch/stories260k/pytorch_model.bin, tinystories-260k/model.safetensors",
        "torch/stories260k-lora-r4/adapter_model.bin, tinystories-260k/lora-r4/adapter_model.safetensors",
        "torch/views.bin, torch/views.expected.safetensors",
        "torch/legacy/adapter_model.bin, tinystories-260k/lora-r4/adapter_model.safetensors",
        "torch/legacy/views.bin, torch/views.expected.safetensors"})
    void realTorchFileMatchesItsSafetensorsTwin(String bin, String twin) throws Exception {
        try (TorchFile f = TorchFile.open(fixture(bin))) {
            assertSameAsTwin(f, SafetensorsTwin.read(SafetensorsTwin.resource(twin)), true);
        }
    }

    @Test
    void stridedViewsAreCopiedAndContiguousOnesAreZeroCopy() throws Exception {
        try (TorchFile f = TorchFile.open(fixture("torch/views.bin"))) {
            assertThat(f.ref("transposed").orElseThrow().stride()).containsExactly(1, 8);
            assertThat(f.ref("col_slice").orElseThrow().storageOffset()).isEqualTo(3);
            assertThat(f.ref("expanded").orElseThrow().stride()).containsExactly(1, 0);
            assertThat(f.ref("tied").orElseThrow().storage()).isEqualTo(f.ref("base").orElseThrow().storage());
            assertThat(f.get("base").data().isMapped()).isTrue();
            assertThat(f.get("row_slice").data().isMapped()).isTrue();
            assertThat(f.get("transposed").data().isMapped()).isFalse();
            assertThat(f.names()).contains("nested.inner", "param").doesNotContain("epoch", "nested");
            // transposed[i][j] == base[j][i]
            TensorView base = f.get("base");
            TensorView t = f.get("transposed");
            for (int i = 0; i < 8; i++) {
                for (int j = 0; j < 6; j++) {
                    assertThat(t.getFloat(i * 6L + j)).isEqualTo(base.getFloat(j * 8L + i));
                }
            }
        }
    }

    @Test
    void shardedCheckpointMatchesTheSingleFileTwin() throws Exception {
        Path dir = fixture("torch/sharded/pytorch_model.bin.index.json").getParent();
        try (TensorSource src = TorchCheckpoint.open(dir)) {
            var twin = SafetensorsTwin.read(SafetensorsTwin.resource("tinystories-260k/model.safetensors"));
            assertSameAsTwin(src, twin, false);
            assertThat(src.names()).isSorted();
        }
    }

    @Test
    void folderWithASingleFileOpensIt() throws Exception {
        try (TensorSource src = TorchCheckpoint.open(fixture("torch/stories260k-lora-r4/adapter_model.bin").getParent())) {
            assertThat(src).isInstanceOf(TorchFile.class);
            assertThat(src.names()).hasSize(70);
        }
    }

    @Test
    void indexThatEscapesTheFolderOrDisagreesIsRejected(@TempDir Path dir) throws Exception {
        Path shardDir = fixture("torch/sharded/pytorch_model.bin.index.json").getParent();
        for (String s : List.of("pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin")) {
            Files.copy(shardDir.resolve(s), dir.resolve(s));
        }
        Path index = dir.resolve(TorchCheckpoint.INDEX);
        Files.writeString(index, "{\"weight_map\": {\"model.norm.weight\": \"../pytorch_model-00001-of-00002.bin\"}}");
        assertThatThrownBy(() -> TorchCheckpoint.open(dir)).isInstanceOf(TorchFormatException.class)
                .hasMessageContaining("not a file name in the same folder")
                .extracting(e -> ((TorchFormatException) e).kind()).isEqualTo(TorchFormatException.Kind.BAD_INDEX);
        Files.writeString(index, "{\"weight_map\": {\"model.norm.weight\": \"pytorch_model-00001-of-00002.bin\"}}");
        assertThatThrownBy(() -> TorchCheckpoint.open(dir)).isInstanceOf(TorchFormatException.class)
                .hasMessageContaining("model.norm.weight");
        Files.writeString(index, "{\"weight_map\": {\"a\": \"pytorch_model-00001-of-00002.bin\","
                + " \"a\": \"pytorch_model-00002-of-00002.bin\"}}");
        assertThatThrownBy(() -> TorchCheckpoint.open(dir)).isInstanceOf(TorchFormatException.class)
                .hasMessageContaining("Duplicate field 'a'");
        String good = Files.readString(shardDir.resolve(TorchCheckpoint.INDEX));
        Files.writeString(index, good.replaceFirst("\"total_size\": \\d+", "\"total_size\": 12"));
        assertThatThrownBy(() -> TorchCheckpoint.open(dir)).isInstanceOf(TorchFormatException.class)
                .hasMessageContaining("metadata.total_size 12 but the indexed tensors hold 1040128 bytes");
        Files.writeString(index, "[1,2");
        assertThatThrownBy(() -> TorchCheckpoint.open(dir)).isInstanceOf(TorchFormatException.class)
                .extracting(e -> ((TorchFormatException) e).kind()).isEqualTo(TorchFormatException.Kind.BAD_INDEX);
    }
}
