/// A plan written out for other tools instead of applied: a POSIX sh script, or an Ansible
/// playbook. Both do exactly the plan's actions (one exhaustive switch each), leave a file that is
/// already as planned untouched, and never write through a symlink; neither keeps kcheck's journal
/// (`kcheck fix` itself does, and `kcheck undo` uses it).
public enum PlanEmitter {
    /// Single-quoted for sh.
    static func quoted(_ text: String) -> String { "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'" }

    /// A POSIX sh script for one node's plan. With `KCHECK_ROOT=DIR` in its environment it works
    /// on a node tree instead: files under DIR (the /proc/sys values too), commands only printed.
    public static func shell(_ plan: Plan, node: String) -> String {
        var out = """
            #!/bin/sh
            # kcheck fix, written out for \(node): \(plan.actions.count) action\(plan.actions.count == 1 ? "" : "s"). Run as root.
            # It does what `kcheck fix --dry-run` shows, and nothing else. It keeps no journal:
            # `kcheck fix` on the node itself records one, for `kcheck undo`.
            set -eu
            R=${KCHECK_ROOT:-}
            # A command on the node; on a node tree (KCHECK_ROOT) it is only printed.
            run() { if [ -n "$R" ]; then echo "would run: $*"; else "$@"; fi; }
            # A kernel parameter now, through its /proc/sys file.
            kset() {
              path=$R$1
              if [ -f "$path" ] && [ "$(tr -s ' \\t' '  ' < "$path")" = "$2" ]; then return 0; fi
              if [ -n "$R" ]; then mkdir -p "$(dirname "$path")"; fi
              printf '%s\\n' "$2" > "$path"
            }
            # Replaces a file atomically unless it already holds CONTENT; never through a symlink.
            put() {
              path=$R$1 mode=$2 content=$3
              if [ -L "$path" ]; then echo "kcheck: $1 is a symlink: not written" >&2; return 1; fi
              if [ -f "$path" ] && [ "$(cat "$path"; echo x)" = "${content}x" ]; then return 0; fi
              mkdir -p "$(dirname "$path")"
              if [ -f "$path" ]; then mode=$(stat -c %a "$path"); fi
              printf '%s' "$content" > "$path.kcheck-new"
              chmod "$mode" "$path.kcheck-new"
              mv -f "$path.kcheck-new" "$path"
            }

            """
        for (i, planned) in plan.actions.enumerated() {
            out += "\n# \(i + 1). \(planned.action.summary) (\(planned.rules.joined(separator: ", ")))\n"
            switch planned.action {
            case .writeFile(let path, let content, let mode):
                out += "put \(quoted(path)) \(String(mode, radix: 8)) \(quoted(String(decoding: content, as: UTF8.self)))\n"
            case .makeDirectory(let path, let mode):
                out += "mkdir -p -m \(String(mode, radix: 8)) \"$R\"\(quoted(path))\n"
            case .symlink(let path, let target):
                out += "[ \"$(readlink \"$R\"\(quoted(path)) 2>/dev/null)\" = \(quoted(target)) ] || ln -sfn \(quoted(target)) \"$R\"\(quoted(path))\n"
            case .sysctl(let key, let value):
                out += "kset \(quoted(SysctlConfig.procPath(key))) \(quoted(value))\n"
            case .loadModule(let name):
                out += "if [ -n \"$R\" ]; then mkdir -p \"$R/sys/module/\(name)\"; elif [ ! -d /sys/module/\(name) ]; then modprobe -- \(quoted(name)); fi\n"
            case .swapOff:
                out += "if ! grep -qv '^Filename' \"$R/proc/swaps\"; then :; elif [ -z \"$R\" ]; then swapoff -a; else printf 'Filename\\t\\t\\t\\tType\\t\\tSize\\t\\tUsed\\t\\tPriority\\n' > \"$R/proc/swaps\"; fi\n"
            case .selinuxPermissive:
                out += "if [ \"$(cat \"$R/sys/fs/selinux/enforce\" 2>/dev/null)\" != 1 ]; then :; elif [ -z \"$R\" ]; then setenforce 0; else printf 0 > \"$R/sys/fs/selinux/enforce\"; fi\n"
            case .service(let unit, let enable, let start):
                if let enable { out += "run systemctl \(enable ? "enable" : "disable") -- \(quoted(unit))\n" }
                if let start { out += "run systemctl \(start ? "start" : "stop") -- \(quoted(unit))\n" }
            case .rtcUTC(let adjtime):
                out += "if [ -z \"$R\" ]; then hwclock --systohc --utc; else put /etc/adjtime 644 \(quoted(String(decoding: adjtime, as: UTF8.self))); fi\n"
            case .installPackages(let manager, let names):
                let argv = manager.install(names).map(quoted).joined(separator: " ")
                out += manager == .apt ? "DEBIAN_FRONTEND=noninteractive run \(argv)\n" : "run \(argv)\n"
            case .makeCA(let certificate, let key, let subject, let hours):
                let subj = "/" + subject.map { "\($0.key)=\($0.value)" }.joined(separator: "/")
                out += """
                    if [ ! -e "$R"\(quoted(certificate)) ] && [ ! -e "$R"\(quoted(key)) ]; then
                      (umask 077; run openssl req -x509 -newkey rsa:2048 -nodes -keyout "$R"\(quoted(key)) -out "$R"\(quoted(certificate)) \\
                        -days \(max(1, hours / 24)) -subj \(quoted(subj)) -addext 'basicConstraints=critical,CA:TRUE' \\
                        -addext 'keyUsage=critical,keyCertSign,cRLSign')
                    fi

                    """
            }
        }
        return out + "\necho 'kcheck: done; check with kcheck preflight'\n"
    }

