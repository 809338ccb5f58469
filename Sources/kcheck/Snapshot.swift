import ArgumentParser
import KCheckCore
import KCheckNative

/// Options of the commands that reach nodes over SSH.
struct SSHOptions: ParsableArguments {
    @Option(name: .customLong("ssh-config"), help: ArgumentHelp("An ssh_config file for ssh's -F (default: the user's own).", valueName: "FILE"))
    var sshConfig: String?

    /// A run's directory for its ssh control sockets.
    static func controlDirectory() throws(CLIError) -> String {
        switch Posix.makeTemporaryDirectory(prefix: "kcheck-ssh") {
        case .success(let dir): return dir
        case .failure(let error): throw CLIError.output("\(error)")
        }
    }
}

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", _superCommandName: "kcheck",
        abstract: "Save a node's snapshot over SSH, to judge it later with kcheck preflight --root DIR.",
        discussion: """
            Runs a POSIX sh script that kcheck generates on HOST (ssh HOST sh -s; nothing is \
            installed there, nothing else runs) and writes what the profile's rules read into DIR \
            in the node-tree format (docs/node-tree.md). Exit status: 0 saved; 1 the node could not \
            be reached or its snapshot was incomplete (with the reason); 2 a usage error.
            """)

    @Argument(help: ArgumentHelp("The node: a host name or address, or an ssh config Host.", valueName: "HOST"))
    var host: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The directory to write (new, or empty).", valueName: "DIR"))
    var output: String

    @Option(name: .long, help: ArgumentHelp("Load the rules from the YAML files in DIR instead of the built-in guide profile.", valueName: "DIR"))
    var rules: String?

    @OptionGroup var ssh: SSHOptions

    func validate() throws {
        if let problem = SSHTarget.validate(host) { throw ValidationError(problem) }
    }

    func run() throws {
        let profile = try NodeOptions.profile(rules: rules)
        switch Posix.listDirectory(output) {
        case .success(let names) where !names.isEmpty: throw CLIError.usage("--output \(output) is not empty")
        case .success: break
        case .failure(let error) where error.isNotFound:
            if case .failure(let error) = Posix.makeDirectory(output, mode: 0o700) { throw CLIError.output("\(error)") }
        case .failure(let error): throw CLIError.usage("--output: \(error)")
        }
        let control = try SSHOptions.controlDirectory()
        defer { Posix.removeTree(control) }
        let target = SSHTarget(host: host, configFile: ssh.sshConfig, controlDirectory: control)
        defer { target.close() }
        switch target.snapshot(profile: profile, into: output) {
        case .success: Posix.printOut("Saved \(host)'s snapshot in \(output): kcheck preflight --root \(output)\n")
        case .failure(let problem):
            Posix.printError("kcheck: \(problem)\n")
            throw ExitCode(Exit.failed)
        }
    }
}
