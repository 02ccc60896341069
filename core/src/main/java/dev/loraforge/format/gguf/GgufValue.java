package dev.loraforge.format.gguf;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A typed GGUF metadata value: a fixed-size scalar (numbers and BOOL), a UTF-8 string, or an array of
 * values of one type (arrays of arrays included). The type is kept exactly, so writing a value back gives
 * the bytes it was read from.
 */
public sealed interface GgufValue permits GgufValue.Scalar, GgufValue.Str, GgufValue.Array {

    GgufValueType type();

    /**
     * A number or BOOL. {@code bits} holds the stored little-endian bits zero-extended to 64 bits:
     * INT8 -1 is 0xFF, FLOAT32 1.0 is 0x3F800000, BOOL is 0 or 1.
     */
    record Scalar(GgufValueType type, long bits) implements GgufValue {
        public Scalar {
            Objects.requireNonNull(type, "type");
            if (!type.isFixedSize()) {
                throw new IllegalArgumentException(type + " is not a scalar type");
            }
            int width = type.size() * 8;
            if (width < 64 && (bits >>> width) != 0) {
                throw new IllegalArgumentException("bits 0x" + Long.toHexString(bits) + " do not fit " + type);
            }
            if (type == GgufValueType.BOOL && bits > 1) {
                throw new IllegalArgumentException("BOOL must be 0 or 1, not " + bits);
            }
        }

        /** The integer value: sign-extended for signed types; UINT64 above 2^63 comes back negative. */
        public long asLong() {
            if (!type.isInteger()) {
                throw new IllegalStateException(type + " is not an integer type");
            }
            if (!type.isSigned()) {
                return bits;
            }
            int shift = 64 - type.size() * 8;
            return (bits << shift) >> shift;
        }

        public double asDouble() {
            return switch (type) {
                case FLOAT32 -> Float.intBitsToFloat((int) bits);
                case FLOAT64 -> Double.longBitsToDouble(bits);
                case UINT64 -> bits >= 0 ? bits : (double) ((bits >>> 1) | (bits & 1)) * 2.0; // sticky bit: one rounding
                case BOOL -> throw new IllegalStateException("BOOL is not a number");
                default -> asLong();
            };
        }

        public boolean asBool() {
            if (type != GgufValueType.BOOL) {
                throw new IllegalStateException(type + " is not BOOL");
            }
            return bits != 0;
        }

        @Override
        public String toString() {
            return switch (type) {
                case BOOL -> Boolean.toString(asBool());
                case FLOAT32 -> Float.toString((float) asDouble());
                case FLOAT64 -> Double.toString(asDouble());
                case UINT64 -> Long.toUnsignedString(bits);
                default -> Long.toString(asLong());
            };
        }
    }

    record Str(String value) implements GgufValue {
        public Str {
            Objects.requireNonNull(value, "value");
        }

        @Override
        public GgufValueType type() {
            return GgufValueType.STRING;
        }

        @Override
        public String toString() {
            return value;
        }
    }

    /** Elements all of {@code elementType}; nested arrays have element type ARRAY. */
    record Array(GgufValueType elementType, List<GgufValue> items) implements GgufValue {
        public Array {
            Objects.requireNonNull(elementType, "elementType");
            items = List.copyOf(items);
            for (int i = 0; i < items.size(); i++) {
                if (items.get(i).type() != elementType) {
                    throw new IllegalArgumentException("array of " + elementType + " has a " + items.get(i).type()
                            + " at index " + i);
                }
            }
        }

        @Override
        public GgufValueType type() {
            return GgufValueType.ARRAY;
        }

        public int size() {
            return items.size();
        }

        public GgufValue get(int i) {
            return items.get(i);
        }

        /** The elements of a STRING array. */
        public List<String> strings() {
            requireElements(GgufValueType.STRING);
            List<String> out = new ArrayList<>(items.size());
            for (GgufValue v : items) {
                out.add(((Str) v).value());
            }
            return out;
        }

        /** The elements of a FLOAT32 array. */
        public float[] floats() {
            requireElements(GgufValueType.FLOAT32);
            float[] out = new float[items.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = Float.intBitsToFloat((int) ((Scalar) items.get(i)).bits());
            }
            return out;
        }

