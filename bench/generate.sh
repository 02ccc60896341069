#!/usr/bin/env bash
# Generation speed: `loraforge generate` (pure-Java forward pass, Q8_0 matrices read in place from the mapped
# file) against a real llama.cpp (node-llama-cpp 3.22.1, prebuilt CPU build, core/src/test/node/oracle.mjs
# --bench), both on the SAME Q8_0 GGUF that `loraforge gguf --type q8_0` writes from the generated folder.
# Llama-3.2-1B shape (hidden 2048, 16 layers, 32/8 heads, FFN 8192) with the Llama-2 tokenizer (vocab 32000).
# Greedy, EOS ignored, the same prompt ids; 1 and 2 threads (Java: -XX:ActiveProcessorCount). Both figures
# are (prompt + generated tokens) / seconds after the model is loaded (what `generate` prints; JVM start
# and model load left out; our load includes a warm-up pass, as llama.cpp's CLI does by default), and the
# decode-only rates (tokens after the first / their seconds) beside them; each side's whole-process wall
# time (start, load, warm-up, generation) is printed too.
# Usage: bench/generate.sh   (BENCH_TOKENS=32, BENCH_RUNS=3, BENCH_WORK=bench/scratch)
. "$(dirname "$0")/lib.sh"
tokens="${BENCH_TOKENS:-32}"
runs="${BENCH_RUNS:-3}"
oracle="$bench_root/core/src/test/node"
command -v node >/dev/null || { echo "bench: node (>= 20) and npm are needed for the llama.cpp side" >&2; exit 2; }
build_jars
model="$work/llama-1b-bf16"
bench_gen "$model"
# the GGUF vocabulary needs a SentencePiece model of 32000 pieces: Llama-2's, from the test fixtures
for f in tokenizer.model tokenizer_config.json; do
  [ -f "$model/$f" ] || cp "$bench_root/core/src/test/resources/fixtures/tokenizers/llama2/$f" "$model/$f"
done
gguf="$work/llama-1b-q8_0.gguf"
if [ ! -f "$gguf" ]; then
  "$JAVA" "${JFLAGS[@]}" -jar "$CLI_JAR" gguf "$model" --type q8_0 --out "$gguf" --quiet
fi
if [ ! -f "$oracle/node_modules/node-llama-cpp/package.json" ]; then
  (cd "$oracle" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-save --omit=optional --ignore-scripts \
    --no-audit --no-fund >&2)
fi
prompt="1,450,4996,17354,1701"   # BOS + 4 Llama-2 ids ("The quick brown fox")
echo "GGUF Q8_0: $(du -h "$gguf" | cut -f1) (from a $(du -h "$model/model.safetensors" | cut -f1) BF16 folder);" \
  "prompt 5 ids, $tokens generated tokens, median of $runs runs; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A TPS
for threads in 1 2; do
  java_tps=() java_decode=() java_wall=() llama_tps=() llama_decode=() llama_wall=()
  for _ in $(seq "$runs"); do
    # "5 prompt + 32 generated tokens in 2.88 s (12.84 tokens/s; 11.98 tokens/s after the first)" on stderr
    t0=$(date +%s.%N)
    line="$("$JAVA" "${JFLAGS[@]}" -XX:ActiveProcessorCount="$threads" -jar "$CLI_JAR" generate "$gguf" \
      --ids "$prompt" -n "$tokens" --ignore-eos --print-ids 2>&1 >/dev/null | grep 'generated tokens in')"
    java_wall+=("$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')")
    java_tps+=("$(sed -E 's/.*\(([0-9.]+) tokens\/s.*/\1/' <<<"$line")")
    java_decode+=("$(sed -E 's/.*; ([0-9.]+) tokens\/s after the first.*/\1/' <<<"$line")")
    t0=$(date +%s.%N)
    json="$(cd "$oracle" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true node oracle.mjs --model "$gguf" --tokens "$prompt" \
      --bench "$tokens" --threads "$threads" --context 512 --default-kv 2>/dev/null)"
    llama_wall+=("$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')")
    llama_tps+=("$(node -e 'const r = JSON.parse(process.argv[1]); console.log(r.bench.allTokensPerSecond.toFixed(2))' "$json")")
    llama_decode+=("$(node -e 'const r = JSON.parse(process.argv[1]); console.log(r.bench.tokensPerSecond.toFixed(2))' "$json")")
  done
  for k in java_tps java_decode java_wall llama_tps llama_decode llama_wall; do
    declare -n arr="$k"
    TPS[$k$threads]="$(printf '%s\n' "${arr[@]}" | median)"
    unset -n arr
  done
  r() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
  printf '%d thread(s): loraforge %6.2f tokens/s (%s), decode %s (%s); llama.cpp %6.2f tokens/s (%s), decode %s (%s)\n' \
    "$threads" "${TPS[java_tps$threads]}" "${java_tps[*]}" "${TPS[java_decode$threads]}" "${java_decode[*]}" \
    "${TPS[llama_tps$threads]}" "${llama_tps[*]}" "${TPS[llama_decode$threads]}" "${llama_decode[*]}"
  printf '  ratio loraforge / llama.cpp: %s all tokens, %s decode; whole process %s s vs %s s (medians)\n' \
    "$(r "${TPS[java_tps$threads]}" "${TPS[llama_tps$threads]}")" "$(r "${TPS[java_decode$threads]}" "${TPS[llama_decode$threads]}")" \
    "${TPS[java_wall$threads]}" "${TPS[llama_wall$threads]}"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
