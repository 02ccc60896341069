package dev.loraforge.format.torch;

import dev.loraforge.tensor.DType;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** The {@code torch.*Storage} classes a checkpoint may name in a persistent id, with their element type. */
public enum TorchStorageType {
    DoubleStorage(DType.F64), FloatStorage(DType.F32), HalfStorage(DType.F16), BFloat16Storage(DType.BF16),
    LongStorage(DType.I64), IntStorage(DType.I32), ShortStorage(DType.I16), CharStorage(DType.I8),
    ByteStorage(DType.U8), BoolStorage(DType.BOOL);

    private static final Map<String, TorchStorageType> BY_NAME =
            Stream.of(values()).collect(Collectors.toUnmodifiableMap(Enum::name, Function.identity()));

    private final DType dtype;

    TorchStorageType(DType dtype) {
        this.dtype = dtype;
    }

    public DType dtype() {
        return dtype;
    }

    /** The storage class named {@code torch.<name>}, or empty. */
    public static Optional<TorchStorageType> byName(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }
}
