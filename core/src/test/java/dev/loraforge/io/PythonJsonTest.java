package dev.loraforge.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class PythonJsonTest {

    /** Expected strings are Python 3.11's repr(float). */
    @ParameterizedTest
    @CsvSource({"1e-05,1e-05", "0.0001,0.0001", "10000.0,10000.0", "0.02,0.02", "1e16,1e+16", "123456789012345.6,123456789012345.6",
            "1.5e-07,1.5e-07", "-2.5,-2.5", "16.0,16.0", "0.1,0.1", "1e22,1e+22", "9999999999999998.0,9999999999999998.0"})
    void floatsAreWrittenLikePythonRepr(double d, String python) {
        assertThat(PythonJson.pythonRepr(d)).isEqualTo(python);
    }

    @Test
    void layoutIsJsonDumpsIndent2() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("b", List.of(1, "x"));
        m.put("a", Map.of());
        m.put("c", List.of());
        m.put("d", "é\"\n");
        assertThat(PythonJson.write(m, 2, true)).isEqualTo("{\n  \"a\": {},\n  \"b\": [\n    1,\n    \"x\"\n  ],\n  \"c\": [],\n  \"d\": \"\\u00e9\\\"\\n\"\n}");
    }
}
