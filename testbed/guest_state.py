# The node's state, collected IN THE GUEST by its own python3 (sent over ssh: `python3 - KEY...`),
# printed as one JSON object. Read-only: it changes nothing on the node (no file is written, no
# unit is touched). Python 3 standard library only. Arguments: the kernel parameters to read.
import hashlib
import json
import os
import stat
import subprocess
import sys
import time

TREES = ["/etc", "/root", "/opt"]
KINDS = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink", stat.S_IFCHR: "char",
         stat.S_IFBLK: "block", stat.S_IFIFO: "fifo", stat.S_IFSOCK: "socket"}


def names():
    import grp
    import pwd
    users = {p.pw_uid: p.pw_name for p in pwd.getpwall()}
    groups = {g.gr_gid: g.gr_name for g in grp.getgrall()}
    return users, groups


def files():
    users, groups = names()
    out = {}

    def record(path):
        st = os.lstat(path)
        kind = KINDS.get(stat.S_IFMT(st.st_mode), "other")
        rec = {"type": kind, "mode": "%04o" % stat.S_IMODE(st.st_mode),
               "owner": users.get(st.st_uid, str(st.st_uid)), "group": groups.get(st.st_gid, str(st.st_gid)),
               "uid": st.st_uid, "gid": st.st_gid, "mtime_ns": st.st_mtime_ns}
        if kind == "file":
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            rec["sha256"] = h.hexdigest()
            rec["size"] = st.st_size
        elif kind == "symlink":
            rec["target"] = os.readlink(path)
        out[path] = rec
        if kind == "dir":
            for name in sorted(os.listdir(path)):
                record(os.path.join(path, name))

    for top in TREES:
        if os.path.lexists(top):
            record(top)
    return out


def cmd(*argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p.stdout


def packages():
    out = {}
    for line in cmd("dpkg-query", "-W", "-f", "${Package}\t${Version}\t${db:Status-Abbrev}\n").splitlines():
        name, version, status = (line.split("\t") + ["", ""])[:3]
        status = status.strip()
        if status and status != "un":      # "un": known to dpkg, never installed
            out[name] = {"version": version, "status": status}
    return out


def units():
    files_ = {}
    for line in cmd("systemctl", "list-unit-files", "--no-legend", "--no-pager", "--plain").splitlines():
        w = line.split()
        if len(w) >= 2:
            files_[w[0]] = w[1]
    active = {}
    for line in cmd("systemctl", "list-units", "--all", "--no-legend", "--no-pager", "--plain").splitlines():
        w = line.split()
        if len(w) >= 4:
            active[w[0]] = {"load": w[1], "active": w[2], "sub": w[3]}
    return {"unit_files": files_, "units": active}


def sysctls(keys):
    out = {}
    for key in keys:
        try:
            with open("/proc/sys/" + key.replace(".", "/")) as f:
                out[key] = " ".join(f.read().split())
        except OSError:
            out[key] = None
    return out


def main():
    keys = sys.argv[1:]
    state = {
        "time": time.time(),
        "boot_id": open("/proc/sys/kernel/random/boot_id").read().strip(),
        "hostname": open("/proc/sys/kernel/hostname").read().strip(),
        "files": files(),
        "packages": packages(),
        "modules": sorted(l.split()[0] for l in open("/proc/modules") if l.strip()),
        "swaps": sorted(l.split()[0] for l in open("/proc/swaps").read().splitlines()[1:] if l.strip()),
        "sysctl": sysctls(keys),
        "localtime": os.readlink("/etc/localtime") if os.path.islink("/etc/localtime") else None,
        "timedatectl": dict(l.split("=", 1) for l in cmd(
            "timedatectl", "show", "-p", "Timezone", "-p", "LocalRTC", "-p", "NTP").splitlines() if "=" in l),
    }
    state.update(units())
    json.dump(state, sys.stdout, sort_keys=True)


main()
