package dev.loraforge.format.torch;

import dev.loraforge.LoraforgeException;

/** A PyTorch checkpoint ({@code .bin}) that is corrupt, hostile or outside what loraforge reads. */
public final class TorchFormatException extends LoraforgeException {

    /** The rule a file broke. */
    public enum Kind {
        /** Neither a zip archive nor torch's legacy (pre-1.6) format. */
        NOT_ZIP,
        /** The zip directory or a local header is malformed, truncated or inconsistent. */
        BAD_ZIP,
        /** An entry is compressed, encrypted or otherwise not stored byte for byte. */
        COMPRESSED_ENTRY,
        /** An entry name is absolute, has {@code ..}, a backslash, or a different archive prefix. */
        BAD_ENTRY_NAME,
        /** Two entries share bytes, or an entry name appears twice. */
        OVERLAPPING_ENTRIES,
        /** A declared size or count exceeds the file or a named limit. */
        SIZE_LIMIT,
        /** A required entry ({@code data.pkl}, a storage) is missing. */
        MISSING_ENTRY,
        /** The pickle is malformed: unknown opcode, stack underflow, bad memo index, truncation. */
        BAD_PICKLE,
        /** The pickle names a global or builds an object loraforge does not allow; nothing is run. */
        REFUSED_GLOBAL,
        /** A tensor's storage, dtype, offset, shape or strides are invalid or out of bounds. */
        BAD_TENSOR,
        /** A sharded checkpoint's index is malformed or disagrees with its shards. */
        BAD_INDEX,
        /** Well-formed but not supported (big-endian data, an unknown storage type). */
        UNSUPPORTED
    }

    private final Kind kind;

    public TorchFormatException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public TorchFormatException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    @Override
    public Kind kind() {
        return kind;
    }
}
