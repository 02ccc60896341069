package dev.loraforge.format.gguf;

import dev.loraforge.LoraforgeException;

/** A GGUF file that breaks the format's rules (or a request the file cannot answer). */
public final class GgufException extends LoraforgeException {

    /** One case per rule the reader and writer enforce. */
    public enum Kind {
        /** Fewer bytes than the header, KV pairs or tensor infos need. */
        TRUNCATED,
        /** The first four bytes are not "GGUF". */
        NOT_GGUF,
        /** The version reads as a big-endian number: a file for big-endian hosts. */
        BIG_ENDIAN,
        /** Version 0, 1 (GGUFv1, retired) or newer than this reader knows. */
        UNSUPPORTED_VERSION,
        /** Tensor count negative or more than the remaining bytes can describe. */
        TOO_MANY_TENSORS,
        /** KV count negative or more than the remaining bytes can hold. */
        TOO_MANY_KVS,
        /** A string longer than the format's limit or the remaining bytes. */
        STRING_TOO_LONG,
        /** A string that is not well-formed UTF-8. */
        INVALID_UTF8,
        EMPTY_KEY,
        DUPLICATE_KEY,
        /** A value type id outside 0..12. */
        UNKNOWN_VALUE_TYPE,
        /** An array with more elements than the format's limit or the remaining bytes. */
        ARRAY_TOO_LONG,
        /** Arrays nested deeper than {@link GgufFormat#MAX_ARRAY_DEPTH}. */
        ARRAY_TOO_DEEP,
        /** A BOOL stored as a byte other than 0 or 1. */
        BAD_BOOL,
        /** general.alignment is not a UINT32. */
        ALIGNMENT_TYPE,
        /** The alignment is 0 or not a power of two. */
        BAD_ALIGNMENT,
        /** A tensor name of GGML_MAX_NAME bytes or more (ggml needs room for the NUL). */
        NAME_TOO_LONG,
        /** A tensor name with a NUL byte: ggml keeps names as C strings and would cut it there. */
        NAME_HAS_NUL,
        DUPLICATE_TENSOR,
        /** More than GGML_MAX_DIMS dimensions. */
        TOO_MANY_DIMS,
        NEGATIVE_DIM,
        /** The product of the dimensions does not fit in int64. */
        ELEMENT_COUNT_OVERFLOW,
        /** A ggml type id that llama.cpp does not know or has retired. */
        UNKNOWN_TENSOR_TYPE,
        /** ne[0] is not a multiple of the type's block size. */
        ROW_NOT_BLOCK_MULTIPLE,
        /** The tensor's byte size does not fit in int64. */
        BYTE_SIZE_OVERFLOW,
        /** A tensor offset that is not a multiple of the alignment. */
        OFFSET_MISALIGNED,
        /** A tensor whose data starts inside the previous tensor's data or padding. */
        OFFSET_OVERLAP,
        /** A tensor that does not start where the previous one's padded data ends (llama.cpp's rule). */
        OFFSET_UNEXPECTED,
        /** Tensor data that reaches beyond the end of the file. */
        DATA_OUT_OF_BOUNDS,
        /** A key a caller asked for is absent. */
        MISSING_KEY,
        /** A key a caller asked for holds another type than the one asked for. */
        WRONG_VALUE_TYPE,
        /** A tensor a caller asked for is absent. */
        MISSING_TENSOR
    }

    private final Kind kind;

    public GgufException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    @Override
    public Kind kind() {
        return kind;
    }
}
