/// The table people read: failures first, then errors, warnings, passes, skips; a summary line.
public enum TextReporter: Reporter {
    public static let fileExtension = "txt"

    public static func render(_ report: Report, options: RenderOptions) -> String {
        // Everything from the report is made `visible`: a node's hostname or a file's line cannot
        // send escape sequences to the terminal; only `paint` colours.
        func paint(_ text: String, _ code: String) -> String { options.color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        func v(_ text: String) -> String { visible(text) }
        func one(_ text: String) -> String { visible(text, singleLine: true) }
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
        let idWidth = min(44, entries.map { one($0.subject.id).count }.max() ?? 10)
        let severityWidth = 8
        // The cluster rules' report has no source, distribution or kernel of its own: no empty parts.
        let parts = [
            report.node.source == "cluster" ? one(report.node.name) : "\(one(report.node.name)) (\(one(report.node.source)))",
            report.node.distribution.isEmpty ? nil : one(report.node.distribution),
            report.node.kernel.isEmpty ? nil : "kernel \(one(report.node.kernel))",
            "profile \(one(report.profile))",
        ].compactMap { $0 }
        var out = "kcheck \(report.command) · " + parts.joined(separator: " · ") + "\n\n"
        var hidden = 0
        for entry in entries {
            if options.problemsOnly && (entry.result.status == .pass || entry.result.status == .skip) {
                hidden += 1
                continue
            }
            let id = one(entry.subject.id).padded(to: idWidth)
            let severity = entry.subject.severity.rawValue.padded(to: severityWidth)
            out += "\(label(entry.result.status))  \(id)  \(severity)  \(one(entry.subject.title))\n"
            let indent = String(repeating: " ", count: 7)
            if let c = entry.certificate { out += v(certificateLines(c, indent: indent)) }
            switch entry.result.status {
            case .pass:
                continue
            case .skip:
                if !entry.result.message.isEmpty { out += indent + paint(v(entry.result.message), "2") + "\n" }
            case .fail, .warn, .error:
                out += indent + "expected: \(v(entry.result.expected))\n"
                out += indent + "actual:   \(v(entry.result.actual))\n"
                // A message of several lines (one per node): each line indented under the result.
                if !entry.result.message.isEmpty { out += indent + v(entry.result.message).replacingAll("\n", with: "\n" + indent + "  ") + "\n" }
                if entry.result.status != .error { out += indent + paint("fix: \(v(entry.subject.remediation))", "36") + "\n" }
            }
        }
        if hidden > 0 { out += "(\(hidden) passing or not applicable not shown\(report.command == "certs" ? ": --verbose shows them" : ""))\n" }
        let s = report.summary
        let verdict = report.failed ? paint("FAILED", "1;31") : paint("PASSED", "1;32")
        let millis = secondsText(report.durationSeconds)
        out += "\n\(verdict): \(s.total) \(["certs", "lint"].contains(report.command) ? "results" : "rules"), \(s[.pass]) passed, \(s[.fail]) failed, \(s[.warn]) warnings, \(s[.error]) could not be checked, \(s[.skip]) not applicable (\(millis) s)\n"
        return out
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
