package dev.loraforge.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Locale;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** str()/repr() of floats inside templates; expected values typed from CPython 3.11's {@code repr}. */
class PyValueReprTest {
    @ParameterizedTest
    @CsvSource({
            "1e-05, 1e-05", "0.0001, 0.0001", "12345678.5, 12345678.5", "1e16, 1e+16", "123.0, 123.0",
            "0.1, 0.1", "-2.5, -2.5", "1.5e20, 1.5e+20", "5e-324, 5e-324", "-0.0, -0.0", "1e300, 1e+300"})
    void floatReprIsPythons(double d, String python) {
        assertThat(PyValue.floatRepr(d)).isEqualTo(python);
    }

    @ParameterizedTest
    @CsvSource({"3.25, 3.25", "1e-05, 1e-05"})
    void floatReprIgnoresTheDefaultLocale(double d, String python) {
        Locale before = Locale.getDefault();
        try {
            Locale.setDefault(Locale.GERMANY);
            assertThat(PyValue.floatRepr(d)).isEqualTo(python);
        } finally {
            Locale.setDefault(before);
        }
    }
}
