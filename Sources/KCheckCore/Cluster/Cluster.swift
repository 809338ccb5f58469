import KCheckNative

/// What the cluster rules compare across nodes. A closed set, judged by one exhaustive switch.
public enum ClusterCheck: String, Sendable, CaseIterable {
    /// Every node's /etc/hosts maps each inventory name to the same address.
    case hostsAgree = "hosts_agree"
    /// Hostnames are unique and are exactly the inventory's NODE_NAMES.
    case hostnamesUnique = "hostnames_unique"
    /// /etc/kubernetes/cert/ca.pem is the same certificate (SHA-256) everywhere.
    case caIdentical = "ca_identical"
    /// /opt/k8s/bin/environment.sh is byte for byte the same everywhere.
    case environmentIdentical = "environment_identical"
    /// Every node runs the same kernel release.
    case kernelsAgree = "kernels_agree"
    /// The kernel parameters of the profile's sysctl rules have the same running value everywhere.
    case sysctlAgree = "sysctl_agree"
    /// The nodes' clocks agree within a bound, measured over the connection.
    case clocksAgree = "clocks_agree"
    /// root on the first node logs in to every node by key, without a password.
    case rootSSH = "root_ssh"

    /// Whether the result's value is a measurement taken afresh each run (so a change of it is
    /// no drift; a change of status still counts).
    public var isMeasurement: Bool {
        switch self {
        case .clocksAgree: true
        case .hostsAgree, .hostnamesUnique, .caIdentical, .environmentIdentical, .kernelsAgree, .sysctlAgree, .rootSSH: false
        }
    }
}

/// A rule about the whole cluster. Immutable, like `Rule`.
public struct ClusterRule: Sendable {
    public let id: String
    public let title: String
    public let severity: Severity
    public let guide: [Int]
    public let rationale: String
    public let remediation: String
    public let check: ClusterCheck

    /// The cluster rules (DOCUMENTED-STATE items 3, 16, 20 and the agreement the guide assumes).
    public static let all: [ClusterRule] = [
        ClusterRule(
            id: "cluster.hosts-agree", title: "/etc/hosts maps every node the same way on every node", severity: .high, guide: [2],
            rationale: "Certificates, etcd peers and kubelets find each other by name: a node whose /etc/hosts sends a name elsewhere talks to the wrong machine.",
            remediation: "Make /etc/hosts the same on every node for the inventory's names (`kcheck fix --env environment.sh` writes them in a block it owns).",
            check: .hostsAgree),
        ClusterRule(
            id: "cluster.hostnames-unique", title: "Hostnames are unique and are the inventory's NODE_NAMES", severity: .critical, guide: [1, 2],
            rationale: "kubelet registers a node by its hostname and etcd names members after it: two nodes with one name overwrite each other.",
            remediation: "hostnamectl set-hostname NODE_NAMES[i] on the node whose address is NODE_IPS[i].", check: .hostnamesUnique),
        ClusterRule(
            id: "cluster.ca-identical", title: "ca.pem is the same certificate on every node", severity: .critical, guide: [20],
            rationale: "The CA is made once on the first node and copied: a node with another ca.pem rejects every certificate the others present.",
            remediation: "Copy /etc/kubernetes/cert/ca.pem (and ca-key.pem, ca-config.json) from the first node to every node.", check: .caIdentical),
        ClusterRule(
            id: "cluster.environment-identical", title: "environment.sh is the same on every node", severity: .high, guide: [16],
            rationale: "Every step of the guide sources environment.sh: different copies give nodes different views of the cluster.",
            remediation: "Copy /opt/k8s/bin/environment.sh from the first node to every node.", check: .environmentIdentical),
        ClusterRule(
            id: "cluster.kernels-agree", title: "Every node runs the same kernel", severity: .medium, guide: [12],
            rationale: "The guide upgrades every node to the same long-term kernel; a node left on another behaves differently (cgroups, conntrack, IPVS).",
            remediation: "Install the same kernel on every node and make it grub's default entry.", check: .kernelsAgree),
        ClusterRule(
            id: "cluster.sysctl-agree", title: "The kernel parameters are the same on every node", severity: .medium, guide: [14],
            rationale: "Nodes with different forwarding, conntrack or inotify limits fail differently under the same load.",
            remediation: "Apply the same sysctl file on every node (`kcheck fix` on each).", check: .sysctlAgree),
        ClusterRule(
            id: "cluster.clocks-agree", title: "The nodes' clocks agree within 1 s", severity: .critical, guide: [9, 10],
            rationale: "etcd's leases and TLS validity need agreeing clocks; chrony on every node keeps them within milliseconds.",
            remediation: "Enable and start chronyd on every node and check `chronyc tracking`.", check: .clocksAgree),
        ClusterRule(
            id: "cluster.root-ssh", title: "root on the first node logs in to every node by key", severity: .high, guide: [3],
            rationale: "The guide distributes binaries, certificates and configuration from the first node with scp and ssh as root, without a password.",
            remediation: "On the first node: ssh-keygen -t rsa, then ssh-copy-id root@NODE for every node (and accept each host key once).",
            check: .rootSSH),
    ]
}

