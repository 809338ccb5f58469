import KCheckNative

extension Evaluator {
    static let noInventory = "no inventory (pass --env FILE)"

    /// The inventory; without one, the check is skipped when the node has no environment.sh, and
    /// is an error naming the reason when it has one that cannot be read or does not parse.
    func requireInventory(_ expected: String) throws(OutcomeError) -> Inventory {
        if let inventory { return inventory }
        switch nodeInventoryProblem {
        case nil:
            throw OutcomeError(outcome: Outcome(status: .skip, expected: expected, actual: "no inventory", message: Self.noInventory))
        case .unreadable(let why)?:
            throw OutcomeError(
                outcome: Outcome(
                    status: .error, expected: expected, actual: "unreadable inventory",
                    message: "The inventory cannot be read: \(why) (or pass --env FILE)."))
        case .unparsable(let error)?:
            throw OutcomeError(
                outcome: Outcome(
                    status: .error, expected: expected, actual: "unparsable inventory",
                    message: "\(error.description), so there is no inventory to check against.",
                    evidence: [SourceLocation(file: error.file, line: error.line)]))
        }
    }

    /// The hostname is NODE_NAMES[i], where NODE_IPS[i] is an address of this node on IFACE.
    func hostnameInInventory() throws(OutcomeError) -> Outcome {
        let expected = "hostname = NODE_NAMES[i] for the NODE_IPS[i] on IFACE"
        let inv = try requireInventory(expected)
        let evidence = [inv.location("IFACE"), inv.location("NODE_NAMES")].compactMap { $0 }
        guard let iface = inv.iface, !iface.isEmpty else {
            return Outcome(status: .fail, expected: expected, actual: "no IFACE", message: "\(inv.path) sets no IFACE.", evidence: evidence)
        }
        guard case .success = facts.node.status("/sys/class/net/\(iface)") else {
            return Outcome(
                status: .fail, expected: expected, actual: "no interface \(iface)",
                message: "IFACE is \(iface), but this node has no such interface (/sys/class/net/\(iface)).", evidence: evidence)
        }
        let addresses: [InterfaceAddress]
        switch facts.node.interfaceAddresses() {
        case .unavailable(let why): return unavailable(expected, why)
        case .available(let list): addresses = list.filter { $0.interface == iface }
        }
        guard let index = inv.nodeIPs.firstIndex(where: { ip in addresses.contains { $0.address == ip } }) else {
            let mine = addresses.map(\.address).joined(separator: ", ")
            return Outcome(
                status: .fail, expected: expected, actual: "\(iface): \(mine.isEmpty ? "no IPv4 address" : mine)",
                message: "None of NODE_IPS (\(inv.nodeIPs.joined(separator: " "))) is an address of \(iface) on this node: this node is not in the inventory, or IFACE names the wrong interface.",
                evidence: evidence)
        }
        let ip = inv.nodeIPs[index]
        guard index < inv.nodeNames.count else {
            return Outcome(
                status: .fail, expected: expected, actual: "\(ip) has no name",
                message: "\(ip) is NODE_IPS[\(index)], but NODE_NAMES has no entry at that position.", evidence: evidence)
        }
        let want = inv.nodeNames[index]
        if facts.hostname == want {
            return Outcome(status: .pass, expected: "hostname \(want) (\(ip) on \(iface))", actual: want, message: "", evidence: evidence)
        }
        return Outcome(
            status: .fail, expected: "hostname \(want) (\(ip) on \(iface))", actual: facts.hostname,
            message: "This node is \(ip) on \(iface), which the inventory names \(want): run hostnamectl set-hostname \(want).",
            evidence: evidence)
    }

    /// /etc/hosts maps every node as the inventory says, and nothing in it contradicts that.
    func hostsMatchInventory() throws(OutcomeError) -> Outcome {
        let expected = "/etc/hosts maps every NODE_IPS[i] to NODE_NAMES[i]"
        let inv = try requireInventory(expected)
        guard let text = try readText("/etc/hosts", expected: expected, limit: HostsFile.readLimit) else {
            return Outcome(status: .fail, expected: expected, actual: "no /etc/hosts", message: "/etc/hosts is missing.")
        }
        let findings = HostsFile.parse(Array(text.utf8)).findings(inventory: inv).filter { $0.status == .fail }
        if findings.isEmpty { return Outcome(status: .pass, expected: expected, actual: "all \(inv.nodeNames.count) nodes", message: "") }
        return Outcome(
            status: .fail, expected: expected, actual: "\(findings.count) problem\(findings.count == 1 ? "" : "s")",
            message: findings.map { "\($0.location): \($0.message)" }.joined(separator: "; "), evidence: findings.map(\.location))
    }

