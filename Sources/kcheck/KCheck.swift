import ArgumentParser
import KCheckCore
import KCheckNative
import KCheckProfile
import KCheckRuleLoader

/// Exit statuses, documented in the README and in --help.
enum Exit {
    static let passed: Int32 = 0
    static let failed: Int32 = 1
    static let usage: Int32 = 2
}

struct KCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kcheck",
        abstract: "Check and fix the nodes of a Kubernetes cluster installed from binaries.",
        discussion: """
            Exit status: 0 every rule passed; 1 a rule failed (by default a failed rule or one \
            kcheck could not check; see --fail-on); 2 a usage, configuration or output error \
            (bad flag, unreadable or invalid rule file, unwritable report).
            """,
        version: "kcheck \(Engine.version)",
        subcommands: [Preflight.self, Fix.self, Undo.self, Runs.self, Audit.self, ReportCommand.self, SnapshotCommand.self, Lint.self, Certs.self, Rules.self, Version.self, RemoteCommand.self])
}

/// Options every command that reads a node and its rules shares.
struct NodeOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Check a node tree: the node's files at their own paths under DIR.", valueName: "DIR"))
    var root: String?

    @Option(name: .long, help: ArgumentHelp("Load the rules from the YAML files in DIR instead of the built-in guide profile.", valueName: "DIR"))
    var rules: String?

    @Option(name: .long, help: ArgumentHelp(
        "Only the rules of these phases, comma-separated: prepare (the guide's part 1), install (gates before installing the components), running (the installed cluster). Default: all.",
        valueName: "PHASES"))
    var phase: String?

    /// The profile, less the rules of the phases --phase leaves out.
    func profile() throws(CLIError) -> Profile {
        let profile = try Self.profile(rules: rules)
        guard let phase else { return profile }
        return profile.selecting(phases: try Self.phases(phase))
    }

    /// The phases of a --phase value; an unknown one is a usage error naming the known ones.
    static func phases(_ text: String) throws(CLIError) -> Set<Phase> {
        var phases: Set<Phase> = []
        for name in text.split(separator: ",").map({ String($0.trimmed) }) {
            guard let phase = Phase(rawValue: name) else {
                throw CLIError.usage("--phase: no phase '\(name)' (one of: \(Phase.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            phases.insert(phase)
        }
        guard !phases.isEmpty else { throw CLIError.usage("--phase: name at least one phase") }
        return phases
    }

    /// The built-in guide profile, or the rule files in `rules`.
    static func profile(rules: String?) throws(CLIError) -> Profile {
        guard let rules else { return Profile.guideNode }
        do throws(RuleFileError) {
            return try RuleLoader.loadProfile(directory: rules)
        } catch {
            throw CLIError.configuration(error.description)
        }
    }

    func node() throws(CLIError) -> MutableNode { try Self.node(root: root) }

    /// The live node, or the node tree at `root`.
    static func node(root: String?) throws(CLIError) -> MutableNode {
        guard let root else { return LiveNode() }
        switch Posix.stat(root) {
        case .success(let st) where st.kind == .directory: return TreeNode(root: root)
        case .success: throw CLIError.usage("--root \(root): not a directory")
        case .failure(let error): throw CLIError.usage("--root: \(error)")
        }
    }
}

/// --wait in seconds (nil: once), preflight's and audit's alike.
func waitSeconds(_ wait: String?) throws(CLIError) -> Double? {
    guard let wait else { return nil }
    guard let seconds = Waiting.seconds(wait) else { throw CLIError.usage("--wait: `\(wait)` is not a duration (90s, 5m, 1h, up to a day)") }
    return seconds
}

/// A progress line on a terminal (standard error): what a --wait run still waits for.
func sayWaiting(_ pending: [String], _ left: Double) {
    guard Posix.isTerminal(2) else { return }
    let names = pending.prefix(4).joined(separator: ", ") + (pending.count > 4 ? " and \(pending.count - 4) more" : "")
    printError("kcheck: waiting \(Int(left.rounded())) s more for \(names)\n")
}

/// The comma-separated rule ids of `option`, each checked against the profile.
/// Shell completion of rule ids (`--only`, `--skip`, `rules show`): the built-in profile's node and
/// cluster rules, from the compiled-in profile (no rule file is read).
let ruleIDCompletion = CompletionKind.list(Profile.guideNode.rules.map(\.id) + Profile.guideNode.clusterRules.map(\.id))

func ruleIDs(_ text: String, option: String, in profile: Profile, clusterRules: Bool = false) throws(CLIError) -> Set<String> {
    let ids = Set(text.split(separator: ",").map { String($0.trimmed) })
    for id in ids where profile.rule(id: id) == nil && !(clusterRules && profile.clusterRule(id: id) != nil) {
        let known = profile.rules.map(\.id) + (clusterRules ? profile.clusterRules.map(\.id) : [])
        throw CLIError.usage("\(option): no rule '\(id)' in profile \(profile.name)\(suggestion(id, known)) (see `kcheck rules`)")
    }
    return ids
}

/// The profile, less the rules --only leaves out.
func selected(_ profile: Profile, only: String?) throws(CLIError) -> Profile {
    guard let only else { return profile }
    let ids = try ruleIDs(only, option: "--only", in: profile)
    return Profile(name: profile.name, rules: profile.rules.filter { ids.contains($0.id) }, clusterRules: profile.clusterRules)
}

/// Errors the CLI reports itself, each with its exit status.
enum CLIError: Error {
    case usage(String)
    case configuration(String)
    case output(String)

    var message: String {
        switch self {
        case .usage(let m): "kcheck: error: \(m)"
        case .configuration(let m): m
        case .output(let m): "kcheck: error: \(m)"
        }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", _superCommandName: "kcheck", abstract: "Print kcheck's version and the libraries it runs with.")

    func run() {
        printText("kcheck \(Engine.version)\n\(OpenSSL.versionText)\n\(PCRE2Info.versionText)\n")
    }
}

/// Messages to people on the terminal: what a node or ssh said (a hostname, a file's line, ssh's
/// `\r`) is made `visible`, so that it cannot move the cursor or recolour the terminal. Reports
/// rendered with colour go through `Posix.printOut` after their own escaping.
func printError(_ text: String) { Posix.printError(visible(text)) }
func printText(_ text: String) { Posix.printOut(visible(text)) }

/// --waivers: exceptions a person approved, each with a reason and an expiry date.
struct WaiverOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "A waivers file (rule, optional node or certificate, reason, approved_by, expires). Default: /etc/kcheck/waivers.yaml when present (in a node tree, the tree's).",
            valueName: "FILE"))
    var waivers: String?

    /// The waivers: --waivers FILE, else the node's /etc/kcheck/waivers.yaml when it exists. A
    /// rule id no rule of `rules` (the whole profile, not a selection) has, or a waiver that is
    /// not whole, is a configuration error with file:line:col (exit 2).
    func load(from node: Node, rules: String?) throws(CLIError) -> [Waiver] {
        let bytes: [UInt8], file: String
        if let waivers {
            switch Posix.readFile(waivers, limit: defaultReadLimit, followSymlinks: true) {
            case .success(let b): (bytes, file) = (b, waivers)
            case .failure(let error): throw CLIError.usage("--waivers: \(error)")
            }
        } else {
            switch node.read(Waivers.defaultPath, limit: defaultReadLimit) {
            case .content(let b): (bytes, file) = (b, Waivers.defaultPath)
            case .missing: return []
            case .unreadable(let why): throw CLIError.configuration("kcheck: error: \(Waivers.defaultPath): \(why)")
            }
        }
        let profile = try NodeOptions.profile(rules: rules)
        do throws(SourceError) {
            return try Waivers.parse(
                String(decoding: bytes, as: UTF8.self), file: file, knownRules: Set(profile.rules.map(\.id) + profile.clusterRules.map(\.id)),
                clusterRules: Set(profile.clusterRules.map(\.id)))
        } catch {
            throw CLIError.configuration(error.description)
        }
    }
}

/// Now, in seconds since the epoch: when a waiver's last day has passed.
var nowSeconds: Int64 { Posix.wallClock().seconds }
