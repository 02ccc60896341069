package dev.loraforge.format.torch;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * The Java values a restricted unpickle produces. Python's None, bool, int, float, str, list, dict and
 * set map to null, Boolean, Long (or BigInteger), Double, String, ArrayList, LinkedHashMap and
 * LinkedHashSet; the rest are these records. Nothing here can run code: a callable is only ever one of
 * loraforge's own {@link TorchGlobals} entries.
 */
public final class Pickled {
    private Pickled() {
    }

    /** A Python tuple; immutable; may hold nulls. */
    public record Tuple(List<Object> items) {
        public Tuple {
            items = Collections.unmodifiableList(Arrays.asList(items.toArray()));
        }

        public static Tuple of(Object... items) {
            return new Tuple(Arrays.asList(items));
        }

        public int size() {
            return items.size();
        }

        public Object get(int i) {
            return items.get(i);
        }
    }

    /** Python bytes, compared by content. */
    public record Bytes(byte[] value) {
        public Bytes {
            value = value.clone();
        }

        @Override
        public byte[] value() {
            return value.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Bytes b && Arrays.equals(value, b.value);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(value);
        }

        @Override
        public String toString() {
            return "Bytes[" + value.length + "]";
        }
    }

    /**
     * A global the allow-list admitted, e.g. {@code torch._utils._rebuild_tensor_v2}. Unknown globals never
     * become one of these: the unpickler refuses them when it reads the name.
     */
    public record Global(String module, String name) {
        public String qualifiedName() {
            return module + "." + name;
        }

        @Override
        public String toString() {
            return qualifiedName();
        }
    }

    /** A typed storage from a persistent id: {@code ('storage', torch.FloatStorage, '0', 'cpu', 6)}. */
    public record StorageRef(TorchStorageType type, String key, String location, long numel) {
    }

    /** A tensor as {@code torch._utils._rebuild_tensor_v2} would build it; offsets and strides in elements. */
    public record TensorRef(StorageRef storage, long storageOffset, long[] size, long[] stride) {
        public TensorRef {
            size = size.clone();
            stride = stride.clone();
        }

        @Override
        public long[] size() {
            return size.clone();
        }

        @Override
        public long[] stride() {
            return stride.clone();
        }
    }
}
