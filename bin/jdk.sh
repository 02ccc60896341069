# Sourced by bin/loraforge and bin/test: sets JAVA_HOME to a JDK 25 or newer
# (JAVA_HOME first, then the usual JVM folders, then java on the PATH).
java_major() { # the feature version of the java at $1, or nothing
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'
}

find_jdk25() {
  local candidates=() j v
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME/bin/java")
  for d in /usr/lib/jvm/*25* /usr/lib/jvm/* /opt/java/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -x "$d/bin/java" ] && candidates+=("$d/bin/java")
  done
  command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
  for j in "${candidates[@]}"; do
    v="$(java_major "$j" || true)"
    if [ -n "$v" ] && [ "$v" -ge 25 ] && [ -x "$(dirname "$j")/javac" ]; then
      JAVA_HOME="$(cd "$(dirname "$j")/.." && pwd)"
      export JAVA_HOME
      return 0
    fi
  done
  echo "loraforge: JDK 25 or newer not found (set JAVA_HOME)" >&2
  return 1
}
