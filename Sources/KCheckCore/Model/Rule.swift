/// How much a failing rule matters.
public enum Severity: String, Sendable, CaseIterable, Comparable {
    case critical, high, medium, low

    var rank: Int {
        switch self {
        case .critical: 0
        case .high: 1
        case .medium: 2
        case .low: 3
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// The distribution families whose names for services and packages differ.
public enum DistroFamily: String, Sendable, CaseIterable {
    case rhel, debian
}

/// A name that may differ by distribution family; nil means "not used on that family".
public struct DistroName: Equatable, Hashable, Sendable {
    public let rhel: String?
    public let debian: String?

    public init(rhel: String?, debian: String?) {
        self.rhel = rhel
        self.debian = debian
    }

    public init(_ both: String) { self.init(rhel: both, debian: both) }

    public func name(for family: DistroFamily) -> String? {
        switch family {
        case .rhel: rhel
        case .debian: debian
        }
    }

    /// The one name when both families agree.
    public var common: String? { rhel == debian ? rhel : nil }

    public var description: String {
        if let common { return common }
        return [rhel.map { "\($0) (rhel)" }, debian.map { "\($0) (debian)" }].compactMap { $0 }.joined(separator: ", ")
    }
}

/// A kernel release reduced to its leading numbers ("4.4.218-1.el7" → 4.4.218).
public struct KernelVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let parts: [Int]

    public init(_ parts: [Int]) { self.parts = parts }

    /// Parses the leading dotted numbers of a release string; nil when it starts with no number,
    /// or a number is past any kernel's (over a million: never wrapped into a small one).
    public init?(parsing text: String) {
        var parts: [Int] = []
        var current: Int? = nil
        for byte in text.utf8 {
            if byte >= 48 && byte <= 57 {
                current = (current ?? 0) * 10 + Int(byte - 48)
                if current! > 1_000_000 { return nil }
            } else if byte == 46, let value = current {
                parts.append(value)
                current = nil
            } else {
                break
            }
        }
        if let current { parts.append(current) }
        guard !parts.isEmpty else { return nil }
        self.parts = parts
    }

    public static func < (lhs: KernelVersion, rhs: KernelVersion) -> Bool {
        let count = max(lhs.parts.count, rhs.parts.count)
        for i in 0..<count {
            let a = i < lhs.parts.count ? lhs.parts[i] : 0
            let b = i < rhs.parts.count ? rhs.parts[i] : 0
            if a != b { return a < b }
        }
        return false
    }

    public static func == (lhs: KernelVersion, rhs: KernelVersion) -> Bool { !(lhs < rhs) && !(rhs < lhs) }

    public func hash(into hasher: inout Hasher) {
        var trimmed = parts
        while trimmed.last == 0 { trimmed.removeLast() }
        hasher.combine(trimmed)
    }

    public var description: String { parts.map(String.init).joined(separator: ".") }
}

/// When in a cluster's life a rule belongs: what `kcheck rules` groups by and `--phase` selects.
/// Every rule is judged whenever it is selected; a rule is written to be right in every phase (a
/// running-cluster rule does not apply until its component is installed, so a fresh node is clean).
public enum Phase: String, Sendable, CaseIterable, Comparable {
    /// The guide's part 1: the node prepared (DOCUMENTED-STATE items 1-30).
    case prepare
    /// What must hold before the components are installed, beyond the guide's own steps (the checks
    /// kubeadm's preflight and its peers make): capacity, cgroups, free ports, cloned-VM identity.
    case install
    /// The guide's parts 2-10: etcd, the control plane, kubelet and kube-proxy as installed and
    /// running (RUNNING-STATE items 31-51).
    case running

    /// How `kcheck rules` heads the group.
    public var heading: String {
        switch self {
        case .prepare: "Prepare the node (the guide's part 1)"
        case .install: "Install gates (before installing the components)"
        case .running: "The running cluster (the guide's parts 2-10)"
        }
    }

    public static func < (lhs: Phase, rhs: Phase) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// One rule: what the guide requires, why, and how to check and fix it. Immutable.
public struct Rule: Equatable, Sendable {
    public let id: String
    public let title: String
    public let severity: Severity
    public let phase: Phase
    /// DOCUMENTED-STATE (1-30) and RUNNING-STATE (31-51) item numbers this rule encodes.
    public let guide: [Int]
    public let rationale: String
    public let remediation: String
    public let check: Check
    /// Fixture expectations: the node trees this rule passes and fails on (tests walk them).
    public let tests: [RuleTest]

    public init(
        id: String, title: String, severity: Severity, phase: Phase = .prepare, guide: [Int], rationale: String, remediation: String,
        check: Check, tests: [RuleTest]
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

/// "On fixture tree `node`, this rule's status is `status` (and its message contains `message`)."
public struct RuleTest: Equatable, Sendable {
    public let node: String
    public let status: Status
    public let message: String?

    public init(node: String, status: Status, message: String? = nil) {
        self.node = node
        self.status = status
        self.message = message
    }
}

/// A named set of rules.
public struct Profile: Sendable {
    public let name: String
    public let rules: [Rule]
    /// The rules that compare nodes (a cluster run: --cluster, --hosts, --snapshots).
    public let clusterRules: [ClusterRule]

    public init(name: String, rules: [Rule], clusterRules: [ClusterRule] = []) {
        self.name = name
        self.rules = rules
        self.clusterRules = clusterRules
    }

    public func rule(id: String) -> Rule? { rules.first { $0.id == id } }

    /// The profile with only the rules of these phases.
    public func selecting(phases: Set<Phase>) -> Profile {
        Profile(name: name, rules: rules.filter { phases.contains($0.phase) }, clusterRules: clusterRules.filter { phases.contains($0.phase) })
    }
    public func clusterRule(id: String) -> ClusterRule? { clusterRules.first { $0.id == id } }
}
