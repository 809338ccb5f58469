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

    /// There was a previous audit, and something changed since.
    public var changedSincePrevious: Bool { previous != nil && !isEmpty }

    /// The changes from a previous JSON report (`kcheck-report`) to `report`.
    public static func compare(previous path: String?, json: String?, with report: Report) -> AuditChanges {
        compare(previous: path, results: json.flatMap { try? JSONDocument.parse($0) }?["results"]?.array, with: report)
    }

    /// The changes for each node and for the cluster rules from a previous audit's JSON, which
    /// may be a cluster report (`kcheck-cluster-report`, nodes matched by label) or a one-node
    /// report (then only the node it names is compared).
    public static func compare(previous path: String?, json: String?, with report: ClusterReport) -> ClusterReport {
        let root = json.flatMap { try? JSONDocument.parse($0) }
        var before: [String: [JSONNode]] = [:]
        var clusterBefore: [JSONNode]?
        if root?["format"]?.string == "kcheck-cluster-report" {
            for node in root?["nodes"]?.array ?? [] {
                if let host = node["host"]?.string, let results = node["report"]?["results"]?.array { before[host] = results }
            }
            clusterBefore = root?["cluster"]?["results"]?.array
        } else if let name = root?["node"]?["name"]?.string, let results = root?["results"]?.array {
            before[name] = results
        }
        let nodes = report.nodes.map { entry -> (label: String, report: Report) in
            var r = entry.report
            r.changes = compare(previous: path, results: before[entry.label], with: r)
            return (entry.label, r)
        }
        var cluster = report.cluster
        cluster.changes = compare(previous: path, results: clusterBefore, with: cluster, volatile: report.measurements)
        return ClusterReport(nodes: nodes, cluster: cluster, measurements: report.measurements)
    }

    /// The changes from a previous report's `results` (nil: none to compare with) to `report`;
    /// the `volatile` rules' values are measurements that differ every run, so never drift.
    /// The values of an observation, without where they were found: what drift compares.
    static func observedValues(_ observation: Observation) -> String {
        switch observation {
        case .sysctl(let o):
            let after: String
            switch o.afterReboot {
            case .set(let value, _): after = "set \(value)"
            case .kernelDefault(let value): after = "kernel-default \(value)"
            case .absent(let module): after = "absent \(module)"
            case .removed: after = "removed"
            case .unknown: after = "unknown"
            }
            return "sysctl \(o.key) running=\(o.running ?? "-") after-reboot=\(after) sysctl-system=\(o.applyNow?.value ?? "-")"
        case .service(let o):
            return "service \(o.unit) unit-file=\(o.unitFile.rawValue) active=\(o.active ?? "-")"
        case .firewall(let chains):
            return "firewall " + chains.map { firewallChainText($0.label, policy: $0.policy, rules: $0.rules) }.joined(separator: "; ")
        case .sharedIdentity(let o):
            return sharedIdentityText(o.fact.rawValue, o.copies.map { ($0.value, $0.holders) })
        case .swapSources(let sources):
            return swapSourcesText(sources.map { source in
                switch source {
                case .unit(let name, _, _): ("unit", name)
                case .zramGenerator(_, let device): ("zram", device)
                case .service(let name): ("service", name)
                }
            })
        case .modules(let o):
            return modulesText(o.when.rawValue, o.needed, o.missing)
        }
    }

    static func swapSourcesText(_ sources: [(type: String, name: String)]) -> String {
        "swap-sources " + sources.map { "\($0.type):\($0.name)" }.joined(separator: " ")
    }

    static func modulesText(_ when: String, _ needed: [String], _ missing: [String]) -> String {
        "modules \(when) needed=\(needed.joined(separator: ",")) missing=\(missing.joined(separator: ","))"
    }

    static func sharedIdentityText(_ fact: String, _ copies: [(value: String, holders: [String])]) -> String {
        "shared \(fact) " + copies.map { "\($0.value) on \($0.holders.joined(separator: ","))" }.joined(separator: "; ")
    }

    static func firewallChainText(_ label: String, policy: String?, rules: Int) -> String {
        "\(label) policy=\(policy ?? "-") rules=\(rules)"
    }

    /// The same, from a previous report's JSON `observation`.
    static func observedValues(_ node: JSONNode) -> String? {
        if node["kind"]?.string == "firewall", let chains = node["chains"]?.array {
            let texts = chains.compactMap { c -> String? in
                guard let backend = c["backend"]?.string, let family = c["family"]?.string, let table = c["table"]?.string,
                    let name = c["name"]?.string, let rules = c["rules"]?.int
                else { return nil }
                return firewallChainText("\(backend) \(family) \(table) \(name)", policy: c["policy"]?.string, rules: rules)
            }
            return "firewall " + texts.joined(separator: "; ")
        }
        if node["kind"]?.string == "swap_sources", let sources = node["sources"]?.array {
            return swapSourcesText(sources.compactMap { s in
                guard let type = s["type"]?.string, let name = s["name"]?.string else { return nil }
                return (type, name)
            })
        }
        if node["kind"]?.string == "modules", let when = node["when"]?.string, let needed = node["needed"]?.array, let missing = node["missing"]?.array {
            return modulesText(when, needed.compactMap(\.string), missing.compactMap(\.string))
        }
        if node["kind"]?.string == "shared_identity", let fact = node["fact"]?.string, let copies = node["copies"]?.array {
            return sharedIdentityText(fact, copies.compactMap { c in
                guard let value = c["value"]?.string, let nodes = c["nodes"]?.array else { return nil }
                return (value, nodes.compactMap(\.string))
            })
        }
        if node["kind"]?.string == "service", let unit = node["unit"]?.string, let file = node["unit_file"]?.string {
            return "service \(unit) unit-file=\(file) active=\(node["active"]?.string ?? "-")"
        }
        guard node["kind"]?.string == "sysctl", let key = node["key"]?.string, let after = node["after_reboot"], let state = after["state"]?.string else { return nil }
        let value: String
        switch state {
        case "set", "kernel-default": value = "\(state) \(after["value"]?.string ?? "")"
        case "absent": value = "absent \(after["module"]?.string ?? "")"
        default: value = state
        }
        return "sysctl \(key) running=\(node["running"]?.string ?? "-") after-reboot=\(value) sysctl-system=\(node["sysctl_system"]?["value"]?.string ?? "-")"
    }

    public static func compare(previous path: String?, results: [JSONNode]?, with report: Report, volatile: Set<String> = []) -> AuditChanges {
        guard let path, let results else {
            return AuditChanges(previous: nil, newlyFailing: [], fixed: [], drift: [])
        }
        var before: [String: (status: Status, actual: String, observed: String?)] = [:]
        for item in results {
            guard let id = item["id"]?.string, let status = item["status"]?.string.flatMap(Status.init(rawValue:)) else { continue }
            before[id] = (status, item["actual"]?.string ?? "", item["observation"].flatMap(observedValues))
        }
        let bad: Set<Status> = [.fail, .error, .warn]
        var newly: [String] = [], fixed: [String] = [], drift: [Drift] = []
        for entry in report.entries {
            let id = entry.subject.id, now = entry.result
            let old = before[id]
            if bad.contains(now.status) && !(old.map { bad.contains($0.status) } ?? false) { newly.append(id) }
            if !bad.contains(now.status), now.status != .waived, let old, bad.contains(old.status) { fixed.append(id) }
            guard let old, !volatile.contains(id) else { continue }
            // Where both runs carry a typed observation, drift is a change of what was observed
            // (values), not of its words: a setting moved to another file is no drift.
            if let was = old.observed, let observed = now.observation.map(Self.observedValues) {
                if was != observed { drift.append(Drift(id: id, old: old.actual, new: now.actual)) }
            } else if old.actual != now.actual {
                drift.append(Drift(id: id, old: old.actual, new: now.actual))
            }
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
        render([(report.node.name, report, certificates)])
    }

    /// Several nodes' audits in one file (a cluster audit: each node, and the cluster rules under
    /// node="cluster"); each metric family's HELP and TYPE once, as the format requires.
    public static func render(_ runs: [(node: String, report: Report, certificates: [(path: String, secondsLeft: Int64)])]) -> String {
        var out = "# HELP kcheck_rule_status 1 for the status each rule has now (pass, fail, warn, skip, error, waived).\n"
        out += "# TYPE kcheck_rule_status gauge\n"
        for run in runs {
            for entry in run.report.entries {
                for status in Status.allCases {
                    out += "kcheck_rule_status{node=\(label(run.node)),rule=\(label(entry.subject.id)),severity=\(label(entry.subject.severity.rawValue)),status=\(label(status.rawValue))} \(entry.result.status == status ? 1 : 0)\n"
                }
            }
        }
        out += "# HELP kcheck_results How many rules have each status.\n# TYPE kcheck_results gauge\n"
        for run in runs {
            let summary = run.report.summary
            for status in Status.allCases { out += "kcheck_results{node=\(label(run.node)),status=\(label(status.rawValue))} \(summary[status])\n" }
        }
        func family(_ name: String, _ help: String, _ value: (Report) -> String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for run in runs { out += "\(name){node=\(label(run.node))} \(value(run.report))\n" }
        }
        family("kcheck_last_run_timestamp_seconds", "When the audit ran (Unix time).") { String($0.startedAt.seconds) }
        family("kcheck_last_run_duration_seconds", "How long the audit's checks took.") { secondsText($0.durationSeconds) }
        family("kcheck_last_run_passed", "1 when no rule's status is one the run fails on.") { $0.failed ? "0" : "1" }
        if runs.contains(where: { !$0.certificates.isEmpty }) {
            // Seconds, Prometheus's base unit (promtool refuses days): divide by 86400 for days.
            out += "# HELP kcheck_certificate_expiry_seconds Seconds until each certificate expires (negative: expired).\n"
            out += "# TYPE kcheck_certificate_expiry_seconds gauge\n"
            for run in runs {
                for c in run.certificates { out += "kcheck_certificate_expiry_seconds{node=\(label(run.node)),path=\(label(c.path))} \(c.secondsLeft)\n" }
            }
        }
        return out
    }
}
