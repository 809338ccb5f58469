import KCheckNative

/// What the cluster rules compare across nodes. A closed set, judged by one exhaustive switch;
/// the rules themselves are data (rules/cluster.yaml).
public enum ClusterCheck: Equatable, Sendable {
    /// Every node's /etc/hosts maps each inventory name to the same address.
    case hostsAgree
    /// Hostnames are unique and are exactly the inventory's NODE_NAMES.
    case hostnamesUnique
    /// The first certificate of a PEM file is the same (SHA-256) everywhere.
    case certificateIdentical(path: String)
    /// A file is byte for byte the same everywhere (compared by each node's own SHA-256).
    case fileIdentical(path: String)
    /// Every node runs the same kernel release.
    case kernelsAgree
    /// The kernel parameters of the profile's sysctl rules have the same running value everywhere.
    case sysctlAgree
    /// The nodes' clocks agree within a bound, measured over the connection.
    case clocksAgree(maxOffsetSeconds: Double)
    /// root on the first node logs in to every node by key, without a password.
    case rootSSH
    /// No two nodes share a machine identity (cloned virtual machines do).
    case unique(IdentityFact)

    public enum Kind: String, Sendable, CaseIterable {
        case hostsAgree = "hosts_agree", hostnamesUnique = "hostnames_unique", certificateIdentical = "certificate_identical"
        case fileIdentical = "file_identical", kernelsAgree = "kernels_agree", sysctlAgree = "sysctl_agree"
        case clocksAgree = "clocks_agree", rootSSH = "root_ssh", unique
    }

    public var kind: Kind {
        switch self {
        case .hostsAgree: .hostsAgree
        case .hostnamesUnique: .hostnamesUnique
        case .certificateIdentical: .certificateIdentical
        case .fileIdentical: .fileIdentical
        case .kernelsAgree: .kernelsAgree
        case .sysctlAgree: .sysctlAgree
        case .clocksAgree: .clocksAgree
        case .rootSSH: .rootSSH
        case .unique: .unique
        }
    }

    /// Whether the result's value is a measurement taken afresh each run (so a change of it is
    /// no drift; a change of status still counts).
    public var isMeasurement: Bool {
        switch self {
        case .clocksAgree: true
        case .hostsAgree, .hostnamesUnique, .certificateIdentical, .fileIdentical, .kernelsAgree, .sysctlAgree, .rootSSH, .unique: false
        }
    }

    /// What the check compares, for `kcheck rules show`.
    public var summary: String {
        switch self {
        case .hostsAgree: "hosts_agree: every node's /etc/hosts maps each NODE_NAMES entry to the same address"
        case .hostnamesUnique: "hostnames_unique: no two nodes share a hostname; each is in NODE_NAMES"
        case .certificateIdentical(let path): "certificate_identical: \(path) holds the same certificate (SHA-256) on every node"
        case .fileIdentical(let path): "file_identical: \(path) has the same SHA-256 on every node"
        case .kernelsAgree: "kernels_agree: the same kernel release everywhere"
        case .sysctlAgree: "sysctl_agree: the profile's kernel parameters have the same running value everywhere"
        case .clocksAgree(let bound): "clocks_agree: clocks within \(bound) s, measured over the connection"
        case .rootSSH: "root_ssh: root on the inventory's first node logs in to every node by key"
        case .unique(let fact): "unique: no two nodes share \(fact.what)"
        }
    }
}

/// What tells machines apart, and is copied when a virtual machine is cloned.
public enum IdentityFact: String, Sendable, CaseIterable {
    /// /etc/machine-id: systemd, journald and DHCP client ids derive from it.
    case machineID = "machine_id"
    /// /sys/class/dmi/id/product_uuid: the hypervisor's id of the machine (kubeadm requires it unique).
    case productUUID = "product_uuid"
    /// The MAC address of every network card (interfaces with a device; kubeadm requires them unique).
    case macAddresses = "mac_addresses"
    /// The SSH host keys (/etc/ssh/ssh_host_*_key.pub).
    case sshHostKeys = "ssh_host_keys"

    /// Whether `kcheck fix --cluster` makes a copied value anew (the hypervisor's product_uuid and
    /// MACs stay with a person).
    public var renewedByFix: Bool {
        switch self {
        case .machineID, .sshHostKeys: true
        case .productUUID, .macAddresses: false
        }
    }

