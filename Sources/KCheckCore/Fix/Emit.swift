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
            # Appends LINE unless the file has it already; never through a symlink, and never with
            # the rest of the file (root's .bashrc may hold secrets this script must not carry).
            addline() {
              path=$R$1 line=$2
              if [ -L "$path" ]; then echo "kcheck: $1 is a symlink: not written" >&2; return 1; fi
              if [ -f "$path" ] && grep -qxF -- "$line" "$path"; then return 0; fi
              mkdir -p "$(dirname "$path")"
              if [ -s "$path" ] && [ -n "$(tail -c 1 "$path")" ]; then printf '\n' >> "$path"; fi
              printf '%s\n' "$line" >> "$path"
            }

            """
        for (i, planned) in plan.actions.enumerated() {
            out += "\n# \(i + 1). \(planned.action.summary) (\(planned.rules.joined(separator: ", ")))\n"
            switch planned.action {
            case .writeFile(let path, _, _) where planned.appendedLine != nil:
                out += "addline \(quoted(path)) \(quoted(planned.appendedLine!))\n"
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
            case .chainPolicy(let chain, let policy):
                out += "run \(chain.policyCommand(policy).map(quoted).joined(separator: " "))\n"
            case .newMachineID(let old):
                out += """
                    if [ "$(cat "$R/etc/machine-id" 2>/dev/null)" = \(quoted(old)) ]; then
                      if [ -f "$R/var/lib/dbus/machine-id" ] && [ ! -L "$R/var/lib/dbus/machine-id" ]; then rm -f "$R/var/lib/dbus/machine-id"; fi
                      rm -f "$R/etc/machine-id"
                      run systemd-machine-id-setup
                    fi

                    """
            case .newSSHHostKeys(let keys, let reload):
                for key in keys {
                    out += "rm -f \"$R\"\(quoted(key.path)) \"$R\"\(quoted(key.path + ".pub")) && ssh-keygen -q -t \(key.type.keygenName)"
                        + (key.type.keygenName == "rsa" ? " -b 3072" : "") + " -N '' -f \"$R\"\(quoted(key.path))\n"
                }
                if let reload { out += "run systemctl try-reload-or-restart -- \(quoted(reload))\n" }
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
    ///
    /// `target` says what the plays run against: the SSH hosts the plans were made for (their
    /// names are the host patterns), this machine (`localhost`, connection local), or a node tree,
    /// which is no host: the play targets `all`, and its header says to limit it to the node the
    /// tree stands for (a directory is never a host pattern).
    public enum AnsibleTarget: Sendable { case hosts, thisMachine, tree(String) }

    public static func ansible(_ plans: [(host: String, plan: Plan)], target: AnsibleTarget = .hosts) -> String {
        func json(_ text: String) -> String { JSONWriter.quoted(text) }
        func argv(_ items: [String]) -> String { "[" + items.map(json).joined(separator: ", ") + "]" }
        var out = "# kcheck fix, written out as an Ansible playbook: each play does what `kcheck fix --dry-run` shows for its node.\n"
        if case .tree(let root) = target {
            out += "# Planned from the node tree \(root): run it against the node that tree stands for only (ansible-playbook -i NODE, or --limit NODE).\n"
        }
        for (host, plan) in plans {
            let pattern: String, connection: String
            switch target {
            case .hosts: (pattern, connection) = (host, "")
            case .thisMachine: (pattern, connection) = ("localhost", "  connection: local\n")
            case .tree: (pattern, connection) = ("all", "")
            }
            out += "- name: \(json("kcheck fix on \(host)"))\n  hosts: \(json(pattern))\n\(connection)  become: true\n  gather_facts: false\n  tasks:\n"
            if plan.actions.isEmpty { out += "    []\n" }
            for planned in plan.actions {
                out += "    - name: \(json(planned.action.summary + " (" + planned.rules.joined(separator: ", ") + ")"))\n"
                switch planned.action {
                case .writeFile(let path, _, _) where planned.appendedLine != nil:
                    out += "      ansible.builtin.lineinfile: {path: \(json(path)), line: \(json(planned.appendedLine!)), create: true}\n"
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
                case .chainPolicy(let chain, let policy):
                    out += "      ansible.builtin.command: {argv: \(argv(chain.policyCommand(policy)))}\n"
                case .newMachineID:
                    out += "      ansible.builtin.file: {path: \"/etc/machine-id\", state: absent}\n"
                    out += "    - name: \(json("make a new machine-id"))\n      ansible.builtin.command: {argv: \(argv(["systemd-machine-id-setup"]))}\n"
                    out += "    - name: \(json("remove dbus' copy of the old machine-id"))\n      ansible.builtin.file: {path: \"/var/lib/dbus/machine-id\", state: absent}\n"
                    out += "    - name: \(json("dbus' copy of the new machine-id"))\n      ansible.builtin.command: {argv: \(argv(["dbus-uuidgen", "--ensure"]))}\n"
                case .newSSHHostKeys(let keys, let reload):
                    // The old keys removed (the task named above, then one task per file), made
                    // again by ssh-keygen -A (each missing default type).
                    let files = keys.flatMap { [$0.path, $0.path + ".pub"] }
                    for (n, file) in files.enumerated() {
                        if n > 0 { out += "    - name: \(json("remove " + file))\n" }
                        out += "      ansible.builtin.file: {path: \(json(file)), state: absent}\n"
                    }
                    out += "    - name: \(json("new SSH host keys"))\n      ansible.builtin.command: {argv: \(argv(["ssh-keygen", "-A"]))}\n"
                    if let reload { out += "    - name: \(json("reload " + reload))\n      ansible.builtin.systemd: {name: \(json(reload)), state: reloaded}\n" }
                case .makeCA(let certificate, let key, let subject, let hours):
                    let subj = "/" + subject.map { "\($0.key)=\($0.value)" }.joined(separator: "/")
                    out += "      ansible.builtin.command:\n        argv: \(argv(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", String(max(1, hours / 24)), "-subj", subj, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]))\n        creates: \(json(certificate))\n"
                }
            }
        }
        return out
    }
}
