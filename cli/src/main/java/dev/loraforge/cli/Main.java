package dev.loraforge.cli;

import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code loraforge} command. */
@Command(name = "loraforge",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = "Save, load, merge, quantize and verify LoRA-fine-tuned language models.")
public final class Main implements Runnable {

    /** The subcommands, in the order the help lists them. */
    static final List<Class<?>> COMMANDS = List.of(
            InspectCommand.class,
            MergeCommand.class,
            UnmergeCommand.class,
            CombineCommand.class,
            CheckCommand.class,
            GenerateCommand.class,
            ConvertBinCommand.class,
            GgufCommand.class,
            GgufLoraCommand.class,
            VerifyCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code; never calls System.exit (tests use it). */
    public static int run(String... args) {
        return run(CommandLine.defaultFactory(), args);
    }

    /** {@link #run(String...)} with the commands made by {@code factory} (tests give them other surroundings). */
    static int run(CommandLine.IFactory factory, String... args) {
        // --debug is accepted anywhere on the line; it only adds stack traces to errors
        List<String> rest = new java.util.ArrayList<>();
        boolean debug = false;
        for (String a : args) {
            if (a.equals("--debug")) {
                debug = true;
            } else {
                rest.add(a);
            }
        }
        ExitCodes.debug = debug;
        return ExitCodes.commandLine(new Main(), factory, commandsFor(rest)).execute(rest.toArray(String[]::new));
    }

    /**
     * Only the named subcommand when the line starts with one: picocli builds a command's model from its
     * annotations by reflection, and building all ten took ~0.1 s of every start. Otherwise (help, version,
     * a typo to suggest a fix for) all of them.
     */
    static List<Class<?>> commandsFor(List<String> args) {
        if (!args.isEmpty()) {
            for (Class<?> c : COMMANDS) {
                if (c.getAnnotation(Command.class).name().equals(args.getFirst())) {
                    return List.of(c);
                }
            }
        }
        return COMMANDS;
    }
}