    /// An Ansible playbook with one play per node: builtin modules where they do exactly the
    /// action (copy, file, systemd, package), argv commands otherwise. Strings are written as JSON,
    /// which YAML reads as they are.
    public static func ansible(_ plans: [(host: String, plan: Plan)]) -> String {
        func json(_ text: String) -> String { JSONWriter.quoted(text) }
        func argv(_ items: [String]) -> String { "[" + items.map(json).joined(separator: ", ") + "]" }
        var out = "# kcheck fix, written out as an Ansible playbook: each play does what `kcheck fix --dry-run` shows for its node.\n"
        for (host, plan) in plans {
            out += "- name: \(json("kcheck fix on \(host)"))\n  hosts: \(json(host))\n  become: true\n  gather_facts: false\n  tasks:\n"
            if plan.actions.isEmpty { out += "    []\n" }
            for planned in plan.actions {
                out += "    - name: \(json(planned.action.summary + " (" + planned.rules.joined(separator: ", ") + ")"))\n"
                switch planned.action {
                case .writeFile(let path, let content, let mode):
                    out += "      ansible.builtin.copy: {dest: \(json(path)), content: \(json(String(decoding: content, as: UTF8.self))), mode: \(json("0" + String(mode, radix: 8))), follow: false}\n"
                case .makeDirectory(let path, let mode):
                    out += "      ansible.builtin.file: {path: \(json(path)), state: directory, mode: \(json("0" + String(mode, radix: 8)))}\n"
                case .symlink(let path, let target):
                    out += "      ansible.builtin.file: {path: \(json(path)), src: \(json(target)), state: link, force: true}\n"
                case .sysctl(let key, let value):
                    out += "      ansible.builtin.command: {argv: \(argv(["sysctl", "-w", "\(key)=\(value)"]))}\n"
                case .loadModule(let name):
                    out += "      ansible.builtin.command: {argv: \(argv(["modprobe", "--", name]))}\n"
                case .swapOff:
                    out += "      ansible.builtin.command: {argv: \(argv(["swapoff", "-a"]))}\n"
                case .selinuxPermissive:
                    out += "      ansible.builtin.command: {argv: \(argv(["setenforce", "0"]))}\n"
                case .service(let unit, let enable, let start):
                    var fields = ["name: \(json(unit))"]
                    if let enable { fields.append("enabled: \(enable)") }
                    if let start { fields.append("state: \(start ? "started" : "stopped")") }
                    out += "      ansible.builtin.systemd: {\(fields.joined(separator: ", "))}\n"
                case .rtcUTC:
                    out += "      ansible.builtin.command: {argv: \(argv(["hwclock", "--systohc", "--utc"]))}\n"
                case .installPackages(_, let names):
                    out += "      ansible.builtin.package: {name: \(argv(names)), state: present}\n"
                case .makeCA(let certificate, let key, let subject, let hours):
                    let subj = "/" + subject.map { "\($0.key)=\($0.value)" }.joined(separator: "/")
                    out += "      ansible.builtin.command:\n        argv: \(argv(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", String(max(1, hours / 24)), "-subj", subj, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]))\n        creates: \(json(certificate))\n"
                }
            }
        }
        return out
    }
}

