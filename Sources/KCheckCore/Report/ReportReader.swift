/// Reads saved JSON reports back (`kcheck report`): a `kcheck-report` or a
/// `kcheck-cluster-report`, checked field by field, with the place of the first thing wrong.
public enum ReportReader {
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public enum Saved {
        case node(Report)
        case cluster(ClusterReport)
    }

    public static func read(_ text: String, file: String) throws(Problem) -> Saved {
        let root: JSONNode
        do throws(SyntaxError) { root = try JSONDocument.parse(text) } catch {
            throw Problem(description: "\(file):\(error.line):\(error.column): \(error.message)")
        }
        switch root["format"]?.string {
        case "kcheck-report": return .node(try report(root, file: file))
        case "kcheck-cluster-report":
            guard let nodes = root["nodes"]?.array, let cluster = root["cluster"] else { throw Problem(description: "\(file): a cluster report without nodes or cluster") }
            var reports: [(label: String, report: Report)] = []
            for node in nodes {
                guard let label = node["host"]?.string, let r = node["report"] else { throw Problem(description: "\(file):\(node.line): a node without host or report") }
                reports.append((label, try report(r, file: file)))
            }
            return .cluster(ClusterReport(nodes: reports, cluster: try report(cluster, file: file)))
        default:
            throw Problem(description: "\(file):\(root.line): not a kcheck report (no \"format\": \"kcheck-report\")")
        }
    }

    static func report(_ o: JSONNode, file: String) throws(Problem) -> Report {
        func need(_ node: JSONNode, _ key: String) throws(Problem) -> String {
            guard let value = node[key]?.string else { throw Problem(description: "\(file):\(node.line): \"\(key)\" is missing or not a string") }
            return value
        }
        let node = try o["node"].map { n throws(Problem) in
            NodeIdentity(name: try need(n, "name"), source: try need(n, "source"), distribution: try need(n, "distribution"), kernel: try need(n, "kernel"))
        } ?? NodeIdentity(name: "unknown", source: "unknown", distribution: "", kernel: "")
        // A report has its results as an array; anything else is not a kcheck report.
        guard let results = o["results"]?.array else {
            throw Problem(description: "\(file):\(o["results"]?.line ?? o.line): \"results\" is missing or not an array: not a kcheck report")
        }
        var entries: [Report.Entry] = []
        var fixable: Set<String> = []
        for item in results {
            guard let status = Status(rawValue: try need(item, "status")), let severity = Severity(rawValue: try need(item, "severity")) else {
                throw Problem(description: "\(file):\(item.line): an unknown status or severity")
            }
            let id = try need(item, "id")
            let evidence = (item["evidence"]?.array ?? []).compactMap { e in e["file"]?.string.map { SourceLocation(file: $0, line: e["line"]?.int ?? 0) } }
            entries.append(
                Report.Entry(
                    subject: Report.Subject(
                        id: id, title: try need(item, "title"), severity: severity, phase: item["phase"]?.string.flatMap(Phase.init(rawValue:)), guide: (item["guide"]?.array ?? []).compactMap(\.int),
                        remediation: try need(item, "remediation")),
                    result: RuleResult(
                        ruleID: id, status: status, expected: try need(item, "expected"), actual: try need(item, "actual"),
                        message: try need(item, "message"), evidence: evidence, observation: item["observation"].flatMap(sysctlObservation), advice: item["advice"]?.string)))
            if item["fixable"]?.value == .bool(true) { fixable.insert(id) }
            if let w = item["waiver"], let status = w["status"]?.string.flatMap(Status.init(rawValue:)), let file = w["file"]?.string,
                let line = w["line"]?.int, let expires = w["expires"]?.string, let end = Waivers.dayAfter(expires)
            {
                entries[entries.count - 1].waiver = AppliedWaiver(
                    waiver: Waiver(
                        rule: w["rule"]?.string ?? id, node: w["node"]?.string, certificate: w["certificate"]?.string, reason: w["reason"]?.string ?? "",
                        approvedBy: w["approved_by"]?.string ?? "", expires: expires, expiresAt: end, location: SourceLocation(file: file, line: line)),
                    status: status, expired: w["expired"]?.value == .bool(true))
            }
        }
        // A format this kcheck does not know, or a summary its own results contradict (results cut
        // out of a failing report), is not read as a report: its verdict would be wrong.
        if let version = o["format_version"] {
            guard version.int == Report.formatVersion else {
                throw Problem(description: "\(file):\(version.line): \"format_version\" is not \(Report.formatVersion): this kcheck reads format \(Report.formatVersion) only")
            }
        }
        if let summary = o["summary"] {
            for status in Status.allCases {
                let counted = entries.filter { $0.result.status == status }.count
                guard let said = summary[status.rawValue] else { continue }
                guard said.int == counted else {
                    throw Problem(description: "\(file):\(said.line): the summary says \(status.rawValue) \(said.int.map(String.init) ?? "something that is not a count") but the results hold \(counted): not a report kcheck wrote, or one cut short")
                }
            }
            if let total = summary["total"], total.int != entries.count {
                throw Problem(description: "\(file):\(total.line): the summary says total \(total.int.map(String.init) ?? "?") but the results hold \(entries.count): not a report kcheck wrote, or one cut short")
            }
        }
        let failOn = Set((o["fail_on"]?.array ?? []).compactMap { $0.string.flatMap(Status.init(rawValue:)) })
        let started = epoch(o["started_at"]?.string ?? "")
        var report = Report(
            toolVersion: o["tool"]?["version"]?.string ?? "", command: o["command"]?.string ?? "preflight", profile: o["profile"]?.string ?? "",
            node: node, startedAt: (started, 0), durationSeconds: try duration(o, file: file), entries: entries, policy: FailurePolicy(failOn))
        report.fixable = fixable
        if let changes = o["changes"], case .object = changes.value {
            report.changes = AuditChanges(
                previous: changes["previous"]?.string, newlyFailing: (changes["newly_failing"]?.array ?? []).compactMap(\.string),
                fixed: (changes["fixed"]?.array ?? []).compactMap(\.string),
                drift: (changes["drift"]?.array ?? []).compactMap { d in
                    guard let id = d["id"]?.string, let old = d["old"]?.string, let new = d["new"]?.string else { return nil }
                    return AuditChanges.Drift(id: id, old: old, new: new)
                })
        }
        return report
    }

