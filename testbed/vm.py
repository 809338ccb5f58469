#!/usr/bin/env python3
"""kcheck's VM test bed: a Debian 12 guest under qemu (TCG), booted from its own kernel.

Library (imported by testbed/scenario.py) and CLI:

    testbed/vm.py base [--rebuild]          make (or reuse) the base image
    testbed/vm.py boot NAME [--kcheck BIN]  a fresh qcow2 overlay of the base, booted; waits for SSH
    testbed/vm.py ssh NAME [CMD...]         run a command in the guest (a shell without CMD)
    testbed/vm.py reboot NAME               a real guest reboot (qemu stays up); checks boot_id changed
    testbed/vm.py stop NAME                 stop qemu (the overlay stays until the next boot)
    testbed/vm.py console NAME              print the path of the serial console log
    testbed/vm.py ssh-config NAME           print the path of the ssh_config for kcheck --ssh-config
    testbed/vm.py status                    the VMs and whether their qemu runs

Everything lives under .build/testbed/ (git-ignored). Needs root (debootstrap, chroot), qemu-system-x86,
qemu-utils, debootstrap, dpkg-dev, e2fsprogs and openssh-client. Python 3 standard library only.
docs/testbed.md says how it fits together.
"""

import argparse
import hashlib
import inspect
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".build" / "testbed"
CACHE = WORK / "cache"
SUITE = "bookworm"
HOSTNAME = "kcheck-node1"
GUEST_TZ = "America/New_York"
GUEST_KCHECK = "/usr/local/bin/kcheck"
GUEST_REPO = "/srv/kcheck-repo"

# What debootstrap installs (minbase plus these, with their Depends; no Recommends).
BASE_PACKAGES = [
    "linux-image-amd64", "systemd-sysv", "udev", "dbus", "kmod", "iproute2", "openssh-server",
    "firewalld", "chrony",
    "util-linux-extra",   # hwclock lives here on bookworm (util-linux no longer ships it)
    "procps",             # sysctl, /etc/sysctl.conf and /etc/sysctl.d/99-sysctl.conf
    "cron",               # a Debian 12 default install has it (service.crond)
    "netbase",            # /etc/protocols: without it firewalld fails (INVALID_PROTOCOL: esp)
    "tzdata", "python3",  # python3 also comes with firewalld; the state collector uses it
    "libpam-systemd",     # logind, which polkitd (firewalld's dependency) needs; debootstrap does
                          # not follow the "default-logind | logind" alternative by itself
]
# The guide's packages (kcheck's packages.required on Debian) plus rsyslog: downloaded with their
# dependencies into the guest's offline apt repository, NOT installed (chrony excepted, and
# libseccomp2, which systemd itself depends on).
GUIDE_PACKAGES = ["chrony", "conntrack", "ipvsadm", "ipset", "jq", "iptables", "curl", "sysstat",
                  "libseccomp2", "wget", "socat", "git"]
# python3-apt: Ansible's apt module needs it on the node (the exported playbook's package tasks
# install it themselves, from this repository).
REPO_PACKAGES = GUIDE_PACKAGES + ["rsyslog", "python3-apt"]
PREINSTALLED_OK = {"chrony", "libseccomp2"}

# Bump when build_base changes what goes into the image (the starting state itself, _guest_setup,
# and the package lists are part of the cache key already).
BASE_FORMAT = 1

DEFAULT_TIMEOUT_BOOT = 420      # seconds to SSH after qemu starts (TCG)
DEFAULT_TIMEOUT_REBOOT = 480


class TestbedError(Exception):
    pass


