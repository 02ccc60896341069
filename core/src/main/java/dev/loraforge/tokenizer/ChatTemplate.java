package dev.loraforge.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A model's chat template ({@code tokenizer_config.json} {@code chat_template}, Jinja2) rendered the
 * way transformers' {@code apply_chat_template} does, by loraforge's own small Jinja engine.
 */
public final class ChatTemplate {
    /** The GGUF metadata key llama.cpp's converter writes the template to. */
    public static final String CHAT_TEMPLATE_KEY = "tokenizer.chat_template";

    private final JinjaTemplate template;
    private final String bosToken;
    private final String eosToken;

    private ChatTemplate(JinjaTemplate template, String bosToken, String eosToken) {
        this.template = template;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
    }

    /** From template text; {@code bosToken}/{@code eosToken} may be null (then undefined in the template). */
    public static ChatTemplate of(String templateText, String bosToken, String eosToken) {
        return new ChatTemplate(JinjaTemplate.parse(templateText), bosToken, eosToken);
    }

    /**
     * From {@code tokenizer_config.json} (or the folder holding it): its {@code chat_template} (a
     * string, or a list of named templates of which "default" is taken) and bos/eos tokens.
     */
    public static ChatTemplate fromTokenizerConfig(Path tokenizerConfig) {
        Path file = Files.isDirectory(tokenizerConfig) ? tokenizerConfig.resolve("tokenizer_config.json") : tokenizerConfig;
        Map<String, Object> cfg = Tokenizers.readJson(file);
        Object t = cfg.get("chat_template");
        String text = null;
        if (t instanceof String s) {
            text = s;
        } else if (t instanceof List<?> named) {
            for (Object o : named) {
                if (o instanceof Map<?, ?> m && "default".equals(m.get("name")) && m.get("template") instanceof String s) {
                    text = s;
                }
            }
        }
        if (text == null) {
            throw new TokenizerException(TokenizerException.Kind.MISSING_FIELD, file.getFileName() + " has no chat_template");
        }
        try {
            return of(text, tokenText(cfg.get("bos_token")), tokenText(cfg.get("eos_token")));
        } catch (TokenizerException e) {
            throw new TokenizerException(e.kind(), file.getFileName() + " chat_template: " + e.getMessage(), e);
        }
    }

    /**
     * From GGUF metadata: {@code tokenizer.chat_template}, with BOS/EOS texts looked up in
     * {@code tokenizer.ggml.tokens} by {@code tokenizer.ggml.bos_token_id}/{@code eos_token_id}.
     */
    public static ChatTemplate fromGgufMetadata(Function<String, Object> kv) {
        if (!(kv.apply(CHAT_TEMPLATE_KEY) instanceof String text)) {
            throw new TokenizerException(TokenizerException.Kind.MISSING_FIELD, "GGUF has no " + CHAT_TEMPLATE_KEY);
        }
        String[] tokens = kv.apply(GgufVocabulary.TOKENS) instanceof List<?> ? GgufVocabulary.tokens(kv) : new String[0];
        int bos = GgufVocabulary.intOr(kv, GgufVocabulary.BOS_ID, -1);
        int eos = GgufVocabulary.intOr(kv, GgufVocabulary.EOS_ID, -1);
        return of(text, bos >= 0 && bos < tokens.length ? tokens[bos] : null, eos >= 0 && eos < tokens.length ? tokens[eos] : null);
    }

    private static String tokenText(Object token) {
        if (token instanceof String s) {
            return s;
        }
        return token instanceof Map<?, ?> m && m.get("content") instanceof String c ? c : null;
    }

    /** The same template with {@code strftime_now()} reading this clock (templates that print today's date). */
    public ChatTemplate withClock(Clock clock) {
        return new ChatTemplate(template.withClock(clock), bosToken, eosToken);
    }

    /**
     * The prompt text for {@code messages}; with {@code addGenerationPrompt} it ends with the header
     * that starts the assistant's reply.
     *
     * @throws TokenizerException (kind TEMPLATE) when the template rejects the conversation
     */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /** As {@link #render(List, boolean)} with extra template variables (e.g. {@code enable_thinking}). */
    public String render(List<Message> messages, boolean addGenerationPrompt, Map<String, Object> extraVariables) {
        List<Object> msgs = new ArrayList<>();
        for (Message m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Map<String, Object> vars = new LinkedHashMap<>();
        vars.put("messages", msgs);
        vars.put("tools", null);
        vars.put("documents", null);
        vars.put("add_generation_prompt", addGenerationPrompt);
        if (bosToken != null) {
            vars.put("bos_token", bosToken);
        }
        if (eosToken != null) {
            vars.put("eos_token", eosToken);
        }
        vars.putAll(extraVariables);
        return template.render(vars);
    }
}
