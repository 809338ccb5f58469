#!/usr/bin/env bash
# Fuzzes every parser for a bounded time (docs/fuzzing.md):
#   fuzz/run.sh [SECONDS_PER_TARGET [TARGET...]]
# Builds the fuzz package (release; every module with -sanitize=fuzzer,address, so that the
# parsers in KCheckCore are instrumented), then runs each target with libFuzzer on a scratch copy
# of its corpus (the repository's corpus is never written). Default 30 s a target: the 22 targets
# take about 11 minutes. Exits 1 when any target crashed, leaked, timed out or ran out of memory,
# naming the input that did it (kept in $FUZZ_FINDINGS, default fuzz/.build/findings/<target>/).
# FUZZ_ARGS adds libFuzzer options to every run (after the script's own, so they win).
set -uo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET=${1:-30}
shift $(( $# > 0 ? 1 : 0 ))
FINDINGS=${FUZZ_FINDINGS:-$PWD/.build/findings}

echo "== fuzz: building (release, -sanitize=fuzzer,address)"
swift build -c release -Xswiftc -sanitize=fuzzer,address || exit 1
BIN=$(swift build -c release -Xswiftc -sanitize=fuzzer,address --show-bin-path)/kcheck-fuzz

# All targets unless named; the binary lists them when KCHECK_FUZZ_TARGET is unset.
if [[ $# -gt 0 ]]; then
  TARGETS=("$@")
else
  read -r -a TARGETS < <("$BIN" 2>&1 | sed -n 's/^kcheck-fuzz: set KCHECK_FUZZ_TARGET to one of: //p')
fi
[[ ${#TARGETS[@]} -gt 0 ]] || { echo "fuzz: no targets"; exit 1; }

# Symbolized, demangled stacks; leaks checked (the default on Linux, said here).
TOOLCHAIN=$(dirname "$(readlink -f "$(command -v swift)")")
[[ -x $TOOLCHAIN/llvm-symbolizer ]] && export ASAN_SYMBOLIZER_PATH=$TOOLCHAIN/llvm-symbolizer
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}
demangle() { if [[ -x $TOOLCHAIN/swift-demangle ]]; then "$TOOLCHAIN/swift-demangle" --simplified; else cat; fi; }

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
FAILED=()
SUMMARY=()
for target in "${TARGETS[@]}"; do
  if [[ ! -d corpus/$target ]]; then
    echo "fuzz: no corpus/$target"
    FAILED+=("$target (no corpus)")
    continue
  fi
  work=$SCRATCH/$target
  mkdir -p "$work/corpus" "$work/artifacts"
  cp corpus/"$target"/* "$work/corpus/"
  echo "== fuzz: $target for ${SECONDS_PER_TARGET}s"
  KCHECK_FUZZ_TARGET=$target timeout -k 10 $((SECONDS_PER_TARGET + 120)) "$BIN" \
    -max_total_time="$SECONDS_PER_TARGET" -max_len=32768 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" ${FUZZ_ARGS:-} "$work/corpus" >"$work/log" 2>&1
  status=$?
  inited=$(grep -E -o '^#[0-9]+[[:space:]]+INITED cov: [0-9]+' "$work/log" | grep -o '[0-9]*$' | head -1)
  final=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$work/log" | tail -1)
  SUMMARY+=("$(printf '%-10s seeds cov: %-5s then %s' "$target" "${inited:-?}" "${final:-no DONE line (status $status)}")")
  artifacts=("$work"/artifacts/*)
  if [[ $status -ne 0 || -e ${artifacts[0]} ]]; then
    FAILED+=("$target")
    mkdir -p "$FINDINGS/$target"
    echo "fuzz: $target FAILED (status $status); the report:"
    grep -E -A60 '^==[0-9]+==ERROR|^==[0-9]+== ERROR|ALARM|out-of-memory|deadly signal|Fatal error' "$work/log" | head -80 | demangle
    for artifact in "$work"/artifacts/*; do
      [[ -e $artifact ]] || continue
      cp "$artifact" "$FINDINGS/$target/"
      echo "fuzz: the input: $FINDINGS/$target/$(basename "$artifact")"
    done
    cp "$work/log" "$FINDINGS/$target/log"
    echo "fuzz: the whole log: $FINDINGS/$target/log"
  fi
done

echo "== fuzz: coverage at the end of each target"
printf '%s\n' "${SUMMARY[@]}"
if [[ ${#FAILED[@]} -gt 0 ]]; then
  echo "fuzz: FAILED: ${FAILED[*]} (a crash becomes a regression test: docs/fuzzing.md)"
  exit 1
fi
echo "fuzz: no crash, leak or timeout in ${#TARGETS[@]} targets"