def log(msg):
    print(f"[vm {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd, timeout=600, check=True, capture=False, input=None, env=None, cwd=None, logfile=None):
    """Run argv with a timeout; raise TestbedError with stderr (or the log's tail) on failure.
    With logfile, the output is appended there instead of shown."""
    log_f = open(logfile, "a") if logfile else None
    try:
        out = subprocess.PIPE if capture else log_f
        p = subprocess.run(cmd, timeout=timeout, input=input, env=env, cwd=cwd, stdout=out,
                           stderr=subprocess.PIPE if capture else (subprocess.STDOUT if log_f else None),
                           text=isinstance(input, str) or capture)
    except subprocess.TimeoutExpired:
        raise TestbedError(f"timed out after {timeout}s: {shlex.join(map(str, cmd))}")
    finally:
        if log_f:
            log_f.close()
    if check and p.returncode != 0:
        err = (p.stderr or "")[-3000:] if capture else ""
        if logfile:
            err = "\n".join(Path(logfile).read_text(errors="replace").splitlines()[-40:]) + f"\n(all of it: {logfile})"
        raise TestbedError(f"exit {p.returncode}: {shlex.join(map(str, cmd))}\n{err}")
    return p


# ---------------------------------------------------------------- the mirror (read, never written)

def apt_mirror(suite=SUITE):
    """The Debian mirror this machine's apt uses for SUITE: deb822 .sources first, then sources.list."""
    override = os.environ.get("KCHECK_TESTBED_MIRROR")
    if override:
        return override
    d = Path("/etc/apt/sources.list.d")
    for f in sorted(d.glob("*.sources")) if d.is_dir() else []:
        for stanza in re.split(r"\n\s*\n", f.read_text()):
            fields, key = {}, None
            for line in stanza.splitlines():
                if line.startswith("#") or not line.strip():
                    continue
                if line[0] in " \t" and key:
                    fields[key] += " " + line.strip()
                    continue
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
            if fields.get("enabled", "yes").lower() == "no":
                continue
            if "deb" in fields.get("types", "").split() and suite in fields.get("suites", "").split():
                uris = fields.get("uris", "").split()
                if uris:
                    return uris[0]
    lists = [Path("/etc/apt/sources.list")] + (sorted(d.glob("*.list")) if d.is_dir() else [])
    for f in lists:
        if not f.is_file():
            continue
        for line in f.read_text().splitlines():
            words = re.sub(r"\[[^\]]*\]", "", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb" and words[2] == suite:
                return words[1]
    raise TestbedError(f"no apt source for {suite} in /etc/apt (set KCHECK_TESTBED_MIRROR)")


# ---------------------------------------------------------------- keys

def ssh_key():
    key = WORK / "id_ed25519"
    if not key.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kcheck-testbed", "-f", str(key)])
    return key


# ---------------------------------------------------------------- the base image

def _guest_setup(root, pubkey, kubernetes_conf):
    """The starting node, written into the debootstrap root before the image is made: half
    prepared the way people's nodes are. Every line here is part of the base image's cache key."""
    def write(rel, text, mode=0o644):
        p = root / rel.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        os.chmod(p, mode)

    def chroot(*argv, timeout=300):
        return run(["chroot", str(root), *argv], timeout=timeout, capture=True)

    write("/etc/hostname", HOSTNAME + "\n")
    write("/etc/hosts", f"127.0.0.1\tlocalhost\n127.0.1.1\t{HOSTNAME}\n\n"
                        "::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
    # Root on the whole virtio disk; swap on the second disk with a TAB-separated line (the
    # guide's sed misses those).
    write("/etc/fstab", "# <file system>\t<mount point>\t<type>\t<options>\t<dump>\t<pass>\n"
                        "/dev/vda\t/\text4\terrors=remount-ro\t0\t1\n"
                        "/dev/vdb\tnone\tswap\tsw\t0\t0\n")
    # Issue 14: swap that comes back at boot though fstab's line is commented: a swap file turned
    # on by an administrator's .swap unit (kcheck's swap.sources masks it; undo restores it).
    # Not zeros: mkfs.ext4 -d would make those holes, and swapon refuses a file with holes.
    with open(root / "swapfile", "wb") as f:
        f.write(b"\x55" * (32 << 20))
    os.chmod(root / "swapfile", 0o600)
    run(["mkswap", "-L", "kcheck-swapfile", str(root / "swapfile")], capture=True)
    write("/etc/systemd/system/swapfile.swap", "[Unit]\nDescription=A swap file\n\n[Swap]\nWhat=/swapfile\n\n[Install]\nWantedBy=swap.target\n")
    chroot("systemctl", "enable", "swapfile.swap")
    # DHCP from qemu's user-mode network; nothing waits for "online".
    write("/etc/systemd/network/10-user.network", "[Match]\nName=en*\n\n[Network]\nDHCP=ipv4\n")
    write("/etc/resolv.conf", "nameserver 10.0.2.3\n")
    chroot("systemctl", "enable", "systemd-networkd.service")
    chroot("systemctl", "disable", "systemd-networkd-wait-online.service")
    # apt's timers would run apt-get at a random moment and could hold dpkg's lock while kcheck
    # installs packages: off, so the scenario is deterministic.
    chroot("systemctl", "disable", "apt-daily.timer", "apt-daily-upgrade.timer")
    # SSH as root with the test bed's key only.
    write("/root/.ssh/authorized_keys", pubkey, 0o600)
    os.chmod(root / "root/.ssh", 0o700)
    chroot("passwd", "-l", "root")
    # chrony installed but disabled (and so stopped at boot); firewalld enabled (and running).
    chroot("systemctl", "disable", "chrony.service")
    chroot("systemctl", "enable", "firewalld.service")
    # The guide's kubernetes.conf, copied verbatim (leading spaces, one line with two settings).
    write("/etc/sysctl.d/kubernetes.conf", kubernetes_conf)
    # Issue 11 item 10: /etc/sysctl.conf says 10, a later sysctl.d file says 0. At boot
    # systemd-sysctl reads sysctl.conf only through 99-sysctl.conf, in lexical order: 0 wins;
    # `sysctl --system` applies sysctl.conf last: 10 wins.
    with open(root / "etc/sysctl.conf", "a") as f:
        f.write("vm.swappiness = 10\n")
    write("/etc/sysctl.d/zz-local.conf", "vm.swappiness = 0\n")
    link = root / "etc/sysctl.d/99-sysctl.conf"
    if not link.is_symlink():
        raise TestbedError("procps did not install /etc/sysctl.d/99-sysctl.conf -> ../sysctl.conf")
    # A zone other than Asia/Shanghai, with the RTC in local time.
    lt = root / "etc/localtime"
    if lt.exists() or lt.is_symlink():
        lt.unlink()
    lt.symlink_to(f"/usr/share/zoneinfo/{GUEST_TZ}")
    write("/etc/timezone", GUEST_TZ + "\n")
    write("/etc/adjtime", "0.000000 0 0.000000\n0\nLOCAL\n")
    # The offline repository is the only apt source (done by build_base after the download).


def _recipe_key(mirror, pubkey, kubernetes_conf):
    h = hashlib.sha256()
    for part in (str(BASE_FORMAT), SUITE, mirror, json.dumps(BASE_PACKAGES), json.dumps(REPO_PACKAGES), pubkey,
                 kubernetes_conf, inspect.getsource(_guest_setup), HOSTNAME, GUEST_TZ):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def base_dir():
    mirror = apt_mirror()
    pub = ssh_key().with_suffix(".pub").read_text()
    kconf = (REPO / "fixtures/nodes/guide-sysctl-copy/etc/sysctl.d/kubernetes.conf").read_text()
    return WORK / "base" / _recipe_key(mirror, pub, kconf)


def build_base(rebuild=False, timings=None):
    """Make the base image once: debootstrap (tarball cached), the starting state, the offline apt
    repository, an ext4 image made with mkfs.ext4 -d (no loop mount), the kernel and initrd, and a
    swap disk. Returns its directory. `timings` (a dict) gets seconds per step."""
    if os.geteuid() != 0:
        raise TestbedError("the base image needs root (debootstrap, chroot)")
    timings = timings if timings is not None else {}
    mirror = apt_mirror()
    pub = ssh_key().with_suffix(".pub").read_text()
    kconf = (REPO / "fixtures/nodes/guide-sysctl-copy/etc/sysctl.d/kubernetes.conf").read_text()
    out = WORK / "base" / _recipe_key(mirror, pub, kconf)
    if (out / "ready").exists() and not rebuild:
        log(f"base image cached: {out}")
        return out
    for tool in ("debootstrap", "qemu-img", "mkfs.ext4", "mkswap", "dpkg-scanpackages", "chroot"):
        if not shutil.which(tool):
            raise TestbedError(f"{tool} not found (apt-get install qemu-utils debootstrap dpkg-dev e2fsprogs)")
    CACHE.mkdir(parents=True, exist_ok=True)
    blog = WORK / "base-build.log"          # debootstrap's and apt's output
    blog.write_text("")
    include = ",".join(BASE_PACKAGES)
    tkey = hashlib.sha256(f"{SUITE} {mirror} {include}".encode()).hexdigest()[:12]
    tarball = CACHE / f"debootstrap-{SUITE}-{tkey}.tgz"
    if not tarball.exists():
        t = time.monotonic()
        log(f"debootstrap --make-tarball from {mirror} (once; cached as {tarball.name})")
        tmp = Path(tempfile.mkdtemp(dir=CACHE, prefix="mk-"))
        try:
            run(["debootstrap", "--variant=minbase", f"--include={include}",
                 f"--make-tarball={tarball}.part", SUITE, str(tmp / "root"), mirror], timeout=1800, logfile=blog)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        os.rename(f"{tarball}.part", tarball)
        timings["debootstrap download"] = time.monotonic() - t

    build = WORK / "base-build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    root = build / "root"
    t = time.monotonic()
    log("debootstrap --unpack-tarball")
    try:
        run(["debootstrap", "--variant=minbase", f"--include={include}", f"--unpack-tarball={tarball}",
             SUITE, str(root), mirror], timeout=1800, logfile=blog)
    finally:
        for m in ("proc", "sys", "dev/pts", "dev"):   # debootstrap's own mounts, if it left any
            subprocess.run(["umount", "-l", str(root / m)], stderr=subprocess.DEVNULL)
    timings["debootstrap install"] = time.monotonic() - t

    # The offline repository: the guide's packages and everything apt would pull in with them on
    # this root, downloaded by apt in the chroot (the chroot has the host's network), cached.
    t = time.monotonic()
    dkey = hashlib.sha256(f"{tkey} {json.dumps(REPO_PACKAGES)}".encode()).hexdigest()[:12]
    debs = CACHE / f"repo-{dkey}"
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    if not (debs / "complete").exists():
        log(f"apt-get --download-only {' '.join(REPO_PACKAGES)} (once; cached as {debs.name})")
        (root / "etc/apt/sources.list").write_text(f"deb {mirror} {SUITE} main\n")
        run(["chroot", str(root), "apt-get", "update", "-qq"], timeout=600, logfile=blog)
        run(["chroot", str(root), "apt-get", "install", "-y", "-qq", "--download-only", *REPO_PACKAGES],
            timeout=1200, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, logfile=blog)
        shutil.rmtree(debs, ignore_errors=True)
        debs.mkdir()
        for deb in (root / "var/cache/apt/archives").glob("*.deb"):
            shutil.copy2(deb, debs / deb.name)
        (debs / "complete").write_text("\n".join(sorted(p.name for p in debs.glob("*.deb"))) + "\n")
    run(["chroot", str(root), "apt-get", "clean"])
    repo = root / GUEST_REPO.lstrip("/")
    repo.mkdir(parents=True)
    for deb in debs.glob("*.deb"):
        shutil.copy2(deb, repo / deb.name)
    pk = run(["dpkg-scanpackages", "--multiversion", "."], cwd=repo, capture=True, timeout=300).stdout
    (repo / "Packages").write_text(pk)
    (root / "etc/apt/sources.list").write_text(f"deb [trusted=yes] file:{GUEST_REPO} ./\n")
    for f in (root / "etc/apt/sources.list.d").glob("*"):
        f.unlink()
    run(["chroot", str(root), "apt-get", "update", "-qq"], timeout=300, logfile=blog)
    # The offline repository must be enough for what kcheck fix will install.
    run(["chroot", str(root), "apt-get", "install", "-s", "-qq", *REPO_PACKAGES], timeout=300, capture=True)
    timings["offline repository"] = time.monotonic() - t

    t = time.monotonic()
    _guest_setup(root, pub, kconf)
    # None of the guide's packages (but chrony, and libseccomp2 that systemd needs) nor rsyslog.
    st = run(["chroot", str(root), "dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\n"],
             capture=True).stdout
    installed = {l.split()[0] for l in st.splitlines() if len(l.split()) > 1 and l.split()[1].startswith("ii")}
    bad = sorted((set(REPO_PACKAGES) & installed) - PREINSTALLED_OK)
    if bad or "chrony" not in installed:
        raise TestbedError(f"base root: preinstalled {bad}, chrony installed: {'chrony' in installed}")
    for f in (root / "var/lib/apt/lists").glob("*"):   # keep only the offline repo's lists
        if f.is_file() and "kcheck-repo" not in f.name and f.name != "lock":
            f.unlink()

    # Kernel and initrd out of /boot; the image with mkfs.ext4 -d (no loop mount, no root needed
    # for the image itself).
    kernels = sorted((root / "boot").glob("vmlinuz-*"))
    initrds = sorted((root / "boot").glob("initrd.img-*"))
    if not kernels or not initrds:
        raise TestbedError(f"no kernel/initrd in {root}/boot")
    tmpout = build / "out"
    tmpout.mkdir()
    shutil.copy2(kernels[-1], tmpout / "vmlinuz")
    shutil.copy2(initrds[-1], tmpout / "initrd.img")
    shutil.copy2(root / "usr/share/zoneinfo" / GUEST_TZ, tmpout / "guest-tz")
    (tmpout / "kernel-version").write_text(kernels[-1].name[len("vmlinuz-"):] + "\n")
    run(["mkfs.ext4", "-q", "-F", "-L", "kcheck-root", "-d", str(root), str(tmpout / "base.raw"), "4G"],
        timeout=900)
    run(["mkswap", "-L", "kcheck-swap", str(_sparse(tmpout / "swap.raw", 256 << 20))], capture=True)
    timings["image"] = time.monotonic() - t
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.rename(tmpout, out)
    (out / "ready").write_text(json.dumps({"mirror": mirror, "made": time.time(), "timings": timings}) + "\n")
    shutil.rmtree(build, ignore_errors=True)
    for old in (WORK / "base").iterdir():             # earlier recipes' images and caches
        if old != out:
            shutil.rmtree(old, ignore_errors=True)
    for old in CACHE.iterdir():
        if old not in (tarball, debs):
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
    log(f"base image ready: {out}")
    return out


def _sparse(path, size):
    with open(path, "wb") as f:
        f.truncate(size)
    return path


# ---------------------------------------------------------------- one VM

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _local_time_in(zonefile, when=None):
    from zoneinfo import ZoneInfo
    with open(zonefile, "rb") as f:
        zone = ZoneInfo.from_file(f, key=GUEST_TZ)
    return datetime.fromtimestamp(when or time.time(), tz=timezone.utc).astimezone(zone)


class VM:
    def __init__(self, name):
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
            raise TestbedError(f"bad VM name {name!r}")
        self.name = name
        self.dir = WORK / "vms" / name
        self.console = self.dir / "console.log"
        self.ssh_config = self.dir / "ssh_config"
        self.pidfile = self.dir / "qemu.pid"
        self.monitor = self.dir / "monitor.sock"

    # -- qemu

    def pid(self):
        try:
            pid = int(self.pidfile.read_text())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def running(self):
        return self.pid() is not None

    def rtc_reference(self):
        """What a clock set from this VM's RTC base at start and never stepped reads now (seconds since
        the epoch), or None before boot. Unlike the host's wall clock, it does not move when the host's
        own clock is stepped while the guest runs."""
        info = json.loads((self.dir / "info.json").read_text())
        if "started_monotonic" not in info:
            return None
        return info["started"] + (time.monotonic() - info["started_monotonic"])

    def boot(self, base=None, accel="tcg", timeout=DEFAULT_TIMEOUT_BOOT, kcheck=None):
        """A fresh overlay of the base image, qemu started in the background, SSH waited for."""
        base = Path(base or build_base())
        if self.running():
            raise TestbedError(f"{self.name} is already running (pid {self.pid()}); stop it first")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        for disk in ("base", "swap"):
            run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base / f"{disk}.raw"), "-F", "raw",
                 str(self.dir / f"{disk}.qcow2")])
        port = _free_port()
        key = ssh_key()
        self.ssh_config.write_text(
            f"Host {self.name}\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile {key}\n"
            "  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
            "  BatchMode yes\n  LogLevel ERROR\n  ConnectTimeout 10\n"
            "  ServerAliveInterval 5\n  ServerAliveCountMax 6\n")
        # The RTC holds local time of the guest's zone (the starting state: /etc/adjtime LOCAL).
        started, started_monotonic = time.time(), time.monotonic()
        rtc = _local_time_in(base / "guest-tz", started).strftime("%Y-%m-%dT%H:%M:%S")
        accel_arg = "kvm" if accel == "kvm" else "tcg,thread=multi"
        cmd = ["qemu-system-x86_64", "-name", self.name, "-machine", "q35", "-accel", accel_arg,
               "-cpu", "host" if accel == "kvm" else "max", "-smp", "2", "-m", "2048",
               "-kernel", str(base / "vmlinuz"), "-initrd", str(base / "initrd.img"),
               "-append", "root=/dev/vda rw console=ttyS0,115200 panic=10 systemd.show_status=1 "
                         "systemd.journald.forward_to_console=1",
               "-drive", f"if=virtio,format=qcow2,file={self.dir / 'base.qcow2'}",
               "-drive", f"if=virtio,format=qcow2,file={self.dir / 'swap.qcow2'}",
               "-netdev", f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:22",
               "-device", "virtio-net-pci,netdev=n0", "-device", "virtio-rng-pci",
               "-rtc", f"base={rtc}", "-serial", f"file:{self.console}", "-display", "none",
               "-monitor", f"unix:{self.monitor},server,nowait",
               "-pidfile", str(self.pidfile), "-daemonize"]
        (self.dir / "qemu.cmd").write_text(shlex.join(cmd) + "\n")
        (self.dir / "info.json").write_text(json.dumps({"port": port, "base": str(base), "rtc": rtc,
                                                        "accel": accel, "started": started,
                                                        "started_monotonic": started_monotonic}) + "\n")
        log(f"boot {self.name}: qemu ({accel}), ssh on 127.0.0.1:{port}, RTC {rtc} ({GUEST_TZ})")
        run(cmd, timeout=60)
        t = time.monotonic()
        self.wait_ssh(timeout)
        log(f"{self.name}: SSH up after {time.monotonic() - t:.0f}s")
        if kcheck:
            self.install_kcheck(kcheck)
        return time.monotonic() - t

    def stop(self, timeout=30):
        pid = self.pid()
        if pid is None:
            return
        try:   # a clean "quit" through the monitor, then SIGTERM, then SIGKILL
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(5)
                s.connect(str(self.monitor))
                s.sendall(b"quit\n")
        except OSError:
            os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.running():
            time.sleep(0.2)
        if self.running():
            os.kill(pid, signal.SIGKILL)
        log(f"{self.name}: qemu stopped")

    def console_tail(self, lines=60):
        try:
            text = self.console.read_text(errors="replace")
        except OSError:
            return "(no console log)"
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", text)      # colours and cursor moves
        return "\n".join([l for l in text.splitlines() if l.strip()][-lines:])

    # -- ssh

    def ssh_argv(self, command, tty=False):
        return ["ssh", "-F", str(self.ssh_config)] + (["-t"] if tty else []) + [self.name, command]

    def ssh(self, command, timeout=300, check=True, input=None, binary=False):
        """Run a shell command line in the guest; returns CompletedProcess (text unless binary)."""
        try:
            p = subprocess.run(self.ssh_argv(command), input=input, timeout=timeout,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=not binary)
        except subprocess.TimeoutExpired:
            raise TestbedError(f"{self.name}: timed out after {timeout}s: {command}")
        if check and p.returncode != 0:
            raise TestbedError(f"{self.name}: exit {p.returncode}: {command}\n{p.stderr[-2000:]}")
        return p

    def wait_ssh(self, timeout, not_boot_id=None):
        """Until `cat boot_id` works over SSH (and differs from not_boot_id); returns the boot_id."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self.running():
                raise TestbedError(f"{self.name}: qemu exited\n--- console tail ---\n{self.console_tail()}")
            try:
                p = subprocess.run(self.ssh_argv("cat /proc/sys/kernel/random/boot_id"), timeout=30,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                bid = p.stdout.strip()
                if p.returncode == 0 and bid and bid != not_boot_id:
                    return bid
            except subprocess.TimeoutExpired:
                pass
            time.sleep(2)
        raise TestbedError(f"{self.name}: no SSH within {timeout}s\n--- console tail ---\n{self.console_tail()}")

    def boot_id(self):
        return self.ssh("cat /proc/sys/kernel/random/boot_id", timeout=30).stdout.strip()

    def reboot(self, timeout=DEFAULT_TIMEOUT_REBOOT):
        """A real guest reboot: systemctl reboot in the guest; qemu resets and boots the same
        -kernel on the same disk. Checks that qemu stayed up and boot_id changed."""
        pid, old = self.pid(), self.boot_id()
        t = time.monotonic()
        subprocess.run(self.ssh_argv("systemctl reboot"), timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        new = self.wait_ssh(timeout, not_boot_id=old)
        if self.pid() != pid:
            raise TestbedError(f"{self.name}: qemu restarted (pid {pid} -> {self.pid()}), not a guest reboot")
        log(f"{self.name}: rebooted in {time.monotonic() - t:.0f}s (boot_id {old[:8]} -> {new[:8]})")
        return time.monotonic() - t

    def install_kcheck(self, binary):
        """Copy the kcheck binary (a copy taken first: it may be being rebuilt) to the guest."""
        binary = Path(binary)
        if not binary.is_file():
            raise TestbedError(f"no kcheck binary at {binary} (swift build -c release -Xswiftc -static-executable)")
        with tempfile.NamedTemporaryFile(dir=WORK, prefix="kcheck-") as tmp:
            shutil.copyfile(binary, tmp.name)
            with open(tmp.name, "rb") as f:
                data = f.read()
        self.ssh(f"mkdir -p {os.path.dirname(GUEST_KCHECK)} && cat > {GUEST_KCHECK}.new && "
                 f"chmod 0755 {GUEST_KCHECK}.new && mv {GUEST_KCHECK}.new {GUEST_KCHECK}",
                 input=data, binary=True, timeout=120)
        v = self.ssh(f"{GUEST_KCHECK} --version", timeout=60).stdout.strip()
        log(f"{self.name}: kcheck {v} installed at {GUEST_KCHECK}")
        return data


# ---------------------------------------------------------------- the starting state, asserted

STARTING_STATE_CHECKS = r"""
set -u
fail() { echo "FAIL: $*"; }
[ "$(systemctl is-enabled chrony 2>&1)" = disabled ] || fail "chrony not disabled: $(systemctl is-enabled chrony 2>&1)"
[ "$(systemctl is-active chrony 2>&1)" = inactive ] || fail "chrony not stopped: $(systemctl is-active chrony 2>&1)"
dpkg-query -W -f '${db:Status-Abbrev}' chrony 2>/dev/null | grep -q '^ii' || fail "chrony not installed"
[ "$(systemctl is-enabled firewalld 2>&1)" = enabled ] || fail "firewalld not enabled"
[ "$(systemctl is-active firewalld 2>&1)" = active ] || fail "firewalld not running: $(systemctl is-active firewalld 2>&1)"
grep -q '^/dev/vdb\s' /proc/swaps || fail "swap on /dev/vdb not active: $(cat /proc/swaps)"
grep -qP '^/dev/vdb\tnone\tswap\t' /etc/fstab || fail "no tab-separated swap line in /etc/fstab"
grep -q '^/swapfile\s' /proc/swaps || fail "swap on /swapfile not active: $(cat /proc/swaps)"
[ "$(systemctl is-enabled swapfile.swap 2>&1)" = enabled ] || fail "swapfile.swap not enabled: $(systemctl is-enabled swapfile.swap 2>&1)"
[ "$(readlink /etc/localtime)" = /usr/share/zoneinfo/America/New_York ] || fail "/etc/localtime -> $(readlink /etc/localtime)"
[ "$(sed -n 3p /etc/adjtime)" = LOCAL ] || fail "/etc/adjtime line 3 is $(sed -n 3p /etc/adjtime)"
timedatectl show -p LocalRTC --value | grep -qx yes || fail "timedatectl LocalRTC is not yes"
grep -q '^br_netfilter ' /proc/modules && fail "br_netfilter is loaded"
grep -q '^nf_conntrack ' /proc/modules || fail "nf_conntrack is not loaded (firewalld should load it)"
grep -rsqw nf_conntrack /etc/modules /etc/modules-load.d /usr/lib/modules-load.d /run/modules-load.d && fail "nf_conntrack is named in a modules-load.d file"
grep -qx 'vm.swappiness = 10' /etc/sysctl.conf || fail "no vm.swappiness = 10 in /etc/sysctl.conf"
grep -qx 'vm.swappiness = 0' /etc/sysctl.d/zz-local.conf || fail "no vm.swappiness = 0 in /etc/sysctl.d/zz-local.conf"
for p in conntrack ipvsadm ipset jq iptables curl sysstat wget socat git rsyslog; do
  dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' && fail "$p is installed"
