package dev.loraforge;

/**
 * Base of every error loraforge raises for bad input: a corrupt or hostile file, an adapter that
 * does not fit its base, an unsupported format. Each format or concern has one subclass with a
 * {@code Kind} enum; the message names the file, the object and the numbers. The CLI maps these
 * to the "bad input" exit code.
 */
public abstract class LoraforgeException extends RuntimeException {
    protected LoraforgeException(String message) {
        super(message);
    }

    protected LoraforgeException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The spec case this error belongs to, e.g. {@code HEADER_TOO_LARGE}. */
    public abstract Enum<?> kind();
}
