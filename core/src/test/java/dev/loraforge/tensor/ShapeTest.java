package dev.loraforge.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ShapeTest {
    @Test
    void countsElementsAndBytes() {
        Shape s = Shape.of(512, 64);
        assertThat(s.elementCount()).isEqualTo(32768);
        assertThat(s.byteCount(DType.BF16)).isEqualTo(65536);
        assertThat(Shape.of().elementCount()).isEqualTo(1);
        assertThat(Shape.of(3, 0, 5).elementCount()).isZero();
    }

    @Test
    void rejectsOverflowEvenBehindAZero() {
        assertThatThrownBy(() -> Shape.of(1L << 32, 1L << 32)).isInstanceOf(ArithmeticException.class);
        assertThatThrownBy(() -> Shape.of(1L << 32, 0, 1L << 32)).isInstanceOf(ArithmeticException.class);
        assertThatThrownBy(() -> Shape.of(1L << 62).byteCount(DType.F32)).isInstanceOf(ArithmeticException.class);
    }

    @Test
    void rejectsNegativeDims() {
        assertThatThrownBy(() -> Shape.of(4, -1)).isInstanceOf(IllegalArgumentException.class);
    }
}
