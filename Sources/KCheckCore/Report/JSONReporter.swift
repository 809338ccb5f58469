/// The versioned JSON report (schema: reports/kcheck-report.schema.json).
public enum JSONReporter: Reporter {
    public static let fileExtension = "json"

    public static func render(_ report: Report, options: RenderOptions) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.string("format", "kcheck-report")
        w.number("format_version", Report.formatVersion)
        w.beginObject("tool")
        w.string("name", "kcheck")
        w.string("version", report.toolVersion)
        w.endObject()
        w.string("command", report.command)
        w.string("profile", report.profile)
        w.beginObject("node")
        w.string("name", report.node.name)
        w.string("source", report.node.source)
        w.string("distribution", report.node.distribution)
        w.string("kernel", report.node.kernel)
        w.endObject()
        w.string("started_at", iso8601(report.startedAt))
        w.number("duration_seconds", report.durationSeconds)
        w.strings("fail_on", Status.allCases.filter(report.policy.isFailure).map(\.rawValue))
        w.bool("passed", !report.failed)
        let summary = report.summary
        w.beginObject("summary")
        w.number("total", summary.total)
        for status in Status.allCases { w.number(status.rawValue, summary[status]) }
        w.endObject()
        w.beginArray("results")
        for entry in report.entries {
            let rule = entry.subject
            let result = entry.result
            w.beginObject()
            w.string("id", rule.id)
            w.string("title", rule.title)
            w.string("severity", rule.severity.rawValue)
            w.string("status", result.status.rawValue)
            w.string("expected", result.expected)
            w.string("actual", result.actual)
            w.string("message", result.message)
            w.string("remediation", rule.remediation)
            w.numbers("guide", rule.guide)
            w.beginArray("evidence")
            for location in result.evidence {
                w.beginObject()
                w.string("file", location.file)
                w.number("line", location.line)
                w.endObject()
            }
            w.endArray()
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.text + "\n"
    }
}
