#!/usr/bin/env bash
# Times `kcheck audit` on a node tree side by side with `kcheck preflight` on the same tree, in the
# same hyperfine run (release build, whole process, 200 runs each): what an audit costs over a
# check (reading the previous report, writing two reports durably, repointing latest.*, pruning
# to --keep). The reports directory lives in benchmarks/out (not committed).
#   benchmarks/audit.sh [TREE]     (default fixtures/nodes/centos7-prepared)
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${1:-fixtures/nodes/centos7-prepared}
. benchmarks/common.sh
out=benchmarks/out/audit-reports
rm -rf "$out"; mkdir -p "$out"
hyperfine -N -i --warmup 5 --runs 200 --export-json benchmarks/out/audit.json \
  -n "kcheck preflight --root" "$bin preflight --root $tree --quiet" \
  -n "kcheck audit --root (previous report, 2 reports, keep 30)" "$bin audit --root $tree --reports-dir $out --quiet" >/dev/null
/usr/bin/python3 - <<'PY'
import json, statistics
results = json.load(open("benchmarks/out/audit.json"))["results"]
base = statistics.median(results[0]["times"])
for r in results:
    m = statistics.median(r["times"])
    print(f"{r['command']}: median {m * 1000:.2f} ms (min {min(r['times']) * 1000:.2f}, max {max(r['times']) * 1000:.2f}); {m / base:.2f}x preflight")
PY
echo "reports kept: $(ls "$out" | grep -c '^kcheck-audit-.*\.json$')"
