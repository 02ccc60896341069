# Sourced by bin/loraforge and bench/lib.sh: the JDK's ahead-of-time cache for the CLI jar (JEP 483/515).
# aot_cache JAVA JAR JVM_FLAGS...: prints the path of JAR's cache, made first (a training run of the usual
# commands on the bundled tiny model, ~5 s, once per build) when it is missing or older than the jar; prints
# nothing when it cannot be made. The cache is only an optimization: classes come loaded and linked, and the
# JIT starts from recorded profiles (the 1B merge ~0.7 s faster, a 1B F16 GGUF ~0.2 s).
aot_cache() {
  local java_bin="$1" jar="$2"; shift 2
  local root cache tmp
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  cache="${jar%.jar}.aot"
  if [ ! -f "$cache" ] || [ "$jar" -nt "$cache" ]; then
    tmp="$(mktemp -d)"
    # same flags and class path as the runs that use it (a cache made otherwise is refused)
    if "$java_bin" "$@" -XX:AOTCacheOutput="$tmp/cache.aot" -cp "$jar" dev.loraforge.cli.AotTraining \
        "$root/examples/tinystories-260k" "$tmp/work" >"$tmp/log" 2>&1 && [ -f "$tmp/cache.aot" ]; then
      mv -f "$tmp/cache.aot" "$cache"
    fi
    rm -rf "$tmp"
  fi
  if [ -f "$cache" ] && [ ! "$jar" -nt "$cache" ]; then
    echo "$cache"
  fi
}
