/// A cluster run in each report format: every node's report, then the cluster rules' report.
public enum ClusterReporters {
    public static func render(_ report: ClusterReport, format: ReportFormat, options: RenderOptions) -> String {
        switch format {
        case .text: text(report, options: options)
        case .json: json(report)
        case .junit: junit(report)
        case .markdown: MarkdownReporter.render(report)
        case .html: HTMLReporter.render(report)
        }
    }

    /// The verdict for the whole cluster first, then each node's report (an unreachable node in
    /// one line), then the cluster rules'.
    static func text(_ report: ClusterReport, options: RenderOptions) -> String {
        var options = options
        options.cluster = true
        let all = report.nodes.map(\.report) + [report.cluster]
        let failedNodes = report.nodes.filter { $0.report.failed }.map(\.label)
        var out = "\(report.failed ? "FAILED" : "PASSED"): \(report.nodes.count) nodes"
        out += failedNodes.isEmpty ? "" : " (\(failedNodes.count) failed: \(visible(ClusterEngine.names(failedNodes), singleLine: true)))"
        let notApplicable = report.cluster.summary[.skip], judged = report.cluster.summary.total
        if report.cluster.entries.isEmpty {
            out += "; no cluster rules (single-node reports)"
        } else if report.cluster.failed {
            out += "; the cluster rules failed"
        } else if !report.unreachable.isEmpty {
            // Not "passed" when nodes were missing from the comparison.
            out += "; the cluster rules judged without \(report.unreachable.count) unreachable node\(report.unreachable.count == 1 ? "" : "s") (\(notApplicable) of \(judged) not applicable)"
        } else {
            out += "; the cluster rules passed"
        }
        out += "; \(all.map { $0.summary.total }.reduce(0, +)) results\n\n"
        for (label, node) in report.nodes {
            // An unreachable node is one line, not a block per rule (JSON and JUnit keep them all).
            if let why = report.unreachable[label] {
                out += "== \(visible(label, singleLine: true)): unreachable, \(node.entries.count) rules not checked: \(visible(why, singleLine: true))\n\n"
                continue
            }
            out += "== \(visible(label, singleLine: true))\n" + TextReporter.render(node, options: options) + "\n"
        }
        // Reports merged from single-node runs hold no cluster rules: no empty section for them.
        if !report.cluster.entries.isEmpty { out += "== the cluster\n" + TextReporter.render(report.cluster, options: options) }
        if let next = TextReporter.nextStep(all, cluster: true) { out += "\n" + next + "\n" }
        return out
    }

    static func json(_ report: ClusterReport) -> String {
        var w = JSONWriter()
        let cluster = report.cluster
        w.beginObject()
        JSONReporter.header("kcheck-cluster-report", cluster, to: &w)
        w.string("started_at", iso8601(cluster.startedAt))
        w.strings("fail_on", Status.allCases.filter(cluster.policy.isFailure).map(\.rawValue))
        w.bool("passed", !report.failed)
        let summary = Summary((report.nodes.map(\.report) + [cluster]).flatMap { $0.entries.map(\.result.status) })
        w.beginObject("summary")
        w.number("nodes", report.nodes.count)
        w.number("total", summary.total)
        for status in Status.allCases { w.number(status.rawValue, summary[status]) }
        w.endObject()
        w.beginArray("nodes")
        for (label, node) in report.nodes {
            w.beginObject()
            w.string("host", label)
            w.bool("passed", !node.failed)
            JSONReporter.write(node, to: &w, key: "report")
            w.endObject()
        }
        w.endArray()
        JSONReporter.write(cluster, to: &w, key: "cluster")
        w.endObject()
        w.end()
        return w.text
    }

    static func junit(_ report: ClusterReport) -> String {
        let all = report.nodes.map(\.report) + [report.cluster]
        var w = XMLWriter()
        w.begin("testsuites", [
            ("name", "kcheck \(report.cluster.command) (cluster)"), ("tests", String(all.map { $0.summary.total }.reduce(0, +))),
            ("failures", String(all.map(JUnitReporter.failures).reduce(0, +))), ("errors", String(all.map { $0.summary[.error] }.reduce(0, +))),
            ("time", secondsText(all.map(\.durationSeconds).reduce(0, +))),
        ])
        for (label, node) in report.nodes { JUnitReporter.testsuite(node, name: label, into: &w) }
        JUnitReporter.testsuite(report.cluster, name: "cluster", into: &w)
        w.end()
        return w.text
    }
}
