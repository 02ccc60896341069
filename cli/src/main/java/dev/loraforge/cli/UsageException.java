package dev.loraforge.cli;

/** A command line that parses but asks for something refused, e.g. an output folder that exists. */
public final class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }
}
