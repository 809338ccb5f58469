#!/usr/bin/env bash
# The VM test bed's one entry point (for .ci/run and people): installs what it needs when run as
# root on Debian, makes or reuses the base image, runs the scenario of issue 11 on a fresh qcow2
# overlay, prints each phase's time; exits non-zero on any failed assertion.
#
#   testbed/run.sh [--kcheck PATH] [--keep] [--out DIR]     (default PATH: .build/release/kcheck)
#
# docs/testbed.md says what it does and how to run one step by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for tool in qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils debootstrap:debootstrap \
            dpkg-scanpackages:dpkg-dev mkfs.ext4:e2fsprogs ssh:openssh-client python3:python3 ansible-playbook:ansible-core; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
if ((${#need[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  else
    echo "testbed: missing ${need[*]} (apt-get install ${need[*]})" >&2
    exit 2
  fi
fi

start=$SECONDS
# The whole VM part has a budget (docs/testbed.md): 50 minutes, then it is stopped.
status=0
timeout --foreground --kill-after=60 "${KCHECK_TESTBED_TIMEOUT:-3000}" \
  /usr/bin/env python3 testbed/scenario.py "$@" || status=$?
if [[ $status -eq 124 ]]; then
  echo "testbed: the scenario exceeded ${KCHECK_TESTBED_TIMEOUT:-3000}s" >&2
  python3 testbed/vm.py stop kcheck-guest || true
fi
echo "testbed: $((SECONDS - start))s in all, exit status $status"
exit "$status"
