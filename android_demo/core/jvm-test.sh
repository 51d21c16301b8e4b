#!/usr/bin/env bash
# The core module's JUnit 5 tests on a plain JVM, without Gradle or the Android SDK.
#   core/jvm-test.sh --install   install kotlinc (npm) and the JUnit / sqlite-jdbc / Gson jars (apt) if missing
#   core/jvm-test.sh             compile main + test sources once (cached by a hash of the sources), run the tests
#   core/jvm-test.sh --scenarios DIR [--json]   run the conformance scenarios of DIR on the core (one line each)
#   core/jvm-test.sh --bench-search ARGS...     the phone's search from codes on a store (benchmarks/phone_search.py)
#   core/jvm-test.sh --check-bundle DIR         load DIR's manifest and tokenizer as the app does; one line
# Inputs come from the environment: POCKETCLIP_BUNDLE, POCKETCLIP_PY_STORE, POCKETCLIP_OUT_STORE,
# POCKETCLIP_OUT_REPORT (tests/apps/test_android_core.py sets them); POCKETCLIP_PLACES defaults to the
# repository's. Exit code: the tests' result.
set -euo pipefail

CORE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS="$CORE/../.tools"
KOTLIN_VERSION="2.4.20"
KOTLIN_HOME="$TOOLS/node_modules/kotlin-compiler"
KOTLINC="$KOTLIN_HOME/bin/kotlinc-jvm"
JAVA_LIBS=/usr/share/java
JARS=("$JAVA_LIBS/junit-platform-console-standalone.jar" "$JAVA_LIBS/sqlite-jdbc.jar" "$JAVA_LIBS/gson.jar")
BUILD="$CORE/build/jvm"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_tools() {
    local packages=()
    command -v java >/dev/null || packages+=(openjdk-17-jdk-headless)
    command -v npm >/dev/null || packages+=(npm)
    [ -f "${JARS[0]}" ] || packages+=(junit5)
    [ -f "${JARS[1]}" ] || packages+=(libxerial-sqlite-jdbc-java)
    [ -f "${JARS[2]}" ] || packages+=(libgoogle-gson-java)
    if [ ${#packages[@]} -gt 0 ]; then
        echo "jvm-test.sh: apt-get install ${packages[*]}" >&2
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${packages[@]}" >/dev/null
    fi
    if [ ! -x "$KOTLINC" ] || ! grep -qx "$KOTLIN_VERSION" "$KOTLIN_HOME/build.txt" 2>/dev/null; then
        echo "jvm-test.sh: npm install kotlin-compiler@$KOTLIN_VERSION into $TOOLS" >&2
        mkdir -p "$TOOLS"
        npm install --prefix "$TOOLS" --no-audit --no-fund --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null
    fi
}

if [ "${1:-}" = "--install" ]; then
    install_tools
    exit 0
fi
SCENARIOS=()
BENCH=()
CHECK=()
if [ "${1:-}" = "--scenarios" ]; then
    [ -n "${2:-}" ] || { echo "usage: $0 --scenarios DIR [--json]" >&2; exit 2; }
    SCENARIOS=("$@")
elif [ "${1:-}" = "--bench-search" ]; then
    [ $# -eq 7 ] || { echo "usage: $0 --bench-search STORE CODEBOOKS MODEL QUERIES TRUTH CANDIDATES" >&2; exit 2; }
    BENCH=("${@:2}")
elif [ "${1:-}" = "--check-bundle" ]; then
    [ $# -eq 2 ] || { echo "usage: $0 --check-bundle DIR" >&2; exit 2; }
    CHECK=("$2")
elif [ $# -ne 0 ]; then
    echo "usage: $0 [--install | --scenarios DIR [--json] | --bench-search ... | --check-bundle DIR]" >&2; exit 2
fi
for tool in "$KOTLINC" "${JARS[@]}"; do
    [ -e "$tool" ] || { echo "jvm-test.sh: $tool is missing; run $0 --install" >&2; exit 2; }
done

# One run at a time per checkout: a second run would recompile (rm -rf) the classes the first is testing.
mkdir -p "$CORE/build"
if command -v flock >/dev/null; then
    exec 9>"$CORE/build/jvm-test.lock"
    flock 9
fi

STDLIB="$KOTLIN_HOME/lib/kotlin-stdlib.jar"
COMPILE_CP="$JAVA_LIBS/gson.jar:${JARS[0]}"
RESOURCES="$CORE/src/main/resources"
# Recompile only when a source, a resource or the compiler changed.
STAMP="$( (cat "$KOTLIN_HOME/build.txt"; find "$CORE/src/main" "$CORE/src/test" -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-64)"
if [ "$(cat "$BUILD/stamp" 2>/dev/null)" != "$STAMP" ]; then
    rm -rf "$BUILD" && mkdir -p "$BUILD"
    start=$(date +%s)
    # One kotlinc run for main + test (one JVM start-up); Gradle keeps the two source sets apart on Android.
    "$KOTLINC" -nowarn -jvm-target 17 -cp "$COMPILE_CP" -d "$BUILD/classes" \
        "$CORE/src/main/kotlin" "$CORE/src/test/kotlin" 2>&1 | grep -v '^OpenJDK 64-Bit Server VM warning' >&2 || true
    [ -d "$BUILD/classes/org" ] || { echo "jvm-test.sh: kotlinc failed" >&2; exit 1; }
    echo "$STAMP" > "$BUILD/stamp"
    echo "jvm-test.sh: compiled in $(( $(date +%s) - start )) s" >&2
fi

CLASSPATH="$BUILD/classes:$RESOURCES:$STDLIB:$JAVA_LIBS/gson.jar:$JAVA_LIBS/sqlite-jdbc.jar"
# The offline places the facts resolve positions to (runtime/facts/places.tsv.gz), unless the caller names a file.
export POCKETCLIP_PLACES="${POCKETCLIP_PLACES:-$(cd "$CORE/../.." && pwd)/runtime/facts/places.tsv.gz}"
if [ ${#SCENARIOS[@]} -gt 0 ]; then
    exec java -cp "$CLASSPATH" org.pocketclip.core.ConformanceMain "${SCENARIOS[@]}"
fi
if [ ${#BENCH[@]} -gt 0 ]; then
    exec java -cp "$CLASSPATH" org.pocketclip.core.CodeIndexBench "${BENCH[@]}"
fi
if [ ${#CHECK[@]} -gt 0 ]; then
    exec java -cp "$CLASSPATH" org.pocketclip.core.BundleCheck "${CHECK[@]}"
fi
exec java -jar "${JARS[0]}" --disable-banner --disable-ansi-colors --details=tree --fail-if-no-tests \
    --class-path "$BUILD/classes:$RESOURCES:$STDLIB:$JAVA_LIBS/gson.jar:$JAVA_LIBS/sqlite-jdbc.jar" \
    --select-package org.pocketclip.core
