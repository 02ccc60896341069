package dev.loraforge.cli;

import picocli.CommandLine.Command;

@Command(name = "unmerge", description = {
        "Take LoRA adapters back out of a merged model: W = W' − Σ weightᵢ·scalingᵢ·Bᵢ·Aᵢ (float64, one rounding).",
        "Within ½ ulp(W') + ½ ulp(W) of the original; DoRA and modules_to_save cannot be undone.",
        "--base is the merged model."})
final class UnmergeCommand extends MergeCommand {
    UnmergeCommand() {
        super();
    }

    UnmergeCommand(MergeEnvironment env) {
        super(env);
    }

    @Override
    boolean unmerge() {
        return true;
    }
}
