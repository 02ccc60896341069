package dev.loraforge.tokenizer;

import java.time.Clock;
import java.util.List;
import java.util.Map;

/**
 * A Jinja2 template, parsed once, rendered with the environment transformers uses for chat
 * templates: trim_blocks, lstrip_blocks, loop controls, no autoescape; globals raise_exception,
 * strftime_now and namespace. Values are Java Strings, Longs, Doubles, Booleans, null (None),
 * Lists and Maps.
 */
final class JinjaTemplate {
    private final List<JinjaNode> body;
    private final Clock clock;

    private JinjaTemplate(List<JinjaNode> body, Clock clock) {
        this.body = body;
        this.clock = clock;
    }

    static TokenizerException error(String message) {
        return new TokenizerException(TokenizerException.Kind.TEMPLATE, message);
    }

    /** @throws TokenizerException if the text is not a template this engine understands */
    static JinjaTemplate parse(String text) {
        return new JinjaTemplate(new JinjaParser(new JinjaLexer(text, true, true).tokenize()).parseTemplate(), Clock.systemDefaultZone());
    }

    /** The same template with {@code strftime_now} reading this clock. */
    JinjaTemplate withClock(Clock clock) {
        return new JinjaTemplate(body, clock);
    }

    /** @throws TokenizerException when rendering fails or the template calls raise_exception */
    String render(Map<String, Object> variables) {
        try {
            Map<String, Object> vars = new java.util.LinkedHashMap<>();
            variables.forEach((k, v) -> vars.put(k, PyValue.normalize(v)));
            return new JinjaInterpreter(new JinjaBuiltins(clock)).render(body, vars);
        } catch (StackOverflowError e) {
            throw error("template nests too deeply");
        }
    }
}
