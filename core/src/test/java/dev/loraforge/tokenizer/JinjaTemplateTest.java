package dev.loraforge.tokenizer;

import com.fasterxml.jackson.jr.ob.JSON;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The Jinja engine on small snippets against Python Jinja2's output (make_snippets.py). */
class JinjaTemplateTest {
    record Snippet(int index, String template, Map<String, Object> vars, String output, String error) {
        @Override
        public String toString() {
            return index + ": " + template.replace("\n", "\\n");
        }
    }

    @SuppressWarnings("unchecked")
    static List<Snippet> snippets() throws IOException {
        List<Object> raw = JSON.std.listFrom(Files.readString(Fixtures.path("tokenizers/jinja/snippets.json")));
        List<Snippet> out = new ArrayList<>();
        for (Object o : raw) {
            Map<String, Object> m = (Map<String, Object>) o;
            out.add(new Snippet(out.size(), (String) m.get("template"), (Map<String, Object>) m.get("vars"),
                    (String) m.get("output"), (String) m.get("error")));
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("snippets")
    void matchesPythonJinja2(Snippet s) {
        if (s.error() != null) {
            assertThatThrownBy(() -> JinjaTemplate.parse(s.template()).render(s.vars()))
                    .isInstanceOf(TokenizerException.class)
                    .extracting(e -> ((TokenizerException) e).kind()).isEqualTo(TokenizerException.Kind.TEMPLATE);
        } else {
            assertThat(JinjaTemplate.parse(s.template()).render(s.vars())).isEqualTo(s.output());
        }
    }
}