    /// The node's own environment.sh passes `kcheck lint`.
    func inventoryLintClean() -> Outcome {
        // The inventory the node is judged with: this node's environment.sh, or the file --env
        // names (a file given is the one linted, never "no environment.sh on this node").
        let path = inventory?.path ?? Inventory.nodePath
        let expected = "\(path) lint-clean"
        let findings: [Finding]
        if let inventory {
            findings = EnvironmentLinter.lint(inventory)  // already read: parse once
        } else {
            switch facts.node.read(Inventory.nodePath, limit: defaultReadLimit) {
            case .missing:
                return Outcome(status: .skip, expected: expected, actual: "absent", message: "No \(Inventory.nodePath) on this node.")
            case .unreadable(let why):
                return Outcome(
                    status: .error, expected: expected, actual: "unreadable",
                    message: "It exists but cannot be read: \(why).")
            case .content(let bytes):
                findings = EnvironmentLinter.lint(bytes, path: Inventory.nodePath)
            }
        }
        if findings.isEmpty { return Outcome(status: .pass, expected: expected, actual: "no findings", message: "") }
        let failing = findings.contains { $0.status == .fail }
        return Outcome(
            status: failing ? .fail : .warn, expected: expected, actual: "\(findings.count) finding\(findings.count == 1 ? "" : "s")",
            message: findings.map { "\($0.place): \($0.message)" }.joined(separator: "; ") + ". See kcheck lint \(path).",
            evidence: findings.map(\.location))
    }
}

/// The hostname as kubelet and the certificates need it, without an inventory.
extension Evaluator {
    /// Why a name is not a lowercase RFC 1123 name; nil when it is one.
    static func rfc1123Problem(_ name: String) -> String? {
        if name.isEmpty { return "it is empty" }
        if name.utf8.count > 253 { return "it is longer than 253 characters" }
        if name != name.lowercased() { return "it has capital letters (kubelet registers the node lowercased, so the node's name and its certificates' system:node:NAME differ)" }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            if label.isEmpty { return "it has an empty label (two dots, or a dot at an end)" }
            if label.utf8.count > 63 { return "the label \(label.prefix(20))… is longer than 63 characters" }
            if let bad = label.unicodeScalars.first(where: { !(("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-") }) {
                return "it holds \"\(bad == "_" ? "_" : String(bad))\", which a DNS name may not hold (letters, digits and - only)"
            }
            if label.hasPrefix("-") || label.hasSuffix("-") { return "the label \(label) starts or ends with -" }
        }
        return nil
    }

    func hostnameValid() -> Outcome {
        let expected = "a lowercase RFC 1123 hostname"
        guard let name = facts.knownHostname else { return unavailable(expected, "neither /proc/sys/kernel/hostname nor /etc/hostname names this node") }
        guard let problem = Self.rfc1123Problem(name) else { return Outcome(status: .pass, expected: expected, actual: name, message: "") }
        return Outcome(
            status: .fail, expected: expected, actual: name,
            message: "The hostname \(visible(name, singleLine: true)) is not a valid node name: \(problem). kubelet refuses it or registers another name. Set one with hostnamectl set-hostname.")
    }

