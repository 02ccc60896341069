package dev.loraforge.cli;

import dev.loraforge.LoraforgeException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import picocli.CommandLine;

/**
 * The documented exit codes, and the one-line error messages the CLI prints for each failure.
 * A stack trace is printed only with {@code --debug}.
 */
public final class ExitCodes {
    /** Success; for {@code verify}, the models are equivalent. */
    public static final int OK = 0;
    /** {@code verify}: the models are not equivalent. */
    public static final int NOT_EQUIVALENT = 1;
    /** Usage error: unknown option, missing argument, refused output location. */
    public static final int USAGE = 2;
    /** Bad input: a corrupt, hostile or mismatched file or folder. */
    public static final int BAD_INPUT = 3;
    /** I/O failure: a file that cannot be read or written, a full disk. */
    public static final int IO_ERROR = 4;
    /** A bug in loraforge. */
    public static final int INTERNAL = 70;

    static volatile boolean debug;

    private ExitCodes() {
    }

    static CommandLine commandLine(Object command, CommandLine.IFactory factory, List<Class<?>> subcommands) {
        CommandLine cl = new CommandLine(command, factory);
        for (Class<?> c : subcommands) {
            cl.addSubcommand(new CommandLine(c, factory)); // before the settings below, which reach only present subcommands
        }
        // every command answers -h/--help, also those that did not ask for picocli's standard options
        for (CommandLine sub : cl.getSubcommands().values()) {
            if (!sub.getCommandSpec().optionsMap().containsKey("--help")) {
                sub.getCommandSpec().addOption(CommandLine.Model.OptionSpec.builder("-h", "--help")
                        .usageHelp(true).description("Show this help message and exit.").build());
            }
        }
        cl.setExecutionExceptionHandler(ExitCodes::onException);
        cl.setParameterExceptionHandler(ExitCodes::onParameterException);
        return cl;
    }

    private static int onParameterException(CommandLine.ParameterException e, String[] args) {
        PrintWriter err = e.getCommandLine().getErr();
        err.println("loraforge: " + e.getMessage());
        err.println("Try 'loraforge " + commandPath(e.getCommandLine()) + "--help' for usage.");
        err.flush();
        return USAGE;
    }

    private static String commandPath(CommandLine cl) {
        StringBuilder sb = new StringBuilder();
        for (CommandLine c = cl; c.getParent() != null; c = c.getParent()) {
            sb.insert(0, c.getCommandName() + " ");
        }
        return sb.toString();
    }

    private static int onException(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        int code = codeFor(e);
        err.println("loraforge: " + messageFor(e));
        if (debug) {
            e.printStackTrace(err);
        }
        err.flush();
        return code;
    }

    static int codeFor(Throwable e) {
        if (e instanceof UsageException) {
            return USAGE;
        }
        if (e instanceof LoraforgeException) {
            return BAD_INPUT;
        }
        if (e instanceof NoSuchFileException) {
            return BAD_INPUT;
        }
        if (e instanceof FileAlreadyExistsException) {
            return USAGE;
        }
        if (e instanceof IOException || e instanceof UncheckedIOException) {
            return IO_ERROR;
        }
        return INTERNAL;
    }

    static String messageFor(Throwable e) {
        if (e instanceof UncheckedIOException u && u.getCause() != null) {
            return messageFor(u.getCause()) + (u.getMessage() == null ? "" : " (" + u.getMessage() + ")");
        }
        if (e instanceof NoSuchFileException n) {
            return n.getFile() + ": no such file or folder";
        }
        if (e instanceof FileAlreadyExistsException f) {
            return f.getFile() + ": " + (f.getReason() == null ? "already exists" : f.getReason());
        }
        if (e instanceof LoraforgeException || e instanceof UsageException) {
            return e.getMessage();
        }
        if (e instanceof IOException) {
            return "I/O error: " + e.getMessage();
        }
        return "internal error: " + e + " (run with --debug for the stack trace)";
    }
}
