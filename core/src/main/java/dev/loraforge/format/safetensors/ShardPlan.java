package dev.loraforge.format.safetensors;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * How a model's tensors are split into shard files, by the rules of transformers' {@code save_pretrained}
 * (huggingface_hub {@code split_state_dict_into_shards_factory}): tensors in the given order fill a shard
 * greedily until the next one would push it over the limit; a tensor larger than the limit gets a shard of
 * its own, added at once (so before the shard being filled). One shard is named {@code model.safetensors};
 * otherwise {@code model-00001-of-0000N.safetensors}.
 */
public record ShardPlan(List<Shard> shards, long totalSize) {

    /** One output file and the tensors it holds, in plan order. */
    public record Shard(String fileName, List<TensorSpec> tensors, long byteSize) {
        public Shard {
            tensors = List.copyOf(tensors);
        }
    }

    public ShardPlan {
        shards = List.copyOf(shards);
    }

    /** Splits {@code tensors} (in the caller's order) into shards of at most {@code maxShardBytes} each. */
    public static ShardPlan of(List<TensorSpec> tensors, long maxShardBytes) {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("max shard size must be positive, got " + maxShardBytes);
        }
        List<List<TensorSpec>> groups = new ArrayList<>();
        List<TensorSpec> current = new ArrayList<>();
        long currentSize = 0;
        long total = 0;
        for (TensorSpec t : tensors) {
            long size = t.byteSize();
            total = Math.addExact(total, size);
            if (size > maxShardBytes) {
                groups.add(List.of(t));
                continue;
            }
            if (currentSize + size > maxShardBytes) {
                groups.add(current);
                current = new ArrayList<>();
                currentSize = 0;
            }
            current.add(t);
            currentSize += size;
        }
        if (!current.isEmpty() || groups.isEmpty()) {
            groups.add(current);
        }
        int n = groups.size();
        List<Shard> shards = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String name = n == 1 ? ModelFiles.SINGLE_FILE
                    : String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, n);
            long size = 0;
            for (TensorSpec t : groups.get(i)) {
                size += t.byteSize();
            }
            shards.add(new Shard(name, groups.get(i), size));
        }
        return new ShardPlan(shards, total);
    }

    public boolean isSingleFile() {
        return shards.size() == 1;
    }

    /** The index transformers writes next to the shards: total_size and the name-sorted weight_map. */
    public ShardIndex index() {
        Map<String, String> map = new TreeMap<>(dev.loraforge.io.PythonJson::compareCodePoints);
        for (Shard s : shards) {
            for (TensorSpec t : s.tensors()) {
                map.put(t.name(), s.fileName());
            }
        }
        return ShardIndex.of(totalSize, map);
    }

    /**
     * Parses a size as transformers' {@code convert_file_size_to_int} does: {@code "5GB"} = 5·10^9,
     * {@code "10GiB"} = 10·2^30 (K, M, G, T, P; units case-insensitive), a lower-case final {@code b}
     * ({@code "5Gb"}) means bits (divided by 8). Also accepts a plain byte count and decimals ("1.5GB",
     * rounded down to whole bytes).
     */
    public static long parseSize(String text) {
        String s = text.strip();
        String upper = s.toUpperCase(Locale.ROOT);
        String[] units = {"PIB", "TIB", "GIB", "MIB", "KIB", "PB", "TB", "GB", "MB", "KB"};
        int[] binaryExp = {50, 40, 30, 20, 10};
        int[] decimalExp = {15, 12, 9, 6, 3};
        try {
            for (int i = 0; i < units.length; i++) {
                if (upper.endsWith(units[i])) {
                    BigDecimal value = number(s.substring(0, s.length() - units[i].length()).strip());
                    BigDecimal bytes;
                    if (i < 5) {
                        bytes = value.multiply(new BigDecimal(BigInteger.ONE.shiftLeft(binaryExp[i])));
                    } else {
                        bytes = value.scaleByPowerOfTen(decimalExp[i - 5]);
                        if (s.endsWith("b")) {
                            bytes = bytes.divide(BigDecimal.valueOf(8), 0, RoundingMode.FLOOR);
                        }
                    }
                    return positive(text, bytes.setScale(0, RoundingMode.FLOOR).longValueExact());
                }
            }
            return positive(text, number(s).longValueExact());
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("size \"" + text + "\" is not a number with a unit like 5GB, 500MB or 10GiB");
        }
    }

    private static BigDecimal number(String s) {
        if (!s.matches("[0-9]+(\\.[0-9]+)?")) {
            throw new NumberFormatException(s);
        }
        return new BigDecimal(s);
    }

    private static long positive(String text, long v) {
        if (v <= 0) {
            throw new IllegalArgumentException("size \"" + text + "\" must be positive");
        }
        return v;
    }
}
