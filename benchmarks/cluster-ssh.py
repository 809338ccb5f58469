#!/usr/bin/env python3
"""kcheck over SSH against real sshd on loopback, side by side with a bare `ssh node true` fan-out.

For N nodes (default: 3 and 20), each a real sshd on 127.0.2.x in a private mount namespace
(tmpfs over /run, as the tests do), serving a fixture tree through the test seam (SetEnv
KCHECK_ROOT, KCHECK_CACHE_DIR), this times, whole process, release build:

  bare ssh     N x `ssh -F cfg NODE true`, 8 at once (kcheck's default --parallel)
  kcheck first `kcheck preflight --hosts ...` with every node's cache empty (kcheck copied first)
  kcheck warm  the same again (kcheck cached on every node)

and the first copy to one node (`kcheck snapshot` with an empty cache minus with a warm one).
The compressed copy kept on this machine is made before timing (once per kcheck build; its
cost is printed). Prints medians of R runs (default 5). Needs root, openssh-server, unshare.

  benchmarks/cluster-ssh.py [--nodes 3,20] [--runs 5] [--kcheck .build/release/kcheck]
"""
import argparse
import concurrent.futures
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREES = ["centos7-prepared", "debian12", "centos7-minimal", "services-wrong"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, n, work):
        self.work = work
        self.nodes = []
        self.pids = []
        for key in ["hostkey", "id"]:
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / key)], check=True)
        (work / "authorized_keys").write_text((work / "id.pub").read_text())
        host_pub = (work / "hostkey.pub").read_text().strip()
        cfg, known = [], []
        for i in range(n):
            addr, port, alias = f"127.0.2.{i + 1}", free_port(), f"node{i + 1}"
            tree = ROOT / "fixtures/nodes" / TREES[i % len(TREES)]
            conf = work / f"sshd-{i}.conf"
            conf.write_text(f"""ListenAddress {addr}:{port}
HostKey {work}/hostkey
PidFile {work}/sshd-{i}.pid
AuthorizedKeysFile {work}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 100
SetEnv KCHECK_ROOT={tree} KCHECK_CACHE_DIR={work}/cache-{i}
""")
            subprocess.run(["unshare", "-m", "--", "/bin/sh", "-c",
                            'mount -t tmpfs kcheck-bench-run /run && mkdir -m 755 /run/sshd && exec /usr/sbin/sshd -E "$2" -f "$1"',
                            "sh", str(conf), str(work / f"sshd-{i}.log")], check=True)
            self.pids.append(work / f"sshd-{i}.pid")
            cfg.append(f"Host {alias}\n  HostName {addr}\n  Port {port}\n")
            known.append(f"[{addr}]:{port} {host_pub}\n")
            self.nodes.append((alias, addr, port, work / f"cache-{i}"))
        cfg.append(f"Host *\n  User root\n  IdentityFile {work}/id\n  IdentitiesOnly yes\n  UserKnownHostsFile {work}/known_hosts\n"
                   "  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n")
        (work / "ssh_config").write_text("".join(cfg))
        (work / "known_hosts").write_text("".join(known))
        self.config = str(work / "ssh_config")
        for _, addr, port, _ in self.nodes:
            for _ in range(200):
                try:
                    socket.create_connection((addr, port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)

    def clear_caches(self):
        for *_, cache in self.nodes:
            shutil.rmtree(cache, ignore_errors=True)

    def stop(self):
        for pid in self.pids:
            try:
                os.kill(int(pid.read_text()), 15)
            except (OSError, ValueError):
                pass


def timed(fn):
    t = time.monotonic()
    fn()
    return time.monotonic() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", default="3,20")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--kcheck", default=str(ROOT / ".build/release/kcheck"))
    args = ap.parse_args()
    kcheck = args.kcheck
    out = ROOT / "benchmarks/out"
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, XDG_CACHE_HOME=str(out / "ssh-cache"))
    shutil.rmtree(out / "ssh-cache", ignore_errors=True)
    print(f"kcheck: {kcheck} ({os.path.getsize(kcheck) / 1e6:.1f} MB)")
    for n in [int(x) for x in args.nodes.split(",")]:
        work = Path(tempfile.mkdtemp(prefix="kcheck-bench-ssh-", dir="/tmp"))
        cluster = Cluster(n, work)
        try:
            hosts = ",".join(a for a, *_ in cluster.nodes)

            def bare():
                with concurrent.futures.ThreadPoolExecutor(8) as pool:
                    list(pool.map(lambda a: subprocess.run(["ssh", "-F", cluster.config, "-o", "BatchMode=yes", a, "true"],
                                                           check=True, stdin=subprocess.DEVNULL), [a for a, *_ in cluster.nodes]))

            def kc():
                r = subprocess.run([kcheck, "preflight", "--hosts", hosts, "--ssh-config", cluster.config, "--format", "json",
                                    "--output", str(out / "ssh-report.json"), "--quiet"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                if r.returncode not in (0, 1):
                    sys.exit(f"kcheck failed: {r.stderr}")

            def snapshot_one():
                d = Path(tempfile.mkdtemp(prefix="kcheck-bench-snap-", dir="/tmp"))
                try:
                    subprocess.run([kcheck, "snapshot", cluster.nodes[0][0], "--ssh-config", cluster.config, "-o", str(d / "s")],
                                   env=env, check=True, stdout=subprocess.DEVNULL)
                finally:
                    shutil.rmtree(d)

            prepare = timed(snapshot_one) if not (out / "ssh-cache").exists() else 0.0
            bare_t, first_t, warm_t, copy_t = [], [], [], []
            for _ in range(args.runs):
                bare_t.append(timed(bare))
                cluster.clear_caches()
                first_t.append(timed(kc))
                warm_t.append(timed(kc))
                cluster.clear_caches()
                cold1 = timed(snapshot_one)
                copy_t.append(cold1 - timed(snapshot_one))
            m = statistics.median
            if prepare:
                print(f"  (first use of this build: strip + gzip -1 once, and one node's first snapshot: {prepare:.2f} s)")
            print(f"{n} nodes, median of {args.runs}: bare ssh fan-out {m(bare_t):.3f} s; kcheck first run {m(first_t):.3f} s; "
                  f"kcheck warm {m(warm_t):.3f} s ({m(warm_t) / m(bare_t):.2f}x bare); first copy to one node {m(copy_t):.3f} s")
        finally:
            cluster.stop()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
