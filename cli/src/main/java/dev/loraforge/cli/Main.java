package dev.loraforge.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code loraforge} command. */
@Command(name = "loraforge",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = "Save, load, merge, quantize and verify LoRA-fine-tuned language models.",
        subcommands = {
                InspectCommand.class,
                MergeCommand.class,
                UnmergeCommand.class,
                CombineCommand.class,
                CheckCommand.class,
                GenerateCommand.class,
                ConvertBinCommand.class,
                GgufCommand.class,
                GgufLoraCommand.class,
                VerifyCommand.class,
        })
public final class Main implements Runnable {

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
        java.util.List<String> rest = new java.util.ArrayList<>();
        boolean debug = false;
        for (String a : args) {
            if (a.equals("--debug")) {
                debug = true;
            } else {
                rest.add(a);
            }
        }
        ExitCodes.debug = debug;
        return ExitCodes.commandLine(new Main(), factory).execute(rest.toArray(String[]::new));
    }
}
