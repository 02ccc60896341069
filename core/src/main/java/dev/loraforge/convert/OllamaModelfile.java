package dev.loraforge.convert;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * An Ollama {@code Modelfile} for a converted GGUF: {@code FROM}, a {@code TEMPLATE} in Ollama's Go template
 * syntax for the chat format the model's Jinja {@code chat_template} uses (recognised by its markers: Llama 3,
 * ChatML/Qwen, Mistral [INST], Gemma, Phi-3; Jinja itself cannot be translated in general), {@code PARAMETER stop}
 * tokens, and the sampling defaults of {@code generation_config.json}.
 */
public final class OllamaModelfile {
    private OllamaModelfile() {
    }

    /** A chat format: Ollama template and its stop strings. */
    record Format(String name, String template, Set<String> stops) {
    }

    static final Format LLAMA3 = new Format("llama3", """
            {{- if .System }}<|start_header_id|>system<|end_header_id|>

            {{ .System }}<|eot_id|>{{ end }}
            {{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>

            {{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>

            """, Set.of("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"));

    static final Format CHATML = new Format("chatml", """
            {{- if .System }}<|im_start|>system
            {{ .System }}<|im_end|>
            {{ end }}
            {{- range .Messages }}<|im_start|>{{ .Role }}
            {{ .Content }}<|im_end|>
            {{ end }}<|im_start|>assistant
            """, Set.of("<|im_start|>", "<|im_end|>"));

    static final Format MISTRAL = new Format("mistral", """
            {{- range $i, $_ := .Messages }}
            {{- if eq .Role "user" }}[INST] {{ if and (eq $i 0) $.System }}{{ $.System }}

            {{ end }}{{ .Content }}[/INST]
            {{- else if eq .Role "assistant" }} {{ .Content }}</s>
            {{- end }}
            {{- end }}""", Set.of("[INST]", "[/INST]"));

    static final Format GEMMA = new Format("gemma", """
            {{- range .Messages }}<start_of_turn>{{ if eq .Role "assistant" }}model{{ else }}{{ .Role }}{{ end }}
            {{ .Content }}<end_of_turn>
            {{ end }}<start_of_turn>model
            """, Set.of("<start_of_turn>", "<end_of_turn>"));

    static final Format PHI3 = new Format("phi3", """
            {{- if .System }}<|system|>
            {{ .System }}<|end|>
            {{ end }}
            {{- range .Messages }}<|{{ .Role }}|>
            {{ .Content }}<|end|>
            {{ end }}<|assistant|>
            """, Set.of("<|end|>", "<|user|>", "<|assistant|>"));

    /** The chat format whose markers the Jinja template contains, or null. */
    static Format recognise(String jinja) {
        if (jinja == null) {
            return null;
        }
        if (jinja.contains("<|start_header_id|>")) {
            return LLAMA3;
        }
        if (jinja.contains("<|im_start|>")) {
            return CHATML;
        }
        if (jinja.contains("<start_of_turn>")) {
            return GEMMA;
        }
        if (jinja.contains("<|assistant|>") && jinja.contains("<|end|>")) {
            return PHI3;
        }
        if (jinja.contains("[INST]")) {
            return MISTRAL;
        }
        return null;
    }

    /** The Modelfile text for {@code gguf} converted from {@code modelDir} (adapter folders override templates). */
    public static String build(Path modelDir, Path gguf, java.util.List<Path> adapterDirs) {
        StringBuilder b = new StringBuilder();
        b.append("# Modelfile for ").append(gguf.getFileName()).append(", written by loraforge\n");
        b.append("FROM ./").append(gguf.getFileName()).append("\n");
        String template = null;
        String eos = null;
        for (Path dir : prepend(modelDir, adapterDirs)) {
            Path tc = dir.resolve("tokenizer_config.json");
            if (Files.isRegularFile(tc)) {
                Map<String, Object> cfg = HfConfig.readJson(tc, ConvertException.Kind.BAD_TOKENIZER);
                if (cfg.get("chat_template") instanceof String s) {
                    template = s;
                }
                Object e = cfg.get("eos_token");
                if (e instanceof String s) {
                    eos = s;
                } else if (e instanceof Map<?, ?> m && m.get("content") instanceof String s) {
                    eos = s;
                }
            }
            Path jinja = dir.resolve("chat_template.jinja");
            if (Files.isRegularFile(jinja)) {
                try {
                    template = Files.readString(jinja);
                } catch (java.io.IOException ex) {
                    throw new ConvertException(ConvertException.Kind.BAD_TOKENIZER, "cannot read " + jinja, ex);
                }
            }
        }
        Format f = recognise(template);
        Set<String> stops = new LinkedHashSet<>();
        if (f != null) {
            b.append("TEMPLATE \"\"\"").append(f.template()).append("\"\"\"\n");
            stops.addAll(f.stops());
        } else if (template != null) {
            b.append("# the chat template of this model is not one of the known formats; add a TEMPLATE by hand\n");
        } else {
            b.append("# no chat template (base model): plain completion\nTEMPLATE \"\"\"{{ .Prompt }}\"\"\"\n");
        }
        if (eos != null && !eos.isEmpty()) {
            stops.add(eos);
        }
        for (String s : stops) {
            b.append("PARAMETER stop \"").append(s.replace("\\", "\\\\").replace("\"", "\\\"")).append("\"\n");
        }
        Path gen = modelDir.resolve("generation_config.json");
        if (Files.isRegularFile(gen)) {
            Map<String, Object> g = HfConfig.readJson(gen, ConvertException.Kind.BAD_CONFIG);
            param(b, g, "temperature", "temperature");
            param(b, g, "top_p", "top_p");
            param(b, g, "top_k", "top_k");
            param(b, g, "repetition_penalty", "repeat_penalty");
        }
        return b.toString();
    }

    private static java.util.List<Path> prepend(Path first, java.util.List<Path> rest) {
        java.util.List<Path> all = new java.util.ArrayList<>();
        all.add(first);
        all.addAll(rest);
        return all;
    }

    private static void param(StringBuilder b, Map<String, Object> g, String from, String to) {
        if (g.get(from) instanceof Number n) {
            String v = HfConfig.isInteger(n) ? Long.toString(n.longValue()) : String.format(Locale.ROOT, "%s", n.doubleValue());
            b.append("PARAMETER ").append(to).append(' ').append(v).append('\n');
        }
    }
}