done
[ "$(grep -v '^#' /etc/apt/sources.list | grep -v '^$')" = 'deb [trusted=yes] file:/srv/kcheck-repo ./' ] || fail "apt sources: $(cat /etc/apt/sources.list)"
ls /etc/apt/sources.list.d/ | grep -q . && fail "files in /etc/apt/sources.list.d"
[ "$(hostname)" = kcheck-node1 ] || fail "hostname $(hostname)"
exit 0
"""


def starting_state_failures(vm, kubernetes_conf_path=None):
    """What differs from the documented starting state, one line each (empty: as it should be)."""
    out = vm.ssh("sh -s", input=STARTING_STATE_CHECKS, timeout=120).stdout
    fails = [l[len("FAIL: "):] for l in out.splitlines() if l.startswith("FAIL: ")]
    want = (Path(kubernetes_conf_path) if kubernetes_conf_path else
            REPO / "fixtures/nodes/guide-sysctl-copy/etc/sysctl.d/kubernetes.conf").read_bytes()
    got = vm.ssh("cat /etc/sysctl.d/kubernetes.conf", binary=True, timeout=60).stdout
    if got != want:
        fails.append("/etc/sysctl.d/kubernetes.conf is not the guide's copy byte for byte")
    return fails


# ---------------------------------------------------------------- CLI

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("base", help="make (or reuse) the base image; prints its directory")
    b.add_argument("--rebuild", action="store_true")
    bt = sub.add_parser("boot", help="boot a fresh overlay of the base image, wait for SSH")
    bt.add_argument("name")
    bt.add_argument("--kcheck", default=str(REPO / ".build/release/kcheck"),
                    help="kcheck binary to copy to /usr/local/bin/kcheck ('' for none)")
    bt.add_argument("--accel", choices=["tcg", "kvm"], default="tcg")
    bt.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT_BOOT)
    bt.add_argument("--check-start", action="store_true", help="assert the starting state")
    s = sub.add_parser("ssh", help="run CMD in the guest (an interactive shell without CMD)")
    s.add_argument("name")
    s.add_argument("command", nargs=argparse.REMAINDER)
    r = sub.add_parser("reboot", help="a real guest reboot; waits for SSH with a new boot_id")
    r.add_argument("name")
    r.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT_REBOOT)
    for c, h in (("stop", "stop qemu"), ("console", "print the serial console log's path"),
                 ("ssh-config", "print the ssh_config's path (kcheck --ssh-config)")):
        sub.add_parser(c, help=h).add_argument("name")
    sub.add_parser("status", help="the VMs under .build/testbed/vms")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "base":
            print(build_base(rebuild=a.rebuild))
        elif a.cmd == "boot":
            vm = VM(a.name)
            vm.boot(accel=a.accel, timeout=a.timeout, kcheck=a.kcheck or None)
            if a.check_start:
                fails = starting_state_failures(vm)
                for f in fails:
                    print(f"starting state: {f}")
                if fails:
                    return 1
            print(f"ssh -F {vm.ssh_config} {vm.name}")
        elif a.cmd == "ssh":
            vm = VM(a.name)
            cmd = ["ssh", "-F", str(vm.ssh_config)] + ([] if a.command else ["-t"]) + [vm.name]
            if a.command:
                cmd.append(shlex.join(a.command) if len(a.command) > 1 else a.command[0])
            return subprocess.call(cmd)
        elif a.cmd == "reboot":
            VM(a.name).reboot(timeout=a.timeout)
        elif a.cmd == "stop":
            VM(a.name).stop()
        elif a.cmd == "console":
            print(VM(a.name).console)
        elif a.cmd == "ssh-config":
            print(VM(a.name).ssh_config)
        elif a.cmd == "status":
            for d in sorted((WORK / "vms").glob("*")) if (WORK / "vms").is_dir() else []:
                vm = VM(d.name)
                info = json.loads((d / "info.json").read_text()) if (d / "info.json").exists() else {}
                print(f"{d.name}\t{'running pid %d' % vm.pid() if vm.running() else 'stopped'}\t"
                      f"port {info.get('port')}\t{vm.console}")
    except TestbedError as e:
        print(f"vm.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
