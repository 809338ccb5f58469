/// The table people read: failures first, then errors, warnings, passes, skips; a summary line.
public enum TextReporter: Reporter {
    public static let fileExtension = "txt"

    public static func render(_ report: Report, options: RenderOptions) -> String {
        func paint(_ text: String, _ code: String) -> String { options.color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        func label(_ status: Status) -> String {
            switch status {
            case .pass: paint("PASS ", "32")
            case .fail: paint("FAIL ", "1;31")
            case .warn: paint("WARN ", "33")
            case .skip: paint("SKIP ", "2")
            case .error: paint("ERROR", "35")
            }
        }
        let entries = report.entriesByAttention
        let idWidth = min(44, entries.map(\.subject.id.count).max() ?? 10)
        let severityWidth = 8
        var out = "kcheck \(report.command) · \(report.node.name) (\(report.node.source)) · \(report.node.distribution) · kernel \(report.node.kernel) · profile \(report.profile)\n\n"
        for entry in entries {
            let id = entry.subject.id.padded(to: idWidth)
            let severity = entry.subject.severity.rawValue.padded(to: severityWidth)
            out += "\(label(entry.result.status))  \(id)  \(severity)  \(entry.subject.title)\n"
            let indent = String(repeating: " ", count: 7)
            switch entry.result.status {
            case .pass:
                continue
            case .skip:
                if !entry.result.message.isEmpty { out += indent + paint(entry.result.message, "2") + "\n" }
            case .fail, .warn, .error:
                out += indent + "expected: \(entry.result.expected)\n"
                out += indent + "actual:   \(entry.result.actual)\n"
                if !entry.result.message.isEmpty { out += indent + entry.result.message + "\n" }
                if entry.result.status != .error { out += indent + paint("fix: \(entry.subject.remediation)", "36") + "\n" }
            }
        }
        let s = report.summary
        let verdict = report.failed ? paint("FAILED", "1;31") : paint("PASSED", "1;32")
        let millis = secondsText(report.durationSeconds)
        out += "\n\(verdict): \(s.total) \(report.command == "lint" ? "results" : "rules"), \(s[.pass]) passed, \(s[.fail]) failed, \(s[.warn]) warnings, \(s[.error]) could not be checked, \(s[.skip]) not applicable (\(millis) s)\n"
        return out
    }
}