    func hostnameResolves() throws(OutcomeError) -> Outcome {
        guard let name = facts.knownHostname else {
            return unavailable("the hostname resolves through /etc/hosts to an address of this node", "neither /proc/sys/kernel/hostname nor /etc/hostname names this node")
        }
        let expected = "\(name) resolves through /etc/hosts to an address of this node"
        guard case .content(let bytes) = facts.node.read("/etc/hosts", limit: HostsFile.readLimit) else {
            return Outcome(status: .fail, expected: expected, actual: "no /etc/hosts", message: "There is no /etc/hosts: \(name) resolves only through DNS, if at all.")
        }
        let hosts = HostsFile.parse(bytes)
        guard let entry = hosts.addresses(of: name).first(where: { !$0.address.contains(":") }) else {
            return Outcome(
                status: .fail, expected: expected, actual: "not in /etc/hosts",
                message: "No /etc/hosts line names \(name): etcd, kubelet and the certificates' checks look the node's own name up; add \"ADDRESS \(name)\" with this node's address.")
        }
        let location = SourceLocation(file: "/etc/hosts", line: entry.line)
        if entry.address.hasPrefix("127.") {
            return Outcome(
                status: .fail, expected: expected, actual: "\(entry.address) (/etc/hosts:\(entry.line))",
                message: "/etc/hosts:\(entry.line) maps \(name) to \(entry.address), a loopback address (Debian's installer writes 127.0.1.1): components that look their own name up advertise an address no other node reaches. Map \(name) to this node's address instead, on a line before it or in place of it.",
                evidence: [location])
        }
        guard case .available(let addresses) = facts.node.interfaceAddresses() else {
            return unavailable(expected, "this node's addresses are unknown")
        }
        if addresses.contains(where: { $0.address == entry.address }) {
            return Outcome(status: .pass, expected: expected, actual: "\(entry.address) (/etc/hosts:\(entry.line))", message: "", evidence: [location])
        }
        return Outcome(
            status: .fail, expected: expected, actual: "\(entry.address) (/etc/hosts:\(entry.line))",
            message: "/etc/hosts:\(entry.line) maps \(name) to \(entry.address), which is not an address of this node (\(addresses.map(\.address).joined(separator: ", "))).",
            evidence: [location])
    }
}

extension Evaluator {
    /// Item 15's data directories before installing: the guide makes them while installing, so
    /// "exists" would fail every fresh node; what must hold is that they can be made — an absolute
    /// path whose nearest existing ancestor is a directory, with no file where a directory goes.
    func inventoryDirectories(_ names: [String]) -> Outcome {
        let expected = "\(names.joined(separator: ", ")): directories, or can be made"
        guard let inventory else { return Outcome(status: .skip, expected: expected, actual: "no inventory", message: Self.noInventory) }
        var problems: [String] = [], states: [String] = []
        for name in names {
            guard let assignment = inventory[name] else {
                problems.append("\(name) is not set in environment.sh")
                continue
            }
            let path = assignment.value.scalar
            guard path.hasPrefix("/"), !assignment.computed else {
                problems.append("\(name) is `\(path)`, not an absolute path")
                continue
            }
            var current = path
            var missing = 0
            while true {
                switch facts.node.resolvedStatus(current) {
                case .success(let st) where st.kind == .directory:
                    states.append(missing == 0 ? "\(name)=\(path) exists" : "\(name)=\(path) can be made under \(current)")
                case .success:
                    problems.append("\(name)=\(path): \(current) is a file, not a directory, so \(missing == 0 ? "it is not a directory" : "\(path) cannot be made")")
                case .failure(let error) where error.isNotFound:
                    guard let slash = current.lastIndex(of: "/"), current != "/" else {
                        problems.append("\(name)=\(path): no ancestor exists")
                        break
                    }
                    current = slash == current.startIndex ? "/" : String(current[..<slash])
                    missing += 1
                    continue
                case .failure(let error):
                    problems.append("\(name)=\(path): \(error)")
                }
                break
            }
        }
        if problems.isEmpty { return Outcome(status: .pass, expected: expected, actual: states.joined(separator: "; "), message: "") }
        return Outcome(
            status: .fail, expected: expected, actual: problems.joined(separator: "; "),
            message: "The guide makes these directories while installing (mkdir -p): " + problems.joined(separator: "; ") + ". Move the file away or set another path in environment.sh (on every node).")
    }
}

