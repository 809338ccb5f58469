import ArgumentParser
import KCheckCore
import KCheckNative

enum ColorChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never
}

/// Where reports go and in which formats.
struct ReportOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Report format: text, json, junit, markdown or html. Repeat the option or separate with commas for several.",
            valueName: "FORMAT"))
    var format: [String] = []

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the report (one format) to FILE.", valueName: "FILE"))
    var output: String?

    @Option(name: .long, help: ArgumentHelp("Write one report per format into DIR (kcheck-<command>.txt/.json/.xml).", valueName: "DIR"))
    var outputDir: String?

    @Option(
        name: .customLong("fail-on"),
        help: ArgumentHelp(
            "Statuses that make the run fail (exit 1), comma-separated from fail, error, warn; or none. Default: fail,error (lint: fail,error,warn).",
            valueName: "STATUSES"))
    var failOnOption: String?

    var failOn: String { failOnOption ?? "fail,error" }
    var failOnWasSet: Bool { failOnOption != nil }

    @Option(name: .long, help: "Colour in the text table: auto (a terminal, and NO_COLOR unset), always or never.")
    var color: ColorChoice = .auto

    @Flag(name: .shortAndLong, help: "Print nothing on standard output when reports go to files.")
    var quiet = false

    @Flag(name: .long, help: "Text: every result, passing ones too, with what was expected and seen and the rule's remediation (without it: problems by area, passing ones counted; JSON and JUnit always hold everything).")
    var verbose = false

    /// --format values, repeated or comma-separated.
    var formatNames: [String] { format.flatMap { $0.split(separator: ",").map { String($0.trimmed) } }.filter { !$0.isEmpty } }

    var formats: [ReportFormat] {
        let names = formatNames
        var result: [ReportFormat] = []
        for name in names { if let f = ReportFormat(rawValue: name), !result.contains(f) { result.append(f) } }
        return result.isEmpty ? [.text] : result
    }

    var policy: FailurePolicy {
        if failOn == "none" { return FailurePolicy([]) }
        return FailurePolicy(Set(failOn.split(separator: ",").compactMap { Status(rawValue: String($0.trimmed)) }))
    }

    func validate() throws {
        for name in formatNames where ReportFormat(rawValue: name) == nil {
            throw ValidationError("unknown format '\(name)' (known: \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if failOn != "none" {
            for name in failOn.split(separator: ",").map({ String($0.trimmed) }) {
                guard let status = Status(rawValue: name), [.fail, .error, .warn].contains(status) else {
                    throw ValidationError("--fail-on takes fail, error, warn (comma-separated) or none; not '\(name)'")
                }
            }
        }
        if output != nil && outputDir != nil { throw ValidationError("--output and --output-dir exclude each other") }
        if outputDir == nil && formats.count > 1 {
            throw ValidationError("several formats need --output-dir (or one --format with --output)")
        }
    }

    var useColor: Bool {
        switch color {
        case .always: return true
        case .never: return false
        case .auto:
            if let noColor = Posix.environment("NO_COLOR"), !noColor.isEmpty { return false }
            if Posix.environment("TERM") == "dumb" { return false }
            return Posix.isTerminal(1)
        }
    }

    /// Writes the report in every requested format; the text table also goes to standard
    /// output when reports go to files (unless --quiet or text itself went to a file).
    func emit(_ report: Report, command: String, problemsOnly: Bool = false) throws(CLIError) {
        try emit(command: command) { format, options in
            var options = options
            options.problemsOnly = problemsOnly
            options.verbose = verbose
            return format.reporter.render(report, options: options)
        }
    }

    /// A cluster run's report, in the same places.
    func emit(_ report: ClusterReport, command: String) throws(CLIError) {
        try emit(command: command) { format, options in
            var options = options
            options.verbose = verbose
            return ClusterReporters.render(report, format: format, options: options)
        }
    }

    private func emit(command: String, _ render: (ReportFormat, RenderOptions) -> String) throws(CLIError) {
        let formats = self.formats
        if output == nil && outputDir == nil {
            let format = formats[0]
            Posix.printOut(render(format, RenderOptions(color: format == .text && useColor)))
            return
        }
        var textWritten = false
        if let output {
            try write(render(formats[0], RenderOptions()), to: output)
            textWritten = formats[0] == .text
        } else if let outputDir {
            if case .failure(let error) = Posix.makeDirectory(outputDir) { throw CLIError.output("--output-dir: \(error)") }
            for format in formats {
                let path = outputDir + "/kcheck-\(command).\(format.reporter.fileExtension)"
                try write(render(format, RenderOptions()), to: path)
                textWritten = textWritten || format == .text
            }
        }
        if !quiet && !textWritten {
            Posix.printOut(render(.text, RenderOptions(color: useColor)))
        }
    }

    private func write(_ text: String, to path: String) throws(CLIError) {
        if case .failure(let error) = Posix.writeOutput(path, text: text) {
            throw CLIError.output("cannot write report: \(error)")
        }
    }
}

