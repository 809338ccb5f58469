import ArgumentParser
import KCheckCore
import KCheckNative

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", _superCommandName: "kcheck",
        abstract: "Check this node from cron or a systemd timer: timestamped reports, the last N kept, what changed since the last audit.",
        discussion: """
            Runs the profile, writes kcheck-audit-TIME.json and .xml into --reports-dir (latest.json \
            and latest.xml point at the newest; the last --keep are kept), and compares with the \
            previous audit: rules newly failing, rules fixed, values that drifted. With --quiet it \
            prints only when --notify-on says so (by default when something failed or changed), so \
            cron mails only then. --prometheus writes node_exporter's textfile format. With \
            --cluster or --hosts, every node over SSH and the rules that compare nodes, one cluster \
            report per audit and the changes per node. Exit status \
            as preflight: 0 passed, 1 a status in --fail-on, 2 a usage or output error (another \
            audit holding the reports directory's lock, a full disk).
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var inventory: InventoryOptions
    @OptionGroup var nodes: ClusterOptions
    @OptionGroup var waiverOptions: WaiverOptions

    @Option(name: .long, help: ArgumentHelp("Where the reports go.", valueName: "DIR"))
    var reportsDir = "/var/lib/kcheck/reports"

    @Option(name: .long, help: ArgumentHelp("How many audits' reports to keep.", valueName: "N"))
    var keep = 30

    @Flag(name: .shortAndLong, help: "Print only when --notify-on says so.")
    var quiet = false

    @Option(name: .long, help: ArgumentHelp("With --quiet, when to print: fail, change (comma-separated), or always.", valueName: "WHEN"))
    var notifyOn = "fail,change"

    @Option(name: .long, help: ArgumentHelp("Also write Prometheus's text format to FILE (node_exporter textfile collector), atomically.", valueName: "FILE"))
    var prometheus: String?

    @Option(name: .customLong("fail-on"), help: ArgumentHelp("Statuses that make the run fail (exit 1): fail, error, warn, comma-separated; or none.", valueName: "STATUSES"))
    var failOn = "fail,error"

    @Option(name: .long, help: ArgumentHelp("Run only these rules (comma-separated ids).", valueName: "IDS"), completion: ruleIDCompletion)
    var only: String?

    @Flag(name: .long, help: "Text: every result, passing ones too, with what was expected and seen and the rule's remediation.")
    var verbose = false

    @Option(name: .long, help: ArgumentHelp("Check again (every 2 s) until every rule passes or DURATION (90s, 5m, 1h) is up; the last check is recorded.", valueName: "DURATION"))
    var wait: String?

    func validate() throws {
        if nodes.isSet && node.root != nil { throw ValidationError("--root audits one node tree; --cluster and --hosts audit several nodes") }
        guard keep >= 1 else { throw ValidationError("--keep must be at least 1") }
        for word in notifyOn.split(separator: ",") where !["fail", "change", "always"].contains(String(word.trimmed)) {
            throw ValidationError("--notify-on takes fail, change or always; not '\(word)'")
        }
        for name in failOn.split(separator: ",").map({ String($0.trimmed) }) where name != "none" {
            guard let status = Status(rawValue: name), [.fail, .error, .warn].contains(status) else {
                throw ValidationError("--fail-on takes fail, error, warn (comma-separated) or none; not '\(name)'")
            }
        }
    }

    var policy: FailurePolicy {
        failOn == "none" ? FailurePolicy([]) : FailurePolicy(Set(failOn.split(separator: ",").compactMap { Status(rawValue: String($0.trimmed)) }))
    }

    /// Where the operator sends reports: symlinks on the way are followed (Posix.operatorPath).
    static func absolute(_ path: String) -> String { Posix.operatorPath(path) }

    /// What one audit produced, a node's or a cluster's, for the common part to write and tell.
    private struct Outcome {
        var json: String
        var junit: String
        /// The text report; `problemsOnly`: what --quiet prints, the results that need a person.
        var text: (_ problemsOnly: Bool) -> String
        var changesText: String
        var changed: Bool
        var failed: Bool
        var startedAt: (seconds: Int64, nanoseconds: Int64)
        var metrics: () -> String
    }

    func run() throws {
        let profile = try selected(node.profile(), only: only)
        let dir = Self.absolute(reportsDir)
        let store: AuditStore
        switch AuditStore.open(dir) {
        case .success(let s): store = s
        case .failure(let failure): throw CLIError.output("--reports-dir: \(failure)")
        }
        let previous: (path: String, json: String)?
        switch store.previous() {
        case .success(let p): previous = p
        case .failure(let failure):
            throw CLIError.output("the previous audit cannot be read: \(failure.message). Move it away to start a new series of audits.")
        }
        let color = Posix.environment("NO_COLOR").map { $0.isEmpty } ?? true && Posix.environment("TERM") != "dumb" && Posix.isTerminal(1)
        defer { ClusterCollection.cleanUp() }
        let outcome = nodes.isSet
            ? try auditCluster(profile: profile, previous: previous.map { ($0.path, $0.json) }, color: color)
            : try auditNode(profile: profile, previous: previous.map { ($0.path, $0.json) }, color: color)
        let stamp: String
        switch store.save(json: outcome.json, junit: outcome.junit, startedAt: outcome.startedAt, keep: keep) {
        case .success(let s): stamp = s
        case .failure(let failure): throw CLIError.output(failure.message)
        }
        let files = SafeWriter(root: "/")
        if let prometheus {
            if case .failure(let failure) = files.writeFile(Self.absolute(prometheus), Array(outcome.metrics().utf8), mode: 0o644) {
                throw CLIError.output("--prometheus: \(failure)")
            }
        }

        let when = Set(notifyOn.split(separator: ",").map { String($0.trimmed) })
        let speak = !quiet || when.contains("always") || (when.contains("fail") && outcome.failed) || (when.contains("change") && outcome.changed)
        if speak {
            if quiet {
                // What cron mails: what changed first, then only what needs a person.
                Posix.printOut(visible(outcome.changesText) + "\n" + outcome.text(true) + "Reports: \(dir)/\(stamp).json, .xml\n")
            } else {
                Posix.printOut(outcome.text(false) + "\n" + visible(outcome.changesText) + "Reports: \(dir)/\(stamp).json, .xml\n")
            }
        }
        if outcome.failed { throw ExitCode(Exit.failed) }
    }

    static func certificates(on target: Node, now: Int64) -> [(path: String, secondsLeft: Int64)] {
        CertificateInventory.scan(CertificateInventory.defaultPaths, on: target, required: false).certificates.map {
            (path: $0.label, secondsLeft: $0.info.notAfter - now)
        }
    }

    private func auditNode(profile: Profile, previous: (name: String, json: String)?, color: Bool) throws -> Outcome {
        var target: Node = try node.node()
        let inv = try inventory.load(from: target)
        let waivers = try waiverOptions.load(from: target, rules: node.rules)
        func judge(_ target: Node) -> Report {
            let report = Engine.run(profile: profile, on: target, command: "audit", policy: policy, inventory: inv)
            return Waivers.apply(waivers, to: report, names: [report.node.name], now: nowSeconds)
        }
        var report = judge(target)
        if let seconds = try waitSeconds(wait), report.failed {
            (target, report) = try Waiting.run(
                from: (target, report), for: seconds,
                judge: { () throws -> (Node, Report) in
                    let fresh = try node.node()
                    return (fresh, judge(fresh))
                },
                passed: { !$0.1.failed }, waiting: { sayWaiting(Waiting.pending($0.1), $1) })
        }
        let changes = AuditChanges.compare(previous: previous?.name, json: previous?.json, with: report)
        report.changes = changes
        let final = report
        return Outcome(
            json: JSONReporter.render(report, options: RenderOptions()), junit: JUnitReporter.render(report, options: RenderOptions()),
            text: { TextReporter.render(final, options: RenderOptions(color: color, problemsOnly: $0, verbose: verbose)) }, changesText: changes.text(),
            changed: changes.changedSincePrevious, failed: report.failed, startedAt: report.startedAt,
            metrics: { PrometheusReporter.render(final, certificates: Self.certificates(on: target, now: final.startedAt.seconds)) })
    }

    /// Every node of the inventory (or --hosts) over SSH, and the rules that compare them; the
    /// changes since the previous audit per node and for the cluster rules.
    private func auditCluster(profile: Profile, previous: (name: String, json: String)?, color: Bool) throws -> Outcome {
        let local = LiveNode()
        let inv = try inventory.load(from: local)
        let request = try remoteRequest(.record, rules: node.rules, env: inventory.env, only: only == nil ? nil : Set(profile.rules.map(\.id)))
        let waivers = try waiverOptions.load(from: local, rules: node.rules)
        func collect() throws -> (members: [ClusterMember], report: ClusterReport) {
            ClusterCollection.cleanUp()
            let members = try nodes.collect(request: request, inventory: inv, local: local)
            let report = ClusterEngine.run(profile: profile, members: members, inventory: inventory.env == nil ? nil : inv, policy: policy, command: "audit")
            return (members, Waivers.apply(waivers, to: report, now: nowSeconds))
        }
        var (members, judged) = try collect()
        if let seconds = try waitSeconds(wait), judged.failed {
            (members, judged) = try Waiting.run(
                from: (members, judged), for: seconds, judge: collect, passed: { !$0.report.failed },
                waiting: { sayWaiting(Waiting.pending($0.report), $1) })
        }
        let report = AuditChanges.compare(previous: previous?.name, json: previous?.json, with: judged)
        let all = report.nodes + [(label: "cluster", report: report.cluster)]
        var changesText = ""
        for (label, r) in all {
            guard let changes = r.changes else { continue }
            changesText += label + ": " + changes.text()
        }
        let changed = all.contains { $0.report.changes?.changedSincePrevious ?? false }
        let trees = Dictionary(members.compactMap { m in m.node.map { (m.label, $0) } }, uniquingKeysWith: { a, _ in a })
        return Outcome(
            json: ClusterReporters.render(report, format: .json, options: RenderOptions()),
            junit: ClusterReporters.render(report, format: .junit, options: RenderOptions()),
            text: { ClusterReporters.render(report, format: .text, options: RenderOptions(color: color, problemsOnly: $0, verbose: verbose)) }, changesText: changesText,
            changed: changed, failed: report.failed, startedAt: report.cluster.startedAt,
            metrics: {
                PrometheusReporter.render(all.map { entry in
                    (entry.label, entry.report, trees[entry.label].map { Self.certificates(on: $0, now: entry.report.startedAt.seconds) } ?? [])
                })
            })
    }
}
