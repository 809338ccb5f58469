/// Markdown for CI job summaries (GitHub's $GITHUB_STEP_SUMMARY, GitLab's and Jenkins' markdown
/// panes): a verdict, a count table, then the failures with expected, actual and the fix.
public enum MarkdownReporter: Reporter {
    public static let fileExtension = "md"

    static func cell(_ text: String) -> String { escaped(text, ["|": "\\|", "\n": "<br>", "<": "&lt;", ">": "&gt;", "&": "&amp;"]) }

    public static func render(_ report: Report, options: RenderOptions) -> String {
        section(report, heading: "## kcheck \(report.command) · \(cell(report.node.name))")
    }

    static func section(_ report: Report, heading: String) -> String {
        let s = report.summary
        var out = "\(heading)\n\n**\(report.failed ? "FAILED" : "PASSED")** · \(cell(report.node.source)) · \(cell(report.node.distribution)) · kernel \(cell(report.node.kernel)) · profile \(cell(report.profile))\n\n"
        out += "| total | pass | fail | warn | could not check | waived | not applicable |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        out += "| \(s.total) | \(s[.pass]) | \(s[.fail]) | \(s[.warn]) | \(s[.error]) | \(s[.waived]) | \(s[.skip]) |\n\n"
        let attention = report.entriesByAttention.filter { [.fail, .error, .warn, .waived].contains($0.result.status) }
        if !attention.isEmpty {
            out += "| status | rule | severity | expected | actual | fix |\n| --- | --- | --- | --- | --- | --- |\n"
            for e in attention {
                // A waived (or expired-waiver) result: the waiver in place of the fix.
                let fix = cell(e.waiver?.text ?? e.fix)
                out += "| \(e.result.status.rawValue) | `\(cell(e.subject.id))` \(cell(e.subject.title)) | \(e.subject.severity.rawValue) | \(cell(e.result.expected)) | \(cell(e.result.actual)) | \(fix) |\n"
            }
            out += "\n"
        }
        if let changes = report.changes, changes.changedSincePrevious {
            out += "Changes since the previous audit: " + [
                changes.newlyFailing.isEmpty ? nil : "newly failing " + changes.newlyFailing.map { "`\($0)`" }.joined(separator: ", "),
                changes.fixed.isEmpty ? nil : "fixed " + changes.fixed.map { "`\($0)`" }.joined(separator: ", "),
                changes.drift.isEmpty ? nil : "\(changes.drift.count) value\(changes.drift.count == 1 ? "" : "s") drifted",
            ].compactMap { $0 }.joined(separator: "; ") + ".\n\n"
        }
        return out
    }

    public static func render(_ report: ClusterReport) -> String {
        var out = "## kcheck \(report.cluster.command) · cluster of \(report.nodes.count) nodes: **\(report.failed ? "FAILED" : "PASSED")**\n\n"
        out += "| node | pass | fail | warn | could not check |\n| --- | ---: | ---: | ---: | ---: |\n"
        for (label, node) in report.nodes {
            let s = node.summary
            out += "| \(cell(label)) | \(s[.pass]) | \(s[.fail]) | \(s[.warn]) | \(s[.error]) |\n"
        }
        if !report.cluster.entries.isEmpty { out += "\n" + section(report.cluster, heading: "### The cluster rules") }
        for (label, node) in report.nodes where node.failed { out += section(node, heading: "### \(cell(label))") }
        return out
    }
}

/// One self-contained HTML file (inline styles, no script, no fetch of anything): a summary, the
/// failures first with expected, actual and the fix, every result, a node × rule grid for a
/// cluster, and the certificates on an expiry timeline.
public enum HTMLReporter: Reporter {
    public static let fileExtension = "html"

    static func esc(_ text: String) -> String { escaped(text, ["<": "&lt;", ">": "&gt;", "&": "&amp;", "\"": "&quot;", "'": "&#39;"]) }