extension PlanEmitter {
    /// The POSIX sh script `kcheck fix --cluster` runs on a node over SSH: the plan, with the same
    /// journal `kcheck fix` keeps (`Journal`'s format, in /var/lib/kcheck/runs/ID), written before
    /// each change, so that `kcheck undo` works on the node. Each action prints
    /// `kcheck-action N OUTCOME[ REASON]`. Under `KCHECK_ROOT` it works on a node tree (the tests).
    public static func journaled(_ plan: Plan, run id: String, command: String) -> String {
        var out = """
            # kcheck fix run \(id): generated by kcheck; does the plan below and journals it first.
            set -u
            R=${KCHECK_ROOT:-}
            umask 022
            B=$R/var/lib/kcheck
            mkdir -p "$B/runs" && chmod 700 "$B" "$B/runs" || { echo 'kcheck-fatal cannot make /var/lib/kcheck'; exit 3; }
            exec 9>"$B/lock"
            if command -v flock >/dev/null 2>&1 && ! flock -n 9; then echo 'kcheck-fatal another kcheck fix or undo holds the lock'; exit 3; fi
            J=$B/runs/\(id)
            mkdir -m 700 "$J" "$J/files" || { echo "kcheck-fatal cannot make $J"; exit 3; }
            printf '%s\\n' 'kcheck-journal 1' \(quoted("command " + Journal.escape(command))) > "$J/journal"
            esc() { if [ -z "$1" ]; then printf '%%00'; else printf '%s' "$1" | sed -e 's/%/%25/g' -e 's/ /%20/g' -e "s/$(printf '\\t')/%09/g"; fi; }
            rec() { printf '%s\\n' "$*" >> "$J/journal" || { echo 'kcheck-fatal cannot write the journal'; exit 3; }; }
            n=0
            # What is at a node path (and every missing directory above it), before it changes.
            remember() {
              p=$1 parents='' d=$(dirname "$1")
              while [ "$d" != / ] && [ ! -e "$R$d" ] && [ ! -L "$R$d" ]; do parents="$d $parents"; d=$(dirname "$d"); done
              for d in $parents; do rec "path $(esc "$d") absent"; done
              if [ -L "$R$p" ]; then rec "path $(esc "$p") symlink $(esc "$(readlink "$R$p")")"
              elif [ -d "$R$p" ]; then rec "path $(esc "$p") directory $(stat -c %a "$R$p")"
              elif [ -f "$R$p" ]; then n=$((n + 1)); cp -p "$R$p" "$J/files/$n" || return 1; rec "path $(esc "$p") file $(stat -c '%a %u %g' "$R$p") $n"
              else rec "path $(esc "$p") absent"; fi
            }
            # No symlink anywhere on the way to a path kcheck writes.
            linked() { q=$1; while [ "$q" != / ] && [ -n "$q" ]; do [ -L "$R$q" ] && return 0; q=$(dirname "$q"); done; return 1; }
            same() { [ -f "$R$1" ] && [ ! -L "$R$1" ] && [ "$(cat "$R$1"; echo x)" = "${2}x" ]; }
            put() {
              path=$R$1 mode=$2
              mkdir -p "$(dirname "$path")" || return 1
              [ -f "$path" ] && mode=$(stat -c %a "$path")
              printf '%s' "$3" > "$path.kcheck-new" && chmod "$mode" "$path.kcheck-new" && mv -f "$path.kcheck-new" "$path"
            }
            kval() { tr -s ' \\t' '  ' < "$R$1" 2>/dev/null; }
            sys() { if [ -n "$R" ]; then echo "would run: $*" >&2; else "$@" >/dev/null 2>&1; fi; }
            outcome() { rec "done $1 $(esc "$2")"; echo "kcheck-action $1 $2"; }

            """
        for (i, planned) in plan.actions.enumerated() {
            let n = i + 1
            out += "\n# \(n). \(planned.action.summary)\n"
            func file(_ path: String, _ content: String, _ mode: UInt32) -> String {
                """
                if same \(quoted(path)) \(quoted(content)); then outcome \(n) already-in-place
                elif linked \(quoted(path)); then outcome \(n) \(quoted("failed \(path): a symlink on the way; kcheck never writes through one"))
                elif remember \(quoted(path)) && put \(quoted(path)) \(String(mode, radix: 8)) \(quoted(content)); then outcome \(n) \(planned.needsReboot ? "needs-reboot" : "applied")
                else outcome \(n) \(quoted("failed writing \(path)")); fi

                """
            }
            switch planned.action {
            case .writeFile(let path, let content, let mode):
                out += file(path, String(decoding: content, as: UTF8.self), mode)
            case .makeDirectory(let path, let mode):
                out += """
                    if [ -d "$R"\(quoted(path)) ] && [ ! -L "$R"\(quoted(path)) ]; then outcome \(n) already-in-place
                    elif linked \(quoted(path)); then outcome \(n) 'failed: a symlink on the way'
                    elif remember \(quoted(path)) && mkdir -p -m \(String(mode, radix: 8)) "$R"\(quoted(path)); then outcome \(n) applied
                    else outcome \(n) 'failed: mkdir'; fi

                    """
            case .symlink(let path, let target):
                out += """
                    if [ "$(readlink "$R"\(quoted(path)) 2>/dev/null)" = \(quoted(target)) ]; then outcome \(n) already-in-place
                    elif remember \(quoted(path)) && ln -sfn \(quoted(target)) "$R"\(quoted(path)); then outcome \(n) applied
                    else outcome \(n) 'failed: ln'; fi

                    """
            case .sysctl(let key, let value):
                let path = SysctlConfig.procPath(key)
                out += """
                    if [ "$(kval \(quoted(path)))" = \(quoted(value)) ]; then outcome \(n) already-in-place
                    elif [ -n "$R" ]; then remember \(quoted(path)) && mkdir -p "$(dirname "$R"\(quoted(path)))" && printf '%s\\n' \(quoted(value)) > "$R"\(quoted(path)) && outcome \(n) applied || outcome \(n) failed
                    elif [ ! -f \(quoted(path)) ]; then outcome \(n) 'failed: no such key on this kernel'
                    else rec "runtime \(Journal.escape(path)) $(esc "$(kval \(quoted(path)))")"; printf '%s\\n' \(quoted(value)) > \(quoted(path)) && outcome \(n) applied || outcome \(n) failed; fi

                    """
            case .loadModule(let name):
                out += """
                    if [ -d "$R/sys/module/\(name)" ]; then outcome \(n) already-in-place
                    elif [ -n "$R" ]; then remember /sys/module/\(name) && mkdir -p "$R/sys/module/\(name)" && echo 'would run: modprobe -- \(name)' >&2 && outcome \(n) applied
                    else rec 'module \(Journal.escape(name))'; modprobe -- \(quoted(name)) && outcome \(n) applied || outcome \(n) 'failed: modprobe'; fi

                    """
            case .swapOff:
                out += """
                    devices=$(awk 'NR > 1 { print $1 }' "$R/proc/swaps" | tr '\\n' ' ')
                    if [ -z "$devices" ]; then outcome \(n) already-in-place
                    elif [ -n "$R" ]; then remember /proc/swaps && printf 'Filename\\t\\t\\t\\tType\\t\\tSize\\t\\tUsed\\t\\tPriority\\n' > "$R/proc/swaps" && outcome \(n) applied
                    else rec "swap $devices"; ok=1; for dev in $devices; do swapoff -- "$dev" || ok=; done; [ -n "$ok" ] && outcome \(n) applied || outcome \(n) 'failed: swapoff'; fi

                    """
            case .selinuxPermissive:
                out += """
                    if [ "$(cat "$R/sys/fs/selinux/enforce" 2>/dev/null)" != 1 ]; then outcome \(n) already-in-place
                    elif [ -n "$R" ]; then remember /sys/fs/selinux/enforce && printf 0 > "$R/sys/fs/selinux/enforce" && outcome \(n) applied
                    else rec 'runtime /sys/fs/selinux/enforce 1'; printf 0 > /sys/fs/selinux/enforce && outcome \(n) applied || outcome \(n) 'failed: setenforce'; fi

                    """
            case .service(let unit, let enable, let start):
                var commands: [String] = []
                if let enable { commands.append("systemctl \(enable ? "enable" : "disable") -- \(quoted(unit))") }
                if let start { commands.append("systemctl \(start ? "start" : "stop") -- \(quoted(unit))") }
                out += """
                    if [ -n "$R" ]; then \(commands.map { "sys \($0)" }.joined(separator: "; ")); outcome \(n) 'failed: services are not changed in a node tree by this script'
                    else
                      [ "$(systemctl is-enabled -- \(quoted(unit)) 2>/dev/null)" = enabled ] && e=enabled || e=disabled
                      [ -d /run/systemd/system ] && { systemctl is-active --quiet -- \(quoted(unit)) && a=running || a=stopped; } || a=unknown
                      rec "service \(Journal.escape(unit)) $e $a"
                      if \(commands.joined(separator: " && ")); then outcome \(n) applied; else outcome \(n) 'failed: systemctl'; fi
                    fi

                    """
            case .rtcUTC(let adjtime):
                out += """
                    if same /etc/adjtime \(quoted(String(decoding: adjtime, as: UTF8.self))); then outcome \(n) already-in-place
                    elif [ -n "$R" ]; then remember /etc/adjtime && put /etc/adjtime 644 \(quoted(String(decoding: adjtime, as: UTF8.self))) && outcome \(n) applied
                    else remember /etc/adjtime; rec 'rtc local'; hwclock --systohc --utc && outcome \(n) applied || outcome \(n) 'failed: hwclock'; fi

                    """
            case .installPackages(let manager, let names):
                let install = manager.install(names).map(quoted).joined(separator: " ")
                out += """
                    if [ -n "$R" ]; then sys \(install); outcome \(n) 'failed: packages are not installed in a node tree by this script'
                    else
                      rec \(quoted("packages \(manager.rawValue) " + names.map(Journal.escape).joined(separator: " ")))
                      if \(manager == .apt ? "DEBIAN_FRONTEND=noninteractive " : "")\(install) >/dev/null 2>&1; then outcome \(n) applied; else outcome \(n) 'failed: package install'; fi
                    fi

                    """
            case .makeCA(let certificate, let key, let subject, let hours):
                let subj = "/" + subject.map { "\($0.key)=\($0.value)" }.joined(separator: "/")
                out += """
                    if [ -e "$R"\(quoted(certificate)) ] || [ -e "$R"\(quoted(key)) ]; then outcome \(n) 'failed: a CA is never replaced'
                    elif remember \(quoted(key)) && remember \(quoted(certificate)) && (umask 077; openssl req -x509 -newkey rsa:2048 -nodes \\
                      -keyout "$R"\(quoted(key)) -out "$R"\(quoted(certificate)) -days \(max(1, hours / 24)) -subj \(quoted(subj)) \\
                      -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' >/dev/null 2>&1) \\
                      && chmod 644 "$R"\(quoted(certificate)); then outcome \(n) applied
                    else outcome \(n) 'failed: openssl'; fi

                    """
            }
        }
        return out + "echo kcheck-end\n"
    }
}
