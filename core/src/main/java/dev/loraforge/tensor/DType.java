package dev.loraforge.tensor;

import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Element types of the safetensors format, named exactly as they appear in a file header.
 * Sub-byte types (F4, F6_*) are counted in bits; every other type in whole bytes.
 */
public enum DType {
    BOOL(8), U8(8), I8(8), F8_E5M2(8), F8_E4M3(8), F8_E8M0(8),
    I16(16), U16(16), F16(16), BF16(16),
    I32(32), U32(32), F32(32),
    F64(64), I64(64), U64(64),
    C64(64),
    F4(4), F6_E2M3(6), F6_E3M2(6);

    private static final Map<String, DType> BY_NAME =
            Stream.of(values()).collect(Collectors.toUnmodifiableMap(Enum::name, Function.identity()));

    private final int bits;

    DType(int bits) {
        this.bits = bits;
    }

    /** Width of one element in bits. */
    public int bits() {
        return bits;
    }

    /** Width of one element in bytes; only for byte-aligned types. */
    public int byteSize() {
        if (bits % 8 != 0) {
            throw new UnsupportedOperationException(name() + " is not byte aligned (" + bits + " bits)");
        }
        return bits / 8;
    }

    public boolean isByteAligned() {
        return bits % 8 == 0;
    }

    /** True for the types a forward pass or merge can read as real numbers. */
    public boolean isFloatingPoint() {
        return this == F16 || this == BF16 || this == F32 || this == F64
                || this == F8_E4M3 || this == F8_E5M2;
    }

    /** The name as written in a safetensors header, e.g. {@code "BF16"}. */
    public String fileName() {
        return name();
    }

    /** Looks a header name up; empty for a name the format does not define. */
    public static Optional<DType> fromFileName(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    /**
     * Byte count of {@code elements} values, overflow-checked. Sub-byte types must fill whole bytes.
     * @throws ArithmeticException on overflow or a sub-byte count that does not end on a byte
     */
    public long byteCount(long elements) {
        long totalBits = Math.multiplyExact(elements, (long) bits);
        if (totalBits % 8 != 0) {
            throw new ArithmeticException(elements + " elements of " + name() + " do not fill whole bytes");
        }
        return totalBits / 8;
    }
}
