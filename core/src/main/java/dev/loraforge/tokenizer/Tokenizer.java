package dev.loraforge.tokenizer;

import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.function.Function;

/**
 * Text to token ids and back. Special (added) tokens written in the text, such as {@code <|eot_id|>},
 * are recognised as single tokens, as Hugging Face tokenizers do, so a rendered chat template
 * encodes correctly.
 */
public interface Tokenizer {

    /** The tokenizer of a Hugging Face model folder; see {@link Tokenizers#load(Path)}. */
    static Tokenizer load(Path modelDir) {
        return Tokenizers.load(modelDir);
    }

    /** From GGUF {@code tokenizer.ggml.*} metadata; see {@link Tokenizers#fromGgufMetadata(Function)}. */
    static Tokenizer fromGgufMetadata(Function<String, Object> kv) {
        return Tokenizers.fromGgufMetadata(kv);
    }

    /**
     * Token ids of {@code text}. With {@code addSpecial}, BOS/EOS are added as the model's
     * configuration says (tokenizer_config.json {@code add_bos_token}/{@code add_eos_token}, the
     * tokenizer.json post-processor, or GGUF {@code tokenizer.ggml.add_bos_token}).
     */
    int[] encode(String text, boolean addSpecial);

    /** The text of {@code ids}; special tokens appear as their text (no skipping). */
    String decode(int[] ids);

    /** The raw vocabulary entry of {@code id} (e.g. {@code ▁Hello}, {@code <0x0A>}, {@code Ġthe}). */
    String tokenText(int id);

    int vocabSize();

    OptionalInt bos();

    OptionalInt eos();

    /** Control / special added tokens (BOS, EOS, chat markers), as opposed to ordinary text pieces. */
    boolean isSpecial(int id);
}
