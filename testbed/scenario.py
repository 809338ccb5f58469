#!/usr/bin/env python3
"""The scenario of issue 11 on a real booted Debian 12 guest, every step asserted.

    testbed/scenario.py [--kcheck .build/release/kcheck] [--keep] [--out DIR]

boot → the starting state → preflight (and the same node judged three ways) → fix --dry-run
(nothing changes) → fix --yes → preflight (three ways again) → a second fix is a no-op → a real
reboot → preflight (what fix made holds; every sysctl prediction meets the real kernel) → audit
twice (changes, then none) → undo of every run, newest first → a fix and its undo over SSH → the
cloned-machine fix (the guest under two ssh aliases) and its undo → a real reboot → the node is exactly
as it started (files, packages, units, modules, kernel parameters, time zone, clock).

Every failed assertion is printed with what was expected and what was seen; the exit status is 1
if any failed. Phase timings and a summary line "N passed, N failed" end the output. qemu is always
stopped at the end (unless --keep). Everything the steps produced is kept in --out (default
.build/testbed/runs/TIMESTAMP). Python 3 standard library only.
"""

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.dont_write_bytecode = True          # no __pycache__ in the repository
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vm as vmlib  # noqa: E402

REPO = vmlib.REPO
GUEST_OUT = "/var/tmp/kcheck-testbed"          # reports written in the guest (not under /etc /root /opt)
GUEST_AUDIT = "/var/tmp/kcheck-testbed/audit"
VM_NAME = "kcheck-guest"
CLOCK_TOLERANCE = 5                            # seconds between the guest's and the host's clock

# Paths under /etc, /root, /opt whose change after fix + undo + reboot is legitimately not kcheck's.
# Each entry says why. Everything else that differs is reported.
NOT_KCHECKS = {
    # (none so far: every difference is reported; add an entry only with its justification)
}
# Units that exist because the test bed itself is logged in over SSH (a login session per ssh
# command, numbered afresh each time): left out of the unit and unit-file comparisons. Two boots of
# the base image with nothing run in between differ in these only.
SSH_SESSION_UNITS = re.compile(r"^(session-\d+\.scope|user@\d+\.service|user-runtime-dir@\d+\.service|"
                               r"user-\d+\.slice|run-user-\d+\.mount)$")
# The guest's own timers fire while a phase runs (systemd-tmpfiles-clean 15 minutes after boot,
# apt's and man-db's daily jobs): their units and the credential mounts they bring are the
# guest's, never kcheck's doing.
TIMER_UNITS = re.compile(r"^(systemd-tmpfiles-clean|apt-daily|apt-daily-upgrade|man-db|logrotate|e2scrub_all|fstrim|dpkg-db-backup)\.(service|timer)$"
                         r"|^run-credentials-.*\.mount$")

# The harness's own SSH logins while the guest goes down: the session it was in (release), and the
# polling login of wait_ssh that arrives after D-Bus has begun to stop (create). Neither is the node's.
OWN_SSH_SESSION = re.compile(r"sshd\[\d+\]: pam_systemd\(sshd:session\): Failed to "
                             r"(release session|create session: Refusing activation, D-Bus is shutting down)")

# The cloned-machine phase: a second ssh alias of the same guest, so that `--hosts VM_NAME,CLONE_ALIAS`
# are two "nodes" sharing every identity, and the second one is given its own.
CLONE_ALIAS = f"{VM_NAME}-clone"
CLONE_RULES = "cluster.machine-id-unique,cluster.ssh-host-keys-unique"

# Run in the guest by its python3: what the cloned-machine fix changes, as JSON. Private keys are
# only hashed (and their public half derived by ssh-keygen -y): no secret reaches the logs.
IDENTITY_SCRIPT = r"""
import glob, grp, hashlib, json, os, pwd, stat, subprocess
def meta(p):
    st = os.lstat(p)
    return {"mode": "%o" % stat.S_IMODE(st.st_mode),
            "owner": pwd.getpwuid(st.st_uid).pw_name + ":" + grp.getgrgid(st.st_gid).gr_name}
out = {"keys": {}, "pub": {}, "derived": {}}
private = sorted(glob.glob("/etc/ssh/ssh_host_*_key"))
for p in private + sorted(glob.glob("/etc/ssh/ssh_host_*_key.pub")):
    with open(p, "rb") as f:
        data = f.read()
    out["keys"][p] = dict(meta(p), sha256=hashlib.sha256(data).hexdigest())
    if p.endswith(".pub"):
        out["pub"][p] = data.decode(errors="replace").split()
for p in private:
    r = subprocess.run(["ssh-keygen", "-y", "-f", p], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out["derived"][p] = r.stdout.split()[:2] if r.returncode == 0 else "exit %d: %s" % (r.returncode, r.stderr.strip()[-200:])
with open("/etc/machine-id", "rb") as f:
    out["machine_id"] = f.read().decode(errors="replace")
out["machine_id_meta"] = meta("/etc/machine-id")
out["machine_id_mounted"] = subprocess.run(["findmnt", "-n", "/etc/machine-id"], stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL).returncode == 0
d = "/var/lib/dbus/machine-id"
if os.path.islink(d):
    out["dbus"] = ["symlink", os.readlink(d), ""]
elif os.path.isfile(d):
    with open(d) as f:
        out["dbus"] = ["file", f.read(), meta(d)["mode"] + " " + meta(d)["owner"]]
else:
    out["dbus"] = ["none", "", ""]
out["ssh_active"] = subprocess.run(["systemctl", "is-active", "ssh.service"], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True).stdout.strip()
print(json.dumps(out, sort_keys=True))
"""


class Fatal(Exception):
    """The guest cannot be used any more (no SSH, qemu gone): the remaining steps are skipped."""


