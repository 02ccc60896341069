#!/usr/bin/env bash
# Issue 5 benchmark: `loraforge gguf` of a generated Llama-3.2-1B-shaped bf16 model (Llama-2 tokenizer, vocab
# 32000) to F16, Q8_0 and Q4_K_M, against `cp` of the base file in the same run; peak RSS (GNU time).
# llama.cpp cannot run here (no build, no torch for convert_hf_to_gguf.py): its two steps are the figures
# issue 5 measured on this machine kind (F16 convert 10-12 s, then quantize Q8_0 6-7 s, Q4_K_M 36-40 s, while
# cp took 1.6-3.3 s), taken at their midpoints and scaled by cp of this run / 2.45 s (the midpoint of theirs).
# Usage: bench/gguf.sh   (BENCH_RUNS=5, BENCH_WORK=bench/work, BENCH_TYPES="f16 q8_0 q4_k_m", BENCH_CLI_JAR=)
. "$(dirname "$0")/lib.sh"
types="${BENCH_TYPES:-f16 q8_0 q4_k_m}"
if [ -n "${BENCH_CLI_JAR:-}" ]; then   # a prebuilt CLI jar (e.g. a baseline kept aside); the model must exist
  CLI_JAR="$BENCH_CLI_JAR"
else
  build_jars
fi
model="$work/llama-1b-bf16"
bench_gen "$model"
# the converter needs a tokenizer: Llama-2's SentencePiece model from the test fixtures (as bench/generate.sh)
for f in tokenizer.model tokenizer_config.json; do
  [ -f "$model/$f" ] || cp "$bench_root/core/src/test/resources/fixtures/tokenizers/llama2/$f" "$model/$f"
done
file="$model/model.safetensors"
out="$work/out.gguf"
echo "base: $(stat -c %s "$file") bytes; runs: $runs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$file" > /dev/null
measure "cp base" sh -c "rm -f '$work/copy.safetensors'; cp '$file' '$work/copy.safetensors'"
rm -f "$work/copy.safetensors"
for t in $types; do
  measure "gguf $t" "$JAVA" "${JFLAGS[@]}" -jar "$CLI_JAR" gguf "$model" --type "$t" --out "$out" --overwrite --quiet
  echo "  output: $(stat -c %s "$out") bytes"
done
rm -f "$out"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
scale="$(awk -v c="${MED[cp base]}" 'BEGIN { printf "%.3f", c / 2.45 }')"
for t in $types; do
  case "$t" in
    f16) echo "ratio gguf f16 / cp: $(ratio 'gguf f16' 'cp base')   (target <= 1.5)" ;;
    q8_0) ref=17.5 ;;     # 11 s convert + 6.5 s quantize
    q4_k_m) ref=49 ;;     # 11 s convert + 38 s quantize
    *) continue ;;
  esac
  [ "$t" = f16 ] && continue
  awk -v a="${MED[gguf $t]}" -v r="$ref" -v s="$scale" -v t="$t" 'BEGIN {
    printf "ratio gguf %s / llama.cpp convert+quantize (%.1f s reference x %.2f cp scale = %.1f s): %.2f   (target <= 0.5)\n",
      t, r, s, r * s, a / (r * s) }'
done
