package dev.loraforge.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Chat templates against outputs written by hand from the template text (Llama-3.1, Qwen2.5,
 * Phi-3.5) and against Python Jinja2 renderings made as transformers does (make_expected.py).
 */
class ChatTemplateTest {
    /** The clock make_expected.py's strftime_now uses. */
    private static final Clock JULY_26_2024 = Clock.fixed(Instant.parse("2024-07-26T12:00:00Z"), ZoneOffset.UTC);

    private static final Map<String, List<Message>> CONVERSATIONS = Map.of(
            "system", List.of(Message.system("You are a helpful assistant."), Message.user("Hello!"),
                    Message.assistant("Hi there. How can I help?"), Message.user("Tell me a joke.")),
            "plain", List.of(Message.user("  What is 2+2?\n"), Message.assistant("4"),
                    Message.user("Ünïcödé ✓ and \"quotes\"")),
            "think", List.of(Message.user("What is 2+2?"), Message.assistant("<think>\nSimple sum.\n</think>\n\nIt is 4."),
                    Message.user("And 3+3?")));

    /** bos/eos per template file, as make_expected.py passes them. */
    private static final Map<String, String[]> SPECIAL = Map.of(
            "meta-llama-Llama-3.1-8B-Instruct", new String[] {"<|begin_of_text|>", "<|eot_id|>"},
            "meta-llama-Llama-3.2-3B-Instruct", new String[] {"<|begin_of_text|>", "<|eot_id|>"},
            "Qwen-Qwen2.5-7B-Instruct", new String[] {null, "<|im_end|>"},
            "Qwen-Qwen3-0.6B", new String[] {null, "<|im_end|>"},
            "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", new String[] {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"},
            "google-gemma-2-2b-it", new String[] {"<bos>", "<eos>"},
            "microsoft-Phi-3.5-mini-instruct", new String[] {"<s>", "<|endoftext|>"},
            "mistralai-Mistral-Nemo-Instruct-2407", new String[] {"<s>", "</s>"});

    static ChatTemplate template(String name) throws IOException {
        if (name.endsWith("-config")) {
            String model = name.substring(0, name.length() - "-config".length());
            return ChatTemplate.fromTokenizerConfig(Fixtures.path("tokenizers/" + model + "/tokenizer_config.json")).withClock(JULY_26_2024);
        }
        String text = Files.readString(Fixtures.path("tokenizers/chat-templates/" + name + ".jinja"));
        String[] special = SPECIAL.get(name);
        return ChatTemplate.of(text, special[0], special[1]).withClock(JULY_26_2024);
    }

    static Stream<Arguments> jinja2Renderings() throws IOException {
        List<Arguments> out = new ArrayList<>();
        List<String> names = new ArrayList<>(SPECIAL.keySet());
        names.add("llama3-config");
        names.add("qwen3-config");
        names.sort(null);
        for (String name : names) {
            for (String conv : List.of("system", "plain", "think")) {
                for (boolean gen : List.of(true, false)) {
                    out.add(Arguments.of(name, conv, gen));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} generation prompt {2}")
    @MethodSource("jinja2Renderings")
    void matchesPythonJinja2(String name, String conv, boolean gen) throws IOException {
        String base = "tokenizers/chat-templates/expected/" + name + "." + conv + "." + (gen ? "gen" : "nogen");
        Path dir = Fixtures.path("tokenizers/chat-templates/expected");
        Path ok = dir.resolve(Path.of(base).getFileName() + ".txt");
        Path err = dir.resolve(Path.of(base).getFileName() + ".error.txt");
        ChatTemplate t = template(name);
        if (Files.exists(err)) {
            assertThatThrownBy(() -> t.render(CONVERSATIONS.get(conv), gen))
                    .isInstanceOf(TokenizerException.class)
                    .hasMessage(Files.readString(err))
                    .extracting(e -> ((TokenizerException) e).kind()).isEqualTo(TokenizerException.Kind.TEMPLATE);
        } else {
            assertThat(t.render(CONVERSATIONS.get(conv), gen)).isEqualTo(Files.readString(ok));
        }
    }

    @Test
    void qwen3WithoutThinking() throws IOException {
        assertThat(template("qwen3-config").render(CONVERSATIONS.get("think"), true, Map.of("enable_thinking", false)))
                .isEqualTo(Files.readString(Fixtures.path("tokenizers/chat-templates/expected/qwen3-config.think.gen.nothinking.txt")));
    }

    @Test
    void fromGgufMetadata() throws IOException {
        String text = Files.readString(Fixtures.path("tokenizers/chat-templates/microsoft-Phi-3.5-mini-instruct.jinja"));
        Map<String, Object> kv = Map.of(ChatTemplate.CHAT_TEMPLATE_KEY, text,
                "tokenizer.ggml.tokens", List.of("<unk>", "<s>", "<|endoftext|>"),
                "tokenizer.ggml.bos_token_id", 1L, "tokenizer.ggml.eos_token_id", 2L);
        assertThat(ChatTemplate.fromGgufMetadata(kv::get).render(List.of(Message.user("Hi")), false))
                .isEqualTo("<|user|>\nHi<|end|>\n<|endoftext|>");
        assertThatThrownBy(() -> ChatTemplate.fromGgufMetadata(k -> null))
                .extracting(e -> ((TokenizerException) e).kind()).isEqualTo(TokenizerException.Kind.MISSING_FIELD);
    }

    @Test
    void configWithoutTemplate() {
        assertThatThrownBy(() -> ChatTemplate.fromTokenizerConfig(Fixtures.path("tokenizers/llama2")))
                .extracting(e -> ((TokenizerException) e).kind()).isEqualTo(TokenizerException.Kind.MISSING_FIELD);
    }

    // Expected strings below are written from the template text, not produced by any renderer.

    @Test
    void llama31ByHand() throws IOException {
        String expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
                + "You are a helpful assistant.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHi there. How can I help?<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        assertThat(template("meta-llama-Llama-3.1-8B-Instruct").render(CONVERSATIONS.get("system"), true)).isEqualTo(expected);
        // content is trimmed by the template ("| trim")
        assertThat(template("meta-llama-Llama-3.1-8B-Instruct").render(List.of(Message.user("  Hi \n")), false))
                .isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                        + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
    }

    @Test
    void qwen25ByHand() throws IOException {
        ChatTemplate t = template("Qwen-Qwen2.5-7B-Instruct");
        assertThat(t.render(List.of(Message.user("Hello!")), true)).isEqualTo(
                "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                        + "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n");
        assertThat(t.render(CONVERSATIONS.get("system"), false)).isEqualTo(
                "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                        + "<|im_start|>user\nHello!<|im_end|>\n"
                        + "<|im_start|>assistant\nHi there. How can I help?<|im_end|>\n"
                        + "<|im_start|>user\nTell me a joke.<|im_end|>\n");
    }

    @Test
    void phi35ByHand() throws IOException {
        ChatTemplate t = template("microsoft-Phi-3.5-mini-instruct");
        assertThat(t.render(CONVERSATIONS.get("system"), true)).isEqualTo(
                "<|system|>\nYou are a helpful assistant.<|end|>\n<|user|>\nHello!<|end|>\n"
                        + "<|assistant|>\nHi there. How can I help?<|end|>\n<|user|>\nTell me a joke.<|end|>\n<|assistant|>\n");
        // without a generation prompt the template ends with eos_token
        assertThat(t.render(List.of(Message.user("Hi")), false)).isEqualTo("<|user|>\nHi<|end|>\n<|endoftext|>");
    }

    @Test
    void renderedPromptEncodesWithSpecialTokens(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        Tokenizer qwen3 = Tokenizers.load(Fixtures.gunzipToDir("tokenizers/qwen3/tokenizer.json.gz", tmp));
        String prompt = template("qwen3-config").render(List.of(Message.user("Hi")), true);
        assertThat(prompt).isEqualTo("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
        assertThat(qwen3.encode(prompt, false)).containsExactly(151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198);
    }

    @Test
    void templateErrorsAreTokenizerExceptions() {
        assertThatThrownBy(() -> ChatTemplate.of("{% if x %}unclosed", null, null))
                .isInstanceOf(TokenizerException.class)
                .extracting(e -> ((TokenizerException) e).kind()).isEqualTo(TokenizerException.Kind.TEMPLATE);
        assertThatThrownBy(() -> ChatTemplate.of("{{ raise_exception('no ' + 'way') }}", null, null).render(List.of(), false))
                .hasMessage("no way");
        assertThat(ChatTemplate.of("{% for m in messages %}{% if loop.index0 == 1 %}{% break %}{% endif %}"
                + "{{ m.content.strip()|upper }};{% endfor %}{{ [1, 2]|tojson }}", null, null)
                .render(List.of(Message.user(" a "), Message.user("b")), false)).isEqualTo("A;[1, 2]");
    }
}
