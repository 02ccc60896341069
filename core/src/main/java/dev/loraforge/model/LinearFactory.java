package dev.loraforge.model;

import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;

/**
 * Builds the {@link Linear} of one projection. {@code module} is the HF module path without
 * {@code .weight} (e.g. {@code model.layers.3.self_attn.q_proj}, {@code lm_head}); {@code weight} the
 * tensor that holds its matrix (for a tied head: {@code model.embed_tokens.weight}). The model checks
 * the returned shape.
 */
@FunctionalInterface
public interface LinearFactory {

    Linear create(String module, String weight, int out, int in, TensorSource source);

    /** Float32 copies of the source tensors: fastest, but memory holds every matrix as floats. */
    LinearFactory DENSE = (module, weight, out, in, source) -> DenseLinear.of(require(source, weight), out, in);

    /** The source tensors read in place, row by row (no float copy; slower for F16/BF16 sources). */
    LinearFactory IN_PLACE = (module, weight, out, in, source) -> new ViewLinear(require(source, weight), out, in);

    /** The tensor, or a {@link ModelException} naming it when absent. */
    static TensorView require(TensorSource source, String name) {
        return source.find(name).orElseThrow(() -> new ModelException(ModelException.Kind.BAD_WEIGHT,
                "missing weight '" + name + "' in " + source));
    }
}