        /** The elements of an integer array as longs (see {@link Scalar#asLong()}). */
        public long[] longs() {
            if (!elementType.isInteger()) {
                throw new IllegalStateException("array of " + elementType + " is not an integer array");
            }
            long[] out = new long[items.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = ((Scalar) items.get(i)).asLong();
            }
            return out;
        }

        private void requireElements(GgufValueType t) {
            if (elementType != t) {
                throw new IllegalStateException("array of " + elementType + ", not " + t);
            }
        }

        @Override
        public String toString() {
            return "[" + elementType + " x " + items.size() + "]";
        }
    }

    static Scalar uint8(int v) {
        return new Scalar(GgufValueType.UINT8, checkedBits(v, 0, 0xFF, GgufValueType.UINT8));
    }

    static Scalar int8(int v) {
        return new Scalar(GgufValueType.INT8, checkedBits(v, Byte.MIN_VALUE, Byte.MAX_VALUE, GgufValueType.INT8) & 0xFF);
    }

    static Scalar uint16(int v) {
        return new Scalar(GgufValueType.UINT16, checkedBits(v, 0, 0xFFFF, GgufValueType.UINT16));
    }

    static Scalar int16(int v) {
        return new Scalar(GgufValueType.INT16, checkedBits(v, Short.MIN_VALUE, Short.MAX_VALUE, GgufValueType.INT16) & 0xFFFF);
    }

    static Scalar uint32(long v) {
        return new Scalar(GgufValueType.UINT32, checkedBits(v, 0, 0xFFFF_FFFFL, GgufValueType.UINT32));
    }

    static Scalar int32(int v) {
        return new Scalar(GgufValueType.INT32, v & 0xFFFF_FFFFL);
    }

    /** {@code v} is taken as the unsigned 64-bit pattern. */
    static Scalar uint64(long v) {
        return new Scalar(GgufValueType.UINT64, v);
    }

    static Scalar int64(long v) {
        return new Scalar(GgufValueType.INT64, v);
    }

    /** Keeps the float's bits (NaN payloads included). */
    static Scalar float32(float v) {
        return new Scalar(GgufValueType.FLOAT32, Float.floatToRawIntBits(v) & 0xFFFF_FFFFL);
    }

    static Scalar float64(double v) {
        return new Scalar(GgufValueType.FLOAT64, Double.doubleToRawLongBits(v));
    }

    static Scalar bool(boolean v) {
        return new Scalar(GgufValueType.BOOL, v ? 1 : 0);
    }

    static Str string(String v) {
        return new Str(v);
    }

    static Array array(GgufValueType elementType, List<? extends GgufValue> items) {
        return new Array(elementType, List.copyOf(items));
    }

    static Array stringArray(List<String> values) {
        List<GgufValue> items = new ArrayList<>(values.size());
        for (String s : values) {
            items.add(new Str(s));
        }
        return new Array(GgufValueType.STRING, items);
    }

    static Array float32Array(float... values) {
        List<GgufValue> items = new ArrayList<>(values.length);
        for (float f : values) {
            items.add(float32(f));
        }
        return new Array(GgufValueType.FLOAT32, items);
    }

    static Array int32Array(int... values) {
        List<GgufValue> items = new ArrayList<>(values.length);
        for (int v : values) {
            items.add(int32(v));
        }
        return new Array(GgufValueType.INT32, items);
    }

    /** The value as a Java long if it is an integer scalar. */
    default long asLong() {
        if (this instanceof Scalar s && s.type().isInteger()) {
            return s.asLong();
        }
        throw new IllegalStateException(type() + " is not an integer");
    }

    default String asString() {
        if (this instanceof Str s) {
            return s.value();
        }
        throw new IllegalStateException(type() + " is not a STRING");
    }

    default Array asArray() {
        if (this instanceof Array a) {
            return a;
        }
        throw new IllegalStateException(type() + " is not an ARRAY");
    }

    private static long checkedBits(long v, long min, long max, GgufValueType t) {
        if (v < min || v > max) {
            throw new IllegalArgumentException(v + " is out of range for " + t);
        }
        return v;
    }
}
