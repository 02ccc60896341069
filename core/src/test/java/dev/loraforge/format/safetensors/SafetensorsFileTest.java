package dev.loraforge.format.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Reads the fixture files and compares with values computed by an independent Python/numpy reader. */
class SafetensorsFileTest {

    static String sha256(TensorView v) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(v.data().toArray(ValueLayout.JAVA_BYTE)));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void readsTheStoriesModelLikeNumpy() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.path(Fixtures.STORIES_MODEL))) {
            assertThat(f.metadata()).isEqualTo(Map.of("format", "pt"));
            assertThat(f.names()).hasSize(47);
            // header order (this file is not in the Rust writer's sorted order)
            assertThat(f.names().subList(0, 3)).containsExactly("model.embed_tokens.weight",
                    "model.layers.0.input_layernorm.weight", "model.layers.0.self_attn.q_proj.weight");
            assertThat(f.names().getLast()).isEqualTo("model.norm.weight");

            TensorView emb = f.get("model.embed_tokens.weight");
            assertThat(emb.dtype()).isEqualTo(DType.F32);
            assertThat(emb.shape()).isEqualTo(Shape.of(512, 64));
            assertThat(sha256(emb)).isEqualTo("452158377d2f8703b5b38935f894b628d3c7e2ac26bc167bfbfc68655dfe2c8a");
            assertThat(emb.getFloat(0)).isEqualTo((float) -0x1.2dd2a0p-2);
            assertThat(emb.getFloat(1)).isEqualTo((float) 0x1.1fb0c8p-1);
            assertThat(emb.getFloat(2)).isEqualTo((float) 0x1.6743eep-3);
            assertThat(emb.getFloat(512 * 64 - 1)).isEqualTo((float) -0x1.b2359ap-2);

            TensorView norm = f.get("model.norm.weight");
            assertThat(sha256(norm)).isEqualTo("0e94e5b6ed76295de67218f03110c2ffaba21db46cc8a5ccd716bd8ebaf024f7");
            assertThat(norm.getFloat(63)).isEqualTo((float) 0x1.b530dep+0);

            TensorView down = f.get("model.layers.4.mlp.down_proj.weight");
            assertThat(down.shape()).isEqualTo(Shape.of(64, 172));
            assertThat(sha256(down)).isEqualTo("414592b302b72ae5a85da2bfde57c127f23ee6d306b2abeb3be9c9888fb4901e");
            assertThat(down.getFloat(0)).isEqualTo((float) -0x1.88801cp-5);

            assertThat(f.find("nope")).isEmpty();
            assertThatThrownBy(() -> f.get("nope")).hasMessageContaining("nope").hasMessageContaining("model.safetensors");
        }
    }

    @Test
    void readsTheAdapter() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.path(Fixtures.STORIES_ADAPTER))) {
            assertThat(f.names()).hasSize(70).isSorted();
            TensorView b = f.get("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight");
            assertThat(b.shape()).isEqualTo(Shape.of(64, 4));
            assertThat(sha256(b)).isEqualTo("fefc1263170f32880bd3733acfd249bd11e82b365dd51884f2f748b7c5796be8");
            assertThat(b.getFloat(255)).isEqualTo((float) 0x1.aab64ep-7);
        }
    }

    @Test
    void viewsDieWithTheFile() throws IOException {
        SafetensorsFile f = SafetensorsFile.open(Fixtures.path(Fixtures.STORIES_ADAPTER));
        TensorView v = f.get(f.names().getFirst());
        f.close();
        assertThatThrownBy(() -> v.getFloat(0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> f.find("x")).isInstanceOf(IllegalStateException.class);
        f.close(); // idempotent
    }
}
