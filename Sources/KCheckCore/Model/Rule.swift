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

    /// Parses the leading dotted numbers of a release string; nil when it starts with no number.
    public init?(parsing text: String) {
        var parts: [Int] = []
        var current: Int? = nil
        for byte in text.utf8 {
            if byte >= 48 && byte <= 57 {
                current = (current ?? 0) &* 10 &+ Int(byte - 48)
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

/// One rule: what the guide requires, why, and how to check and fix it. Immutable.
public struct Rule: Equatable, Sendable {
    public let id: String
    public let title: String
    public let severity: Severity
    /// DOCUMENTED-STATE item numbers this rule encodes.
    public let guide: [Int]
    public let rationale: String
    public let remediation: String
    public let check: Check
    /// Fixture expectations: the node trees this rule passes and fails on (tests walk them).
    public let tests: [RuleTest]

    public init(
        id: String, title: String, severity: Severity, guide: [Int], rationale: String, remediation: String,
        check: Check, tests: [RuleTest]
    ) {
        self.id = id
        self.title = title
        self.severity = severity
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
    public func clusterRule(id: String) -> ClusterRule? { clusterRules.first { $0.id == id } }
}
