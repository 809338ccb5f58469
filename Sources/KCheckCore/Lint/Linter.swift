import KCheckNative

/// The kinds of file `kcheck lint` knows.
public enum FileKind: String, CaseIterable, Sendable {
    case environment, sysctl, hosts, fstab
    case caConfig = "ca-config"
    case caCSR = "ca-csr"
}

/// Lints the files the guide has people write.
public enum Linter {
    /// The kind of a file from its name, then its content; nil when it cannot be told.
    public static func detect(path: String, bytes: [UInt8]) -> FileKind? {
        let name = String(path.split(separator: "/").last ?? "")
        switch name {
        case "environment.sh": return .environment
        case "hosts": return .hosts
        case "fstab": return .fstab
        case "ca-config.json": return .caConfig
        case "ca-csr.json": return .caCSR
        case "sysctl.conf": return .sysctl
        default: break
        }
        if path.contains("/sysctl.d/") && name.hasSuffix(".conf") { return .sysctl }
        let text = String(decoding: bytes.prefix(64 << 10), as: UTF8.self)
        if text.contains("NODE_IPS=") || text.contains("NODE_NAMES=") { return .environment }
        if text.trimmed.hasPrefix("{") {
            if text.contains("\"signing\"") { return .caConfig }
            if text.contains("\"CN\"") { return .caCSR }
            return nil
        }
        let lines = numberedLines(bytes.prefix(64 << 10).map { $0 }).map { $0.text.trimmed }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !lines.isEmpty else { return nil }
        if lines.allSatisfy({ line in
            let first = line.fields.first ?? ""
            return IPv4(first) != nil || HostsFile.isIPv6(String(first))
        }) { return .hosts }
        if lines.allSatisfy({ $0.fields.count >= 4 && ($0.fields[0].hasPrefix("/") || $0.fields[0].contains("=")) }) { return .fstab }
        if lines.allSatisfy({ $0.contains("=") && ($0.split(separator: "=").first ?? "").contains(".") }) { return .sysctl }
        return nil
    }

    /// At most this many findings of one file are listed; the rest are counted in one more finding
    /// (a 4 MiB junk /etc/hosts would otherwise make a report of hundreds of megabytes).
    public static let maxFindingsPerFile = 100

    public static func lint(path: String, bytes: [UInt8], kind: FileKind, node: Node?, inventory: Inventory?, profile: Profile) -> [Finding] {
        LintSession(node: node, inventory: inventory, profile: profile).lint(path: path, bytes: bytes, kind: kind)
    }

