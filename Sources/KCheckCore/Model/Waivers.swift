import KCheckNative

/// An exception a person approved: a rule (on every node, one node, or one certificate) that
/// may fail until a date, with the reason. Read from a waivers file (`--waivers FILE`, or
/// /etc/kcheck/waivers.yaml when present):
///
///     waivers:
///       - rule: sysctl.vm.swappiness
///         node: k8s-node02            # optional: every node when absent
///         reason: "vendor agent needs swappiness 10 until 2027"
///         approved_by: "ops lead"
///         expires: 2027-06-30
public struct Waiver: Sendable, Equatable {
    public let rule: String
    /// The node it is for (its hostname, or its name in the inventory or --hosts); nil: every node.
    public let node: String?
    /// A certificate's path: the waiver is for that certificate's result in `kcheck certs`.
    public let certificate: String?
    public let reason: String
    public let approvedBy: String
    /// The last day it holds, YYYY-MM-DD (UTC): it expires when that day ends.
    public let expires: String
    /// The first second after the last day, UTC.
    public let expiresAt: Int64
    /// The entry's place in the waivers file.
    public let location: SourceLocation

    public init(
        rule: String, node: String?, certificate: String?, reason: String, approvedBy: String, expires: String, expiresAt: Int64,
        location: SourceLocation
    ) {
        self.rule = rule
        self.node = node
        self.certificate = certificate
        self.reason = reason
        self.approvedBy = approvedBy
        self.expires = expires
        self.expiresAt = expiresAt
        self.location = location
    }
}

/// A waiver as applied to one result: what it waived, or that it had expired.
public struct AppliedWaiver: Sendable, Equatable {
    public let waiver: Waiver
    /// The result's own status (fail, warn or error).
    public let status: Status
    /// The waiver's last day had passed: the result fails, whatever its own status, and so
    /// does the run.
    public let expired: Bool

    public init(waiver: Waiver, status: Status, expired: Bool) {
        self.waiver = waiver
        self.status = status
        self.expired = expired
    }

    /// What reports say of it, naming its place in the waivers file.
    public var text: String {
        let w = waiver
        return expired
            ? "The waiver at \(w.location) expired on \(w.expires) (approved by \(w.approvedBy): \(w.reason))."
            : "Waived until \(w.expires) by \(w.approvedBy): \(w.reason) (\(w.location))."
    }
}

public enum Waivers {
    /// The file read when --waivers is not given, where present.
    public static let defaultPath = "/etc/kcheck/waivers.yaml"

    /// The waivers of a file, each checked: a rule id kcheck does not know (with the nearest
    /// one), a missing or unknown key, a date that is not YYYY-MM-DD, each with file:line:col.
    public static func parse(_ text: String, file: String, knownRules: Set<String>, clusterRules: Set<String> = []) throws(SourceError) -> [Waiver] {
        func fail(_ mark: YAMLMark, _ message: String) -> SourceError { SourceError(file: file, line: mark.line, column: mark.column, message: message) }
        guard let root = try YAML.parse(text, file: file) else { return [] }
        guard let top = root.mapping else { throw fail(root.mark, "a waivers file is a mapping with one key, `waivers:`, a list of waivers") }
        var list: [YAMLNode] = []
        for (key, value) in top {
            guard key.scalar?.string == "waivers" else { throw fail(key.mark, "unknown key `\(key.scalar?.string ?? "?")` (a waivers file has one key, `waivers:`)") }
            if value.isNull { continue }
            guard let items = value.sequence else { throw fail(value.mark, "`waivers:` is a list (each item starts with `- rule:`)") }
            list = items
        }
        var waivers: [Waiver] = []
        let keys = ["rule", "node", "certificate", "reason", "approved_by", "expires"]
        for item in list {
            guard let pairs = item.mapping else { throw fail(item.mark, "a waiver is a mapping: rule, reason, approved_by, expires (node and certificate optional)") }
            var fields: [String: YAMLScalar] = [:]
            for (key, value) in pairs {
                let name = key.scalar?.string ?? ""
                guard keys.contains(name) else {
                    throw fail(key.mark, "unknown key `\(name)`\(suggestion(name, keys)) (a waiver has: \(keys.joined(separator: ", ")))")
                }
                guard let scalar = value.scalar, !value.isNull, !scalar.string.trimmed.isEmpty else { throw fail(value.mark, "`\(name)` needs a value") }
                fields[name] = scalar
            }
            for name in ["rule", "reason", "approved_by", "expires"] where fields[name] == nil {
                throw fail(item.mark, "this waiver has no `\(name)` (every waiver names the rule, the reason, who approved it and when it expires)")
            }
            let rule = fields["rule"]!
            guard knownRules.contains(rule.string) else {
                throw fail(rule.mark, "no rule '\(rule.string)'\(suggestion(rule.string, Array(knownRules).sorted())) (see `kcheck rules`)")
            }
            if let node = fields["node"], clusterRules.contains(rule.string) {
                throw fail(node.mark, "\(rule.string) compares the nodes with each other: its waiver names no node")
            }
            let expires = fields["expires"]!
            guard let end = dayAfter(expires.string) else { throw fail(expires.mark, "`expires` is a date, YYYY-MM-DD (the last day the waiver holds); not `\(expires.string)`") }
            waivers.append(
                Waiver(
                    rule: rule.string, node: fields["node"]?.string, certificate: fields["certificate"]?.string, reason: fields["reason"]!.string,
                    approvedBy: fields["approved_by"]!.string, expires: expires.string, expiresAt: end,
                    location: SourceLocation(file: file, line: item.mark.line)))
        }
        return waivers
    }