    static let style = """
        body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#1b1f23;padding:0 1em}
        h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em}.meta{color:#57606a}
        .verdict{display:inline-block;padding:.2em .7em;border-radius:4px;color:#fff;font-weight:600}
        .failed{background:#cf222e}.passed{background:#1a7f37}
        table{border-collapse:collapse;width:100%;margin:.6em 0;table-layout:auto}td,th{border:1px solid #d0d7de;padding:.35em .5em;vertical-align:top;text-align:left;overflow-wrap:anywhere;word-break:break-word}
        th{background:#f6f8fa}.s{font-weight:600;white-space:nowrap}.fail{color:#cf222e}.error{color:#8250df}.warn{color:#9a6700}.pass{color:#1a7f37}.skip{color:#57606a}.waived{color:#0969da}
        .cards{display:flex;gap:.6em;flex-wrap:wrap}.card{border:1px solid #d0d7de;border-radius:6px;padding:.5em .9em;min-width:7em}.card b{font-size:1.4em;display:block}
        code{font:12px ui-monospace,monospace;background:#f6f8fa;padding:0 .2em}
        .grid td{text-align:center;font-size:12px}.grid td.id{text-align:left}
        .bar{background:#eaeef2;height:1.1em;border-radius:3px;position:relative}.bar span{position:absolute;left:0;top:0;bottom:0;border-radius:3px}
        """

