# Shared helpers of the bench/*.sh scripts (sourced). Times whole commands, medians over runs,
# peak RSS from /usr/bin/time, ratios against cp/cat of the same bytes in the same run.
set -euo pipefail
bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$bench_root/bin/jdk.sh"
find_jdk25
JAVA="$JAVA_HOME/bin/java"
# the same JVM flags as bin/loraforge
JFLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC
  -XX:CompileCommand=quiet "-XX:CompileCommand=CompileThresholdScaling,dev.loraforge.merge.*::*,0.002")
work="${BENCH_WORK:-$bench_root/bench/scratch}"
runs="${BENCH_RUNS:-5}"
mkdir -p "$work"

if [ ! -x /usr/bin/time ]; then
  echo "bench: installing GNU time for peak RSS" >&2
  apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time; }
fi

build_jars() {
  (cd "$bench_root" && ./mvnw -q -B -ntp -DskipTests package 2>&1 | grep -v '^WARNING' || true)
  BENCH_JAR="$bench_root/bench/target/loraforge-bench-all.jar"
  CLI_JAR="$bench_root/cli/target/loraforge-all.jar"
}

# bench_gen DIR ARGS...: generate a model once (kept between runs; delete DIR to regenerate)
bench_gen() {
  local dir="$1"; shift
  if [ ! -f "$dir/.complete" ]; then
    "$JAVA" "${JFLAGS[@]}" -cp "$BENCH_JAR" dev.loraforge.bench.GenerateModel --out "$dir" "$@" >&2
    touch "$dir/.complete"
  fi
}

# measure NAME CMD...: runs CMD $runs times (after one warm-up); records median seconds and max RSS (MB).
# Each timed run starts after a `sync` (not timed): cp leaves its copy dirty in the page cache, and a backlog of
# earlier runs' dirty pages (written back here at a fifth of the direct-write rate) would slow whatever runs next.
declare -A MED RSS
# Inputs read back into the page cache (untimed) before each run: these VMs' kernels page out file pages idle
# for a few seconds (DAMON), so without it a run could read the 2 GB base from the disk or not, by chance,
# while it writes to the same disk; cp and loraforge get the same treatment.
PRELOAD=()
preload() {
  if [ ${#PRELOAD[@]} -gt 0 ]; then cat "${PRELOAD[@]}" > /dev/null; fi
}
measure() {
  local name="$1"; shift
  local times=() rss=0 line t m
  "$@" >/dev/null 2>&1 || { echo "bench: '$*' failed" >&2; "$@" >&2; return 1; }
  for _ in $(seq "$runs"); do
    sync
    preload
    /usr/bin/time -f '%e %M' -o "$work/.time" "$@" >/dev/null 2>&1
    line="$(tail -n 1 "$work/.time")"
    t="${line% *}"; m="${line#* }"
    times+=("$t"); [ "$m" -gt "$rss" ] && rss="$m"
  done
  MED[$name]="$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')"
  RSS[$name]="$((rss / 1024))"
  printf '%-28s median %7.2f s   peak RSS %6d MB   (%s runs: %s)\n' "$name" "${MED[$name]}" "${RSS[$name]}" "$runs" "${times[*]}"
}

ratio() { awk -v a="${MED[$1]}" -v b="${MED[$2]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
