#!/usr/bin/env bash
# Issue 3 benchmark: read every tensor of a Llama-3.2-1B-shaped bf16 model through the validating
# mapped reader (touching every byte), against `cat file > /dev/null` of the same bytes; warm page cache.
# Usage: bench/read.sh   (BENCH_RUNS=5, BENCH_WORK=bench/scratch; the model is generated once, ~2.2 GB)
. "$(dirname "$0")/lib.sh"
build_jars
model="$work/llama-1b-bf16"
bench_gen "$model"
file="$model/model.safetensors"
echo "model: $(du -h "$file" | cut -f1) ($(stat -c %s "$file") bytes); runs: $runs, warm cache"
cat "$file" > /dev/null
measure "cat > /dev/null" sh -c "cat '$file' > /dev/null"
measure "loraforge read (checksum)" "$JAVA" "${JFLAGS[@]}" -cp "$BENCH_JAR" dev.loraforge.bench.ReadModel "$model"
echo "ratio read / cat: $(ratio 'loraforge read (checksum)' 'cat > /dev/null')"
