/// The report people read, verdict first. A rules report (preflight, audit, fix) groups its
/// results by area (the rule id's first part), the areas with the most severe failures first; the
/// kernel parameters as one table; passing rules one line per area unless --verbose; the last
/// line points to `kcheck fix --dry-run` when kcheck can fix some failures. `certs` and `lint`
/// list their results, problems first.
public enum TextReporter: Reporter {
    public static let fileExtension = "txt"

    public static func render(_ report: Report, options: RenderOptions) -> String {
        var text = Text(report: report, options: options)
        return ["certs", "lint"].contains(report.command) ? text.listing() : text.byArea()
    }

    /// One rendering: what every part of the text shares. Everything from the report is made
    /// `visible`: a node's hostname or a file's line cannot send escape sequences to the
    /// terminal; only `paint` colours.
    struct Text {
        let report: Report
        let options: RenderOptions
        var out = ""
        let indent = "  "

        func paint(_ text: String, _ code: String) -> String { options.color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        func v(_ text: String) -> String { visible(text) }
        func one(_ text: String) -> String { visible(text, singleLine: true) }
        func label(_ status: Status) -> String {
            switch status {
            case .pass: paint("PASS  ", "32")
            case .fail: paint("FAIL  ", "1;31")
            case .warn: paint("WARN  ", "33")
            case .skip: paint("SKIP  ", "2")
            case .error: paint("ERROR ", "35")
            case .waived: paint("WAIVED", "34")
            }
        }
        var needsPerson: (Report.Entry) -> Bool { { [.fail, .warn, .error].contains($0.result.status) } }

        /// The first line (who and what) and the verdict with the counts.
        mutating func header() {
            // The cluster rules' report has no source, distribution or kernel of its own: no empty parts.
            let parts = [
                report.node.source == "cluster" ? one(report.node.name) : "\(one(report.node.name)) (\(one(report.node.source)))",
                report.node.distribution.isEmpty ? nil : one(report.node.distribution),
                report.node.kernel.isEmpty ? nil : "kernel \(one(report.node.kernel))",
                "profile \(one(report.profile))",
            ].compactMap { $0 }
            out += "kcheck \(report.command) · " + parts.joined(separator: " · ") + "\n"
            let s = report.summary
            let verdict = report.failed ? paint("FAILED", "1;31") : paint("PASSED", "1;32")
            let failing = report.entries.filter { $0.result.status == .fail }
            let bySeverity = Severity.allCases.compactMap { severity -> String? in
                let n = failing.filter { $0.subject.severity == severity }.count
                return n == 0 ? nil : "\(n) \(severity.rawValue)"
            }
            var counts: [String] = []
            if s[.fail] > 0 { counts.append("\(s[.fail]) failed" + (bySeverity.isEmpty ? "" : " (\(bySeverity.joined(separator: ", ")))")) }
            if s[.error] > 0 { counts.append("\(s[.error]) could not be checked") }
            if s[.warn] > 0 { counts.append("\(s[.warn]) warning\(s[.warn] == 1 ? "" : "s")") }
            if s[.waived] > 0 { counts.append("\(s[.waived]) waived") }
            let expired = report.entries.filter { $0.waiver?.expired == true }.count
            if expired > 0 { counts.append("\(expired) waiver\(expired == 1 ? "" : "s") expired") }
            counts.append("\(s[.pass]) passed")
            if s[.skip] > 0 { counts.append("\(s[.skip]) not applicable") }
            let noun = ["certs", "lint"].contains(report.command) ? "result" : "rule"
            out += "\(verdict): \(s.total) \(noun)\(s.total == 1 ? "" : "s"), " + counts.joined(separator: ", ") + " (\(secondsText(report.durationSeconds)) s)\n"
        }

        /// A result needing a person, on one line (and, --verbose, what was expected and seen and
        /// the rule's remediation under it).
        mutating func line(_ entry: Report.Entry, idWidth: Int) {
            let message = entry.result.message.isEmpty ? entry.result.actual : entry.result.message
            // A message of several lines (one per node): each line indented under the result.
            let body = v(message).replacingAll("\n", with: "\n" + indent + String(repeating: " ", count: idWidth + 18))
            out += indent + "\(label(entry.result.status)) \(entry.subject.severity.rawValue.padded(to: 8)) \(one(entry.subject.id).padded(to: idWidth))  \(body)\n"
            if let c = entry.certificate { out += v(TextReporter.certificateLines(c, indent: indent + "       ")) }
            guard options.verbose else { return }
            let deeper = indent + "       "
            if entry.result.status != .pass && entry.result.status != .skip {
                out += deeper + "expected: \(v(entry.result.expected))\n" + deeper + "actual:   \(v(entry.result.actual))\n"
                if entry.result.status == .fail || entry.result.status == .warn { out += deeper + paint("remediation: \(v(entry.fix))", "36") + "\n" }
            }
        }

        /// preflight, audit, fix: by area, most severe first.
        mutating func byArea() -> String {
            header()
            let entries = report.entriesByAttention
            var areas: [String] = []
            var members: [String: [Report.Entry]] = [:]
            for entry in entries {
                let area = String(entry.subject.id.split(separator: ".", maxSplits: 1).first ?? "")
                if members[area] == nil { areas.append(area) }
                members[area, default: []].append(entry)
            }
            func inTable(_ entry: Report.Entry) -> Bool {
                if case .sysctl? = entry.result.observation { entry.result.status == .fail || entry.result.status == .warn } else { false }
            }
            let actedOn = Set(report.actions.flatMap(\.rules))
            let idWidth = min(36, entries.filter { (needsPerson($0) || $0.result.status == .waived || actedOn.contains($0.subject.id)) && !inTable($0) }.map { one($0.subject.id).count }.max() ?? 10)
            var notApplicable: [(String, Int)] = []
            var passed: [(String, Int)] = []
            var shown = 0
            out += "\n"
            for area in areas {
                let all = members[area]!
                let summary = Summary(all.map(\.result.status))
                // After a fix, the rules it acted on are listed too: how they are now.
                let problems = all.filter { needsPerson($0) || $0.result.status == .waived || actedOn.contains($0.subject.id) }
                // Areas with nothing to say: one line for all of them (--verbose lists them).
                if problems.isEmpty && !options.verbose {
                    if summary[.pass] == 0 { notApplicable.append((area, summary[.skip])) } else { passed.append((area, summary[.pass])) }
                    continue
                }
                shown += 1
                var counts: [String] = []
                for (status, word) in [(Status.fail, "failed"), (.error, "could not be checked"), (.warn, "warned"), (.waived, "waived"), (.pass, "passed"), (.skip, "not applicable")] where summary[status] > 0 {
                    counts.append("\(summary[status]) \(word)")
                }
                out += paint(one(area), "1") + " · " + counts.joined(separator: ", ") + "\n"
                // Kernel parameters with their observation: one table.
                sysctlTable(problems.filter(inTable))
                for entry in problems where !inTable(entry) { line(entry, idWidth: idWidth) }
                if options.verbose {
                    for entry in all where !problems.contains(where: { $0.subject.id == entry.subject.id }) { line(entry, idWidth: idWidth) }
                }
            }
            if options.problemsOnly && !options.verbose {
                let hidden = report.entries.filter { !needsPerson($0) && $0.result.status != .waived && !actedOn.contains($0.subject.id) }.count
                if hidden > 0 { out += "(\(hidden) passing or not applicable not shown)\n" }
            } else {
                if !passed.isEmpty { out += paint("passed", "1") + " · " + passed.map { "\(one($0.0)) \($0.1)" }.joined(separator: ", ") + "\n" }
                if !notApplicable.isEmpty { out += paint("not applicable", "1") + " · " + notApplicable.map { "\(one($0.0)) \($0.1)" }.joined(separator: ", ") + "\n" }
            }
            if !options.cluster, let next = TextReporter.nextStep([report], cluster: false) { out += "\n" + paint(next, "36") + "\n" }
            return out
        }

        /// The failing kernel parameters: key, now, after reboot, wanted, and what decides the
        /// value at boot; then what to do, from what was seen.
        mutating func sysctlTable(_ entries: [Report.Entry]) {
            var rows: [(Report.Entry, SysctlObservation)] = []
            for entry in entries { if case .sysctl(let o)? = entry.result.observation { rows.append((entry, o)) } }
            guard !rows.isEmpty else { return }
            func after(_ o: SysctlObservation) -> String {
                switch o.afterReboot {
                case .set(let value, _), .kernelDefault(let value): value
                case .absent: "absent"
                case .removed: "removed"
                case .unknown: "unknown"
                }
            }
            func decider(_ o: SysctlObservation) -> String {
                switch o.afterReboot {
                case .set(_, let location): location.description
                case .kernelDefault: "kernel default (no file sets it)"
                case .absent(let module): "\(module) not loaded at boot"
                case .removed: "gone from this kernel"
                case .unknown: "no file sets it"
                }
            }
            let cells = rows.map { entry, o in [one(o.key), one(o.running ?? "absent"), one(after(o)), one(o.wanted), one(decider(o))] }
            let head = ["key", "now", "after reboot", "wanted", "decided at boot by"]
            var widths = head.map(\.count)
            for row in cells { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
            func joined(_ row: [String]) -> String {
                row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padded(to: widths[i]) }.joined(separator: "  ")
            }
            out += indent + "       " + paint(joined(head), "2") + "\n"
            for (row, (entry, o)) in zip(cells, rows) {
                out += indent + label(entry.result.status) + " " + joined(row) + "\n"
                // More than the table says (a guide mistake in a file, an earlier right value a
                // later one overrides, what `sysctl --system` would apply now): the message too.
                var decider: SourceLocation?
                if case .set(_, let location) = o.afterReboot { decider = location }
                if !options.verbose && (o.applyNow != nil || entry.waiver != nil || entry.result.evidence.contains { $0 != decider }) {
                    out += indent + "         " + paint("↳ " + one(entry.result.message), "2") + "\n"
                }
            }
            // What to do, from what was seen: a file that decides otherwise and is read after
            // kubernetes.conf must change; a module must be loaded at boot for its keys to exist.
            let observations = rows.map(\.1)
            let overriding = observations.compactMap { o -> String? in
                guard let line = o.wrongLineToChange, line.file != SysctlObservation.guideFile else { return nil }
                return line.description
            }
            var modules: [String] = []
            for o in observations { if case .absent(let module) = o.afterReboot, !modules.contains(module) { modules.append(module) } }
            var advice = "set \(rows.count == 1 ? "it" : "them") in /etc/sysctl.d/kubernetes.conf"
            if !overriding.isEmpty { advice += ", and change \(overriding.joined(separator: ", ")) (read after it)" }
            if !modules.isEmpty {
                advice = "load \(modules.joined(separator: ", ")) now and at boot (modprobe; /etc/modules-load.d), " + advice
            }
            out += indent + "       " + paint("fix: \(advice), then `sysctl --system`", "36") + "\n"
            if options.verbose {
                for (entry, _) in rows where !entry.result.message.isEmpty { out += indent + "       " + one(entry.subject.id) + ": " + v(entry.result.message) + "\n" }
            }
        }

        /// certs and lint: every result needing a person with its details, problems first; the
        /// others counted unless --verbose.
        mutating func listing() -> String {
            header()
            out += "\n"
            let entries = report.entriesByAttention
            let idWidth = min(44, entries.map { one($0.subject.id).count }.max() ?? 10)
            var hidden = 0
            let hideQuiet = options.problemsOnly && !options.verbose
            for entry in entries {
                if hideQuiet && !needsPerson(entry) && entry.result.status != .waived {
                    hidden += 1
                    continue
                }
                let id = one(entry.subject.id).padded(to: idWidth)
                out += "\(label(entry.result.status))  \(id)  \(entry.subject.severity.rawValue.padded(to: 8))  \(one(entry.subject.title))\n"
                let deeper = String(repeating: " ", count: 8)
                if let c = entry.certificate { out += v(TextReporter.certificateLines(c, indent: deeper)) }
                switch entry.result.status {
                case .pass:
                    continue
                case .skip:
                    if !entry.result.message.isEmpty { out += deeper + paint(v(entry.result.message), "2") + "\n" }
                case .fail, .warn, .error, .waived:
                    out += deeper + "expected: \(v(entry.result.expected))\n"
                    out += deeper + "actual:   \(v(entry.result.actual))\n"
                    if !entry.result.message.isEmpty { out += deeper + v(entry.result.message).replacingAll("\n", with: "\n" + deeper + "  ") + "\n" }
                    if entry.result.status == .fail || entry.result.status == .warn { out += deeper + paint("fix: \(v(entry.fix))", "36") + "\n" }
                }
            }
            if hidden > 0 { out += "(\(hidden) passing or not applicable not shown\(report.command == "certs" ? ": --verbose shows them" : ""))\n" }
            return out
        }
    }

