#!/usr/bin/env bash
# Decode cost in CPU seconds per token, for a machine too loaded for wall-clock tokens/s to mean much
# (other processes take the cores; CPU time counts only what each side really ran). One thread on both
# sides (Java: -XX:ActiveProcessorCount=1, so the matvecs stay on the calling thread; llama.cpp: --threads 1),
# the same Q8_0 GGUF as bench/generate.sh (run that first). Per token = (process user+sys CPU of a 32-token
# run - that of a 2-token run) / 30, which leaves out start-up, model load and prompt; the JVM's JIT and GC
# threads stay in (against us). Usage: bench/generate-cpu.sh   (BENCH_RUNS=3, BENCH_WORK=bench/scratch)
. "$(dirname "$0")/lib.sh"
runs="${BENCH_RUNS:-3}"
oracle="$bench_root/core/src/test/node"
gguf="$work/llama-1b-q8_0.gguf"
[ -f "$gguf" ] || { echo "bench: $gguf missing; run bench/generate.sh first" >&2; exit 2; }
build_jars
prompt="1,450,4996,17354,1701"
cpu() {
  /usr/bin/time -f '%U %S' -o "$work/.time" "$@" >/dev/null 2>&1
  tail -n 1 "$work/.time" | awk '{print $1 + $2}'
}
java_run() {
  cpu "$JAVA" "${JFLAGS[@]}" -XX:ActiveProcessorCount=1 -jar "$CLI_JAR" generate "$gguf" --ids "$prompt" -n "$1" \
    --ignore-eos --print-ids
}
llama_run() {
  (cd "$oracle" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true cpu node oracle.mjs --model "$gguf" --tokens "$prompt" \
    --bench "$1" --threads 1 --context 512 --default-kv)
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
java_ms=() llama_ms=()
for _ in $(seq "$runs"); do
  j2="$(java_run 2)"; j32="$(java_run 32)"; l2="$(llama_run 2)"; l32="$(llama_run 32)"
  java_ms+=("$(awk -v a="$j32" -v b="$j2" 'BEGIN { printf "%.1f", (a - b) * 1000 / 30 }')")
  llama_ms+=("$(awk -v a="$l32" -v b="$l2" 'BEGIN { printf "%.1f", (a - b) * 1000 / 30 }')")
done
jm="$(printf '%s\n' "${java_ms[@]}" | median)"
lm="$(printf '%s\n' "${llama_ms[@]}" | median)"
printf 'CPU ms per decoded token (1 thread): loraforge %s (%s)   llama.cpp %s (%s)\n' "$jm" "${java_ms[*]}" "$lm" "${llama_ms[*]}"
printf 'tokens per CPU second: loraforge %.2f   llama.cpp %.2f   ratio loraforge / llama.cpp %.2f\n' \
  "$(awk -v m="$jm" 'BEGIN { print 1000 / m }')" "$(awk -v m="$lm" 'BEGIN { print 1000 / m }')" \
  "$(awk -v a="$jm" -v b="$lm" 'BEGIN { print b / a }')"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