    /// The first `maxFindingsPerFile` findings, failures before errors before warnings (a failure
    /// is never hidden behind a hundred warnings), and one that counts the rest (with the worst
    /// status among them, so the verdict does not change).
    static func bounded(_ all: [Finding], path: String) -> [Finding] {
        guard all.count > maxFindingsPerFile else { return all }
        func rank(_ status: Status) -> Int { status == .fail ? 0 : status == .error ? 1 : 2 }
        let findings = all.enumerated().sorted { (rank($0.element.status), $0.offset) < (rank($1.element.status), $1.offset) }.map(\.element)
        let rest = findings[maxFindingsPerFile...]
        let statuses = Set(rest.map(\.status))
        let status: Status = statuses.contains(.fail) ? .fail : statuses.contains(.error) ? .error : .warn
        var counts: [LintCheck: Int] = [:]
        for finding in rest { counts[finding.check, default: 0] += 1 }
        let kinds = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.rawValue < $1.key.rawValue }
            .map { "\($0.value) \($0.key.rawValue)" }.joined(separator: ", ")
        return Array(findings.prefix(maxFindingsPerFile)) + [
            Finding(.more, status, at: rest.first!.location, "and \(rest.count) more findings in \(path) (\(kinds)), from this line on")
        ]
    }


    /// The node's own files the guide has people write, in the order they are linted when no
    /// file is named, with what reading each gave (missing files are left out; unreadable ones are
    /// kept, to be reported).
    public static func nodeFiles(_ node: Node) -> [(path: String, kind: FileKind, read: FileRead)] {
        var files: [(String, FileKind)] = [(Inventory.nodePath, .environment)]
        if case .success(let names) = node.list("/etc/sysctl.d") {
            for name in names where name.hasSuffix(".conf") { files.append(("/etc/sysctl.d/" + name, .sysctl)) }
        }
        files += [
            (SysctlConfig.legacyFile, .sysctl), ("/etc/hosts", .hosts), ("/etc/fstab", .fstab),
            ("/opt/k8s/work/ca-config.json", .caConfig), ("/opt/k8s/work/ca-csr.json", .caCSR),
        ]
        return files.compactMap { path, kind in
            let read = node.read(path, limit: kind == .hosts ? HostsFile.readLimit : defaultReadLimit)
            if case .missing = read { return nil }
            return (path, kind, read)
        }
    }

    /// A report of lint findings: each finding an entry; a file without findings one passing entry.
    public static func report(
        files: [(path: String, kind: FileKind, findings: [Finding])], node: NodeIdentity, policy: FailurePolicy,
        started: (seconds: Int64, nanoseconds: Int64), duration: Double
    ) -> Report {
        var entries: [Report.Entry] = []
        for file in files {
            if file.findings.isEmpty {
                let subject = Report.Subject(
                    id: LintCheck.clean.rawValue, title: "\(file.path) (\(file.kind.rawValue)) is lint-clean", severity: .low, guide: [],
                    remediation: "")
                entries.append(
                    Report.Entry(subject: subject, result: RuleResult(ruleID: subject.id, status: .pass, expected: "no findings", actual: "no findings", message: "")))
            }
            for finding in file.findings {
                let check = finding.check
                entries.append(
                    Report.Entry(
                        subject: check.subject,
                        result: RuleResult(
                            ruleID: check.rawValue, status: finding.status, expected: check.title, actual: finding.place,
                            message: finding.message, evidence: [finding.location])))
            }
        }
        return Report(
            toolVersion: Engine.version, command: "lint", profile: "lint", node: node, startedAt: started, durationSeconds: duration,
            entries: entries, policy: policy)
    }
}

/// One lint run over the files of one node: what every file is judged against (the node's whole
/// sysctl set, the profile's values) is read once for all of them, so linting n files takes time
/// linear in n (5,000 sysctl.d files: each was re-reading all the others).
public final class LintSession {
    public let node: Node?
    public let inventory: Inventory?
    public let profile: Profile

    public init(node: Node?, inventory: Inventory?, profile: Profile) {
        self.node = node
        self.inventory = inventory
        self.profile = profile
    }

    private(set) lazy var facts: NodeFacts? = node.map { NodeFacts(node: $0, wantedUnits: []) }

    private(set) lazy var sysctlChecks: [String: SysctlCheck] = Dictionary(
        profile.rules.compactMap { rule -> (String, SysctlCheck)? in
            if case .sysctl(let c) = rule.check { return (c.key, c) }
            return nil
        }, uniquingKeysWith: { a, _ in a })

    /// The files the node's sysctl set reads.
    private(set) lazy var sysctlSources: Set<String> = Set(facts?.sysctlConfig.entries.map(\.source) ?? [])

    /// The node's sysctl set in boot order, by key.
    private lazy var sysctlBootIndex: [String: [SysctlAssignment]] = SysctlConfig.index(facts?.sysctlConfig.assignments ?? [])
    private var summaries: [String: KeySettings] = [:]

    /// Where the node's set assigns a key, counted once per session.
    func sysctlSummary(_ key: String) -> KeySettings {
        if let done = summaries[key] { return done }
        let summary = KeySettings(sysctlBootIndex[key] ?? [])
        summaries[key] = summary
        return summary
    }

    /// A file's findings, at most `Linter.maxFindingsPerFile` of them listed.
    public func lint(path: String, bytes: [UInt8], kind: FileKind) -> [Finding] {
        let findings: [Finding]
        switch kind {
        case .environment: findings = EnvironmentLinter.lint(bytes, path: path)
        case .sysctl: findings = SysctlLinter.lint(path: path, bytes: bytes, session: self)
        case .hosts: findings = HostsFile.parse(bytes, path: path).findings(inventory: inventory)
        case .fstab: findings = Fstab.findings(bytes, path: path)
        case .caConfig, .caCSR: findings = CAFileLinter.lint(bytes, path: path, kind: kind)
        }
        return Linter.bounded(findings, path: path)
    }
}
