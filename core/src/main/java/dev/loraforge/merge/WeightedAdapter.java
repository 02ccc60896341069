package dev.loraforge.merge;

import dev.loraforge.adapter.LoraAdapter;

/** An adapter and the factor its scaling is multiplied by ({@code --weight}; 1 for a plain merge, −1 to unmerge). */
public record WeightedAdapter(LoraAdapter adapter, double weight) {
    public WeightedAdapter {
        if (!Double.isFinite(weight)) {
            throw new IllegalArgumentException("adapter weight must be finite, is " + weight);
        }
    }
}
