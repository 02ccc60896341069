#!/usr/bin/env bash
# Issue 4 benchmark: `loraforge merge` of a rank-16 LoRA on all 7 projections into a generated
# Llama-3.2-1B-shaped bf16 model, against `cp` of the base file in the same run; peak RSS.
# Then the same merge with a JVM heap far smaller than the model, to show memory does not grow with it.
# With LLAMA_BIN (a folder with a llama.cpp build's llama-export-lora), also llama.cpp's merge on GGUFs and our
# one-pass `gguf --adapter --type f16` that gives the same kind of file.
# Usage: bench/merge.sh   (BENCH_RUNS=5, BENCH_WORK=bench/scratch, LLAMA_BIN=)
. "$(dirname "$0")/lib.sh"
build_jars
model="$work/llama-1b-bf16"
adapter="$work/llama-1b-lora-r16"
bench_gen "$model"
if [ ! -f "$adapter/adapter_model.safetensors" ]; then
  "$JAVA" "${JFLAGS[@]}" -cp "$BENCH_JAR" dev.loraforge.bench.GenerateModel --out "$model" \
    --adapter-rank 16 --adapter-out "$adapter" --adapter-only >&2
fi
# the converter needs a tokenizer: Llama-2's SentencePiece model from the test fixtures (as bench/gguf.sh)
for f in tokenizer.model tokenizer_config.json; do
  [ -f "$model/$f" ] || cp "$bench_root/core/src/test/resources/fixtures/tokenizers/llama2/$f" "$model/$f"
done
file="$model/model.safetensors"
out="$work/merged"
PRELOAD=("$file" "$adapter/adapter_model.safetensors")
echo "base: $(stat -c %s "$file") bytes; adapter: $(stat -c %s "$adapter/adapter_model.safetensors") bytes; runs: $runs"
measure "cp base" sh -c "rm -f '$work/copy.safetensors'; cp '$file' '$work/copy.safetensors'"
# loraforge's output is on the disk when it returns (direct writes, fsync before the rename); cp's is not
measure "cp base + sync" sh -c "rm -f '$work/copy.safetensors'; cp '$file' '$work/copy.safetensors'; sync '$work/copy.safetensors'"
rm -f "$work/copy.safetensors"
# the previous output is deleted first, as cp's copy is (deleting 2 GB of page cache costs system time)
measure "loraforge merge" sh -c "rm -rf '$out'; '$JAVA' $(printf '%q ' "${JFLAGS[@]}") -jar '$CLI_JAR' merge --base '$model' \
  --adapter '$adapter' --out '$out' --quiet"
measure "merge, -Xmx256m" sh -c "rm -rf '$out'; '$JAVA' $(printf '%q ' "${JFLAGS[@]}") -Xmx256m -jar '$CLI_JAR' merge --base '$model' \
  --adapter '$adapter' --out '$out' --quiet"
if [ -n "${LLAMA_BIN:-}" ] && [ -x "$LLAMA_BIN/llama-export-lora" ]; then
  # llama.cpp's way to a merged model: llama-export-lora on GGUFs (base F16 + LoRA F16, both written by our
  # converters, which write what convert_hf_to_gguf.py / convert_lora_to_gguf.py write), once, 2 threads;
  # against our one pass from the safetensors folder + PEFT adapter to the same merged F16 GGUF
  "$JAVA" "${JFLAGS[@]}" -jar "$CLI_JAR" gguf "$model" --type f16 --out "$work/base-f16.gguf" --overwrite --quiet
  "$JAVA" "${JFLAGS[@]}" -jar "$CLI_JAR" gguf-lora --adapter "$adapter" --base "$model" --type f16 \
    --out "$work/lora-f16.gguf" --overwrite --quiet
  measure "gguf --adapter f16" "$JAVA" "${JFLAGS[@]}" -jar "$CLI_JAR" gguf "$model" --adapter "$adapter" --type f16 \
    --out "$work/merged-f16.gguf" --overwrite --quiet
  cat "$work/base-f16.gguf" > /dev/null
  /usr/bin/time -f '%e %M' -o "$work/.time" "$LLAMA_BIN/llama-export-lora" -m "$work/base-f16.gguf" \
    --lora "$work/lora-f16.gguf" -o "$work/merged-f16.gguf" -t 2 >/dev/null 2>&1
  read -r e m < <(tail -n 1 "$work/.time")
  MED[export-lora]="$e"
  printf '%-28s %7.2f s   peak RSS %6d MB   (once)\n' "llama-export-lora f16" "$e" "$((m / 1024))"
  echo "ratio gguf --adapter f16 / llama-export-lora: $(ratio 'gguf --adapter f16' export-lora)" \
    "(llama.cpp also needs both GGUFs converted first)"
  rm -f "$work/base-f16.gguf" "$work/lora-f16.gguf" "$work/merged-f16.gguf"
fi
rm -rf "$out"
echo "ratio merge / cp: $(ratio 'loraforge merge' 'cp base')"
echo "ratio merge / cp + sync: $(ratio 'loraforge merge' 'cp base + sync')"
echo "ratio merge (-Xmx256m) / cp: $(ratio 'merge, -Xmx256m' 'cp base')"
