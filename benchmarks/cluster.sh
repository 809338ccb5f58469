#!/usr/bin/env bash
# Times kcheck judging N saved node snapshots (default 200) as one cluster, whole process, release
# build: `kcheck preflight --snapshots DIR` with the JSON report to a file. The snapshots are copies
# of four fixture trees (a prepared CentOS 7 node, a Debian 12 node, a fresh CentOS 7 node, a node
# with wrong services), each with its own hostname, made once in benchmarks/out (not committed).
# Prints the median wall time (hyperfine, 10 runs) and the peak memory. Needs hyperfine.
#   benchmarks/cluster.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
. benchmarks/common.sh
dir=benchmarks/out/snapshots-$n
if [ "$(find "$dir" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)" -ne "$n" ]; then
  rm -rf "$dir"; mkdir -p "$dir"
  trees=(centos7-prepared debian12 centos7-minimal services-wrong)
  for i in $(seq "$n"); do
    node=$(printf 'node%04d' "$i")
    cp -a "fixtures/nodes/${trees[$((i % 4))]}" "$dir/$node"
    echo "$node" > "$dir/$node/proc/sys/kernel/hostname"
  done
fi
mkdir -p benchmarks/out
hyperfine -N -i --warmup 1 --runs 10 --export-json benchmarks/out/cluster.json \
  -n "kcheck preflight --snapshots ($n nodes)" "$bin preflight --snapshots $dir --format json --output benchmarks/out/cluster-report.json --quiet" >/dev/null
/usr/bin/python3 - "$bin" "$dir" "$n" <<'PY'
import json, resource, statistics, subprocess, sys
bin, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = json.load(open("benchmarks/out/cluster.json"))["results"][0]["times"]
subprocess.run([bin, "preflight", "--snapshots", d, "--format", "json", "--output", "benchmarks/out/cluster-report.json", "--quiet"], stdout=subprocess.DEVNULL)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"kcheck preflight --snapshots, {n} nodes: median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f}), peak memory {peak:.0f} MiB")
PY
