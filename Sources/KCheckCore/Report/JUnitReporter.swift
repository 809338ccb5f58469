/// JUnit XML that validates against the Jenkins xunit plugin's junit-10.xsd. The node is the
/// testsuite and each rule a testcase: fail is a <failure>, could-not-check an <error>, not
/// applicable <skipped>; a warning is a <failure> when the run's policy fails on warnings,
/// otherwise a passing testcase whose <system-out> carries the warning.
public enum JUnitReporter: Reporter {
    public static let fileExtension = "xml"

    public static func render(_ report: Report, options: RenderOptions) -> String {
        let summary = report.summary
        var w = XMLWriter()
        w.begin("testsuites", [
            ("name", "kcheck \(report.command)"), ("tests", String(summary.total)), ("failures", String(failures(report))),
            ("errors", String(summary[.error])), ("time", secondsText(report.durationSeconds)),
        ])
        testsuite(report, name: report.node.name, into: &w)
        if !report.actions.isEmpty { actions(report, into: &w) }
        w.end()
        return w.text
    }

    /// The failures a report counts: fail, and warn when the policy fails on warnings.
    static func failures(_ report: Report) -> Int {
        report.summary[.fail] + (report.policy.isFailure(.warn) ? report.summary[.warn] : 0)
    }

    /// One report as a <testsuite> named `name`.
    static func testsuite(_ report: Report, name: String, into w: inout XMLWriter) {
        let summary = report.summary
        let warnFails = report.policy.isFailure(.warn)
        let failures = failures(report)
        w.begin("testsuite", [
            ("name", name), ("tests", String(summary.total)), ("failures", String(failures)),
            ("errors", String(summary[.error])), ("skipped", String(summary[.skip] + summary[.waived])),
            ("time", secondsText(report.durationSeconds)), ("timestamp", iso8601(report.startedAt)),
            ("hostname", report.node.name), ("package", "kcheck.\(report.profile)"),
        ])
        w.begin("properties")
        for (name, value) in [
            ("kcheck.version", report.toolVersion), ("profile", report.profile), ("node.source", report.node.source),
            ("node.distribution", report.node.distribution), ("node.kernel", report.node.kernel),
        ] {
            w.begin("property", [("name", name), ("value", value)], empty: true)
        }
        w.end()
        for entry in report.entries {
            let rule = entry.subject
            let result = entry.result
            let classname = "kcheck.\(report.profile).\(rule.id.split(separator: ".").first ?? "rule")"
            w.begin("testcase", [("name", "\(rule.id): \(rule.title)"), ("classname", classname), ("time", "0")])
            let detail = details(rule, result)
            switch result.status {
            case .pass: break
            case .fail:
                w.element("failure", [("type", rule.severity.rawValue), ("message", "expected \(result.expected); actual \(result.actual)")], content: detail)
            case .warn where warnFails:
                w.element("failure", [("type", "warning"), ("message", "expected \(result.expected); actual \(result.actual)")], content: detail)
            case .warn:
                w.element("system-out", content: "warning: " + detail)
            case .error:
                w.element("error", [("type", "could-not-check"), ("message", result.message)], content: detail)
            case .skip:
                w.element("skipped", [("message", result.message)], content: "")
            case .waived:
                // Skipped, with the waiver's reason, expiry and approver in the message.
                w.element("skipped", [("message", result.message)], content: "")
            }
            w.end()
        }
        w.end()
    }

    /// `kcheck fix`'s actions: a testsuite of their own, a failed action a <failure>.
    static func actions(_ report: Report, into w: inout XMLWriter) {
        let failed = report.actions.filter { $0.outcome == "failed" }.count
        w.begin("testsuite", [
            ("name", "\(report.node.name): kcheck fix actions"), ("tests", String(report.actions.count)), ("failures", String(failed)),
            ("errors", "0"), ("skipped", "0"), ("time", "0"), ("timestamp", iso8601(report.startedAt)), ("hostname", report.node.name),
            ("package", "kcheck.fix"),
        ])
        for (i, action) in report.actions.enumerated() {
            w.begin("testcase", [("name", "\(i + 1). \(action.summary)"), ("classname", "kcheck.fix"), ("time", "0")])
            var lines = ["outcome: \(action.outcome)", "rules: \(action.rules.joined(separator: ", "))"]
            if let change = action.change { lines.append("change: \(change)") }
            lines += action.commands.map { "command: " + $0.joined(separator: " ") }
            if action.outcome == "failed" {
                w.element("failure", [("type", "action"), ("message", action.reason ?? "failed")], content: lines.joined(separator: "\n"))
            } else {
                w.element("system-out", content: lines.joined(separator: "\n"))
            }
            w.end()
        }
        w.end()
    }

    static func details(_ rule: Report.Subject, _ result: RuleResult) -> String {
        var lines = [
            result.message, "expected: \(result.expected)", "actual: \(result.actual)", "severity: \(rule.severity.rawValue)",
        ]
        if !result.evidence.isEmpty { lines.append("evidence: " + result.evidence.map(\.description).joined(separator: ", ")) }
        lines.append("remediation: \(result.advice ?? rule.remediation)")
        return lines.filter { !$0.isEmpty }.joined(separator: "\n")
    }
}