    /// The first second (UTC) after the day YYYY-MM-DD; nil for anything else, or a day that
    /// does not exist.
    public static func dayAfter(_ text: String) -> Int64? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2, text.allSatisfy({ $0 == "-" || ("0"..."9").contains($0) }),
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), (1...12).contains(m), d >= 1
        else { return nil }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard d <= lengths[m - 1] else { return nil }
        // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return Int64(era * 146_097 + doe - 719_468 + 1) * 86_400
    }

    /// The report with each fail, warn or error result a waiver names (for this node, or every
    /// node) marked: `waived` while the waiver holds; after its last day the result fails (a
    /// warning or a could-not-check too) and says which waiver expired: an expired waiver fails
    /// the run. `names` are the
    /// node's names a waiver's `node:` may use (hostname, inventory or --hosts name).
    public static func apply(_ waivers: [Waiver], to report: Report, names: Set<String>, now: Int64) -> Report {
        guard !waivers.isEmpty else { return report }
        let certs = report.command == "certs"
        var changed = report
        changed.entries = report.entries.map { entry in
            guard [.fail, .warn, .error].contains(entry.result.status) else { return entry }
            let matching = waivers.filter { w in
                if let node = w.node, !names.contains(node) { return false }
                // In `kcheck certs` a result is a certificate (FILE, or FILE#n in a bundle): the
                // waiver names its file.
                if certs { return w.certificate.map { entry.subject.id == $0 || entry.subject.id.hasPrefix($0 + "#") } ?? false }
                return w.certificate == nil && w.rule == entry.subject.id
            }
            // A renewed waiver (a later entry with a later date) holds though the old one is
            // still in the file: one that holds wins; else the first, expired.
            guard let waiver = matching.first(where: { now < $0.expiresAt }) ?? matching.first else { return entry }
            let r = entry.result
            let applied = AppliedWaiver(waiver: waiver, status: r.status, expired: now >= waiver.expiresAt)
            let result = RuleResult(
                ruleID: r.ruleID, status: applied.expired ? .fail : .waived, expected: r.expected, actual: r.actual,
                message: applied.text + (r.message.isEmpty ? "" : " " + r.message), evidence: r.evidence, observation: r.observation)
            var waived = Report.Entry(subject: entry.subject, result: result, certificate: entry.certificate)
            waived.waiver = applied
            return waived
        }
        return changed
    }

    /// A cluster run's reports: each node's with the names it goes by (its label and hostname);
    /// the cluster rules' with waivers that name no node.
    public static func apply(_ waivers: [Waiver], to report: ClusterReport, now: Int64) -> ClusterReport {
        guard !waivers.isEmpty else { return report }
        var changed = report
        changed.nodes = report.nodes.map { node in
            (node.label, apply(waivers, to: node.report, names: [node.label, node.report.node.name], now: now))
        }
        changed.cluster = apply(waivers, to: report.cluster, names: [], now: now)
        return changed
    }

    /// The rules a waiver holds for now on a node going by `names` (kcheck fix leaves them as they are).
    public static func active(_ waivers: [Waiver], names: Set<String>, now: Int64) -> Set<String> {
        Set(waivers.filter { w in w.certificate == nil && now < w.expiresAt && (w.node.map(names.contains) ?? true) }.map(\.rule))
    }
}