/// What `kcheck preflight` takes for one node.
struct PreflightOptions: ParsableArguments {
    @OptionGroup var node: NodeOptions
    @OptionGroup var inventory: InventoryOptions
    @OptionGroup var reports: ReportOptions
    @OptionGroup var waiverOptions: WaiverOptions

    @Option(name: .long, help: ArgumentHelp("Run only these rules (comma-separated ids).", valueName: "IDS"), completion: ruleIDCompletion)
    var only: String?

    @Option(name: .long, help: ArgumentHelp("Check again (every 2 s) until every rule passes or DURATION (90s, 5m, 1h) is up; the last check is the result.", valueName: "DURATION"))
    var wait: String?

    /// This node, or the node tree of --root.
    func runOne() throws {
        let profile = try selectedProfile()
        let target = try node.node()
        let inv = try inventory.load(from: target)
        let waivers = try waiverOptions.load(from: target, rules: node.rules)
        func judge(_ target: Node) -> Report {
            let report = Engine.run(profile: profile, on: target, command: "preflight", policy: reports.policy, inventory: inv)
            return Waivers.apply(waivers, to: report, names: [report.node.name], now: nowSeconds)
        }
        var report = judge(target)
        if let seconds = try waitSeconds(wait), report.failed {
            // Each judgement reads the node afresh (a new node object: nothing read is reused).
            report = try Waiting.run(
                from: report, for: seconds, judge: { judge(try node.node()) }, passed: { !$0.failed }, waiting: { sayWaiting(Waiting.pending($0), $1) })
        }
        try reports.emit(report, command: "preflight")
        if report.failed { throw ExitCode(Exit.failed) }
    }

    /// The profile, less the rules --only leaves out.
    func selectedProfile() throws(CLIError) -> Profile { try selected(node.profile(), only: only) }
}

/// `kcheck preflight` on one node, as main.swift parses it when no option of several nodes is
/// given: swift-argument-parser reflects over every option a command declares on every run, and
/// the options of a cluster run cost a single-node run 0.35 ms (of 4). Not a subcommand of its
/// own: `Preflight` is the command users see, in help and in errors.
struct OneNodePreflight: ParsableCommand {
    static let configuration = Preflight.configuration

    @OptionGroup var options: PreflightOptions

    /// Arguments that only `Preflight` (all options) parses: a cluster run, or help.
    static let needsAllOptions: Set<String> = ["--cluster", "--hosts", "--parallel", "--ssh-config", "--snapshots", "--help", "-h", "help"]

    static func handles(_ arguments: ArraySlice<String>) -> Bool {
        !arguments.contains { argument in
            needsAllOptions.contains(argument) || needsAllOptions.contains(String(argument.split(separator: "=", maxSplits: 1).first ?? ""))
        }
    }

    func run() throws { try options.runOne() }
}