    /// The last line of a rules report with results to act on: how many `kcheck fix` can fix
    /// (`--dry-run` shows the plan) and where the others' how is. nil when nothing needs doing, or
    /// after a fix.
    static func nextStep(_ reports: [Report], cluster: Bool) -> String? {
        guard reports.allSatisfy({ $0.command != "fix" }) else { return nil }
        var problems = 0, fixable = 0
        for report in reports {
            for entry in report.entries where [.fail, .warn].contains(entry.result.status) {
                problems += 1
                if report.fixable.contains(entry.subject.id) { fixable += 1 }
            }
        }
        guard problems > 0 else { return nil }
        let byHand = problems - fixable
        let how = "\(cluster ? "--verbose" : "`kcheck preflight --verbose`") or `kcheck rules show ID` says how"
        if fixable == 0 { return "kcheck cannot fix \(problems == 1 ? "this" : "these \(problems)") itself: \(how)." }
        let plan = "`kcheck fix --dry-run\(cluster ? " --cluster` (or --hosts)" : "`") shows the plan, `kcheck fix` applies it (with undo)"
        let fixes = fixable == problems ? "all \(fixable)" : "\(fixable) of these \(problems)"
        return "kcheck fix can fix \(fixes): \(plan)" + (byHand > 0 ? "; the other \(byHand) need a person: \(how)." : ".")
    }