/// One node of a cluster run: what it is called, and either its facts to judge or why it could
/// not be reached.
public struct ClusterMember {
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
        self.problem = problem
        self.clockOffset = clockOffset
    }
}

/// The report of a cluster run: one report per node, and one for the cluster rules.
public struct ClusterReport: Sendable {
    public let nodes: [(label: String, report: Report)]
    public let cluster: Report

    public var failed: Bool { cluster.failed || nodes.contains { $0.report.failed } }

    public init(nodes: [(label: String, report: Report)], cluster: Report) {
        self.nodes = nodes
        self.cluster = cluster
    }
}

public enum ClusterEngine {
    /// Judges every member with the profile, then the cluster rules across them. With an
    /// `inventory` (--env) every node is judged with it; without, each node with its own
    /// environment.sh, and the cluster rules with the first reachable node's (the report says so).
    public static func run(
        profile: Profile, members: [ClusterMember], inventory explicit: Inventory?, policy: FailurePolicy, command: String = "preflight",
        only: Set<String>? = nil, clockBound: Double = 1.0
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
        let entries = ClusterRule.all.map { rule in
            Report.Entry(
                subject: Report.Subject(id: rule.id, title: rule.title, severity: rule.severity, guide: rule.guide, remediation: rule.remediation),
                result: judge(rule, evaluators, unreachable: unreachable, profile: profile, inventory: clusterInventory, clockBound: clockBound))
        }
        let identity = NodeIdentity(name: "cluster of \(members.count) nodes (\(inventorySource))", source: "cluster", distribution: "", kernel: "")
        let cluster = Report(
            toolVersion: Engine.version, command: command, profile: profile.name, node: identity, startedAt: started,
            durationSeconds: Double(Posix.monotonicNanoseconds() - clock) / 1e9, entries: entries, policy: policy)
        return ClusterReport(nodes: reports, cluster: cluster)
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

    static func judge(
        _ rule: ClusterRule, _ nodes: [(label: String, evaluator: Evaluator, member: ClusterMember)], unreachable: [String],
        profile: Profile, inventory: Inventory?, clockBound: Double
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
                guard case .content(let bytes) = e.facts.node.read("/etc/hosts", limit: defaultReadLimit) else { return "no /etc/hosts" }
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
        case .caIdentical:
            return agree("one ca.pem (SHA-256) on every node", "ca.pem") { e in
                switch e.facts.certificateFile("/etc/kubernetes/cert/ca.pem") {
                case .missing: return "no ca.pem"
                case .unreadable(let why): return "unreadable (\(why))"
                case .content(let contents):
                    for case .certificate(let c) in contents.certificates { return "SHA-256 " + c.info.sha256Fingerprint.prefix(23) + "…" }
                    return "no certificate in ca.pem"
                }
            }
        case .environmentIdentical:
            return agree("one environment.sh on every node", "environment.sh") { e in
                switch e.facts.node.fileDigest(Inventory.nodePath) {
                case .digest(let digest): return "sha256 " + digest.prefix(16) + "…"
                case .missing: return "no environment.sh"
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
                : result(.fail, expected, actual, failing.map { "\(first.label) → \($0.address): \($0.result)" }.joined(separator: "; "))
        case .clocksAgree:
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
