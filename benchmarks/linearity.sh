#!/usr/bin/env bash
# Shows that kcheck's time grows linearly with its input: each case runs the release build at input
# sizes n, 2n and 4n under callgrind and prints the instructions executed (stable on noisy machines,
# unlike wall time). For linear work the growth from 2n to 4n is twice the growth from n to 2n
# (slope ratio ~2); quadratic work shows ~4. Needs valgrind (apt-get install valgrind).
#   benchmarks/linearity.sh [CASE…]     cases: hosts-preflight hosts-lint hosts-fix sysctl-lint
#                                       facts-addresses dpkg-packages env-assignments
# Inputs are made under benchmarks/out/linearity (not committed); the node tree is a copy of
# fixtures/nodes/debian12 with only the one input grown.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "$0: valgrind is missing: apt-get install valgrind" >&2; exit 2; }
. benchmarks/common.sh
out=benchmarks/out/linearity
rm -rf "$out"; mkdir -p "$out"
bin=$(pwd)/$bin
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(hosts-preflight hosts-lint hosts-fix sysctl-lint facts-addresses dpkg-packages env-assignments)

# make CASE SIZE DIR: a node tree in DIR with the case's input at SIZE; prints the kcheck arguments.
make() {
  local case=$1 size=$2 dir=$3
  rm -rf "$dir"; cp -a fixtures/nodes/debian12 "$dir"
  case $case in
    hosts-*)
      python3 -c "
import sys
with open('$dir/etc/hosts', 'a') as f:
    for i in range($size): f.write('0.0.0.0 ad%d.example.com\n' % i)" ;;
    sysctl-lint)
      for i in $(seq "$size"); do echo "net.ipv4.ip_forward = 1" > "$dir/etc/sysctl.d/f$i.conf"; done ;;
    facts-addresses)
      python3 -c "
with open('$dir/.kcheck/facts', 'a') as f:
    for i in range($size): f.write('address eth%d 10.%d.%d.1/24\n' % (i % 50, (i >> 8) & 255, i & 255))" ;;
    dpkg-packages)
      python3 -c "
with open('$dir/var/lib/dpkg/status', 'a') as f:
    for i in range($size): f.write('\nPackage: pkg%d\nStatus: install ok installed\nVersion: 1.0\n' % i)" ;;
    env-assignments)
      python3 -c "
with open('$dir/opt/k8s/bin/environment.sh', 'a') as f:
    for i in range($size): f.write('export VAR_%d=\"value \${NODE_IPS[0]} %d\"\n' % (i, i))" ;;
  esac
  case $case in
    hosts-lint|sysctl-lint) echo "lint --root $dir" ;;
    hosts-fix) echo "fix --dry-run --root $dir" ;;
    *) echo "preflight --root $dir" ;;
  esac
}

size_of() {
  case $1 in
    hosts-*) echo 15000 ;;
    sysctl-lint) echo 500 ;;
    facts-addresses) echo 10000 ;;
    dpkg-packages) echo 20000 ;;
    env-assignments) echo 2000 ;;
  esac
}

instructions() {
  # shellcheck disable=SC2086
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" $1 >/dev/null 2>"$out/valgrind.log" || true
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/valgrind.log"
}

printf '%-17s %8s %16s %16s %16s %12s\n' case n "instr(n)" "instr(2n)" "instr(4n)" "slope ratio"
for c in "${cases[@]}"; do
  n=$(size_of "$c")
  counts=()
  for m in 1 2 4; do
    args=$(make "$c" $((n * m)) "$out/$c-$m")
    counts+=("$(instructions "$args")")
  done
  python3 - "$c" "$n" "${counts[@]}" <<'PY'
import sys
case, n, a, b, c = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:6])
ratio = (c - b) / (b - a) if b != a else float("nan")
print(f"{case:17} {n:8} {a:16,} {b:16,} {c:16,} {ratio:12.2f}")
PY
done
echo "slope ratio = (instr(4n) - instr(2n)) / (instr(2n) - instr(n)): 2 is linear, 4 is quadratic"
