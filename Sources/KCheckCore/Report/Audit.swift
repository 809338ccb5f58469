import KCheckNative

/// What changed since the previous audit: rules newly failing, rules fixed, and values that
/// drifted (a rule's `actual` is not what it was).
public struct AuditChanges: Sendable, Equatable {
    public struct Drift: Sendable, Equatable {
        public let id: String
        public let old: String
        public let new: String
    }

    /// The previous report's file, nil when this is the first audit.
    public let previous: String?
    /// Rules that were passing (or not applicable, or absent) and now fail, cannot be checked or warn.
    public let newlyFailing: [String]
    /// Rules that were failing, uncheckable or warning and now pass or do not apply.
    public let fixed: [String]
    public let drift: [Drift]

    public var isEmpty: Bool { newlyFailing.isEmpty && fixed.isEmpty && drift.isEmpty }

    /// The changes from a previous JSON report (`kcheck-report`) to `report`.
    public static func compare(previous path: String?, json: String?, with report: Report) -> AuditChanges {
        guard let path, let json, let root = try? JSONDocument.parse(json), let results = root["results"]?.array else {
            return AuditChanges(previous: nil, newlyFailing: [], fixed: [], drift: [])
        }
        var before: [String: (status: Status, actual: String)] = [:]
        for item in results {
            guard let id = item["id"]?.string, let status = item["status"]?.string.flatMap(Status.init(rawValue:)) else { continue }
            before[id] = (status, item["actual"]?.string ?? "")
        }
        let bad: Set<Status> = [.fail, .error, .warn]
        var newly: [String] = [], fixed: [String] = [], drift: [Drift] = []
        for entry in report.entries {
            let id = entry.subject.id, now = entry.result
            let old = before[id]
            if bad.contains(now.status) && !(old.map { bad.contains($0.status) } ?? false) { newly.append(id) }
            if !bad.contains(now.status), let old, bad.contains(old.status) { fixed.append(id) }
            if let old, old.actual != now.actual { drift.append(Drift(id: id, old: old.actual, new: now.actual)) }
        }
        return AuditChanges(previous: path, newlyFailing: newly, fixed: fixed, drift: drift)
    }

    /// The changes for people, under a report's table.
    public func text() -> String {
        guard let previous else { return "First audit: nothing to compare with.\n" }
        if isEmpty { return "No change since \(previous).\n" }
        var out = "Changes since \(previous):\n"
        for id in newlyFailing { out += "  newly failing: \(id)\n" }
        for id in fixed { out += "  fixed:         \(id)\n" }
        for d in drift { out += "  drift:         \(d.id): \(d.old) → \(d.new)\n" }
        return out
    }
}

/// The Prometheus text format for node_exporter's textfile collector: a status per rule, counts
/// per status, when the audit ran and how long it took, and days until each certificate expires.
public enum PrometheusReporter {
    static func label(_ value: String) -> String { "\"" + escaped(value, ["\\": "\\\\", "\"": "\\\"", "\n": "\\n"]) + "\"" }

    /// `certificates`: each certificate's path and seconds until it expires.
    public static func render(_ report: Report, certificates: [(path: String, secondsLeft: Int64)]) -> String {
        let node = label(report.node.name)
        var out = "# HELP kcheck_rule_status 1 for the status each rule has now (pass, fail, warn, skip, error).\n"
        out += "# TYPE kcheck_rule_status gauge\n"
        for entry in report.entries {
            for status in Status.allCases {
                out += "kcheck_rule_status{node=\(node),rule=\(label(entry.subject.id)),severity=\(label(entry.subject.severity.rawValue)),status=\(label(status.rawValue))} \(entry.result.status == status ? 1 : 0)\n"
            }
        }
        out += "# HELP kcheck_results How many rules have each status.\n# TYPE kcheck_results gauge\n"
        let summary = report.summary
        for status in Status.allCases { out += "kcheck_results{node=\(node),status=\(label(status.rawValue))} \(summary[status])\n" }
        out += "# HELP kcheck_last_run_timestamp_seconds When the audit ran (Unix time).\n# TYPE kcheck_last_run_timestamp_seconds gauge\n"
        out += "kcheck_last_run_timestamp_seconds{node=\(node)} \(report.startedAt.seconds)\n"
        out += "# HELP kcheck_last_run_duration_seconds How long the audit's checks took.\n# TYPE kcheck_last_run_duration_seconds gauge\n"
        out += "kcheck_last_run_duration_seconds{node=\(node)} \(secondsText(report.durationSeconds))\n"
        out += "# HELP kcheck_last_run_passed 1 when no rule's status is one the run fails on.\n# TYPE kcheck_last_run_passed gauge\n"
        out += "kcheck_last_run_passed{node=\(node)} \(report.failed ? 0 : 1)\n"
        if !certificates.isEmpty {
            // Seconds, Prometheus's base unit (promtool refuses days): divide by 86400 for days.
            out += "# HELP kcheck_certificate_expiry_seconds Seconds until each certificate expires (negative: expired).\n"
            out += "# TYPE kcheck_certificate_expiry_seconds gauge\n"
            for c in certificates { out += "kcheck_certificate_expiry_seconds{node=\(node),path=\(label(c.path))} \(c.secondsLeft)\n" }
        }
        return out
    }
}