    public var what: String {
        switch self {
        case .machineID: "a machine-id (/etc/machine-id)"
        case .productUUID: "a product_uuid (/sys/class/dmi/id/product_uuid)"
        case .macAddresses: "a network card's MAC address (/sys/class/net/*/address)"
        case .sshHostKeys: "an SSH host key (/etc/ssh/ssh_host_*_key.pub)"
        }
    }

    /// This node's values (a node has several MACs and host keys); nil when it cannot be told.
    func values(on node: Node) -> [String]? { entries(on: node)?.map(\.value) }

    /// This node's values, each with the file it was read from.
    public func entries(on node: Node) -> [(value: String, path: String)]? {
        func text(_ path: String) -> String? {
            guard case .content(let bytes) = node.read(path, limit: 64 << 10) else { return nil }
            let value = String(String(decoding: bytes, as: UTF8.self).trimmed)
            return value.isEmpty || value == "uninitialized" ? nil : value
        }
        switch self {
        case .machineID: return text("/etc/machine-id").map { [($0, "/etc/machine-id")] }
        case .productUUID: return text("/sys/class/dmi/id/product_uuid").map { [($0.lowercased(), "/sys/class/dmi/id/product_uuid")] }
        case .macAddresses:
            guard case .success(let names) = node.list("/sys/class/net") else { return nil }
            // Cards only: an interface with a device (not lo, bridges, veths, tunnels, kube-ipvs0).
            return names.filter { name in
                guard case .success = node.status("/sys/class/net/\(name)/device") else { return false }
                return true
            }.compactMap { name in text("/sys/class/net/\(name)/address").map { ($0, "/sys/class/net/\(name)/address") } }
        case .sshHostKeys:
            guard case .success(let names) = node.list("/etc/ssh") else { return nil }
            return names.filter { $0.hasPrefix("ssh_host_") && $0.hasSuffix("_key.pub") }.compactMap { name in
                let path = "/etc/ssh/\(name)"
                return text(path).flatMap { Self.sshKeyValue(fileName: path, line: $0) }.map { ($0, path) }
            }
        }
    }

    /// A host key as the rule compares and shows it: "TYPE SHA-256 <16 hex digits>…" of its
    /// first two fields ("TYPE BASE64"; the comment is not the key), TYPE from the file name.
    public static func sshKeyValue(fileName: String, line: String) -> String? {
        let key = line.fields.prefix(2).joined(separator: " ")
        guard !key.isEmpty, let digest = try? OpenSSL.sha256Hex(Array(key.utf8)) else { return nil }
        let base = fileName.split(separator: "/").last.map(String.init) ?? fileName
        return "\(base.dropFirst(9).dropLast(8)) SHA-256 \(digest.prefix(16))…"
    }
}

/// A cluster rule's test: a set of node trees (fixtures/clusters/NAME, one directory per node)
/// and the status the rule must have on it.
public struct ClusterRuleTest: Equatable, Sendable {
    public let cluster: String
    public let status: Status
    public let message: String?

    public init(cluster: String, status: Status, message: String?) {
        self.cluster = cluster
        self.status = status
        self.message = message
    }
}

/// A rule about the whole cluster. Immutable, like `Rule`; loaded from rule files.
public struct ClusterRule: Equatable, Sendable {
    public let id: String
    public let title: String
    public let severity: Severity
    public let phase: Phase
    public let guide: [Int]
    public let rationale: String
    public let remediation: String
    public let check: ClusterCheck
    public let tests: [ClusterRuleTest]

    public init(
        id: String, title: String, severity: Severity, phase: Phase = .prepare, guide: [Int], rationale: String, remediation: String,
        check: ClusterCheck, tests: [ClusterRuleTest]
    ) {
        self.id = id
        self.title = title
        self.severity = severity
        self.phase = phase
        self.guide = guide
        self.rationale = rationale
        self.remediation = remediation
        self.check = check
        self.tests = tests
    }
}