    /// A result's kernel-parameter observation, as JSONReporter writes it (the text report's
    /// table is made from it); nil for any other kind, or one not whole.
    static func sysctlObservation(_ o: JSONNode) -> Observation? {
        guard o["kind"]?.string == "sysctl", let key = o["key"]?.string, let wanted = o["wanted"]?.string, let after = o["after_reboot"] else { return nil }
        func location(_ text: String?) -> SourceLocation? {
            guard let text, let colon = text.lastIndex(of: ":"), let line = Int(text[text.index(after: colon)...]) else { return nil }
            return SourceLocation(file: String(text[..<colon]), line: line)
        }
        let afterReboot: SysctlObservation.AfterReboot
        switch after["state"]?.string {
        case "set":
            guard let value = after["value"]?.string, let from = location(after["from"]?.string) else { return nil }
            afterReboot = .set(value, from)
        case "kernel-default":
            guard let value = after["value"]?.string else { return nil }
            afterReboot = .kernelDefault(value)
        case "absent":
            guard let module = after["module"]?.string else { return nil }
            afterReboot = .absent(module: module)
        case "removed": afterReboot = .removed
        case "unknown": afterReboot = .unknown
        default: return nil
        }
        var applyNow: SysctlAssignment?
        if let now = o["sysctl_system"], let value = now["value"]?.string, let from = location(now["from"]?.string) {
            applyNow = SysctlAssignment(key: key, value: value, location: from)
        }
        return .sysctl(SysctlObservation(key: key, wanted: wanted, running: o["running"]?.string, afterReboot: afterReboot, applyNow: applyNow))
    }

    /// `duration_seconds`: a finite number of seconds, 0 or more and under a year (1e400 is
    /// infinite as a Double, and every reporter would trap on it).
    static func duration(_ o: JSONNode, file: String) throws(Problem) -> Double {
        guard let node = o["duration_seconds"] else { return 0 }
        guard case .number(let text) = node.value, let value = Double(text), value.isFinite, value >= 0, value < 31_536_000 else {
            throw Problem(description: "\(file):\(node.line): \"duration_seconds\" must be a number of seconds from 0 to a year")
        }
        return value
    }

    /// "2026-11-29T23:13:21.067Z" → seconds since the epoch (0 when it is not that form).
    static func epoch(_ text: String) -> Int64 {
        let digits = text.utf8.map { Int($0) - 48 }
        guard text.utf8.count >= 19 else { return 0 }
        func number(_ range: Range<Int>) -> Int { range.reduce(0) { $0 * 10 + max(0, min(9, digits[$1])) } }
        let (y, m, d) = (number(0..<4), number(5..<7), number(8..<10))
        let seconds = number(11..<13) * 3600 + number(14..<16) * 60 + number(17..<19)
        // Days from the civil date (proleptic Gregorian).
        let year = m <= 2 ? y - 1 : y
        let era = (year >= 0 ? year : year - 399) / 400
        let yoe = year - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return Int64(era * 146097 + doe - 719468) * 86400 + Int64(seconds)
    }
}
