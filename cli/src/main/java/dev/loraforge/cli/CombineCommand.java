package dev.loraforge.cli;

import dev.loraforge.adapter.LoraAdapter;
import dev.loraforge.merge.AdapterCombiner;
import dev.loraforge.merge.WeightedAdapter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "combine", description = {
        "Combine LoRA adapters into one adapter like PEFT's add_weighted_adapter.",
        "cat: ranks add up, B'·A' = Σ weightᵢ·scalingᵢ·Bᵢ·Aᵢ; linear: equal ranks, A' = Σ √(wᵢsᵢ)·Aᵢ, B' = Σ √(wᵢsᵢ)·Bᵢ."})
final class CombineCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--adapter", paramLabel = "DIR", required = true, description = "PEFT adapter folder (repeatable)")
    List<Path> adapters = new ArrayList<>();

    @Option(names = "--weight", paramLabel = "W", description = "weight of each adapter, in order (default 1)")
    List<Double> weights = new ArrayList<>();

    @Option(names = "--method", paramLabel = "cat|linear", defaultValue = "cat", description = "combination (default: ${DEFAULT-VALUE})")
    String method;

    @Option(names = "--out", paramLabel = "DIR", required = true, description = "output adapter folder (must not exist or be empty)")
    Path out;

    @Override
    public Integer call() throws IOException {
        if (!weights.isEmpty() && weights.size() != adapters.size()) {
            throw new UsageException(weights.size() + " --weight values for " + adapters.size() + " --adapter folders");
        }
        AdapterCombiner.Method m = switch (method.toLowerCase(Locale.ROOT)) {
            case "cat" -> AdapterCombiner.Method.CAT;
            case "linear" -> AdapterCombiner.Method.LINEAR;
            default -> throw new UsageException("--method must be cat or linear, not '" + method + "'");
        };
        if (Files.exists(out)) {
            try (Stream<Path> s = Files.list(out)) {
                if (s.findAny().isPresent()) {
                    throw new UsageException(out + ": exists and is not empty; choose another output folder");
                }
            }
        }
        List<LoraAdapter> opened = new ArrayList<>();
        try {
            List<WeightedAdapter> was = new ArrayList<>();
            for (int i = 0; i < adapters.size(); i++) {
                LoraAdapter a = LoraAdapter.open(adapters.get(i));
                opened.add(a);
                was.add(new WeightedAdapter(a, weights.isEmpty() ? 1.0 : weights.get(i)));
            }
            int n = AdapterCombiner.combine(was, m, out, false);
            spec.commandLine().getOut().printf(Locale.ROOT, "combined %d adapters (%s) into %s: %d modules%n",
                    adapters.size(), method, out, n);
            spec.commandLine().getOut().flush();
            return ExitCodes.OK;
        } finally {
            opened.forEach(LoraAdapter::close);
        }
    }
}