/// One node of a cluster run: what it is called, and either its facts to judge or why it could
/// not be reached.
public struct ClusterMember {
    /// ssh's words as one line: its CR LF line ends (and any other control character) never reach
    /// a report; several lines are joined with "; ".
    static func oneLine(_ text: String) -> String {
        let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }).map { line in
            String(String.UnicodeScalarView(line.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F })).trimmed
        }.filter { !$0.isEmpty }
        return lines.map(String.init).joined(separator: "; ")
    }

    public let label: String
    /// The SSH host it was reached at (nil: this node, or a saved snapshot).
    public let host: String?
    public let node: Node?
    public let problem: String?
    /// The node's clock minus this machine's, and the uncertainty (half the round trip), when measured.
    public let clockOffset: (seconds: Double, uncertainty: Double)?
    /// On the first node: whether root logs in to each node by key ("ok", or ssh's reason), by address.
    public var rootSSH: [(address: String, result: String)]?
    /// The node's own verdict of each rule, when it judged itself (over SSH): the verdict of its
    /// recording here must be the same.
    public var nodeVerdicts: [String: Status]?

    public init(label: String, host: String? = nil, node: Node?, problem: String?, clockOffset: (seconds: Double, uncertainty: Double)? = nil) {
        self.label = label
        self.host = host
        self.node = node
        self.problem = problem.map(Self.oneLine)
        self.clockOffset = clockOffset
    }

    /// A node tree (a snapshot recorded over SSH, a fixture), with the clock offset and root's
    /// SSH probes its facts recorded.
    public init(label: String, host: String? = nil, tree: TreeNode) {
        self.init(label: label, host: host, node: tree, problem: nil, clockOffset: tree.recordedClockOffset)
        self.rootSSH = tree.recordedSSHProbes
    }
}

/// The report of a cluster run: one report per node, and one for the cluster rules.
public struct ClusterReport: Sendable {
    public internal(set) var nodes: [(label: String, report: Report)]
    public internal(set) var cluster: Report
    /// The cluster rules whose values are measurements (never drift).
    public let measurements: Set<String>
    /// The nodes that could not be reached, with the reason (their reports hold every rule as
    /// could-not-check; the text says it once).
    public var unreachable: [String: String] = [:]

    public var failed: Bool { cluster.failed || nodes.contains { $0.report.failed } }

    public init(nodes: [(label: String, report: Report)], cluster: Report, measurements: Set<String> = []) {
        self.nodes = nodes
        self.cluster = cluster
        self.measurements = measurements
    }
}

public enum ClusterEngine {
    /// Judges every member with the profile, then the cluster rules across them. With an
    /// `inventory` (--env) every node is judged with it; without, each node with its own
    /// environment.sh, and the cluster rules with the first reachable node's (the report says so).
    public static func run(
        profile: Profile, members: [ClusterMember], inventory explicit: Inventory?, policy: FailurePolicy, command: String = "preflight",
        only: Set<String>? = nil
    ) -> ClusterReport {
        let started = Posix.wallClock()
        let clock = Posix.monotonicNanoseconds()
        var reports: [(String, Report)] = []
        var evaluators: [(label: String, evaluator: Evaluator, member: ClusterMember)] = []
        var clusterInventory = explicit
        var inventorySource = explicit.map { "inventory \($0.path)" } ?? "no inventory"
        for member in members {
            if let node = member.node {
                let own = explicit == nil ? Inventory.load(from: node) : nil
                if explicit == nil, clusterInventory == nil, let own {
                    clusterInventory = own
                    inventorySource = "inventory: \(member.label)'s \(own.path)"
                }
                var (report, evaluator) = Engine.evaluate(profile: profile, on: node, command: command, policy: policy, only: only, inventory: explicit ?? own)
                if let verdicts = member.nodeVerdicts { report = disagreements(report, verdicts, label: member.label) }
                reports.append((member.label, report))
                evaluators.append((member.label, evaluator, member))
            } else {
                reports.append((member.label, unreachable(member, profile: profile, policy: policy, command: command)))
            }
        }
        let unreachable = members.filter { $0.node == nil }.map(\.label)
        let entries = profile.clusterRules.map { rule in
            Report.Entry(
                subject: Report.Subject(
                    id: rule.id, title: rule.title, severity: rule.severity, phase: rule.phase, guide: rule.guide, remediation: rule.remediation),
                result: judge(rule, evaluators, unreachable: unreachable, profile: profile, inventory: clusterInventory))
        }
        let identity = NodeIdentity(name: "cluster of \(members.count) nodes (\(inventorySource))", source: "cluster", distribution: "", kernel: "")
        var cluster = Report(
            toolVersion: Engine.version, command: command, profile: profile.name, node: identity, startedAt: started,
            durationSeconds: Double(Posix.monotonicNanoseconds() - clock) / 1e9, entries: entries, policy: policy)
        cluster.fixable = Set(entries.compactMap { entry in
            guard case .sharedIdentity(let shared)? = entry.result.observation, shared.fact.renewedByFix else { return nil }
            return entry.subject.id
        })
        var result = ClusterReport(nodes: reports, cluster: cluster, measurements: Set(profile.clusterRules.filter(\.check.isMeasurement).map(\.id)))
        for member in members where member.node == nil { result.unreachable[member.label] = member.problem ?? "unreachable" }
        return result
    }

