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
            cron mails only then. --prometheus writes node_exporter's textfile format. Exit status \
            as preflight: 0 passed, 1 a status in --fail-on, 2 a usage or output error (another \
            audit holding the reports directory's lock, a full disk).
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var inventory: InventoryOptions

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

    @Option(name: .long, help: ArgumentHelp("Run only these rules (comma-separated ids).", valueName: "IDS"))
    var only: String?

    func validate() throws {
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

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let cwd = Posix.currentDirectory() ?? "/"
        return (cwd.hasSuffix("/") ? cwd : cwd + "/") + path
    }

    func run() throws {
        let profile = try node.profile()
        let target = try node.node()
        var selection: Set<String>?
        if let only {
            selection = Set(only.split(separator: ",").map { String($0.trimmed) })
            for id in selection! where profile.rule(id: id) == nil { throw CLIError.usage("--only: no rule '\(id)' in profile \(profile.name)") }
        }
        let dir = Self.absolute(reportsDir)
        let files = SafeWriter(root: "/")
        if case .failure(let failure) = files.makeDirectory(dir, mode: 0o755) { throw CLIError.output("--reports-dir: \(failure)") }
        let lock: FileLock
        switch FileLock.acquire(files, path: dir + "/.lock") {
        case .success(let l): lock = l
        case .failure(let failure): throw CLIError.output("--reports-dir: \(failure)")
        }
        defer { withExtendedLifetime(lock) {} }

        var report = Engine.run(
            profile: profile, on: target, command: "audit", policy: policy, only: selection, inventory: try inventory.load(from: target))
        // The previous audit, through latest.json.
        var previous: (name: String, json: String)?
        if case .success(.symlink(let name)) = files.entry(dir + "/latest.json"),
            case .success(.file(let bytes, _, _, _)) = files.entry(dir + "/" + name)
        {
            previous = (dir + "/" + name, String(decoding: bytes, as: UTF8.self))
        }
        let changes = AuditChanges.compare(previous: previous?.name, json: previous?.json, with: report)
        report.changes = changes

        let c = Posix.utcCalendar(report.startedAt.seconds)
        func pad(_ n: Int, _ w: Int = 2) -> String { String(repeating: "0", count: max(0, w - String(n).count)) + String(n) }
        let stamp = "kcheck-audit-\(pad(c.year, 4))\(pad(c.month))\(pad(c.day))T\(pad(c.hour))\(pad(c.minute))\(pad(c.second))Z-\(pad(Int(report.startedAt.nanoseconds / 1_000_000), 3))"
        func write(_ name: String, _ text: String) throws(CLIError) {
            if case .failure(let failure) = files.writeFile(dir + "/" + name, Array(text.utf8), mode: 0o644) {
                throw CLIError.output("cannot write the audit report in \(dir): \(failure.reason)")
            }
        }
        // Reports first, then the links to them: a crash between leaves the previous latest intact.
        try write(stamp + ".json", JSONReporter.render(report, options: RenderOptions()))
        try write(stamp + ".xml", JUnitReporter.render(report, options: RenderOptions()))
        for ext in ["json", "xml"] {
            if case .failure(let failure) = files.writeSymlink(dir + "/latest." + ext, target: stamp + "." + ext) {
                throw CLIError.output("cannot point latest.\(ext) at the new report in \(dir): \(failure.reason)")
            }
        }
        // The last --keep audits stay.
        if case .success(let names) = Posix.listDirectory(dir) {
            let audits = names.filter { $0.hasPrefix("kcheck-audit-") && $0.hasSuffix(".json") }.sorted()
            for old in audits.dropLast(keep) {
                let base = String(old.dropLast(".json".count))
                _ = files.remove(dir + "/" + base + ".json")
                _ = files.remove(dir + "/" + base + ".xml")
            }
        }
        if let prometheus {
            let inventory = CertificateInventory.scan(CertificateInventory.defaultPaths, on: target, required: false)
            let now = report.startedAt.seconds
            let certificates = inventory.certificates.map { (path: $0.label, secondsLeft: $0.info.notAfter - now) }
            if case .failure(let failure) = files.writeFile(Self.absolute(prometheus), Array(PrometheusReporter.render(report, certificates: certificates).utf8), mode: 0o644) {
                throw CLIError.output("--prometheus: \(failure)")
            }
        }

        let when = Set(notifyOn.split(separator: ",").map { String($0.trimmed) })
        let speak = !quiet || when.contains("always") || (when.contains("fail") && report.failed) || (when.contains("change") && !changes.isEmpty && changes.previous != nil)
        if speak {
            let color = Posix.environment("NO_COLOR").map { $0.isEmpty } ?? true && Posix.environment("TERM") != "dumb" && Posix.isTerminal(1)
            Posix.printOut(TextReporter.render(report, options: RenderOptions(color: color)) + "\n" + changes.text() + "Reports: \(dir)/\(stamp).json, .xml\n")
        }
        if report.failed { throw ExitCode(Exit.failed) }
    }
}