struct Preflight: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preflight", _superCommandName: "kcheck",
        abstract: "Check this node (or a node tree) against the documented state.",
        discussion: """
            Exit status: 0 every rule passed; 1 a rule's status is in --fail-on (default: fail \
            and error, so a rule kcheck could not check is never a silent pass); 2 a usage, \
            configuration or output error.
            """)

    @OptionGroup var options: PreflightOptions

    @OptionGroup var nodes: ClusterOptions

    @Option(name: .long, help: ArgumentHelp("Judge saved snapshots as one cluster: every directory in DIR is a node tree (kcheck snapshot), named after it.", valueName: "DIR"))
    var snapshots: String?

    var node: NodeOptions { options.node }
    var inventory: InventoryOptions { options.inventory }
    var reports: ReportOptions { options.reports }

    func validate() throws {
        if (nodes.isSet || snapshots != nil) && node.root != nil {
            throw ValidationError("--root checks one node tree; --cluster, --hosts and --snapshots check several nodes")
        }
        if snapshots != nil && nodes.isSet { throw ValidationError("--snapshots judges saved snapshots; --cluster and --hosts collect them") }
    }

    func run() throws {
        if nodes.isSet { return try runCluster() }
        if let snapshots { return try runSnapshots(snapshots) }
        try options.runOne()
    }

    /// Every node: this one directly (an inventory address on one of its interfaces other than
    /// loopback), the others over SSH, at most --parallel at once; then the cluster rules.
    func runCluster() throws {
        let profile = try selectedProfile()
        let local = LiveNode()
        let inv = try inventory.load(from: local)
        defer { ClusterCollection.cleanUp() }
        let request = try remoteRequest(.record, rules: node.rules, env: inventory.env, only: options.only == nil ? nil : Set(profile.rules.map(\.id)))
        let waivers = try options.waiverOptions.load(from: local, rules: node.rules)
        func judge() throws -> ClusterReport {
            ClusterCollection.cleanUp()
            let clusterMembers = try nodes.collect(request: request, inventory: inv, local: local)
            let report = ClusterEngine.run(profile: profile, members: clusterMembers, inventory: inventory.env == nil ? nil : inv, policy: reports.policy)
            return Waivers.apply(waivers, to: report, now: nowSeconds)
        }
        var report = try judge()
        if let seconds = try waitSeconds(options.wait), report.failed {
            // A node rebooting over SSH is unreachable until it is back: judged again.
            report = try Waiting.run(
                from: report, for: seconds, judge: judge, passed: { !$0.failed }, waiting: { sayWaiting(Waiting.pending($0), $1) })
        }
        try reports.emit(report, command: "preflight")
        if report.failed { throw ExitCode(Exit.failed) }
    }

    /// Saved snapshots (one directory each) judged as one cluster, offline.
    func runSnapshots(_ directory: String) throws {
        let profile = try selectedProfile()
        let names: [String]
        switch Posix.listDirectory(directory) {
        case .success(let n): names = n
        case .failure(let error): throw CLIError.usage("--snapshots: \(error)")
        }
        var members: [ClusterMember] = []
        for name in names where !name.hasPrefix(".") {
            let path = directory + "/" + name
            guard case .success(let st) = Posix.stat(path), st.kind == .directory else { continue }
            members.append(ClusterMember(label: name, tree: TreeNode(root: path, source: "tree:\(path)")))
        }
        guard !members.isEmpty else { throw CLIError.usage("--snapshots \(directory): no node trees in it") }
        let inv = inventory.env == nil ? nil : try inventory.load(from: members[0].node!)
        let waivers = try options.waiverOptions.load(from: LiveNode(), rules: node.rules)
        let report = Waivers.apply(waivers, to: ClusterEngine.run(profile: profile, members: members, inventory: inv, policy: reports.policy), now: nowSeconds)
        try reports.emit(report, command: "preflight")
        if report.failed { throw ExitCode(Exit.failed) }
    }

    func selectedProfile() throws(CLIError) -> Profile { try options.selectedProfile() }

}
