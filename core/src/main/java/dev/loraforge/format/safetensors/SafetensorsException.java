package dev.loraforge.format.safetensors;

import dev.loraforge.LoraforgeException;

/** A safetensors file, or a sharded model folder, that breaks a rule of the format. */
public final class SafetensorsException extends LoraforgeException {

    /** One constant per validation rule, so tests and callers can tell the cases apart. */
    public enum Kind {
        /** Fewer than the 8 bytes of the header length. */
        FILE_TOO_SHORT,
        /** Header length above {@link SafetensorsHeader#MAX_HEADER_SIZE}. */
        HEADER_TOO_LARGE,
        /** Header length runs past the end of the file. */
        HEADER_BEYOND_FILE,
        HEADER_NOT_UTF8,
        /** Not valid JSON, not one object, or something after the object other than whitespace. */
        HEADER_NOT_JSON_OBJECT,
        /** A tensor name or a field appears twice. */
        DUPLICATE_KEY,
        /** {@code __metadata__} is not a map of strings to strings. */
        METADATA_INVALID,
        /** A tensor entry is not an object or lacks dtype, shape or data_offsets. */
        TENSOR_ENTRY_INVALID,
        /** A tensor entry has a field other than dtype, shape, data_offsets. */
        UNKNOWN_FIELD,
        UNKNOWN_DTYPE,
        /** A shape that is not an array of non-negative integers. */
        SHAPE_INVALID,
        /** The element count or byte size does not fit in 64 bits. */
        ELEMENT_COUNT_OVERFLOW,
        /** Sub-byte elements (F4, F6) that do not end on a byte boundary. */
        MISALIGNED_SUBBYTE,
        /** data_offsets is not [begin, end] of non-negative integers with begin <= end. */
        OFFSETS_INVALID,
        /** end - begin differs from the dtype size times the element count. */
        SIZE_MISMATCH,
        /** A tensor starts before the previous one ends. */
        TENSORS_OVERLAP,
        /** Bytes between tensors (or before the first) that no tensor covers. */
        DATA_HOLE,
        /** The tensors need more bytes than the file holds. */
        DATA_TRUNCATED,
        /** The file holds bytes after the last tensor. */
        TRAILING_BYTES,
        // sharded models
        /** No model.safetensors and no index in a folder. */
        NO_MODEL_FILES,
        /** model.safetensors.index.json is not valid. */
        INDEX_INVALID,
        /** A shard named by the index does not exist. */
        SHARD_MISSING,
        /** The index maps a tensor to a shard that does not hold it. */
        SHARD_LACKS_TENSOR,
        /** A tensor held by a shard is not in the index's weight_map. */
        TENSOR_NOT_IN_INDEX,
        /** A tensor appears in two shards. */
        TENSOR_IN_TWO_SHARDS,
        /** metadata.total_size differs from the sum of the tensors' byte sizes. */
        TOTAL_SIZE_MISMATCH,
    }

    private final Kind kind;

    public SafetensorsException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public SafetensorsException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    @Override
    public Kind kind() {
        return kind;
    }
}
