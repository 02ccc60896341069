package dev.loraforge.format.gguf;

/** The limits and fixed numbers of the GGUF format as llama.cpp 3f545bec enforces them (gguf.h, gguf.cpp, ggml.h). */
public final class GgufFormat {
    private GgufFormat() {
    }

    /** "GGUF" read as a little-endian uint32. */
    public static final int MAGIC = 0x46554747;
    /** The version this writer produces and the newest the reader accepts. */
    public static final int VERSION = 3;
    /** The oldest version read: v2 has the v3 layout for little-endian files; v1 had 32-bit counts. */
    public static final int MIN_VERSION = 2;
    public static final int DEFAULT_ALIGNMENT = 32;
    /** GGML_MAX_DIMS. */
    public static final int MAX_DIMS = 4;
    /** GGML_MAX_NAME: ggml stores names NUL-terminated in 64 bytes, so a name has at most 63 bytes. */
    public static final int MAX_NAME = 64;
    /** GGUF_MAX_STRING_LENGTH. */
    public static final long MAX_STRING_LENGTH = 1L << 30;
    /** GGUF_MAX_ARRAY_ELEMENTS. */
    public static final long MAX_ARRAY_ELEMENTS = 1L << 30;
    /** Ours: gguf.cpp rejects nested arrays outright, gguf-py reads them; we read a few levels. */
    public static final int MAX_ARRAY_DEPTH = 8;
    /**
     * Ours: array elements in all KV pairs together. Each becomes a Java object, so this bounds the heap a
     * hostile header can claim; real vocabularies (tokens, scores, types, merges) stay near a few million.
     */
    public static final long MAX_HEADER_VALUES = 1L << 24;
    /** magic + version + tensor count + KV count. */
    public static final int HEADER_SIZE = 24;
    /** Smallest KV pair: key length 8 + a 1-byte key + type 4 + a 1-byte value. */
    public static final int MIN_KV_SIZE = 14;
    /** Smallest tensor info: name length 8 + n_dims 4 + type 4 + offset 8. */
    public static final int MIN_TENSOR_INFO_SIZE = 24;
    public static final String KEY_ALIGNMENT = "general.alignment";

    /** {@code n} rounded up to a multiple of {@code alignment} (a power of two), overflow-checked. */
    public static long pad(long n, long alignment) {
        return Math.addExact(n, alignment - 1) & -alignment;
    }
}