extension Evaluator {
    /// Item 4 as a person logging in as root gets it: `directory` on the PATH root's login shell
    /// builds (LoginPath), and none of its programs shadowed by a directory before it.
    func loginPath(_ directory: String) -> Outcome {
        let expected = "\(directory) on root's login PATH, before any other copy of its programs"
        let path: LoginPath
        switch LoginPath.read(facts.node) {
        case .success(let p): path = p
        case .failure(let problem): return unavailable(expected, problem.message)
        }
        let read = "read as \(path.shell) reads it: " + path.files.joined(separator: ", ")
        let lastSet = path.entries.compactMap(\.location).last
        guard let index = path.entries.firstIndex(where: { $0.directory == directory || $0.directory == directory + "/" }) else {
            var message = "root's login PATH is \(path.text)\(lastSet.map { " (set at \($0))" } ?? " (nothing sets it)"); \(directory) is not on it"
            if !path.files.contains("/root/.bashrc"), case .content(let bytes) = facts.node.read("/root/.bashrc", limit: 1 << 20),
                String(decoding: bytes, as: UTF8.self).contains(directory)
            {
                message += ". /root/.bashrc names it, but the login shell never reads .bashrc: "
                    + (path.personal.map { "\($0) does not source it" } ?? "root has no ~/.bash_profile or ~/.profile that sources it")
            }
            return Outcome(
                status: .fail, expected: expected, actual: path.text, message: message + ". \(read).",
                evidence: lastSet.map { [$0] } ?? [])
        }
        let entry = path.entries[index]
        // A program of the same name in a directory searched first runs instead.
        var shadowed: [String] = []
        if case .success(let names) = facts.node.list(directory) {
            var earlier: [String] = []
            for e in path.entries[..<index] where !earlier.contains(e.directory) && e.directory.hasPrefix("/") { earlier.append(e.directory) }
            for name in names.sorted().prefix(1000) where !name.hasPrefix(".") && !name.hasSuffix(".sh") {
                for dir in earlier.prefix(32) {
                    if case .success = facts.node.status(dir + "/" + name) {
                        shadowed.append("\(dir)/\(name) comes before \(directory)/\(name)")
                        break
                    }
                }
            }
        }
        let actual = "\(path.text) (\(directory) \(index == 0 ? "first" : "at place \(index + 1)")\(entry.location.map { ", from \($0)" } ?? ""))"
        guard shadowed.isEmpty else {
            return Outcome(
                status: .fail, expected: expected, actual: actual,
                message: "root's login shell runs other programs than the guide's: " + boundedList(shadowed)
                    + ". Put \(directory) first (`export PATH=\(directory):$PATH` as the last PATH line root's login reads) or remove the other copies.",
                evidence: entry.location.map { [$0] } ?? [])
        }
        return Outcome(status: .pass, expected: expected, actual: actual, message: "", evidence: entry.location.map { [$0] } ?? [])
    }
}

extension Evaluator {
    /// The guide's advice for etcd (item 31): its WAL on another disk than its data, so that the
    /// fsync of every write does not queue behind the data's reads. Judged by the mount each
    /// directory is under (the longest mount point of /proc/mounts that is a prefix of its path;
    /// the root filesystem when none is): before installing, the directories need not exist.
    func separateFilesystems(_ names: [String]) -> Outcome {
        let expected = "\(names.joined(separator: ", ")) on different filesystems"
        guard let inventory else { return Outcome(status: .skip, expected: expected, actual: "no inventory", message: Self.noInventory) }
        var paths: [(name: String, path: String)] = []
        for name in names {
            guard let assignment = inventory[name], !assignment.computed, assignment.value.scalar.hasPrefix("/") else {
                return Outcome(status: .error, expected: expected, actual: "unknown", message: "could not check: environment.sh sets no absolute \(name)")
            }
            paths.append((name, assignment.value.scalar))
        }
        guard case .content(let bytes) = facts.node.read("/proc/mounts", limit: defaultReadLimit) else {
            return unavailable(expected, "/proc/mounts is missing or unreadable")
        }
        // "DEVICE MOUNTPOINT TYPE OPTIONS …", spaces in names as \040.
        var mounts: [(point: String, device: String)] = []
        for (_, line) in numberedLines(bytes) {
            let fields = line.fields
            guard fields.count >= 3 else { continue }
            mounts.append((String(fields[1]).replacingAll("\\040", with: " "), String(fields[0])))
        }
        func mount(of path: String) -> (point: String, device: String) {
            mounts.filter { m in m.point == "/" || path == m.point || path.hasPrefix(m.point + "/") }
                .max { $0.point.count < $1.point.count } ?? ("/", "the root filesystem")
        }
        let placed = paths.map { (name: $0.name, path: $0.path, mount: mount(of: $0.path)) }
        let actual = placed.map { "\($0.name)=\($0.path) on \($0.mount.point)" }.joined(separator: ", ")
        var shared: [String] = []
        for (i, a) in placed.enumerated() {
            for b in placed[(i + 1)...] where a.mount.point == b.mount.point {
                shared.append("\(a.name) (\(a.path)) and \(b.name) (\(b.path)) are both on the filesystem mounted at \(a.mount.point) (\(a.mount.device))")
            }
        }
        guard shared.isEmpty else {
            return Outcome(
                status: .warn, expected: expected, actual: actual,
                message: boundedList(shared) + ". The guide advises etcd's WAL on a disk of its own: every write waits for the WAL's fsync, and a busy data disk makes etcd slow to commit (leader elections, apiserver timeouts).")
        }
        return Outcome(status: .pass, expected: expected, actual: actual, message: "")
    }
}