    /// What people want to see of a certificate, in two lines under its verdict.
    static func certificateLines(_ c: CertificateDetails, indent: String) -> String {
        let info = c.info
        var key = "\(info.keyAlgorithm) \(info.keyBits)"
        if let curve = info.curve { key += " \(curve)" }
        var first = [
            "issuer \(CertificateJudge.subjectText(info.issuer))",
            "\(CertificateJudge.date(info.notBefore).prefix(10)) → \(CertificateJudge.date(info.notAfter).prefix(10)) (\(c.daysLeft) days left)",
            key,
        ]
        if info.isCA == true { first.append(info.pathLength.map { "CA, path length \($0)" } ?? "CA") }
        var second: [String] = []
        if let ku = info.keyUsage { second.append("usage " + ku.joined(separator: ",")) }
        if let eku = info.extendedKeyUsage { second.append("ext " + eku.joined(separator: ",")) }
        let sans = info.dnsNames + info.ipAddresses
        if !sans.isEmpty { second.append("SANs " + sans.joined(separator: ", ")) }
        second.append("key " + (c.keyFile ?? "none found"))
        second.append("issued by " + (c.issuerFile ?? "not found"))
        return indent + "subject \(CertificateJudge.subjectText(info.subject)) · serial \(info.serial)\n"
            + indent + first.joined(separator: " · ") + "\n"
            + indent + second.joined(separator: " · ") + "\n"
            + indent + "sha256 \(info.sha256Fingerprint)\n"
    }
}
