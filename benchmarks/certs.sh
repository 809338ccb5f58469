#!/usr/bin/env bash
# Times `kcheck certs` over a directory of N certificates (default 10,000; made once by
# benchmarks/make-certs.py, not committed), whole process, release build, side by side in the same
# run with `openssl x509 -noout -subject -enddate` once per file over a sample (default 200 files),
# and reports kcheck's peak memory. Needs hyperfine and python3-cryptography.
#   benchmarks/certs.sh [N] [SAMPLE]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
sample=${2:-200}
. benchmarks/common.sh
dir=benchmarks/out/certs-$n
if [ "$(find "$dir" -name '*.pem' 2>/dev/null | wc -l)" -ne "$n" ]; then
  rm -rf "$dir"
  /usr/bin/python3 benchmarks/make-certs.py "$n" "$dir"
fi
mkdir -p benchmarks/out
find "$dir" -name 'node-*.pem' | sort | sed -n "1,${sample}p" > benchmarks/out/certs-sample.txt
cat > benchmarks/out/openssl-loop.sh <<'LOOP'
while read -r f; do openssl x509 -noout -subject -enddate -in "$f" >/dev/null; done < benchmarks/out/certs-sample.txt
LOOP
hyperfine -N --warmup 2 --runs 10 --export-json benchmarks/out/certs.json \
  -n "kcheck certs ($n certificates)" "$bin certs $dir --format json --fail-on none" \
  -n "openssl x509 per file ($sample files)" "bash benchmarks/out/openssl-loop.sh" >/dev/null
/usr/bin/python3 - "$bin" "$dir" "$n" "$sample" <<'PY'
import json, resource, statistics, subprocess, sys
bin, d, n, sample = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
results = json.load(open("benchmarks/out/certs.json"))["results"]
kcheck = statistics.median(results[0]["times"])
per_file = statistics.median(results[1]["times"]) / sample
subprocess.run([bin, "certs", d, "--format", "json", "--fail-on", "none"], stdout=subprocess.DEVNULL, check=True)
peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"kcheck certs, {n} certificates:            median {kcheck:.3f} s ({kcheck / n * 1e6:.1f} µs per certificate), peak memory {peak_mib:.0f} MiB")
print(f"openssl x509 -noout -subject -enddate:     median {per_file * 1000:.2f} ms per file ({sample}-file sample) → {per_file * n:.1f} s for {n}")
print(f"  kcheck is faster by                      {per_file * n / kcheck:.0f}x")
PY
