import KCheckNative

/// The versioned JSON report (schema: reports/kcheck-report.schema.json).
public enum JSONReporter: Reporter {
    public static let fileExtension = "json"

    public static func render(_ report: Report, options: RenderOptions) -> String {
        var w = JSONWriter()
        write(report, to: &w)
        w.end()
        return w.text
    }

    /// The fields every kcheck JSON document starts with: format, version, tool, command, profile.
    static func header(_ format: String, _ report: Report, to w: inout JSONWriter) {
        w.string("format", format)
        w.number("format_version", Report.formatVersion)
        w.beginObject("tool")
        w.string("name", "kcheck")
        w.string("version", report.toolVersion)
        w.endObject()
        w.string("command", report.command)
        w.string("profile", report.profile)
    }

    /// The report as one JSON object: the document, or a member (`key`) or an item of another.
    static func write(_ report: Report, to w: inout JSONWriter, key: String? = nil) {
        // Sized once, roughly: a report of 10,000 certificates is ~26 MB, and growing a string
        // by doubling would hold the old and the new buffer at once.
        w.reserve(report.entries.reduce(4096) { total, entry in
            total + 700 + entry.result.expected.utf8.count + entry.result.actual.utf8.count + entry.result.message.utf8.count
                + entry.subject.remediation.utf8.count + entry.subject.title.utf8.count + (entry.certificate == nil ? 0 : 1800)
        })
        w.beginObject(key)
        header("kcheck-report", report, to: &w)
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
            if let phase = rule.phase { w.string("phase", phase.rawValue) }
            w.string("status", result.status.rawValue)
            w.string("expected", result.expected)
            w.string("actual", result.actual)
            w.string("message", result.message)
            w.string("remediation", rule.remediation)
            if let advice = result.advice { w.string("advice", advice) }
            if report.fixable.contains(rule.id) { w.bool("fixable", true) }
            if let applied = entry.waiver {
                w.beginObject("waiver")
                w.string("rule", applied.waiver.rule)
                w.string("status", applied.status.rawValue)
                w.bool("expired", applied.expired)
                w.string("reason", applied.waiver.reason)
                w.string("approved_by", applied.waiver.approvedBy)
                w.string("expires", applied.waiver.expires)
                if let node = applied.waiver.node { w.string("node", node) }
                if let certificate = applied.waiver.certificate { w.string("certificate", certificate) }
                w.string("file", applied.waiver.location.file)
                w.number("line", applied.waiver.location.line)
                w.endObject()
            }
            w.numbers("guide", rule.guide)
            w.beginArray("evidence")
            for location in result.evidence {
                w.beginObject()
                w.string("file", location.file)
                w.number("line", location.line)
                w.endObject()
            }
            w.endArray()
            if let observation = result.observation { write(observation, to: &w) }
            if let certificate = entry.certificate { write(certificate, to: &w) }
            w.endObject()
        }
        w.endArray()
        if let run = report.run { w.string("run", run) }
        if let changes = report.changes {
            w.beginObject("changes")
            if let previous = changes.previous { w.string("previous", previous) } else { w.null("previous") }
            w.strings("newly_failing", changes.newlyFailing)
            w.strings("fixed", changes.fixed)
            w.beginArray("drift")
            for d in changes.drift {
                w.beginObject()
                w.string("id", d.id)
                w.string("old", d.old)
                w.string("new", d.new)
                w.endObject()
            }
            w.endArray()
            w.endObject()
        }
        if !report.actions.isEmpty {
            w.beginArray("actions")
            for action in report.actions {
                w.beginObject()
                w.string("action", action.summary)
                w.strings("rules", action.rules)
                w.string("outcome", action.outcome)
                if let reason = action.reason { w.string("reason", reason) }
                if let change = action.change { w.string("change", change) }
                w.beginArray("commands")
                for argv in action.commands { w.stringsItem(argv) }
                w.endArray()
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
    }

    private static func write(_ observation: Observation, to w: inout JSONWriter) {
        w.beginObject("observation")
        switch observation {
        case .sysctl(let o):
            w.string("kind", "sysctl")
            w.string("key", o.key)
            w.string("wanted", o.wanted)
            if let running = o.running { w.string("running", running) } else { w.null("running") }
            w.beginObject("after_reboot")
            switch o.afterReboot {
            case .set(let value, let from):
                w.string("state", "set")
                w.string("value", value)
                w.string("from", from.description)
            case .kernelDefault(let value):
                w.string("state", "kernel-default")
                w.string("value", value)
            case .absent(let module):
                w.string("state", "absent")
                w.string("module", module)
            case .removed: w.string("state", "removed")
            case .unknown: w.string("state", "unknown")
            }
            w.endObject()
            if let now = o.applyNow {
                w.beginObject("sysctl_system")
                w.string("value", now.value)
                w.string("from", now.location.description)
                w.endObject()
            }
        case .service(let o):
            w.string("kind", "service")
            w.string("unit", o.unit)
            w.string("unit_file", o.unitFile.rawValue)
            if let active = o.active { w.string("active", active) } else { w.null("active") }
        case .firewall(let chains):
            w.string("kind", "firewall")
            w.beginArray("chains")
            for c in chains {
                w.beginObject()
                w.string("backend", c.backend.rawValue)
                w.string("family", c.family)
                w.string("table", c.table)
                w.string("name", c.name)
                if let hook = c.hook { w.string("hook", hook) } else { w.null("hook") }
                if let policy = c.policy { w.string("policy", policy) } else { w.null("policy") }
                w.number("rules", c.rules)
                w.endObject()
            }
            w.endArray()
        case .swapSources(let sources):
            w.string("kind", "swap_sources")
            w.beginArray("sources")
            for source in sources {
                w.beginObject()
                switch source {
                case .unit(let name, let path, let wantedBy):
                    w.string("type", "unit")
                    w.string("name", name)
                    w.string("file", path)
                    w.string("wanted_by", wantedBy)
                case .zramGenerator(let config, let device):
                    w.string("type", "zram")
                    w.string("name", device)
                    w.string("file", config)
                case .service(let name):
                    w.string("type", "service")
                    w.string("name", name)
                }
                w.endObject()
            }
            w.endArray()
        case .modules(let o):
            w.string("kind", "modules")
            w.string("when", o.when.rawValue)
            w.strings("needed", o.needed)
            w.strings("missing", o.missing)
        case .sharedIdentity(let o):
            w.string("kind", "shared_identity")
            w.string("fact", o.fact.rawValue)
            w.beginArray("copies")
            for copy in o.copies {
                w.beginObject()
                w.string("value", copy.value)
                w.string("file", copy.path)
                w.strings("nodes", copy.holders)
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
    }

    private static func write(_ c: CertificateDetails, to w: inout JSONWriter) {
        let info = c.info
        func optional(_ key: String, _ value: String?) { if let value { w.string(key, value) } else { w.null(key) } }
        func optional(_ key: String, _ value: [String]?) { if let value { w.strings(key, value) } else { w.null(key) } }
        func name(_ key: String, _ attributes: [NameAttribute]) {
            w.beginArray(key)
            for a in attributes {
                w.beginObject()
                w.string("key", a.key)
                w.string("value", a.value)
                w.endObject()
            }
            w.endArray()
        }
        w.beginObject("certificate")
        name("subject", info.subject)
        name("issuer", info.issuer)
        w.string("serial", info.serial)
        w.string("not_before", iso8601((info.notBefore, 0)))
        w.string("not_after", iso8601((info.notAfter, 0)))
        w.number("days_left", c.daysLeft)
        w.string("key_algorithm", info.keyAlgorithm)
        w.number("key_bits", info.keyBits)
        optional("curve", info.curve)
        if let ca = info.isCA { w.bool("ca", ca) } else { w.null("ca") }
        if let length = info.pathLength { w.number("path_length", length) } else { w.null("path_length") }
        optional("key_usage", info.keyUsage)
        optional("extended_key_usage", info.extendedKeyUsage)
        w.strings("dns_names", info.dnsNames)
        w.strings("ip_addresses", info.ipAddresses)
        w.string("sha256_fingerprint", info.sha256Fingerprint)
        w.string("role", c.role.rawValue)
        optional("issuer_file", c.issuerFile)
        optional("key_file", c.keyFile)
        w.endObject()
    }
}