    /// A rule whose verdict here differs from the node's own is an error: the recording did not
    /// hold what the node read (a kcheck bug, or the node changed between reading and answering).
    static func disagreements(_ report: Report, _ verdicts: [String: Status], label: String) -> Report {
        let entries = report.entries.map { entry -> Report.Entry in
            guard let theirs = verdicts[entry.subject.id], theirs != entry.result.status else { return entry }
            let result = RuleResult(
                ruleID: entry.result.ruleID, status: .error, expected: entry.result.expected, actual: entry.result.actual,
                message: "\(label) judged itself \(theirs.rawValue), its recording is judged \(entry.result.status.rawValue) here: \(entry.result.message)")
            return Report.Entry(subject: entry.subject, result: result, certificate: entry.certificate)
        }
        return Report(
            toolVersion: report.toolVersion, command: report.command, profile: report.profile, node: report.node, startedAt: report.startedAt,
            durationSeconds: report.durationSeconds, entries: entries, policy: report.policy)
    }

    /// Node names for a message: all of a few, the first ones and a count of many.
    static func names(_ labels: [String]) -> String {
        labels.count <= 8 ? labels.joined(separator: ", ") : labels.prefix(5).joined(separator: ", ") + " and \(labels.count - 5) more"
    }

    /// A node that could not be reached: every rule is "could not check", with the reason.
    static func unreachable(_ member: ClusterMember, profile: Profile, policy: FailurePolicy, command: String) -> Report {
        let why = member.problem ?? "unreachable"
        let entries = profile.rules.map { rule in
            Report.Entry(rule: rule, result: RuleResult(ruleID: rule.id, status: .error, expected: "", actual: "unknown", message: "could not check: \(why)"))
        }
        return Report(
            toolVersion: Engine.version, command: command, profile: profile.name,
            node: NodeIdentity(name: member.label, source: "ssh:\(member.label)", distribution: "unknown", kernel: "unknown"),
            startedAt: Posix.wallClock(), durationSeconds: 0, entries: entries, policy: policy)
    }

    /// Reads what the cluster rules compare of one node that its own rules may not read (the
    /// machine's identity), so that a recording of the node holds it.
    public static func readFacts(_ rules: [ClusterRule], on node: Node) {
        for rule in rules {
            switch rule.check {
            case .unique(let fact):
                _ = fact.values(on: node)
                if fact == .sshHostKeys { ClusterFix.readFacts(node) }
            case .hostsAgree, .hostnamesUnique, .certificateIdentical, .fileIdentical, .kernelsAgree, .sysctlAgree, .clocksAgree, .rootSSH: continue
            }
        }
    }