    static func page(_ title: String, _ body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
        <title>\(esc(title))</title><style>\(style)</style></head>
        <body>
        \(body)
        </body></html>

        """
    }

    static func cards(_ report: Report) -> String {
        let s = report.summary
        return "<div class=\"cards\">" + [("total", s.total, ""), ("pass", s[.pass], "pass"), ("fail", s[.fail], "fail"), ("warn", s[.warn], "warn"),
            ("could not check", s[.error], "error"), ("waived", s[.waived], "waived"), ("not applicable", s[.skip], "skip")].map { name, count, cls in
            "<div class=\"card\"><b class=\"\(cls)\">\(count)</b>\(name)</div>"
        }.joined() + "</div>"
    }

    static func results(_ report: Report) -> String {
        var out = "<table><tr><th>status</th><th>rule</th><th>severity</th><th>expected</th><th>actual</th><th>what to do</th></tr>"
        for e in report.entriesByAttention {
            let status = e.result.status.rawValue
            // A waived result's message starts with the waiver (reason, approver, expiry, file:line).
            let detail = e.result.status == .pass ? "" : esc(e.result.message.isEmpty ? "" : e.result.message + " ")
                + (e.result.status == .waived ? "" : "<br><code>\(esc(e.fix))</code>")
            out += "<tr><td class=\"s \(status)\">\(status)</td><td><code>\(esc(e.subject.id))</code><br>\(esc(e.subject.title))</td><td>\(e.subject.severity.rawValue)</td>"
            out += "<td>\(esc(e.result.expected))</td><td>\(esc(e.result.actual))</td><td>\(e.result.status == .pass || e.result.status == .skip ? esc(e.result.message) : detail)</td></tr>"
        }
        return out + "</table>"
    }

    /// Certificates (from `kcheck certs` entries) on a timeline of days left, shortest first.
    static func timeline(_ report: Report) -> String {
        let certificates = report.entries.compactMap { e in e.certificate.map { (e.subject.id, $0) } }.sorted { $0.1.daysLeft < $1.1.daysLeft }
        guard !certificates.isEmpty else { return "" }
        let longest = max(1, certificates.map { $0.1.daysLeft }.max() ?? 1)
        var out = "<h2>Certificates by expiry</h2><table><tr><th>certificate</th><th>expires</th><th>days left</th><th style=\"width:40%\"></th></tr>"
        for (id, c) in certificates {
            // An expired certificate: a full red bar and the days since, never an invisible one.
            let expired = c.info.notAfter <= report.startedAt.seconds
            let width = expired ? 100 : max(0, min(100, c.daysLeft * 100 / longest))
            let color = expired || c.daysLeft < 7 ? "#cf222e" : c.daysLeft < 30 ? "#bf8700" : "#1a7f37"
            let left = expired ? "<span class=\"fail\">expired \(-c.daysLeft) days ago</span>" : "\(c.daysLeft)"
            out += "<tr><td><code>\(esc(id))</code></td><td>\(esc(CertificateJudge.date(c.info.notAfter)))</td><td>\(left)</td>"
            out += "<td><div class=\"bar\"><span style=\"width:\(width)%;background:\(color)\"></span></div></td></tr>"
        }
        return out + "</table>"
    }

    public static func render(_ report: Report, options: RenderOptions) -> String {
        var body = "<h1>kcheck \(esc(report.command)) · \(esc(report.node.name))</h1>"
        body += "<p class=\"meta\"><span class=\"verdict \(report.failed ? "failed" : "passed")\">\(report.failed ? "FAILED" : "PASSED")</span> "
        body += "\(esc(report.node.source)) · \(esc(report.node.distribution)) · kernel \(esc(report.node.kernel)) · profile \(esc(report.profile)) · \(esc(iso8601(report.startedAt)))</p>"
        body += cards(report)
        if let changes = report.changes, changes.previous != nil {
            body += "<h2>Since the previous audit</h2><p>" + (changes.isEmpty ? "No change." : esc(changes.text())) + "</p>"
        }
        body += timeline(report) + "<h2>Results</h2>" + results(report)
        return page("kcheck \(report.command) · \(report.node.name)", body)
    }

    public static func render(_ report: ClusterReport) -> String {
        var body = "<h1>kcheck \(esc(report.cluster.command)) · cluster of \(report.nodes.count) nodes</h1>"
        body += "<p class=\"meta\"><span class=\"verdict \(report.failed ? "failed" : "passed")\">\(report.failed ? "FAILED" : "PASSED")</span> profile \(esc(report.cluster.profile)) · \(esc(iso8601(report.cluster.startedAt)))</p>"
        // Node × rule: rows are rules (failing anywhere first), columns nodes.
        var ids: [String] = []
        var titles: [String: String] = [:]
        for (_, node) in report.nodes {
            for e in node.entries where titles[e.subject.id] == nil {
                ids.append(e.subject.id)
                titles[e.subject.id] = e.subject.title
            }
        }
        // By position, not by label: two nodes may carry the same label (`--hosts n1,n1`, a report
        // merged with itself), and a rule id may repeat in a hand-edited report.
        let status: [[String: Status]] = report.nodes.map { _, node in
            Dictionary(node.entries.map { ($0.subject.id, $0.result.status) }, uniquingKeysWith: { first, _ in first })
        }
        let bad: Set<Status> = [.fail, .error, .warn]
        ids.sort { a, b in
            let fa = status.contains { bad.contains($0[a] ?? .skip) }, fb = status.contains { bad.contains($0[b] ?? .skip) }
            return fa && !fb
        }
        // Single-node reports merged hold no cluster rules: no empty first table.
        if !report.cluster.entries.isEmpty { body += "<h2>The cluster rules</h2>" + cards(report.cluster) + results(report.cluster) }
        body += "<h2>Every node, every rule</h2><table class=\"grid\"><tr><th>rule</th>" + report.nodes.map { "<th>\(esc($0.label))</th>" }.joined() + "</tr>"
        for id in ids {
            body += "<tr><td class=\"id\"><code>\(esc(id))</code></td>"
            for column in status {
                let s = column[id]
                body += "<td class=\"s \(s?.rawValue ?? "skip")\">\(s?.rawValue ?? "–")</td>"
            }
            body += "</tr>"
        }
        body += "</table>"
        for (label, node) in report.nodes where node.failed {
            body += "<h2>\(esc(label))</h2>" + cards(node) + results(node)
        }
        return page("kcheck cluster", body)
    }
}
