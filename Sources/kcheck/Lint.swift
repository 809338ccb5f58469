import ArgumentParser
import KCheckCore
import KCheckNative

extension FileKind: ExpressibleByArgument {}

struct Lint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint", _superCommandName: "kcheck",
        abstract: "Lint the files the guide has people write: environment.sh, sysctl files, /etc/hosts, /etc/fstab, ca-config.json, ca-csr.json.",
        discussion: """
            Without FILE, lints the node's own files (under --root). The kind of each file is told \
            from its name or content; --kind overrides. Exit status: 0 clean; 1 findings (by \
            default warnings too; see --fail-on); 2 a usage error or a file that cannot be read \
            or whose kind cannot be told.
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var inventory: InventoryOptions
    @OptionGroup var reports: ReportOptions

    @Option(name: .long, help: ArgumentHelp("The kind of every FILE: \(FileKind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "KIND"))
    var kind: FileKind?

    @Argument(help: ArgumentHelp("Files to lint, on this machine.", valueName: "FILE"))
    var files: [String] = []

    func run() throws {
        let started = Posix.wallClock()
        let clock = Posix.monotonicNanoseconds()
        let profile = try node.profile()
        let target = try node.node()
        let inv = try inventory.load(from: target)
        var results: [(path: String, kind: FileKind, findings: [Finding])] = []
        let session = LintSession(node: target, inventory: inv, profile: profile)
        func lint(_ path: String, _ kind: FileKind, _ bytes: [UInt8]) {
            results.append((path, kind, session.lint(path: path, bytes: bytes, kind: kind)))
        }
        if files.isEmpty {
            for file in Linter.nodeFiles(target) {
                switch file.read {
                case .content(let bytes): lint(file.path, kind ?? file.kind, bytes)
                case .unreadable(let why):
                    // Never left out silently: a file the guide has people write that cannot be read is an error.
                    let finding = Finding(.readable, .error, at: SourceLocation(file: file.path, line: 1), why)
                    results.append((file.path, kind ?? file.kind, [finding]))
                case .missing: continue
                }
            }
        } else {
            for path in files {
                let bytes: [UInt8]
                switch Posix.readFile(path, limit: HostsFile.readLimit, followSymlinks: true) {  // operator-given: followed, as any tool does
                case .success(let b): bytes = b
                case .failure(let error): throw CLIError.usage(error.description)
                }
                guard let fileKind = kind ?? Linter.detect(path: path, bytes: bytes) else {
                    throw CLIError.usage("\(path): cannot tell what kind of file this is; pass --kind (\(FileKind.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                lint(path, fileKind, bytes)
            }
        }
        let identity = Evaluator(node: target, rules: []).identity
        let policy = reports.failOnWasSet ? reports.policy : FailurePolicy([.fail, .warn, .error])
        let report = Linter.report(
            files: results, node: identity, policy: policy, started: started,
            duration: Double(Posix.monotonicNanoseconds() - clock) / 1e9)
        try reports.emit(report, command: "lint")
        if report.failed { throw ExitCode(Exit.failed) }
    }
}

/// --env: the cluster's inventory.
struct InventoryOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The cluster's environment.sh (read as bash, never executed). Default: the node's /opt/k8s/bin/environment.sh when it exists.",
            valueName: "FILE"))
    var env: String?

    /// The inventory: --env FILE (an error in it is a usage error), else the node's own file
    /// (an error in it leaves no inventory; the lint-clean rule reports it).
    func load(from node: Node) throws(CLIError) -> Inventory? {
        if let env {
            switch Posix.readFile(env, limit: defaultReadLimit, followSymlinks: true) {
            case .success(let bytes):
                do throws(SourceError) {
                    return try Inventory.parse(bytes, path: env)
                } catch {
                    throw CLIError.configuration(error.description)
                }
            case .failure(let error): throw CLIError.usage("--env: \(error)")
            }
        }
        return Inventory.load(from: node)
    }
}