class Scenario:
    def __init__(self, args):
        self.args = args
        self.passed = 0
        self.failures = []      # (phase, what, expected, seen)
        self.notes = []
        self.phases = []        # (name, seconds)
        self.phase = "setup"
        self.out = Path(args.out or vmlib.WORK / "runs" / time.strftime("%Y%m%dT%H%M%S"))
        self.out.mkdir(parents=True, exist_ok=True)
        self.vm = vmlib.VM(VM_NAME)
        self.kcheck_host = None
        self.sysctl_keys = sysctl_keys()

    # ---- bookkeeping

    def say(self, msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    def check(self, ok, what, expected="", seen=""):
        if ok:
            self.passed += 1
            print(f"  ok    {what}", flush=True)
        else:
            self.failures.append((self.phase, what, str(expected), str(seen)))
            print(f"  FAIL  {what}\n        expected: {expected}\n        seen:     {seen}", flush=True)
        return ok

    def note(self, msg):
        self.notes.append((self.phase, msg))
        print(f"  note  {msg}", flush=True)

    def run_phase(self, name, fn, fatal=False):
        self.phase = name
        self.say(f"=== {name}")
        t = time.monotonic()
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported, then maybe fatal
            detail = str(e) if isinstance(e, (vmlib.TestbedError, Fatal)) else traceback.format_exc()
            self.check(False, f"{name} ran to the end", "no error", detail.strip())
            if fatal or isinstance(e, Fatal) or not self.vm.running():
                raise Fatal(name)
        finally:
            dt = time.monotonic() - t
            self.phases.append((name, dt))
            self.say(f"--- {name}: {dt:.0f}s")

    def save(self, name, data):
        p = self.out / name
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
        return p

    # ---- the guest

    def gsh(self, command, timeout=300, check=True):
        return self.vm.ssh(command, timeout=timeout, check=check)

    def kcheck(self, args, timeout=600, save=None, ok_codes=(0, 1)):
        """kcheck in the guest; returns (exit status, stdout). Exit 2 (or any code not in ok_codes)
        is a failed assertion."""
        p = self.vm.ssh(f"{vmlib.GUEST_KCHECK} {args}", timeout=timeout, check=False)
        if save:
            self.save(save, p.stdout + (f"\n--- stderr ---\n{p.stderr}" if p.stderr.strip() else ""))
        self.check(p.returncode in ok_codes, f"kcheck {args.split(' --')[0]}: exit status",
                   " or ".join(map(str, ok_codes)), f"{p.returncode}; stderr: {p.stderr.strip()[-500:]}")
        return p.returncode, p.stdout

    def guest_json(self, path, save=None):
        text = self.gsh(f"cat {shlex.quote(path)}", timeout=60).stdout
        if save:
            self.save(save, text)
        return json.loads(text)

    def preflight(self, save):
        _, out = self.kcheck("preflight --format json --color never", save=save)
        return json.loads(out)

    def state(self, save=None):
        script = (Path(__file__).parent / "guest_state.py").read_text()
        p = self.vm.ssh("python3 - " + " ".join(self.sysctl_keys), input=script, timeout=300)
        if save:
            self.save(save, p.stdout)
        return json.loads(p.stdout)

    def host_kcheck(self, args, timeout=600, save=None, ok_codes=(0, 1)):
        env = dict(os.environ, XDG_CACHE_HOME=str(self.out / "host-cache"))
        p = subprocess.run([str(self.kcheck_host), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout, env=env)
        if save:
            self.save(save, p.stdout + (f"\n--- stderr ---\n{p.stderr}" if p.stderr.strip() else ""))
        self.check(p.returncode in ok_codes, f"host: kcheck {args[0]} {' '.join(args[1:3])}…: exit status",
                   " or ".join(map(str, ok_codes)), f"{p.returncode}; stderr: {p.stderr.strip()[-500:]}")
        return p.returncode, p.stdout

    def check_clock(self, when):
        """The guest's clock agrees with the host's wall clock, or with the RTC base qemu was given plus
        the time since (the host's monotonic clock). The second is the reference when the host's own
        clock is stepped while the guest runs (NTP on the host: seen once as +25 s during a first
        boot), which the guest, set from its RTC at boot, cannot follow. Hours of difference (an RTC
        read in the wrong zone) fail against both."""
        before = time.time()
        guest = float(self.gsh("date +%s.%N", timeout=60).stdout.strip())
        after = time.time()
        rtc_before = self.vm.rtc_reference()
        off = guest - (before + after) / 2
        tol = CLOCK_TOLERANCE + (after - before) / 2
        tz = self.gsh("readlink /etc/localtime; date '+%Z %z'", timeout=60).stdout.split()
        seen = f"guest - host = {off:+.1f}s ({off / 3600:+.2f} h; zone {' '.join(tz)})"
        ok = abs(off) <= tol
        if rtc_before is not None:
            rtc_off = guest - (rtc_before - (after - before) / 2)
            seen += f"; guest - (RTC base + elapsed) = {rtc_off:+.1f}s"
            if not ok and abs(rtc_off) <= tol:
                ok = True
                self.note(f"clock {when}: the host's wall clock moved {rtc_off - off:+.1f}s against its "
                          f"monotonic clock since qemu started; the guest follows its RTC ({rtc_off:+.1f}s)")
        self.check(ok, f"clock {when}: guest and host agree within {CLOCK_TOLERANCE}s",
                   f"|guest - host| or |guest - (RTC base + elapsed)| <= {tol:.1f}s", seen)

    # ---- the steps

    def step_base(self):
        timings = {}
        self.base = vmlib.build_base(timings=timings)
        for k, v in timings.items():
            self.say(f"    base: {k} {v:.0f}s")

    def step_boot(self):
        self.kcheck_host = self.out / "kcheck"
        src = Path(self.args.kcheck)
        if not src.is_file():
            raise Fatal(f"no kcheck binary at {src} (swift build -c release -Xswiftc -static-executable)")
        shutil.copyfile(src, self.kcheck_host)       # a copy: the build may replace it meanwhile
        os.chmod(self.kcheck_host, 0o755)
        version = subprocess.run([str(self.kcheck_host), "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
        digest = hashlib.sha256(self.kcheck_host.read_bytes()).hexdigest()[:16]
        built = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(src.stat().st_mtime))
        head = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %s"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True).stdout.strip()[:100]
        self.note(f"kcheck under test: {src} ({version}, built {built}, sha256 {digest}…); repository HEAD {head}")
        secs = self.vm.boot(base=self.base, accel=self.args.accel, kcheck=self.kcheck_host)
        self.say(f"    boot to SSH: {secs:.0f}s")
        self.gsh(f"mkdir -p {GUEST_OUT}")
        fails = vmlib.starting_state_failures(self.vm)
        self.check(not fails, "the starting state is as documented (docs/testbed.md)", "no difference", "; ".join(fails))
        self.check_clock("at first boot")

    def step_start(self):
        self.s0 = self.state(save="state-0-start.json")
        self.failed_at_start = self.failed_units()
        if self.failed_at_start:
            self.note(f"units failed at the start: {self.failed_at_start}")
        self.p0 = self.preflight("preflight-0-start.json")
        self.check(any(r["status"] == "fail" for r in self.p0["results"]), "preflight at the start finds failures",
                   "some rule fails on a half-prepared node", summary(self.p0))
        self.three_ways("start", self.p0)
        # A first audit: the baseline the audits after the reboot compare with.
        self.kcheck(f"audit --reports-dir {GUEST_AUDIT} --quiet", save="audit-0.txt")
        a0 = self.guest_json(f"{GUEST_AUDIT}/latest.json", save="audit-0.json")
        self.check((a0.get("changes") or {}).get("previous") is None, "the first audit has no previous audit",
                   "changes.previous = null", json.dumps(a0.get("changes"))[:300])

    def three_ways(self, when, inside):
        """The same node judged inside the guest, over SSH with --hosts, and from a snapshot."""
        cfg = str(self.vm.ssh_config)
        _, out = self.host_kcheck(["preflight", "--hosts", VM_NAME, "--ssh-config", cfg, "--format", "json",
                                   "--color", "never"], save=f"three-ways-{when}-hosts.json")
        cluster = json.loads(out)
        nodes = cluster.get("nodes", [])
        over_ssh = nodes[0]["report"] if nodes else {"results": []}
        snap = Path(tempfile.mkdtemp(dir=self.out, prefix=f"snapshot-{when}-"))
        shutil.rmtree(snap)
        self.host_kcheck(["snapshot", VM_NAME, "--ssh-config", cfg, "-o", str(snap)],
                         save=f"three-ways-{when}-snapshot.txt")
        _, out = self.host_kcheck(["preflight", "--root", str(snap), "--format", "json", "--color", "never"],
                                  save=f"three-ways-{when}-root.json")
        offline = json.loads(out)
        a, b, c = statuses(inside), statuses(over_ssh), statuses(offline)
        diffs = []
        for rid in sorted(set(a) | set(b) | set(c)):
            if not (a.get(rid) == b.get(rid) == c.get(rid)):
                diffs.append(f"{rid}: inside {a.get(rid)}, --hosts {b.get(rid)}, snapshot+--root {c.get(rid)}")
        self.check(not diffs, f"{when}: the same status for every rule inside the guest, over SSH (--hosts) and "
                   "from a snapshot (--root)", "identical statuses", "\n          ".join(diffs))

    def step_dry_run(self):
        _, self.plan_text = self.kcheck("fix --dry-run --color never", save="fix-dry-run.txt")
        # The plan kcheck makes from the node's recording over SSH is the plan made on the node.
        _, remote_plan = self.host_kcheck(["fix", "--hosts", VM_NAME, "--ssh-config", str(self.vm.ssh_config), "--dry-run",
                                           "--color", "never"], save="fix-dry-run-hosts.txt")
        inside, over = plan_actions(self.plan_text), plan_actions(remote_plan)
        self.check(bool(inside) and inside == over, "fix --hosts --dry-run plans exactly what fix --dry-run plans on the node",
                   f"{len(inside)} actions", "\n          ".join(sorted(set(inside) ^ set(over))) or f"{len(over)} actions")
        # kcheck is cached on the node by its SHA-256, verified.
        listing = self.gsh("cd /var/lib/kcheck/bin && for f in kcheck-*; do echo \"$f $(sha256sum < $f | cut -c1-64)\"; done",
                           timeout=120, check=False).stdout.split()
        self.check(len(listing) == 2 and listing[0] == "kcheck-" + listing[1],
                   "kcheck copied itself to the node once, named by its SHA-256", "one kcheck-SHA256 in /var/lib/kcheck/bin",
                   " ".join(listing))
        s = self.state(save="state-1-after-dry-run.json")
        diffs = diff_states(self.s0, s, mtimes=True, sysctl_keys=self.sysctl_keys)
        self.check(not diffs, "preflight, snapshot, audit and fix --dry-run change nothing on the node (files "
                   "with their mtimes, packages, units, modules, kernel parameters, zone)", "no difference",
                   "\n          ".join(diffs))
        runs = parse_runs(self.kcheck("runs", save="runs-after-dry-run.txt")[1])
        self.check(not runs, "fix --dry-run records no run", "no run", runs)

    def step_fix(self):
        self.kcheck(f"fix --yes --color never --format json -o {GUEST_OUT}/fix-1.json", timeout=1800,
                    save="fix-1.txt")
        self.fix1 = self.guest_json(f"{GUEST_OUT}/fix-1.json", save="fix-1.json")
        actions = self.fix1.get("actions") or []
        self.check(bool(self.fix1.get("run")), "fix records a run", "a run id", self.fix1.get("run"))
        failed = [f"{a['action']}: {a.get('reason', '')}" for a in actions if a["outcome"] == "failed"]
        self.check(not failed, "no action of fix failed", "none failed", "\n          ".join(failed))
        self.planned = sorted({r for a in actions for r in a["rules"]})
        self.needs_reboot = sorted({r for a in actions if a["outcome"] == "needs-reboot" for r in a["rules"]})
        self.say(f"    fix: {len(actions)} actions, {len(self.planned)} rules planned for; "
                 f"outcomes {count_by(a['outcome'] for a in actions)}")
        # issue 11 item 7: `kcheck runs` counts what was applied, not what was already in place.
        runs = parse_runs(self.kcheck("runs", save="runs-after-fix.txt")[1])
        mine = [r for r in runs if r["id"] == self.fix1.get("run")]
        applied = sum(1 for a in actions if a["outcome"] == "applied")
        self.check(bool(mine) and mine[0]["applied"] == applied,
                   "kcheck runs counts the actions fix applied (not those already in place)",
                   f"{applied} applied ({len(actions) - applied} not applied)",
                   mine[0]["line"] if mine else f"no line for run {self.fix1.get('run')}: {runs}")
        # issue 11 item 6: every diff the plan showed is what was really written.
        self.check_plan_diffs()
        self.p1 = self.preflight("preflight-1-after-fix.json")
        for name, report in (("fix's own report", self.fix1), ("preflight after fix", self.p1)):
            st = statuses(report)
            bad = [f"{r}: {st.get(r)} ({actual(report, r)})" for r in self.planned
                   if r not in self.needs_reboot and st.get(r) != "pass"]
            self.check(not bad, f"{name}: every rule fix planned an action for passes",
                       "pass", "\n          ".join(bad))
        # issue 11 item 5: the guide means rsyslog to run; fix installs and starts it.
        self.check(statuses(self.p1).get("service.rsyslog") == "pass",
                   "service.rsyslog passes after fix (fix installs rsyslog and starts it)",
                   "pass", f"{statuses(self.p1).get('service.rsyslog')} ({actual(self.p1, 'service.rsyslog')})")
        self.three_ways("after-fix", self.p1)

    def check_plan_diffs(self):
        diffs = parse_plan_diffs(self.plan_text)
        if not diffs:
            self.note("the dry-run plan shows no file diff")
        for path, hunks in diffs.items():
            p = self.vm.ssh(f"cat {shlex.quote(path)}", timeout=60, check=False)
            lines = p.stdout.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            problems = []
            for start, new in hunks:
                got = lines[max(start - 1, 0):max(start - 1, 0) + len(new)]
                if got != new:
                    problems.append(f"lines {start}-{start + len(new) - 1}: plan {new!r}, file {got!r}")
            self.check(p.returncode == 0 and not problems, f"the plan's diff of {path} is what fix wrote",
                       "the diff's new lines in the file", "; ".join(problems) or p.stderr.strip())

    def step_fix_again(self):
        s_before = self.state(save="state-2-after-fix.json")
        runs_before = parse_runs(self.kcheck("runs")[1])
        _, text2 = self.kcheck(f"fix --yes --color never --format json -o {GUEST_OUT}/fix-2.json", timeout=1800,
                               save="fix-2.txt")
        exists = self.gsh(f"test -f {GUEST_OUT}/fix-2.json", check=False).returncode == 0
        self.check(exists, "fix -o FILE writes its report when there is nothing to change", f"{GUEST_OUT}/fix-2.json",
                   "no file")
        fix2 = self.guest_json(f"{GUEST_OUT}/fix-2.json", save="fix-2.json") if exists else {}
        if not exists:   # judge by its text output instead
            self.check("Nothing to change" in text2, "the second fix says there is nothing to change",
                       "'Nothing to change' in its output", text2[:300])
        applied = [a["action"] for a in fix2.get("actions") or [] if a["outcome"] != "already-in-place"]
        self.check(not applied, "a second fix applies nothing", "no action, or only 'already in place'",
                   "\n          ".join(applied))
        self.check(not fix2.get("run"), "a second fix records no run", "no run", fix2.get("run"))
        _, text3 = self.host_kcheck(["fix", "--hosts", VM_NAME, "--ssh-config", str(self.vm.ssh_config), "--yes",
                                     "--color", "never"], save="fix-3-hosts.txt", ok_codes=(0, 1))
        self.check("Nothing to change" in text3 and "Run " not in text3,
                   "a fix over SSH (kcheck on the node) finds nothing to change either", "'Nothing to change', no run",
                   text3[:400])
        runs_after = parse_runs(self.kcheck("runs", save="runs-after-fix-2.txt")[1])
        self.check(runs_after == runs_before, "kcheck runs is the same after the second fix", runs_before, runs_after)
        s_after = self.state(save="state-3-after-fix-2.json")
        diffs = diff_states(s_before, s_after, mtimes=True, sysctl_keys=self.sysctl_keys)
        self.check(not diffs, "the second fix changes nothing (not a byte, not an mtime)", "no difference",
                   "\n          ".join(diffs))

    def failed_units(self):
        out = self.gsh("systemctl list-units --failed --no-legend --plain --no-pager", timeout=60).stdout
        return sorted(l.split()[0] for l in out.splitlines() if l.strip())

    def step_reboot(self, label):
        failed_before = self.failed_units()
        self.check(failed_before == self.failed_at_start, f"before {label}: the failed units are those of the start",
                   self.failed_at_start, failed_before)
        console_at = self.vm.console.stat().st_size
        secs = self.vm.reboot()
        self.say(f"    reboot: {secs:.0f}s")
        self.check(True, f"{label}: a real guest reboot (qemu stayed up, boot_id changed)")
        self.check_clock(f"after {label}")
        # The shutdown on the serial console: what systemd reports as failed while stopping
        # (issue 11 item 4: firewalld could not reverse its rules once iptables was gone).
        with open(self.vm.console, "rb") as f:
            f.seek(console_at)
            text = f.read().decode(errors="replace")
        shutdown = text.split("Linux version", 1)[0]          # up to the new kernel's banner
        bad = [strip_ansi(l).strip() for l in shutdown.splitlines()
               if re.search(r"FAILED|Failed to|ERROR", strip_ansi(l)) and not OWN_SSH_SESSION.search(l)]
        self.check(not bad, f"{label}: the shutdown reports no failure on the console", "no FAILED/Failed/ERROR line",
                   "\n          ".join(bad[:20]))
        failed_after = self.failed_units()
        self.check(failed_after == self.failed_at_start, f"after {label}: the failed units are those of the start",
                   self.failed_at_start, failed_after)

    def check_predictions(self, before, label):
        """Every sysctl rule's 'after reboot' value (predicted before the reboot) against the kernel."""
        running = self.state(save=f"state-{label}.json")["sysctl"]
        self.after_reboot_running = running
        fallback = False
        for r in before["results"]:
            if not r["id"].startswith("sysctl."):
                continue
            obs = r.get("observation")
            if obs and obs.get("kind") == "sysctl":
                key = obs.get("key")
                known, pred, src = prediction(obs)
            else:
                fallback = True
                key = r["id"][len("sysctl."):]
                known, pred, src = parse_after_reboot(r["actual"])
            real = running[key] if key in running else self.read_sysctl(key)
            if known == "absent" and real is not None:
                # kcheck's claim is that no file's value is applied at boot: the key may still
                # appear later (firewalld loads nf_conntrack), with the module's own default.
                wanted = r["expected"].split(" now and after reboot")[0]
                self.check(norm(real) != norm(wanted), f"{key}: predicted not applied at boot (module loaded later, "
                           "if at all): the files' value does not hold after the reboot",
                           f"not {wanted}", f"{real} (running; the module was loaded later in the boot)")
                continue
            if not known:
                self.note(f"{key}: no definite prediction ({src}); running after reboot: "
                          f"{real if real is not None else 'absent'}")
                continue
            self.check(norm(pred) == norm(real), f"{key}: predicted after reboot = running after reboot",
                       f"{pred if pred is not None else 'absent'} (predicted: {src})",
                       f"{real if real is not None else 'absent'} (running)")
        if fallback:
            self.note("FALLBACK: this kcheck's JSON has no 'observation' field; the predictions were parsed "
                      "from 'actual' (\"running X; after reboot Y (file:line)\")")

    def read_sysctl(self, key):
        p = self.gsh(f"cat /proc/sys/{key.replace('.', '/')}", check=False, timeout=60)
        return " ".join(p.stdout.split()) if p.returncode == 0 else None

    def step_after_reboot(self):
        self.p2 = self.preflight("preflight-2-after-reboot.json")
        st1, st2 = statuses(self.p1), statuses(self.p2)
        bad = [f"{r}: {st2.get(r)} ({actual(self.p2, r)})" for r in self.planned if st2.get(r) != "pass"]
        self.check(not bad, "after the reboot, every rule fix planned an action for passes", "pass",
                   "\n          ".join(bad))
        lost = [f"{r}: {st2.get(r)} ({actual(self.p2, r)})" for r, s in st1.items() if s == "pass" and st2.get(r) != "pass"]
        self.check(not lost, "every rule that passed after fix still passes after the reboot", "pass",
                   "\n          ".join(lost))
        self.check_predictions(self.p1, "4-after-reboot")

    def step_audits(self):
        self.kcheck(f"audit --reports-dir {GUEST_AUDIT} --quiet", save="audit-1.txt")
        a1 = self.guest_json(f"{GUEST_AUDIT}/latest.json", save="audit-1.json")
        ch = a1.get("changes") or {}
        self.check(ch.get("previous") and (ch.get("fixed") or ch.get("drift") or ch.get("newly_failing")),
                   "the first audit after fix and reboot reports the changes since the audit at the start",
                   "changes.fixed/drift non-empty", json.dumps(ch)[:600])
        want_fixed = sorted(r for r in self.planned if statuses(self.p0).get(r) == "fail" and statuses(a1).get(r) == "pass")
        missing = sorted(set(want_fixed) - set(ch.get("fixed") or []))
        self.check(not missing, "the audit lists as fixed every planned rule that failed at the start and passes now",
                   want_fixed, f"missing: {missing}")
        self.kcheck(f"audit --reports-dir {GUEST_AUDIT} --quiet", save="audit-2.txt")
        a2 = self.guest_json(f"{GUEST_AUDIT}/latest.json", save="audit-2.json")
        ch2 = a2.get("changes") or {}
        self.check(ch2.get("previous") and not (ch2.get("fixed") or ch2.get("drift") or ch2.get("newly_failing")),
                   "the second audit reports no change", "previous set, newly_failing = fixed = drift = []",
                   json.dumps(ch2)[:600])

    def step_undo(self):
        runs = parse_runs(self.kcheck("runs", save="runs-before-undo.txt")[1])
        cfg = str(self.vm.ssh_config)
        _, remote = self.host_kcheck(["runs", "--hosts", VM_NAME, "--ssh-config", cfg], save="runs-before-undo-hosts.txt")
        self.check(parse_runs(remote) == runs, "kcheck runs --hosts (kcheck on the node) lists the node's runs",
                   runs, parse_runs(remote))
        todo = sorted((r for r in runs if not r["undone"]), key=lambda r: r["id"], reverse=True)
        self.check(bool(todo), "kcheck runs lists the fix run to undo", "at least one run", runs)
        # Undone over SSH: kcheck on the node, with the node's own journal and undo order.
        for r in todo:
            self.host_kcheck(["undo", "--hosts", VM_NAME, "--ssh-config", cfg, r["id"], "--yes"], timeout=1800,
                             save=f"undo-{r['id']}-hosts.txt", ok_codes=(0,))
        runs = parse_runs(self.kcheck("runs", save="runs-after-undo.txt")[1])
        self.check(runs and all(r["undone"] for r in runs), "every run is undone", "all undone",
                   "\n          ".join(r["line"] for r in runs))
        self.p3 = self.preflight("preflight-3-after-undo.json")

    def step_fix_over_ssh(self):
        """A fix applied over SSH (kcheck on the node, the plan shown here), then undone over SSH."""
        cfg = str(self.vm.ssh_config)
        before = self.state(save="state-4a-before-ssh-fix.json")
        rule = "swap.off"
        self.check(statuses(self.p3).get(rule) == "fail", f"{rule} fails before the fix over SSH", "fail",
                   statuses(self.p3).get(rule))
        _, text = self.host_kcheck(["fix", "--hosts", VM_NAME, "--ssh-config", cfg, "--only", rule, "--yes",
                                    "--color", "never"], timeout=1800, save="fix-hosts-swap.txt")
        m = re.search(r"run (\d{8}T\d{6}Z-\d+)", text)
        self.check(bool(m), "fix --hosts applies on the node and names its run", "a run id", text[:500])
        p = self.preflight("preflight-3b-after-ssh-fix.json")
        self.check(statuses(p).get(rule) == "pass", f"{rule} passes after the fix over SSH", "pass", statuses(p).get(rule))
        if m:
            self.host_kcheck(["undo", "--hosts", VM_NAME, "--ssh-config", cfg, m.group(1), "--yes"], timeout=1800,
                             save="undo-hosts-swap.txt", ok_codes=(0,))
        after = self.state(save="state-4b-after-ssh-undo.json")
        diffs = diff_states(before, after, mtimes=False, sysctl_keys=self.sysctl_keys)
        self.check(not diffs, "undo over SSH puts back what the fix over SSH changed", "no difference",
                   "\n          ".join(diffs))

    # ---- item 6: the FORWARD policy, fixed and undone on the real kernel

    def step_forward(self):
        """FORWARD set to DROP with the guest's own iptables (iptables-nft on Debian 12) and a saved
        rule set saying so, as Docker or iptables-persistent leave a node; kcheck fix sets the policy
        with the backend's tool and edits the saved set; kcheck undo puts both back."""
        rule = "iptables.forward-accept"
        saved = "/etc/iptables/rules.v4"
        if self.gsh("command -v iptables", check=False).returncode != 0:
            self.gsh("DEBIAN_FRONTEND=noninteractive apt-get install -y iptables", timeout=900, check=False)
        if not self.check(self.gsh("iptables -S FORWARD", check=False).returncode == 0,
                          "the guest's iptables reads the FORWARD chain", "exit 0", "iptables missing or the kernel lacks nf_tables"):
            return
        existed = self.gsh(f"test -e {saved}", check=False).returncode == 0
        self.gsh(f"cp -a {saved} /root/rules.v4.kcheck-testbed 2>/dev/null; mkdir -p /etc/iptables && "
                 "printf '*filter\\n:INPUT ACCEPT [0:0]\\n:FORWARD DROP [0:0]\\n:OUTPUT ACCEPT [0:0]\\nCOMMIT\\n' > " + saved +
                 " && iptables -P FORWARD DROP")
        file_before = self.gsh(f"sha256sum {saved}").stdout.split()[0]
        _, out = self.kcheck(f"preflight --only {rule} --format json --color never", save="forward-1-before.json")
        self.check(statuses(json.loads(out)).get(rule) == "fail", f"{rule} fails with FORWARD DROP", "fail", statuses(json.loads(out)).get(rule))
        _, text = self.kcheck(f"fix --only {rule} --yes --color never", save="forward-2-fix.txt")
        m = re.search(r"Run (\d{8}T\d{6}Z-\d+)", text)
        self.check(bool(m) and "failed" not in " ".join(l for l in text.splitlines() if re.match(r"\s*\d+\. ", l)),
                   "the fix applies both actions (the saved set, the policy)", "a run, no failed action", text[-800:])
        self.check("-P FORWARD ACCEPT" in self.gsh("iptables -S FORWARD").stdout, "the kernel's FORWARD policy is ACCEPT after the fix",
                   "-P FORWARD ACCEPT", self.gsh("iptables -S FORWARD", check=False).stdout.strip())
        self.check(":FORWARD ACCEPT" in self.gsh(f"cat {saved}").stdout, "the saved rule set says ACCEPT after the fix", ":FORWARD ACCEPT",
                   self.gsh(f"cat {saved}", check=False).stdout.strip())
        _, out = self.kcheck(f"preflight --only {rule} --format json --color never", save="forward-3-after.json")
        self.check(statuses(json.loads(out)).get(rule) == "pass", f"{rule} passes after the fix", "pass", statuses(json.loads(out)).get(rule))
        if m:
            self.kcheck(f"undo {m.group(1)} --yes", save="forward-4-undo.txt", ok_codes=(0,))
        self.check("-P FORWARD DROP" in self.gsh("iptables -S FORWARD").stdout, "undo sets FORWARD to DROP again", "-P FORWARD DROP",
                   self.gsh("iptables -S FORWARD", check=False).stdout.strip())
        self.check(self.gsh(f"sha256sum {saved}").stdout.split()[0] == file_before, "undo puts the saved rule set back byte for byte",
                   file_before, self.gsh(f"sha256sum {saved}", check=False).stdout.strip())
        # As the guest was: ACCEPT, and the saved set as it was (or none).
        self.gsh("iptables -P FORWARD ACCEPT && " + (f"mv -f /root/rules.v4.kcheck-testbed {saved}" if existed else f"rm -f {saved}"), check=False)

    # ---- cloned machines (docs/cluster.md "Cloned machines")

    def identity(self, save):
        """The guest's machine-id, host keys (hashed), dbus' copy and ssh.service, read in the guest."""
        p = self.vm.ssh("python3 -", input=IDENTITY_SCRIPT, timeout=120)
        self.save(save, p.stdout)
        return json.loads(p.stdout)

    def vm_port(self):
        return json.loads((self.vm.dir / "info.json").read_text())["port"]

    def presented_keys(self, want, save, tries=15):
        """The host keys sshd presents now, {key type: base64}, by ssh-keyscan from the host. Asked
        again (once a second) until every type in `want` answers: a reload makes sshd re-execute
        itself, and its listening socket is closed meanwhile."""
        if not shutil.which("ssh-keyscan"):
            self.check(False, "ssh-keyscan is on the host (openssh-client)", "ssh-keyscan", "missing")
            return {}
        keys, text = {}, ""
        for _ in range(tries):
            p = subprocess.run(["ssh-keyscan", "-T", "10", "-p", str(self.vm_port()), "-t", "rsa,ecdsa,ed25519", "127.0.0.1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
            text = p.stdout + (f"\n--- stderr ---\n{p.stderr}" if p.stderr.strip() else "")
            keys = {f[1]: f[2] for f in (l.split() for l in p.stdout.splitlines() if not l.startswith("#")) if len(f) >= 3}
            if want <= set(keys):
                break
            time.sleep(1)
        self.save(save, text)
        return keys

    def strict_login(self, keytype, b64, label):
        """ssh to the guest trusting only this host key (a known_hosts file of its own, strict
        checking): (exit status, stderr). The test bed's ssh_config checks no host key at all
        (UserKnownHostsFile /dev/null), so this is the login that tells the keys apart."""
        known = self.save(f"cloned-known_hosts-{label}", f"[127.0.0.1]:{self.vm_port()} {keytype} {b64}\n")
        p = subprocess.run(["ssh", "-F", str(self.vm.ssh_config), "-o", "StrictHostKeyChecking=yes",
                            "-o", f"UserKnownHostsFile={known}", "-o", "GlobalKnownHostsFile=/dev/null",
                            "-o", "UpdateHostKeys=no", "-o", f"HostKeyAlgorithms={keytype}", VM_NAME, "true"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
        return p.returncode, p.stderr.strip()[-300:]

    def check_presented(self, when, pubs, presented):
        """Every /etc/ssh/ssh_host_*_key.pub's key is the one sshd presents for its type."""
        bad = [f"{path}: file {f[0]} {f[1][:24]}…, sshd {(presented.get(f[0]) or 'nothing')[:24]}…"
               for path, f in sorted(pubs.items()) if presented.get(f[0]) != f[1]]
        self.check(bool(pubs) and not bad, f"{when}: sshd presents the keys of /etc/ssh/ssh_host_*_key.pub (ssh-keyscan)",
                   "the same key for every type", "\n          ".join(bad) or "no .pub file")

    def step_cloned(self):
        """Cloned machines: `kcheck fix --hosts A,B --only cluster.machine-id-unique,cluster.ssh-host-keys-unique`
        gives B, which holds A's /etc/machine-id and SSH host keys, its own (kcheck on B, journaled),
        reloading sshd; `kcheck undo --hosts B` puts the old ones back. A and B are two ssh aliases
        of this one guest: every identity is shared, and the second member is renewed."""
        clone = CLONE_ALIAS
        base_cfg = self.vm.ssh_config.read_text()
        cfg_text = re.sub(rf"^Host {re.escape(VM_NAME)}$", f"Host {VM_NAME} {clone}", base_cfg, count=1, flags=re.M)
        if not self.check(cfg_text != base_cfg, f"a copy of the guest's ssh_config with a second alias {clone}",
                          f"a line 'Host {VM_NAME}' in {self.vm.ssh_config}", base_cfg[:200]):
            return
        cfg = str(self.save("cloned-ssh_config", cfg_text))
        # --parallel 1: both aliases reach 127.0.0.1:PORT as root, so kcheck's ControlPath (%C) is the
        # same for both; collected at once, the first member's `ssh -O exit` could cut the second's
        # session multiplexed over its master. Two real clones have two addresses.
        common = ["--hosts", f"{VM_NAME},{clone}", "--ssh-config", cfg, "--parallel", "1", "--only", CLONE_RULES,
                  "--color", "never"]

        # 1. Before.
        s0 = self.identity("cloned-0-before.json")
        pubs0 = s0["pub"]
        private0 = sorted(p for p in s0["keys"] if not p.endswith(".pub"))
        want = {f[0] for f in pubs0.values() if f}
        self.check(bool(private0) and all(p + ".pub" in pubs0 for p in private0),
                   "the guest has SSH host keys, each with its .pub", "/etc/ssh/ssh_host_*_key and .pub", sorted(s0["keys"]))
        self.check(re.fullmatch(r"[0-9a-f]{32}\n", s0["machine_id"]) is not None,
                   "/etc/machine-id holds 32 hex digits and a newline", "[0-9a-f]{32}\\n", repr(s0["machine_id"]))
        if s0["machine_id_mounted"]:
            self.note("/etc/machine-id is a mount point (systemd's transient id): kcheck replaces the file by rename")
        self.note(f"/var/lib/dbus/machine-id: {' '.join(x.strip() for x in s0['dbus'] if x.strip())}")
        presented0 = self.presented_keys(want, "cloned-keyscan-0-before.txt")
        self.check_presented("before", pubs0, presented0)
        ed = "/etc/ssh/ssh_host_ed25519_key.pub"
        old_ed = pubs0.get(ed)
        if not self.check(bool(old_ed), f"the guest has {ed}", ed, sorted(pubs0)):
            return

        # 2. The plan: on the second member only; nothing changes.
        _, plan = self.host_kcheck(["fix", *common, "--dry-run"], timeout=900, save="cloned-fix-dry-run.txt")
        first, _, second = plan.partition(f"== {clone}\n")
        missing = [w for w in ["give this node a new /etc/machine-id", "make new SSH host keys ", "then reload ssh.service",
                               *private0] if w not in second]
        self.check(bool(second) and not missing, f"fix --dry-run plans for {clone}: a new machine-id, new keys for every "
                   "/etc/ssh/ssh_host_*_key, then reload ssh.service", "all of them under '== " + clone + "'",
                   f"missing {missing}" if second else plan[-600:])
        self.check(f"== {VM_NAME}\n" in first and "Nothing to change" in first and "give this node" not in first,
                   f"the first member ({VM_NAME}) keeps its own: nothing to change there", "Nothing to change",
                   first[-400:])
        s = self.identity("cloned-1-after-dry-run.json")
        self.check((s["machine_id"], s["keys"]) == (s0["machine_id"], s0["keys"]),
                   "fix --dry-run changes neither the machine-id nor a host key", "the same", "changed")

        # 3. The fix.
        report_file = self.out / "cloned-fix.json"
        run_id, undone = None, False
        try:
            _, text = self.host_kcheck(["fix", *common, "--yes", "--format", "json", "-o", str(report_file)], timeout=900,
                                       save="cloned-fix.txt")
            m = re.search(rf"^== {re.escape(clone)}: run (\d{{8}}T\d{{6}}Z-\d+) \(undo: kcheck undo --hosts {re.escape(clone)} ",
                          text, re.M)
            self.check(bool(m), f"fix applies on {clone} and names its run", f"== {clone}: run RUN (undo: …)", text[-600:])
            run_id = m.group(1) if m else None
            if not run_id:      # to undo it below all the same
                pending = sorted(r["id"] for r in parse_runs(self.kcheck("runs", save="cloned-runs-after-fix.txt")[1])
                                 if not r["undone"])
                run_id = pending[-1] if pending else None
                self.note(f"the run to undo, from kcheck runs in the guest: {run_id}")
            self.check(f"== {VM_NAME}: run " not in text, f"no run on {VM_NAME} (the first holder keeps its own)",
                       "no run", text[-600:])
            lines = [l.strip() for l in text.splitlines()]
            failed = [l for l in lines if re.match(r"^\d+\.\s+failed\s", l) or l.startswith("refused")]
            applied = [l for l in lines if re.match(r"^\d+\.\s+applied", l)]
            self.check(not failed and any("new /etc/machine-id" in l for l in applied)
                       and any("new SSH host keys" in l for l in applied),
                       "both actions applied (machine-id: applied, needs reboot), none failed or refused",
                       "two 'applied' lines", "\n          ".join(failed + applied) or text[-600:])

            # 4. After.
            s1 = self.identity("cloned-2-after-fix.json")
            mid0, mid1 = s0["machine_id"], s1["machine_id"]
            self.check(mid1 != mid0 and re.fullmatch(r"[0-9a-f]{32}\n", mid1) is not None
                       and s1["machine_id_meta"] == s0["machine_id_meta"],
                       "/etc/machine-id is a new id (32 hex digits and a newline), its mode and owner kept",
                       f"not {mid0.strip()}; {s0['machine_id_meta']}", f"{mid1!r}; {s1['machine_id_meta']}")
            # Debian 12's dbus makes it a file (dbus-uuidgen --ensure), a copy of /etc/machine-id.
            copy = s0["dbus"][0] == "file" and s0["dbus"][1].strip() == mid0.strip()
            want_dbus = ["file", mid1, s0["dbus"][2]] if copy else s0["dbus"]
            self.check(s1["dbus"] == want_dbus, "/var/lib/dbus/machine-id follows (a file holding the old id gets the new "
                       "one, its mode kept; a symlink or another id is left alone)", want_dbus, s1["dbus"])
            same = [p for p in s0["keys"] if (s1["keys"].get(p) or {}).get("sha256") == s0["keys"][p]["sha256"]]
            self.check(set(s1["keys"]) == set(s0["keys"]) and not same, "every host key file (private and .pub) is new",
                       sorted(s0["keys"]), f"unchanged {same}; now {sorted(s1['keys'])}")
            moved = [f"{p}: {s0['keys'][p]['mode']} {s0['keys'][p]['owner']} -> {s1['keys'][p]['mode']} {s1['keys'][p]['owner']}"
                     for p in s0["keys"] if p in s1["keys"]
                     and (s0["keys"][p]["mode"], s0["keys"][p]["owner"]) != (s1["keys"][p]["mode"], s1["keys"][p]["owner"])]
            self.check(not moved, "every host key file keeps its mode and owner", "unchanged", "\n          ".join(moved))
            pubs1 = s1["pub"]
            underived = [f"{p}: ssh-keygen -y {d}, .pub {(pubs1.get(p + '.pub') or [])[:2]}" for p, d in sorted(s1["derived"].items())
                         if d != (pubs1.get(p + ".pub") or [])[:2]]
            self.check(bool(s1["derived"]) and not underived, "ssh-keygen -y derives each new .pub's key from its private key",
                       "the first two fields of KEY.pub", "\n          ".join(underived))
            relabelled = [f"{p}: {pubs0[p][:1] + pubs0[p][2:]} -> {(pubs1.get(p) or [])[:1] + (pubs1.get(p) or [])[2:]}"
                          for p in pubs0 if (pubs1.get(p) or [])[:1] + (pubs1.get(p) or [])[2:] != pubs0[p][:1] + pubs0[p][2:]]
            self.check(not relabelled, "every new key has its old key's type and comment", "the same", "\n          ".join(relabelled))
            self.check(s1["ssh_active"] == "active", "ssh.service is active after the reload", "active", s1["ssh_active"])
            self.check_presented("after the fix", pubs1, self.presented_keys(want, "cloned-keyscan-1-after-fix.txt"))
            new_ed = pubs1.get(ed) or ["?", "?"]
            rc, err = self.strict_login(new_ed[0], new_ed[1], "new")
            self.check(rc == 0, "a login that trusts only the new ed25519 key succeeds (sshd serves the new key)", "exit 0",
                       f"{rc}: {err}")
            rc, err = self.strict_login(old_ed[0], old_ed[1], "old-refused")
            self.check(rc != 0 and "verification failed" in err, "a login that trusts only the old ed25519 key is refused",
                       "Host key verification failed", f"{rc}: {err}")
            # The fix's own report: both members recorded again after the reload (one machine, so
            # still "shared"), each with the new machine-id and the new key.
            try:
                cluster = json.loads(report_file.read_text()).get("cluster") or {}
            except (OSError, ValueError) as e:
                cluster = {"error": str(e)}
            new_key = f"ed25519 SHA-256 {hashlib.sha256(' '.join(new_ed[:2]).encode()).hexdigest()[:16]}"
            st = statuses(cluster)
            mid_actual, key_actual = actual(cluster, "cluster.machine-id-unique"), actual(cluster, "cluster.ssh-host-keys-unique")
            self.check(st.get("cluster.machine-id-unique") == "fail" and mid1.strip() in mid_actual and clone in mid_actual
                       and st.get("cluster.ssh-host-keys-unique") == "fail" and new_key in key_actual and clone in key_actual,
                       "fix's report (both members recorded again after sshd's reload) sees the new machine-id and key on "
                       "both aliases (one machine: still shared)", f"fail, {mid1.strip()} and {new_key}… on {VM_NAME}, {clone}",
                       f"{st.get('cluster.machine-id-unique')}: {mid_actual}; {st.get('cluster.ssh-host-keys-unique')}: "
                       f"{key_actual[:300]}")

            # 5. Undo over SSH, on the second member.
            if not self.check(bool(run_id), "a run to undo", "a run id", run_id):
                return
            _, text = self.host_kcheck(["undo", "--hosts", clone, "--ssh-config", cfg, run_id, "--yes"], timeout=900,
                                       save="cloned-undo.txt", ok_codes=(0,))
            undone = "Restored run" in text
            self.check(undone, f"undo --hosts {clone} restores the run", f"Restored run {run_id}", text[-600:])
            s2 = self.identity("cloned-3-after-undo.json")
            self.check((s2["machine_id"], s2["machine_id_meta"], s2["dbus"]) == (mid0, s0["machine_id_meta"], s0["dbus"]),
                       "the machine-id is back (mode, owner, dbus' copy too)", f"{mid0!r} {s0['machine_id_meta']} {s0['dbus']}",
                       f"{s2['machine_id']!r} {s2['machine_id_meta']} {s2['dbus']}")
            back = [f"{p}: {s0['keys'].get(p)} -> {s2['keys'].get(p)}" for p in sorted(set(s0["keys"]) | set(s2["keys"]))
                    if s0["keys"].get(p) != s2["keys"].get(p)]
            self.check(not back, "every host key file is back byte for byte (sha256), with its mode and owner", "the same",
                       "\n          ".join(back))
            self.check(s2["ssh_active"] == "active", "ssh.service is active after undo's reload", "active", s2["ssh_active"])
            self.check_presented("after undo", pubs0, self.presented_keys(want, "cloned-keyscan-2-after-undo.txt"))
            rc, err = self.strict_login(old_ed[0], old_ed[1], "old")
            self.check(rc == 0, "a login that trusts only the original ed25519 key succeeds again", "exit 0", f"{rc}: {err}")
            rc, err = self.strict_login(new_ed[0], new_ed[1], "new-refused")
            self.check(rc != 0 and "verification failed" in err, "a login that trusts only the renewed key is refused",
                       "Host key verification failed", f"{rc}: {err}")
            p = self.gsh("true", timeout=60, check=False)
            self.check(p.returncode == 0, "the test bed's own ssh to the guest works", "exit 0", f"{p.returncode}: {p.stderr[-300:]}")
            runs = parse_runs(self.kcheck("runs", save="cloned-runs-after-undo.txt")[1])
            mine = [r for r in runs if r["id"] == run_id]
            self.check(bool(mine) and mine[0]["undone"], "kcheck runs in the guest lists the run undone", f"{run_id} undone",
                       mine[0]["line"] if mine else runs)
        finally:
            if run_id and not undone:   # the later phases compare the node with its start
                p = self.gsh(f"{vmlib.GUEST_KCHECK} undo {run_id} --yes", timeout=300, check=False)
                self.note(f"the cloned-machine run {run_id} undone in the guest after a failure: exit {p.returncode}")

    def step_end(self):
        s_end = self.state(save="state-5-end.json")
        self.check_predictions(self.p3, "5-end")
        diffs = diff_states(self.s0, s_end, mtimes=False, sysctl_keys=self.sysctl_keys)
        self.check(not diffs, "after undo and a reboot the node is exactly as it started", "no difference",
                   "\n          ".join(diffs))
        p4 = self.preflight("preflight-4-end.json")
        a, b = statuses(self.p0), statuses(p4)
        d = [f"{r}: start {a.get(r)}, end {b.get(r)}" for r in sorted(set(a) | set(b)) if a.get(r) != b.get(r)]
        self.check(not d, "preflight at the end gives the statuses of the start", "the same statuses",
                   "\n          ".join(d))

    def step_ansible(self):
        """The playbook `kcheck fix --emit ansible` writes, run by ansible-playbook against the guest:
        it converges the node as kcheck fix does (an export of the plan, exercised for real)."""
        if not shutil.which("ansible-playbook"):
            self.check(False, "ansible-playbook is installed (Debian's ansible-core)", "ansible-playbook", "missing")
            return
        cfg = str(self.vm.ssh_config)
        playbook = self.out / "kcheck-fix.yml"
        self.host_kcheck(["fix", "--hosts", VM_NAME, "--ssh-config", cfg, "--emit", "ansible", "--output", str(playbook)],
                         save="emit-ansible.txt")
        # The guest is reached as root and has no sudo (a minimal Debian): the play's `become`
        # (sudo) is turned off for it, as docs/fix.md tells people with such nodes to do.
        inventory = self.save("ansible-inventory.ini",
                              f"{VM_NAME} ansible_ssh_common_args='-F {cfg}' ansible_python_interpreter=/usr/bin/python3 "
                              "ansible_become=false\n")
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCAL_TEMP=str(self.out / "ansible-tmp"))
        p = subprocess.run(["ansible-playbook", "-i", str(inventory), str(playbook)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=1800, env=env)
        self.save("ansible-playbook.txt", p.stdout)
        self.check(p.returncode == 0, "ansible-playbook runs kcheck's exported playbook against the guest", "exit status 0",
                   f"{p.returncode}: {p.stdout[-800:]}")
        after = self.preflight("preflight-6-after-ansible.json")
        want = {r: s for r, s in statuses(self.p1).items() if r in self.planned}
        got = statuses(after)
        d = [f"{r}: after kcheck fix {s}, after the playbook {got.get(r)}" for r, s in sorted(want.items()) if got.get(r) != s]
        self.check(not d, "the playbook leaves every rule kcheck fix planned for as kcheck fix left it", "the same statuses",
                   "\n          ".join(d))

    # ---- the running cluster (issue 14)

    # What each component listens on with the guide's flags (RUNNING-STATE 48), for node01
    # (192.168.7.200), as fixtures/build.py's COMPONENT_SOCKETS: the stubs make these sockets, the
    # rules judge them. L3: the scheduler's 10251 stays open (on the node's address, as its
    # configuration file says).
    NODE_IP = "192.168.7.200"
    COMPONENT_SOCKETS = {
        "etcd": [f"{NODE_IP}:2379", "127.0.0.1:2379", f"{NODE_IP}:2380"],
        "kube-apiserver": [f"{NODE_IP}:6443"],
        "kube-controller-manager": [f"{NODE_IP}:10252"],
        "kube-scheduler": [f"{NODE_IP}:10259", f"{NODE_IP}:10251"],
        "kubelet": [f"{NODE_IP}:10250", f"{NODE_IP}:10248"],
        "kube-proxy": [f"{NODE_IP}:10256", f"{NODE_IP}:10249"],
        "kube-nginx": ["127.0.0.1:8443"],
        "containerd": [],
    }
    # Where each stub goes: the guide builds nginx under its own prefix.
    COMPONENT_EXE = {name: f"opt/k8s/bin/{name}" for name in COMPONENT_SOCKETS}
    COMPONENT_EXE["kube-nginx"] = "opt/k8s/kube-nginx/sbin/kube-nginx"
    RUNNING_TREE = REPO / "fixtures" / "nodes" / "guide-complete"

    def running_rules(self, report):
        return {r["id"]: r["status"] for r in report.get("results", []) if r.get("phase") == "running"}

    def step_running(self):
        """The guide's parts 2-10 installed on the real node as the guide writes them (its units,
        configurations, certificates and environment.sh, from fixtures/nodes/guide-complete), with
        stub binaries that listen where the components listen (testbed/stub.c), started by
        systemd; IPVS's kubernetes service made with ipvsadm as kube-proxy makes it. The running
        rules must say on this node what they say on the fixture tree, three ways alike."""
        # A fresh node: no running rule fails (they are not applicable; those judged from the
        # sockets alone, such as the insecure ports being closed, pass).
        before = self.preflight("preflight-7-before-install.json")
        bad = {r: s for r, s in self.running_rules(before).items() if s not in ("skip", "pass")}
        self.check(not bad, "before installing, no running-cluster rule fails (not applicable, or passing)", "skip or pass", bad)
        # The stub, built here (static: the guest has no compiler).
        stub = self.out / "stub"
        p = subprocess.run(["cc", "-static", "-Os", "-o", str(stub), str(Path(__file__).parent / "stub.c")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if not self.check(p.returncode == 0, "the component stub builds (cc -static)", "exit 0", p.stdout[-500:]):
            return
        # The guide's files, from the fixture tree, as a tar: units (and their enablement links),
        # /etc/kubernetes, /etc/etcd, environment.sh; the stubs under the components' names.
        import io
        import tarfile
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for sub in ["etc/systemd/system", "etc/kubernetes", "etc/etcd", "etc/containerd", "etc/crictl.yaml", "etc/cni",
                        "opt/k8s/bin/environment.sh", "opt/k8s/kube-nginx/conf"]:
                root = self.RUNNING_TREE / sub
                paths = [root] if root.is_file() else sorted(root.rglob("*"))
                for path in paths:
                    rel = str(path.relative_to(self.RUNNING_TREE))
                    if rel.startswith("etc/systemd/system/") and not any(c in rel for c in ("kube", "etcd")):
                        continue  # the tree's own chronyd/crond/rsyslog links are CentOS's
                    tar.add(str(path), arcname=rel, recursive=False)
            for name, exe in self.COMPONENT_EXE.items():
                tar.add(str(stub), arcname=exe, recursive=False)
            # The guide's other binaries (no unit, no socket) as the tree has them: the versions.*
            # rules read every one of them from its bytes.
            for name in ["kubectl", "etcdctl", "containerd-shim", "ctr", "runc", "crictl"]:
                tar.add(str(stub), arcname=f"opt/k8s/bin/{name}", recursive=False)
            # Each component's sockets (and kube-nginx's forking) for its stub, in a drop-in.
            for name, sockets in self.COMPONENT_SOCKETS.items():
                fork = "Environment=STUB_FORK=1\n" if name == "kube-nginx" else ""
                text = f"[Service]\nEnvironment=\"STUB_LISTEN={' '.join(sockets)}\"\n{fork}".encode()
                info = tarfile.TarInfo(f"etc/systemd/system/{name}.service.d/stub.conf")
                info.size = len(text)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(text))
            unit = ("[Unit]\nDescription=containerd (a stub: kubelet Requires= it)\n\n[Service]\n"
                    "ExecStart=/opt/k8s/bin/containerd\n\n[Install]\nWantedBy=multi-user.target\n").encode()
            info = tarfile.TarInfo("etc/systemd/system/containerd.service")
            info.size = len(unit)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(unit))
        self.vm.ssh("tar -x --no-same-owner -C / -f -", input=buf.getvalue(), binary=True, timeout=120)
        # The guest's network card (user-mode networking with restrict=on has no default route).
        iface = self.gsh("ls /sys/class/net | grep -v '^lo$' | head -n 1", timeout=60).stdout.strip()
        if not self.check(bool(iface), "the guest has a network interface", "one besides lo", "none"):
            return
        script = f"""set -e
        # This node is the inventory's node01: its address on IFACE, its name.
        sed -i 's/^export IFACE=.*/export IFACE={iface}/' /opt/k8s/bin/environment.sh
        ip addr replace {self.NODE_IP}/24 dev {iface}
        hostname k8s-node01
        echo k8s-node01 > /etc/hostname
        chmod 0755 /opt/k8s/bin/* /opt/k8s/kube-nginx/sbin/kube-nginx
        grep -h '^WorkingDirectory=' /etc/systemd/system/*.service | cut -d= -f2 | xargs -r mkdir -p
        mkdir -p /data/k8s/etcd/data /data/k8s/etcd/wal
        modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh
        ipvsadm -C
        ipvsadm -A -t 10.254.0.1:443 -s rr
        for ip in 192.168.7.200 192.168.7.201 192.168.7.202; do ipvsadm -a -t 10.254.0.1:443 -r $ip:6443 -m; done
        systemctl daemon-reload
        systemctl start containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kube-nginx
        sleep 2
        systemctl is-active containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kube-nginx
        """
        p = self.gsh(script, timeout=300, check=False)
        self.save("running-setup.txt", p.stdout + "\n--- stderr ---\n" + p.stderr)
        self.check(p.returncode == 0, "the guide's components (stubs) installed and started by systemd", "exit 0",
                   f"{p.returncode}: {(p.stdout + p.stderr)[-800:]}")
        after = self.preflight("preflight-8-running.json")
        want = self.running_rules(json.loads(subprocess.run(
            [str(self.kcheck_host), "preflight", "--root", str(self.RUNNING_TREE), "--phase", "running", "--format", "json"],
            stdout=subprocess.PIPE, text=True).stdout))
        got = self.running_rules(after)
        d = [f"{r}: tree {want.get(r)}, node {got.get(r)}" for r in sorted(set(want) | set(got)) if want.get(r) != got.get(r)]
        self.check(not d, "on the running node every running-cluster rule says what it says on the guide-complete tree "
                   "(exactly the guide's own mistakes)", "the same statuses", "\n          ".join(d))
        gates = statuses(after)
        self.check(gates.get("ports.free") == "pass", "ports.free passes: each port held by its own component",
                   "pass", f"{gates.get('ports.free')}: {actual(after, 'ports.free')}")
        self.check(gates.get("iptables.flushed") == "skip", "iptables.flushed is not applicable once kube-proxy is installed",
                   "skip", gates.get("iptables.flushed"))
        self.three_ways("running", after)
        # The cost of naming the ports' holders (a walk of /proc/*/fd) on a real running node.
        t = self.gsh(f"for i in 1 2 3 4 5; do s=$(date +%s%N); {vmlib.GUEST_KCHECK} preflight --only ports.free --format json > /dev/null; "
                     "e=$(date +%s%N); echo $(( (e - s) / 1000000 )); done; ls -d /proc/[0-9]* | wc -l", timeout=300, check=False).stdout.split()
        self.note(f"kcheck preflight --only ports.free on the running guest (TCG), 5 runs: {' '.join(t[:-1])} ms; {t[-1] if t else '?'} processes")

    # ---- all of it

    def main(self):
        t0 = time.monotonic()
        try:
            self.run_phase("base image", self.step_base, fatal=True)
            self.run_phase("boot", self.step_boot, fatal=True)
            self.run_phase("starting state, preflight, three ways, audit", self.step_start)
            self.run_phase("fix --dry-run", self.step_dry_run)
            self.run_phase("fix --yes", self.step_fix, fatal=True)
            self.run_phase("second fix (no-op)", self.step_fix_again)
            self.run_phase("reboot 1", lambda: self.step_reboot("reboot 1"), fatal=True)
            self.run_phase("after reboot: preflight, predictions", self.step_after_reboot)
            self.run_phase("audit twice", self.step_audits)
            self.run_phase("undo every run (over SSH)", self.step_undo, fatal=True)
            self.run_phase("fix and undo over SSH", self.step_fix_over_ssh)
            self.run_phase("cloned machine: new machine-id and SSH host keys over SSH, undone", self.step_cloned)
            self.run_phase("reboot 2", lambda: self.step_reboot("reboot 2"), fatal=True)
            self.run_phase("the node as it started", self.step_end)
            self.run_phase("the exported Ansible playbook, run by ansible-playbook", self.step_ansible)
            self.run_phase("item 6: FORWARD DROP fixed and undone on the real kernel", self.step_forward)
            self.run_phase("the running cluster (the guide's components, stubs)", self.step_running)
        except Fatal as e:
            self.say(f"stopping here: {e}")
        except KeyboardInterrupt:
            self.check(False, "the scenario ran to the end", "no interruption", "interrupted")
        finally:
            if self.failures:
                self.say("console tail (" + str(self.vm.console) + "):")
                print(self.vm.console_tail(60))
            if self.vm.dir.exists() and self.vm.console.exists():
                shutil.copyfile(self.vm.console, self.out / "console.log")
            if not self.args.keep:
                self.vm.stop()
            else:
                self.say(f"kept running: testbed/vm.py ssh {VM_NAME}")
        total = time.monotonic() - t0
        print("\nPhase timings:")
        for name, secs in self.phases:
            print(f"  {secs:7.0f}s  {name}")
        print(f"  {total:7.0f}s  total")
        if self.failures:
            print(f"\nFailed assertions ({len(self.failures)}):")
            for phase, what, exp, seen in self.failures:
                print(f"- [{phase}] {what}\n    expected: {exp}\n    seen:     {seen}")
        print(f"\nOutputs: {self.out}")
        print(f"{self.passed} passed, {len(self.failures)} failed")
        return 1 if self.failures else 0


# ---------------------------------------------------------------- helpers

def sysctl_keys():
    """The profile's kernel parameters: every `key:` of rules/sysctl.yaml."""
    text = (REPO / "rules/sysctl.yaml").read_text()
    return sorted(set(re.findall(r"^\s+key:\s*([A-Za-z0-9_.\-]+)\s*$", text, re.M)))


def statuses(report):
    return {r["id"]: r["status"] for r in report.get("results", [])}


def actual(report, rid):
    for r in report.get("results", []):
        if r["id"] == rid:
            return r.get("actual", "")
    return "no result"


def summary(report):
    return json.dumps(report.get("summary"))


def count_by(items):
    out = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return out


def strip_ansi(text):
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]|\r", "", text)


def norm(v):
    return None if v is None else " ".join(str(v).split())


def prediction(obs):
    """(definite?, value or None for 'the key will not exist', where from) of a sysctl observation.
    Two shapes: after_reboot an object {state: set|kernel-default|absent|removed|unknown, value,
    from, module} (reports/kcheck-report.schema.json), or a string/null with after_reboot_from."""
    ar = obs.get("after_reboot")
    if isinstance(ar, dict):
        state = ar.get("state")
        if state == "set" or (state == "kernel-default" and "value" in ar):
            return True, ar.get("value"), f"{state}, {ar.get('from') or 'kernel default'}"
        if state == "removed":
            return True, None, "removed from this kernel"
        if state == "absent":
            # "The key will not exist when systemd-sysctl runs": no file's value is applied at boot.
            # Something later in the boot may still load the module (firewalld loads nf_conntrack),
            # and then the key exists with the kernel's default: checked as "not a file's value".
            return "absent", None, f"absent when systemd-sysctl runs (module {ar.get('module', '?')} not loaded at boot)"
        return False, None, f"state {state}"
    if ar is None:
        return False, None, f"null ({obs.get('after_reboot_from') or 'unknown'})"
    return True, ar, obs.get("after_reboot_from") or "?"


def parse_after_reboot(actual_text):
    """FALLBACK for a kcheck without the 'observation' field: (definite?, value, source) from
    'running X; after reboot Y (file:line)'."""
    m = re.search(r"after reboot (.+?) \(([^()]+:\d+)\)\s*$", actual_text)
    if m:
        return True, m.group(1), m.group(2)
    m = re.search(r"after reboot (.+)$", actual_text)
    return False, None, (m.group(1) if m else "no 'after reboot' in actual")


def plan_actions(text):
    """The numbered actions of a plan's text (`N. summary`), without their numbers."""
    return sorted(re.sub(r"^\d+\.\s+", "", l.strip()) for l in text.splitlines() if re.match(r"^\d+\.\s", l.strip()))


def parse_runs(text):
    """`kcheck runs`: one line per run: ID, 'applied N actions' or 'undone N actions', command."""
    runs = []
    for line in text.splitlines():
        m = re.match(r"^(\d{8}T\d{6}Z-\d+)\s+(.*)$", line.strip())
        if not m:
            continue
        rest = m.group(2)
        n = re.search(r"applied (\d+) action", rest)
        runs.append({"id": m.group(1), "undone": bool(re.match(r"undone\b", rest)),
                     "applied": int(n.group(1)) if n else None, "line": line.strip()})
    return runs


def parse_plan_diffs(text):
    """The unified diffs in a plan (indented under each action): {path: [(new_start, new_lines)]}."""
    lines = text.split("\n")
    out, i = {}, 0
    while i < len(lines):
        m = re.match(r"^\s*\+\+\+ (\S+)\s*$", lines[i])
        if m and i > 0 and re.match(r"^\s*--- ", lines[i - 1]):
            path = m.group(1)
            indent = len(lines[i]) - len(lines[i].lstrip())
            i += 1
            while i < len(lines):
                h = re.match(r"^\s*@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", lines[i])
                if not h:
                    break
                old_n = int(h.group(1)) if h.group(1) is not None else 1
                start, new_n = int(h.group(2)), int(h.group(3)) if h.group(3) is not None else 1
                i += 1
                new, seen_old, seen_new = [], 0, 0
                while i < len(lines) and (seen_old < old_n or seen_new < new_n):
                    body = lines[i][indent:] if len(lines[i]) >= indent else ""
                    i += 1
                    if body.startswith("\\"):
                        continue
                    tag, rest = (body[:1] or " "), body[1:]
                    if tag == "+":
                        new.append(rest)
                        seen_new += 1
                    elif tag == "-":
                        seen_old += 1
                    else:
                        new.append(rest)
                        seen_old += 1
                        seen_new += 1
                out.setdefault(path, []).append((start, new))
            continue
        i += 1
    return out


def diff_states(a, b, mtimes, sysctl_keys):
    """Every difference between two guest states, one precise line each."""
    d = []
    fa, fb = a["files"], b["files"]
    for path in sorted(set(fa) | set(fb)):
        if path in NOT_KCHECKS:
            continue
        x, y = fa.get(path), fb.get(path)
        if x is None:
            d.append(f"{path}: new ({describe(y)})")
        elif y is None:
            d.append(f"{path}: gone (was {describe(x)})")
        else:
            fields = ["type", "mode", "owner", "group", "uid", "gid", "sha256", "size", "target"]
            if mtimes:
                fields.append("mtime_ns")
            ch = [f"{k} {x.get(k)} -> {y.get(k)}" for k in fields if x.get(k) != y.get(k)]
            if ch:
                d.append(f"{path}: " + ", ".join(ch))
    pa, pb = a["packages"], b["packages"]
    for name in sorted(set(pa) | set(pb)):
        x, y = pa.get(name), pb.get(name)
        if x != y:
            fmt = lambda v: "absent" if v is None else f"{v['version']} [{v['status']}]"  # noqa: E731
            d.append(f"package {name}: {fmt(x)} -> {fmt(y)}")
    ua, ub = a["unit_files"], b["unit_files"]
    for u in sorted(set(ua) | set(ub)):
        if SSH_SESSION_UNITS.match(u):
            continue
        if ua.get(u) != ub.get(u):
            d.append(f"unit file {u}: {ua.get(u) or 'absent'} -> {ub.get(u) or 'absent'}")
    aa, ab = a["units"], b["units"]
    for u in sorted(set(aa) | set(ab)):
        if SSH_SESSION_UNITS.match(u) or TIMER_UNITS.match(u):
            continue
        x, y = aa.get(u, {}), ab.get(u, {})
        if (x.get("active"), x.get("sub")) != (y.get("active"), y.get("sub")):
            fmt = lambda v: f"{v.get('active')}/{v.get('sub')}" if v else "not loaded"  # noqa: E731
            d.append(f"unit {u}: {fmt(x)} -> {fmt(y)}")
    ma, mb = set(a["modules"]), set(b["modules"])
    if ma != mb:
        d.append(f"modules: loaded now {sorted(mb - ma)}, unloaded {sorted(ma - mb)}")
    if a["swaps"] != b["swaps"]:
        d.append(f"swap: {a['swaps']} -> {b['swaps']}")
    for k in sysctl_keys:
        if a["sysctl"].get(k) != b["sysctl"].get(k):
            d.append(f"sysctl {k}: {a['sysctl'].get(k)} -> {b['sysctl'].get(k)}")
    if a["localtime"] != b["localtime"]:
        d.append(f"/etc/localtime -> {a['localtime']} became -> {b['localtime']}")
    if a["timedatectl"] != b["timedatectl"]:
        d.append(f"timedatectl: {a['timedatectl']} -> {b['timedatectl']}")
    if a["hostname"] != b["hostname"]:
        d.append(f"hostname: {a['hostname']} -> {b['hostname']}")
    return d


def describe(rec):
    if rec["type"] == "symlink":
        return f"symlink -> {rec['target']}"
    extra = f", {rec['size']} bytes" if rec["type"] == "file" else ""
    return f"{rec['type']} {rec['mode']} {rec['owner']}:{rec['group']}{extra}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kcheck", default=str(REPO / ".build/release/kcheck"),
                    help="the static kcheck binary to test (copied first; default .build/release/kcheck)")
    ap.add_argument("--accel", choices=["tcg", "kvm"], default=os.environ.get("KCHECK_TESTBED_ACCEL", "tcg"))
    ap.add_argument("--keep", action="store_true", help="leave the guest running at the end")
    ap.add_argument("--out", help="where the step outputs go (default .build/testbed/runs/TIMESTAMP)")
    def stop_on_term(signum, frame):   # timeout(1) sends SIGTERM: stop qemu on the way out
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop_on_term)
    return Scenario(ap.parse_args(argv)).main()


if __name__ == "__main__":
    sys.exit(main())