    static func judge(
        _ rule: ClusterRule, _ nodes: [(label: String, evaluator: Evaluator, member: ClusterMember)], unreachable: [String],
        profile: Profile, inventory: Inventory?
    ) -> RuleResult {
        func result(_ status: Status, _ expected: String, _ actual: String, _ message: String = "") -> RuleResult {
            var message = message
            if !unreachable.isEmpty && status == .pass { message = "judged without \(unreachable.joined(separator: ", ")) (unreachable)" }
            return RuleResult(ruleID: rule.id, status: status, expected: expected, actual: actual, message: message)
        }
        /// Groups nodes by a value; a pass when all have the same one.
        func agree(_ expected: String, _ what: String, _ value: (Evaluator) -> String?) -> RuleResult {
            var groups: [String: [String]] = [:]
            var order: [String] = []
            for (label, evaluator, _) in nodes {
                let v = value(evaluator) ?? "(none)"
                if groups[v] == nil { order.append(v) }
                groups[v, default: []].append(label)
            }
            if nodes.count < 2 { return result(.skip, expected, "\(nodes.count) node reached", "needs two nodes or more") }
            if order.count == 1 { return result(.pass, expected, "the same on \(nodes.count) nodes: \(order[0])") }
            // The smaller groups first: the odd ones out are what a person looks for.
            let ranked = order.enumerated().sorted { (groups[$0.element]!.count, $0.offset) < (groups[$1.element]!.count, $1.offset) }.map(\.element)
            let actual = ranked.map { "\($0) on \(Self.names(groups[$0]!))" }.joined(separator: "; ")
            return result(.fail, expected, actual, "\(what) differs between nodes: \(actual)")
        }
        switch rule.check {
        case .hostsAgree:
            guard let inventory else { return result(.skip, "the same /etc/hosts entries", "no inventory", Evaluator.noInventory) }
            return agree("every inventory name mapped to the same address on every node", "/etc/hosts") { e in
                guard case .content(let bytes) = e.facts.node.read("/etc/hosts", limit: HostsFile.readLimit) else { return "no /etc/hosts" }
                let hosts = HostsFile.parse(bytes)
                return inventory.nodeNames.map { name in
                    "\(name)=\(hosts.entries.first { $0.names.contains(name) && !$0.address.contains(":") }?.address ?? "-")"
                }.joined(separator: " ")
            }
        case .hostnamesUnique:
            var byName: [String: [String]] = [:]
            for (label, evaluator, _) in nodes { byName[evaluator.facts.hostname, default: []].append(label) }
            let twins = byName.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }
            var problems = twins.map { "\($0.key) is the hostname of \($0.value.joined(separator: " and "))" }
            if let inventory {
                let strangers = nodes.filter { !inventory.nodeNames.contains($0.evaluator.facts.hostname) }
                problems += strangers.map { "\($0.label) is \($0.evaluator.facts.hostname), not one of NODE_NAMES (\(inventory.nodeNames.joined(separator: " ")))" }
            }
            let actual = nodes.map { "\($0.label): \($0.evaluator.facts.hostname)" }.joined(separator: ", ")
            return problems.isEmpty
                ? result(.pass, "unique hostnames from NODE_NAMES", actual)
                : result(.fail, "unique hostnames from NODE_NAMES", actual, problems.joined(separator: "; "))
        case .certificateIdentical(let path):
            let name = String(path.split(separator: "/").last ?? "")
            return agree("one \(name) (SHA-256) on every node", name) { e in
                switch e.facts.certificateFile(path) {
                case .missing: return "no \(name)"
                case .unreadable(let why): return "unreadable (\(why))"
                case .content(let contents):
                    for case .certificate(let c) in contents.certificates { return "SHA-256 " + c.info.sha256Fingerprint.prefix(23) + "…" }
                    return "no certificate in \(name)"
                }
            }
        case .fileIdentical(let path):
            let name = String(path.split(separator: "/").last ?? "")
            return agree("one \(name) on every node", name) { e in
                switch e.facts.node.fileDigest(path) {
                case .digest(let digest): return "sha256 " + digest.prefix(16) + "…"
                case .missing: return "no \(name)"
                case .unreadable(let why): return "unreadable (\(why))"
                }
            }
        case .kernelsAgree:
            return agree("one kernel release on every node", "The kernel") { e in
                if case .available(let release) = e.facts.kernelRelease { return release }
                return nil
            }
        case .sysctlAgree:
            let expected = "the same running value of every kernel parameter on every node"
            guard nodes.count >= 2 else { return result(.skip, expected, "\(nodes.count) node reached", "needs two nodes or more") }
            let checks = profile.rules.compactMap { rule -> SysctlCheck? in if case .sysctl(let c) = rule.check { return c } else { return nil } }
            let keys = checks.map(\.key)
            if keys.isEmpty { return result(.skip, expected, "no kernel parameter in the profile", "the profile has no sysctl rule") }
            // Only the keys whose values differ, each with its values and where. A key that newer
            // kernels removed (tcp_tw_recycle) is not a difference of its own: kernels-agree says it.
            var differing: [String] = []
            for check in checks {
                let key = check.key
                var groups: [String: [String]] = [:]
                var order: [String] = []
                for (label, evaluator, _) in nodes {
                    var value = "absent"
                    if case .content(let bytes) = evaluator.facts.node.read(SysctlConfig.procPath(key), limit: 64 << 10) {
                        value = String(decoding: bytes, as: UTF8.self).fields.joined(separator: " ")
                    } else if check.removedIn != nil {
                        continue
                    }
                    if groups[value] == nil { order.append(value) }
                    groups[value, default: []].append(label)
                }
                guard order.count > 1 else { continue }
                let ranked = order.sorted { groups[$0]!.count < groups[$1]!.count }
                differing.append("\(key): " + ranked.map { "\($0) on \(Self.names(groups[$0]!))" }.joined(separator: ", "))
            }
            if differing.isEmpty { return result(.pass, expected, "\(keys.count) parameters the same on \(nodes.count) nodes") }
            return result(.fail, expected, differing.joined(separator: "; "), "\(differing.count) kernel parameter\(differing.count == 1 ? " differs" : "s differ") between nodes")
        case .rootSSH:
            let expected = "root on the first node logs in to every node by key"
            guard let first = nodes.first(where: { $0.member.rootSSH != nil }), let results = first.member.rootSSH else {
                return result(.skip, expected, "not tried", "tried from the inventory's first node when kcheck reaches it (--cluster)")
            }
            let failing = results.filter { $0.result != "ok" }
            let actual = "from \(first.label): " + results.map { "\($0.address) \($0.result == "ok" ? "ok" : "refused")" }.joined(separator: ", ")
            return failing.isEmpty
                ? result(.pass, expected, actual)
                // One line per node it cannot reach, indented under the result in the text.
                : result(.fail, expected, actual, failing.map { "\(first.label) → \($0.address): \($0.result)" }.joined(separator: "\n"))
        case .unique(let fact):
            let expected = "no two nodes share \(fact.what)"
            guard nodes.count >= 2 else { return result(.skip, expected, "\(nodes.count) node reached", "needs two nodes or more") }
            var holders: [String: [String]] = [:]
            var order: [String] = []
            var unknown: [String] = []
            var paths: [String: String] = [:]
            for (label, evaluator, _) in nodes {
                guard let entries = fact.entries(on: evaluator.facts.node) else {
                    unknown.append(label)
                    continue
                }
                var seen: Set<String> = []
                for (value, path) in entries where seen.insert(value).inserted {
                    if holders[value] == nil {
                        order.append(value)
                        paths[value] = path
                    }
                    holders[value, default: []].append(label)
                }
            }
            let shared = order.filter { holders[$0]!.count > 1 }
            if shared.isEmpty {
                let seen = nodes.count - unknown.count
                return result(
                    unknown.isEmpty || seen >= 2 ? .pass : .error, expected,
                    "unique on \(seen) node\(seen == 1 ? "" : "s")" + (unknown.isEmpty ? "" : "; not readable on \(Self.names(unknown))"))
            }
            let actual = shared.map { "\($0) on \(Self.names(holders[$0]!))" }.joined(separator: "; ")
            let copies = shared.map { value in
                let holding = holders[value]!
                return "\(Self.names(Array(holding.dropFirst()))) \(holding.count == 2 ? "has" : "have") \(holding[0])'s \(value)"
            }
            return RuleResult(
                ruleID: rule.id, status: .fail, expected: expected, actual: actual,
                message: "Cloned machines: \(copies.joined(separator: "; ")). Give each its own (`kcheck rules show \(rule.id)` says how).",
                observation: .sharedIdentity(
                    SharedIdentity(fact: fact, copies: shared.map { SharedIdentity.Copy(value: $0, path: paths[$0] ?? "", holders: holders[$0]!) })))
        case .clocksAgree(let clockBound):
            let measured = nodes.compactMap { n in n.member.clockOffset.map { (n.label, $0) } }
            guard measured.count >= 2 else {
                return result(.skip, "clocks within \(clockBound) s", "\(measured.count) clock measured", "needs two nodes reached over SSH or more")
            }
            let offsets = measured.map { $0.1.seconds }
            let spread = (offsets.max() ?? 0) - (offsets.min() ?? 0)
            let slack = measured.map { $0.1.uncertainty }.max() ?? 0
            let actual = measured.map { "\($0.0) \(String(Int(($0.1.seconds * 1000).rounded()))) ms" }.joined(separator: ", ")
            return spread <= clockBound + 2 * slack
                ? result(.pass, "clocks within \(clockBound) s", "spread \(Int((spread * 1000).rounded())) ms (\(actual))")
                : result(.fail, "clocks within \(clockBound) s", "spread \(Int((spread * 1000).rounded())) ms (\(actual))",
                    "The clocks differ by \(Int((spread * 1000).rounded())) ms (measured over SSH, ±\(Int((slack * 1000).rounded())) ms)")
        }
    }
}
