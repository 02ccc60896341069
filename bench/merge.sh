#!/usr/bin/env bash
# Issue 4 benchmark: `loraforge merge` of a rank-16 LoRA on all 7 projections into a generated
# Llama-3.2-1B-shaped bf16 model, against `cp` of the base file in the same run; peak RSS.
# Then the same merge with a JVM heap far smaller than the model, to show memory does not grow with it.
# Usage: bench/merge.sh   (BENCH_RUNS=5, BENCH_WORK=bench/scratch)
. "$(dirname "$0")/lib.sh"
build_jars
model="$work/llama-1b-bf16"
adapter="$work/llama-1b-lora-r16"
bench_gen "$model"
if [ ! -f "$adapter/adapter_model.safetensors" ]; then
  "$JAVA" "${JFLAGS[@]}" -cp "$BENCH_JAR" dev.loraforge.bench.GenerateModel --out "$model" \
    --adapter-rank 16 --adapter-out "$adapter" --adapter-only >&2
fi
file="$model/model.safetensors"
out="$work/merged"
echo "base: $(stat -c %s "$file") bytes; adapter: $(stat -c %s "$adapter/adapter_model.safetensors") bytes; runs: $runs"
measure "cp base" sh -c "rm -f '$work/copy.safetensors'; cp '$file' '$work/copy.safetensors'"
rm -f "$work/copy.safetensors"
measure "loraforge merge" "$JAVA" "${JFLAGS[@]}" -jar "$CLI_JAR" merge --base "$model" --adapter "$adapter" \
  --out "$out" --overwrite --quiet
measure "merge, -Xmx256m" "$JAVA" "${JFLAGS[@]}" -Xmx256m -jar "$CLI_JAR" merge --base "$model" --adapter "$adapter" \
  --out "$out" --overwrite --quiet
rm -rf "$out"
echo "ratio merge / cp: $(ratio 'loraforge merge' 'cp base')"
echo "ratio merge (-Xmx256m) / cp: $(ratio 'merge, -Xmx256m' 'cp base')"
