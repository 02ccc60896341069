package dev.loraforge.adapter;

import dev.loraforge.adapter.AdapterException.Kind;
import dev.loraforge.adapter.CheckReport.Finding;
import dev.loraforge.adapter.CheckReport.Severity;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Checks an adapter against a base model before anything is written: every module it changes exists in
 * the base with a fitting shape, the vocabulary was not resized, the base is the one the adapter names.
 */
public final class AdapterCheck {
    /** Names of the input embedding that a tied lm_head shares, in the order they are looked for. */
    public static final List<String> EMBEDDING_NAMES = List.of("model.embed_tokens.weight", "transformer.wte.weight",
            "model.decoder.embed_tokens.weight", "embed_tokens.weight");
    public static final String LM_HEAD = "lm_head.weight";

    private AdapterCheck() {
    }

    /** The base model's view of tensors: its tensors plus tying from its config.json. */
    public record Base(Path path, TensorSource tensors, Map<String, Object> config) {
        public boolean tied() {
            return Boolean.TRUE.equals(config.get("tie_word_embeddings")) && tensors.find(LM_HEAD).isEmpty();
        }

        /** The stored embedding that lm_head is tied to, if the model ties them. */
        public Optional<String> tiedEmbedding() {
            if (!tied()) {
                return Optional.empty();
            }
            return EMBEDDING_NAMES.stream().filter(n -> tensors.find(n).isPresent()).findFirst();
        }

        /** The stored tensor holding {@code name}: itself, or the embedding for a tied lm_head. */
        public Optional<TensorView> resolve(String name) {
            Optional<TensorView> t = tensors.find(name);
            if (t.isEmpty() && name.equals(LM_HEAD)) {
                return tiedEmbedding().flatMap(tensors::find);
            }
            return t;
        }
    }

    public static CheckReport check(Base base, LoraAdapter adapter) {
        List<Finding> out = new ArrayList<>();
        AdapterConfig cfg = adapter.config();
        String src = adapter.dir() == null ? "adapter" : adapter.dir().toString();
        for (LoraModule m : adapter.modules()) {
            String name = m.baseTensor();
            Optional<TensorView> bt = base.resolve(name);
            if (bt.isEmpty()) {
                out.add(error(Kind.MISSING_BASE_TENSOR, src + ": module '" + m.module() + "' changes '" + name
                        + "', which the base " + base.path() + " does not have; is this adapter for another model?"));
                continue;
            }
            TensorView w = bt.get();
            if (!w.dtype().isFloatingPoint()) {
                out.add(error(Kind.BAD_DTYPE, "base tensor '" + name + "' is " + w.dtype() + "; LoRA needs a float weight"));
                continue;
            }
            long out_ = m.b().shape().dim(0);
            long in = m.a().shape().dim(1);
            Shape expect = m.transposed(cfg) ? Shape.of(in, out_) : Shape.of(out_, in);
            if (!w.shape().equals(expect)) {
                String what = m.embedding() ? "lora_embedding_A " + m.a().shape() + " / lora_embedding_B " + m.b().shape()
                        : "lora_A " + m.a().shape() + " / lora_B " + m.b().shape();
                if (isVocab(name, base) && w.shape().rank() == 2 && sameExceptRows(w.shape(), expect)) {
                    out.add(error(Kind.VOCAB_RESIZED, vocabMessage(name, w.shape().dim(0), expect.dim(0))));
                } else {
                    out.add(error(Kind.SHAPE_MISMATCH, src + ": module '" + m.module() + "': " + what + " give a "
                            + expect + " update, but base tensor '" + name + "' is " + w.shape()
                            + (cfg.fanInFanOut() ? " (fan_in_fan_out: the base stores [in, out])" : "")
                            + "; is this adapter for another base model?"));
                }
            }
            if (!cfg.targets(m.module()) && !m.embedding()) {
                out.add(new Finding(Severity.WARNING, null, src + ": module '" + m.module()
                        + "' has LoRA tensors but adapter_config.json's target_modules does not select it"));
            }
            if (m.a().dtype() != w.dtype()) {
                out.add(new Finding(Severity.INFO, null, "adapter tensors are " + m.a().dtype() + ", base is "
                        + w.dtype() + "; the merge computes in float64 and rounds once to the output dtype"));
            }
        }
        for (var e : adapter.fullTensors().entrySet()) {
            String name = e.getKey();
            TensorView t = e.getValue();
            Optional<TensorView> bt = base.resolve(name);
            if (bt.isEmpty()) {
                out.add(error(Kind.MISSING_BASE_TENSOR, src + ": full tensor 'base_model.model." + name
                        + "' (modules_to_save or bias) replaces '" + name + "', which the base does not have"));
            } else if (!bt.get().shape().equals(t.shape())) {
                Shape bs = bt.get().shape();
                if (isVocab(name, base) && bs.rank() == 2 && sameExceptRows(bs, t.shape())) {
                    out.add(error(Kind.VOCAB_RESIZED, vocabMessage(name, bs.dim(0), t.shape().dim(0))));
                } else {
                    out.add(error(Kind.SHAPE_MISMATCH, src + ": full tensor '" + name + "' is " + t.shape()
                            + ", base tensor is " + bs));
                }
            } else if (!t.dtype().isFloatingPoint() && t.dtype() != bt.get().dtype()) {
                out.add(error(Kind.BAD_DTYPE, src + ": full tensor '" + name + "' is " + t.dtype() + ", base is " + bt.get().dtype()));
            }
        }
        String named = cfg.baseModelNameOrPath();
        if (named != null && base.path() != null && !matchesName(named, base.path())) {
            out.add(new Finding(Severity.WARNING, null, "the adapter was trained on '" + named + "' but the base given is "
                    + base.path() + "; make sure it is the same model"));
        }
        return new CheckReport(dedupe(out));
    }

    private static List<Finding> dedupe(List<Finding> in) {
        return in.stream().distinct().toList();
    }

    private static Finding error(Kind kind, String message) {
        return new Finding(Severity.ERROR, kind, message);
    }

    private static boolean isVocab(String name, Base base) {
        return name.equals(LM_HEAD) || EMBEDDING_NAMES.contains(name);
    }

    private static boolean sameExceptRows(Shape a, Shape b) {
        return a.rank() == 2 && b.rank() == 2 && a.dim(1) == b.dim(1) && a.dim(0) != b.dim(0);
    }

    private static String vocabMessage(String name, long baseRows, long adapterRows) {
        return "'" + name + "' has " + baseRows + " rows (vocabulary) in the base but " + adapterRows
                + " in the adapter: the vocabulary was resized in training. Resize the base's token embeddings to "
                + adapterRows + " first (model.resize_token_embeddings(" + adapterRows + ")) or pass the resized base";
    }

    /** The adapter's base_model_name_or_path against the folder given: same last path element(s). */
    static boolean matchesName(String named, Path base) {
        String n = named.replace('\\', '/');
        while (n.endsWith("/")) {
            n = n.substring(0, n.length() - 1);
        }
        String last = n.substring(n.lastIndexOf('/') + 1);
        Path abs = base.toAbsolutePath().normalize();
        String p = abs.toString().replace('\\', '/');
        // a HF cache snapshot: .../models--org--name/snapshots/<rev>
        String cacheName = "models--" + n.replace("/", "--");
        return p.endsWith("/" + n) || (abs.getFileName() != null && abs.getFileName().toString().equals(last))
                || p.contains("/" + cacheName + "/");
    }
}
