#!/usr/bin/env bash
# Times `kcheck preflight` (release build, fully static executable, whole process) on the live node and
# on a fixture tree, side by side in the same run with benchmarks/baseline.sh doing the same 51
# checks with cat, grep, sysctl, systemctl and openssl. Needs hyperfine (apt-get install hyperfine).
#   benchmarks/run.sh [RUNS]      (default 300 runs each, after 20 warm-up runs)
# Prints a table of medians and the speed-up; hyperfine's JSON goes to benchmarks/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
. benchmarks/common.sh
tree=fixtures/nodes/centos7-prepared
mkdir -p benchmarks/out
# kcheck exits 1 on a node that is not prepared, as the baseline does: both are timed regardless.
hyperfine -N --warmup 20 --runs "$runs" -i --export-json benchmarks/out/live.json \
  -n "kcheck preflight (live)" "$bin preflight --color never" \
  -n "baseline.sh (live)" "bash benchmarks/baseline.sh" >/dev/null
hyperfine -N --warmup 20 --runs "$runs" -i --export-json benchmarks/out/tree.json \
  -n "kcheck preflight --root $tree" "$bin preflight --color never --root $tree" \
  -n "ROOT=$tree baseline.sh" "env ROOT=$tree bash benchmarks/baseline.sh" >/dev/null
python3 - "$runs" <<'PY'
import json, statistics, sys
print(f"{'command':58} {'median':>9} {'mean':>9} {'min':>9} {'max':>9}")
for name in ("live", "tree"):
    results = json.load(open(f"benchmarks/out/{name}.json"))["results"]
    medians = []
    for r in results:
        t = r["times"]
        medians.append(statistics.median(t))
        print(f"{r['command']:58} {statistics.median(t)*1000:8.2f}ms {statistics.mean(t)*1000:8.2f}ms {min(t)*1000:8.2f}ms {max(t)*1000:8.2f}ms")
    print(f"{'  kcheck is faster by':58} {medians[1]/medians[0]:8.1f}x  ({len(results[0]['times'])} runs each)")
PY
