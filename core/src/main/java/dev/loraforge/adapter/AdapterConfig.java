package dev.loraforge.adapter;

import dev.loraforge.io.PythonJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The keys of a PEFT {@code adapter_config.json} that change what a merge computes, plus every key
 * verbatim (in file order) so the file can be written back unchanged except for what we set.
 *
 * @param targetModules   list form (suffix match on a dot boundary); null when {@code targetRegex} is set
 * @param targetRegex     string form: {@code re.fullmatch} against the module name; "all-linear" is kept as is
 * @param layersToTransform null = all layers
 * @param raw             every key of the file in file order
 */
public record AdapterConfig(
        String peftType,
        int r,
        double loraAlpha,
        boolean useRslora,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern,
        List<String> targetModules,
        String targetRegex,
        List<String> excludeModules,
        List<Integer> layersToTransform,
        List<String> layersPattern,
        boolean fanInFanOut,
        boolean useDora,
        List<String> modulesToSave,
        String bias,
        boolean loraBias,
        String baseModelNameOrPath,
        String taskType,
        Map<String, Object> raw) {

    public static final String FILE_NAME = "adapter_config.json";
    public static final String ALL_LINEAR = "all-linear";
    /** peft_type values of other PEFT methods, named in the error so the user knows what they have. */
    private static final Set<String> OTHER_METHODS = Set.of("LOHA", "LOKR", "IA3", "VERA", "ADALORA", "BOFT",
            "OFT", "FOURIERFT", "HRA", "VBLORA", "LN_TUNING", "POLY", "PROMPT_TUNING", "P_TUNING",
            "PREFIX_TUNING", "MULTITASK_PROMPT_TUNING", "ADAPTION_PROMPT", "XLORA", "BONE", "RANDLORA", "C3A",
            "SHIRA", "MISS", "ROAD", "CPT", "TRAINABLE_TOKENS", "WAVEFT", "GRALORA", "DELORA", "OSF");
    private static final Pattern LAYER_INDEX = Pattern.compile(".*\\.[^.]*\\.(\\d+)\\..*");

    public AdapterConfig {
        rankPattern = Collections.unmodifiableMap(new LinkedHashMap<>(rankPattern));
        alphaPattern = Collections.unmodifiableMap(new LinkedHashMap<>(alphaPattern));
        targetModules = targetModules == null ? null : List.copyOf(targetModules);
        excludeModules = excludeModules == null ? null : List.copyOf(excludeModules);
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
        layersPattern = layersPattern == null ? null : List.copyOf(layersPattern);
        modulesToSave = modulesToSave == null ? List.of() : List.copyOf(modulesToSave);
        raw = Collections.unmodifiableMap(new LinkedHashMap<>(raw));
        if (r <= 0) {
            throw new AdapterException(AdapterException.Kind.BAD_CONFIG, "r must be positive, is " + r);
        }
    }

    /** Reads {@code dir/adapter_config.json}. */
    public static AdapterConfig read(Path dir) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new AdapterException(AdapterException.Kind.MISSING_FILE,
                    file + ": no adapter_config.json; is " + dir + " a PEFT adapter folder?");
        }
        return parse(text, file.toString());
    }

    /** Parses the text of an adapter_config.json; {@code source} names it in errors. */
    public static AdapterConfig parse(String text, String source) {
        Map<String, Object> m;
        try {
            m = PythonJson.parseObject(text);
        } catch (IOException | RuntimeException e) {
            throw new AdapterException(AdapterException.Kind.BAD_CONFIG, source + ": not a JSON object: " + e.getMessage(), e);
        }
        Reader rd = new Reader(m, source);
        String peftType = rd.string("peft_type", null);
        if (peftType == null) {
            throw new AdapterException(AdapterException.Kind.BAD_CONFIG, source + ": no peft_type");
        }
        if (!peftType.equals("LORA")) {
            String what = OTHER_METHODS.contains(peftType) ? "the PEFT method " + peftType : "peft_type '" + peftType + "'";
            throw new AdapterException(AdapterException.Kind.UNSUPPORTED_METHOD, source + ": " + what
                    + " is not supported; only LoRA adapters (peft_type LORA, with rsLoRA or DoRA) can be merged");
        }
        int r = rd.integer("r", 8);
        double alpha = rd.number("lora_alpha", 8);
        Map<String, Integer> rp = new LinkedHashMap<>();
        rd.map("rank_pattern").forEach((k, v) -> rp.put(k, rd.asInt(v, "rank_pattern." + k)));
        Map<String, Double> ap = new LinkedHashMap<>();
        rd.map("alpha_pattern").forEach((k, v) -> ap.put(k, rd.asNumber(v, "alpha_pattern." + k)));
        Object tm = m.get("target_modules");
        List<String> targets = null;
        String regex = null;
        if (tm instanceof String s) {
            regex = s;
        } else if (tm != null) {
            targets = rd.strings("target_modules");
        }
        Object ex = m.get("exclude_modules");
        List<String> exclude = ex instanceof String s ? List.of(s) : ex == null ? null : rd.strings("exclude_modules");
        Object lt = m.get("layers_to_transform");
        List<Integer> layers = null;
        if (lt instanceof Number) {
            layers = List.of(rd.asInt(lt, "layers_to_transform"));
        } else if (lt instanceof List<?> l) {
            layers = new ArrayList<>();
            for (Object o : l) {
                layers.add(rd.asInt(o, "layers_to_transform"));
            }
            if (layers.isEmpty()) {
                layers = null;
            }
        } else if (lt != null) {
            rd.fail("layers_to_transform", lt, "an integer or a list of integers");
        }
        Object lp = m.get("layers_pattern");
        List<String> layersPattern = lp instanceof String s ? List.of(s) : lp == null ? null : rd.strings("layers_pattern");
        String bias = rd.string("bias", "none");
        if (!List.of("none", "all", "lora_only").contains(bias)) {
            rd.fail("bias", bias, "one of none, all, lora_only");
        }
        if (m.get("trainable_token_indices") != null) {
            throw new AdapterException(AdapterException.Kind.UNSUPPORTED_OPTION,
                    source + ": trainable_token_indices (trainable tokens) is not supported yet");
        }
        return new AdapterConfig(peftType, r, alpha, rd.bool("use_rslora"), rp, ap, targets, regex, exclude, layers,
                layersPattern, rd.bool("fan_in_fan_out"), rd.bool("use_dora"),
                m.get("modules_to_save") == null ? null : rd.strings("modules_to_save"), bias,
                rd.bool("lora_bias"), rd.string("base_model_name_or_path", null), rd.string("task_type", null), m);
    }

    /**
     * PEFT's {@code get_pattern_key}: the first pattern p (in file order) for which
     * {@code re.match(r"(.*\.)?(p)$", module)} matches.
     */
    public static String patternKey(Iterable<String> patterns, String module) {
        for (String p : patterns) {
            try {
                if (Pattern.compile("(.*\\.)?(" + p + ")").matcher(module).matches()) {
                    return p;
                }
            } catch (PatternSyntaxException e) {
                throw new AdapterException(AdapterException.Kind.BAD_CONFIG, "pattern '" + p + "' is not a regular expression: " + e.getDescription());
            }
        }
        return null;
    }

    /** Rank of a module (without the {@code base_model.model.} prefix), from rank_pattern or r. */
    public int rankFor(String module) {
        String k = patternKey(rankPattern.keySet(), module);
        return k == null ? r : rankPattern.get(k);
    }

    /** lora_alpha of a module, from alpha_pattern or lora_alpha. */
    public double alphaFor(String module) {
        String k = patternKey(alphaPattern.keySet(), module);
        return k == null ? loraAlpha : alphaPattern.get(k);
    }

    /** PEFT's scaling: alpha/√r with rsLoRA, else alpha/r (both divisions in float64). */
    public double scalingFor(String module) {
        double alpha = alphaFor(module);
        int rank = rankFor(module);
        return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /**
     * PEFT's {@code check_target_module_exists}: exclude_modules first, then a regex target is a full match,
     * a list target an exact name or a suffix after a dot, then layers_to_transform (list form only).
     */
    public boolean targets(String module) {
        if (excludeModules != null) {
            for (String e : excludeModules) {
                if (raw.get("exclude_modules") instanceof String ? module.matches(e)
                        : module.equals(e) || module.endsWith("." + e)) {
                    return false;
                }
            }
        }
        if (targetRegex != null) {
            if (targetRegex.equals(ALL_LINEAR)) {
                return !module.equals("lm_head") && !module.endsWith(".lm_head");
            }
            return module.matches(targetRegex);
        }
        if (targetModules == null) {
            return false;
        }
        if (targetModules.contains(module)) {
            return true;
        }
        boolean found = targetModules.stream().anyMatch(t -> module.endsWith("." + t));
        if (found && layersToTransform != null) {
            Integer layer = null;
            if (layersPattern == null || layersPattern.isEmpty()) {
                Matcher mm = LAYER_INDEX.matcher(module);
                layer = mm.matches() ? Integer.valueOf(mm.group(1)) : null;
            } else {
                for (String p : layersPattern) {
                    Matcher mm = Pattern.compile(".*\\." + p + "\\.(\\d+)\\..*").matcher(module);
                    if (mm.matches()) {
                        layer = Integer.valueOf(mm.group(1));
                        break;
                    }
                }
            }
            found = layer != null && layersToTransform.contains(layer);
        }
        return found;
    }

    /** The file text (indent 2 like PEFT; keys in the file's order, new keys last), with {@code changes} applied. */
    public String toJson(Map<String, Object> changes) {
        Map<String, Object> m = new LinkedHashMap<>(raw);
        m.putAll(changes);
        return PythonJson.write(m, 2, false);
    }

    /** Typed access with errors that name the file, the key and the value. */
    private record Reader(Map<String, Object> m, String source) {
        String string(String key, String dflt) {
            Object v = m.get(key);
            if (v == null) {
                return dflt;
            }
            if (!(v instanceof String s)) {
                throw fail(key, v, "a string");
            }
            return s;
        }

        boolean bool(String key) {
            Object v = m.get(key);
            if (v == null) {
                return false;
            }
            if (!(v instanceof Boolean b)) {
                throw fail(key, v, "true or false");
            }
            return b;
        }

        int integer(String key, int dflt) {
            Object v = m.get(key);
            return v == null ? dflt : asInt(v, key);
        }

        double number(String key, double dflt) {
            Object v = m.get(key);
            return v == null ? dflt : asNumber(v, key);
        }

        int asInt(Object v, String key) {
            if (v instanceof Integer i) {
                return i;
            }
            if (v instanceof Long l && l == (int) (long) l) {
                return (int) (long) l;
            }
            throw fail(key, v, "an integer");
        }

        double asNumber(Object v, String key) {
            if (v instanceof Number n && !(v instanceof Boolean)) {
                return n.doubleValue();
            }
            throw fail(key, v, "a number");
        }

        Map<String, Object> map(String key) {
            Object v = m.get(key);
            if (v == null) {
                return Map.of();
            }
            if (!(v instanceof Map<?, ?> mm)) {
                throw fail(key, v, "an object");
            }
            Map<String, Object> out = new LinkedHashMap<>();
            mm.forEach((k, val) -> out.put(String.valueOf(k), val));
            return out;
        }

        List<String> strings(String key) {
            Object v = m.get(key);
            if (!(v instanceof List<?> l)) {
                throw fail(key, v, "a list of strings");
            }
            List<String> out = new ArrayList<>();
            for (Object o : l) {
                if (!(o instanceof String s)) {
                    throw fail(key, v, "a list of strings");
                }
                out.add(s);
            }
            return out;
        }

        AdapterException fail(String key, Object v, String expected) {
            throw new AdapterException(AdapterException.Kind.BAD_CONFIG,
                    source + ": " + key + " is " + v + ", expected " + expected);
        }
    }
}
