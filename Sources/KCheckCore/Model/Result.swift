/// The outcome of one rule on one node.
public enum Status: String, Sendable, CaseIterable, Comparable {
    /// The node is as documented.
    case pass
    /// The node differs from the documented state.
    case fail
    /// The node is as documented now, but something makes it fragile (will not hold at reboot).
    case warn
    /// The rule does not apply to this node (the key is gone from this kernel, no SELinux here).
    case skip
    /// kcheck could not check (a fact is unavailable or unreadable). Never a silent pass.
    case error
    /// It failed (or warned, or could not be checked), and a waiver a person approved holds for
    /// it until its date: it does not fail the run.
    case waived

    /// Order in reports: what needs attention first.
    var rank: Int {
        switch self {
        case .fail: 0
        case .error: 1
        case .warn: 2
        case .waived: 3
        case .pass: 4
        case .skip: 5
        }
    }

    public static func < (lhs: Status, rhs: Status) -> Bool { lhs.rank < rhs.rank }
}

/// A place in a file that decided a result.
public struct SourceLocation: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}

/// What a rule found on a node: separate from the rule, never mutating it.
public struct RuleResult: Equatable, Sendable {
    public let ruleID: String
    public let status: Status
    public let expected: String
    public let actual: String
    public let message: String
    public let evidence: [SourceLocation]
    /// What the check saw, typed (kernel parameters so far).
    public let observation: Observation?
    /// What to do on this node, computed from what was seen, where the rule's remediation (a text
    /// for every node) would not work here: the unit this distribution names, the package to
    /// install, a file to copy rather than to chmod. nil: the remediation holds.
    public let advice: String?

    public init(
        ruleID: String, status: Status, expected: String, actual: String, message: String, evidence: [SourceLocation] = [],
        observation: Observation? = nil, advice: String? = nil
    ) {
        self.ruleID = ruleID
        self.status = status
        self.expected = expected
        self.actual = actual
        self.message = message
        self.evidence = evidence
        self.observation = observation
        self.advice = advice
    }
}

/// Who was checked.
public struct NodeIdentity: Equatable, Sendable {
    /// The node's hostname.
    public let name: String
    /// "live", or "tree:DIR" for a node tree.
    public let source: String
    public let distribution: String
    public let kernel: String

    public init(name: String, source: String, distribution: String, kernel: String) {
        self.name = name
        self.source = source
        self.distribution = distribution
        self.kernel = kernel
    }
}

public struct Summary: Equatable, Sendable {
    public private(set) var counts: [Status: Int] = [:]
    public var total: Int { counts.values.reduce(0, +) }
    public subscript(status: Status) -> Int { counts[status, default: 0] }

    public init(_ statuses: some Sequence<Status>) {
        for status in statuses { counts[status, default: 0] += 1 }
    }
}

/// Which statuses make a run unsuccessful (exit status 1). The default counts fail and error:
/// a rule kcheck could not check is not a pass.
public struct FailurePolicy: Equatable, Sendable {
    public let statuses: Set<Status>

    public init(_ statuses: Set<Status>) { self.statuses = statuses }

    public static let `default` = FailurePolicy([.fail, .error])

    public func isFailure(_ status: Status) -> Bool { statuses.contains(status) }
}

/// One run of a profile on one node: the rules, their results, and when and how long.
public struct Report: Sendable {
    public static let formatVersion = 1

    /// What a result is about: a rule, or a lint check.
    public struct Subject: Sendable, Equatable {
        public let id: String
        public let title: String
        public let severity: Severity
        /// The rule's phase (nil: not a rule, a lint check or a certificate).
        public let phase: Phase?
        public let guide: [Int]
        public let remediation: String

        public init(id: String, title: String, severity: Severity, phase: Phase? = nil, guide: [Int], remediation: String) {
            self.id = id
            self.title = title
            self.severity = severity
            self.phase = phase
            self.guide = guide
            self.remediation = remediation
        }

        public init(_ rule: Rule) {
            self.init(id: rule.id, title: rule.title, severity: rule.severity, phase: rule.phase, guide: rule.guide, remediation: rule.remediation)
        }
    }

    public struct Entry: Sendable {
        public let subject: Subject
        public let result: RuleResult
        /// What `kcheck certs` read from the certificate this entry is about.
        public let certificate: CertificateDetails?
        /// The waiver that waived this result, or that had expired.
        public var waiver: AppliedWaiver?

        public init(subject: Subject, result: RuleResult, certificate: CertificateDetails? = nil) {
            self.subject = subject
            self.result = result
            self.certificate = certificate
        }

        public init(rule: Rule, result: RuleResult) { self.init(subject: Subject(rule), result: result) }

        /// What to do about this result on its node: the advice computed from what was seen, else
        /// the rule's remediation.
        public var fix: String { result.advice ?? subject.remediation }
    }

    public let toolVersion: String
    public let command: String
    public let profile: String
    public let node: NodeIdentity
    /// Start time, seconds and nanoseconds since the epoch.
    public let startedAt: (seconds: Int64, nanoseconds: Int64)
    public let durationSeconds: Double
    public internal(set) var entries: [Entry]
    public let policy: FailurePolicy
    /// What `kcheck fix` did before this evaluation, in plan order (empty for other commands).
    public var actions: [ActionRecord] = []
    /// The fix run's id, when it changed something (`kcheck undo RUN`).
    public var run: String?
    /// `kcheck audit`: what changed since the previous audit.
    public var changes: AuditChanges?
    /// The failing rules `kcheck fix` has an action for on this node (the plan it would make).
    public var fixable: Set<String> = []

    /// One applied action, as reports show it.
    public struct ActionRecord: Sendable, Equatable {
        public let summary: String
        public let rules: [String]
        /// applied, already-in-place, failed or needs-reboot.
        public let outcome: String
        /// Why it failed.
        public let reason: String?
        /// old → new, for a runtime change.
        public let change: String?
        /// Commands run (live) or that the live node would run (tree), as argv.
        public let commands: [[String]]

        public init(summary: String, rules: [String], outcome: String, reason: String?, change: String?, commands: [[String]]) {
            self.summary = summary
            self.rules = rules
            self.outcome = outcome
            self.reason = reason
            self.change = change
            self.commands = commands
        }
    }

    public init(
        toolVersion: String, command: String, profile: String, node: NodeIdentity,
        startedAt: (seconds: Int64, nanoseconds: Int64), durationSeconds: Double, entries: [Entry],
        policy: FailurePolicy
    ) {
        self.toolVersion = toolVersion
        self.command = command
        self.profile = profile
        self.node = node
        self.startedAt = startedAt
        self.durationSeconds = durationSeconds
        self.entries = entries
        self.policy = policy
    }

    public var summary: Summary { Summary(entries.map(\.result.status)) }

    /// Whether any result's status is one the policy counts as failure.
    public var failed: Bool { entries.contains { policy.isFailure($0.result.status) } }

    /// Entries in reading order: failures first, then by severity, then by rule id.
    public var entriesByAttention: [Entry] {
        entries.enumerated().sorted { a, b in
            if a.element.result.status != b.element.result.status { return a.element.result.status < b.element.result.status }
            if a.element.subject.severity != b.element.subject.severity { return a.element.subject.severity < b.element.subject.severity }
            return a.offset < b.offset
        }.map(\.element)
    }
}
