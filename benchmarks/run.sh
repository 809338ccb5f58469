#!/usr/bin/env bash
# Times `kcheck preflight` (release build, fully static executable, whole process) on the live node and
# on a fixture tree, side by side in the same run with benchmarks/baseline.sh doing the same 51
# checks with cat, grep, sysctl, systemctl and openssl, and (live) with the floor: the files the
# profile reads, read in one process (benchmarks/floor.c). Needs hyperfine and a C compiler.
#   benchmarks/run.sh [RUNS]      (default 300 runs each, after 20 warm-up runs)
# Prints a table of medians and the speed-up; hyperfine's JSON goes to benchmarks/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
. benchmarks/common.sh
tree=fixtures/nodes/centos7-prepared
mkdir -p benchmarks/out
# kcheck exits 1 on a node that is not prepared, as the baseline does: both are timed regardless.
# The floor: every file the profile reads on this node (a snapshot of it says which), read in one
# process by benchmarks/floor.c. /proc/net/tcp and tcp6 are left out: kcheck asks the kernel's
# sock_diag for their listening sockets instead of reading them.
cc -O2 -o benchmarks/out/floor benchmarks/floor.c
rm -rf benchmarks/out/live-snapshot
"$bin" snapshot -o benchmarks/out/live-snapshot >/dev/null
(cd benchmarks/out/live-snapshot && find . -path ./.kcheck -prune -o -type f -print | sed 's|^\.||' | grep -v '^/proc/net/tcp6\?$' | sort) > benchmarks/out/floor-files.txt
echo "floor: $(FLOOR_VERBOSE=1 benchmarks/out/floor benchmarks/out/floor-files.txt) (benchmarks/out/floor-files.txt)"
hyperfine -N --warmup 20 --runs "$runs" -i --export-json benchmarks/out/live.json \
  -n "kcheck preflight (live)" "$bin preflight --color never" \
  -n "baseline.sh (live)" "bash benchmarks/baseline.sh" \
  -n "floor: the same files read in one process" "benchmarks/out/floor benchmarks/out/floor-files.txt" >/dev/null
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
    print(f"{'  kcheck is faster than the shell script by':58} {medians[1]/medians[0]:8.1f}x  ({len(results[0]['times'])} runs each)")
    if len(medians) > 2:
        print(f"{'  kcheck takes this many times the floor':58} {medians[0]/medians[2]:8.1f}x")
PY
