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

/// The nodes of a cluster run: every node of the inventory, or some hosts, reached over SSH.
struct ClusterOptions: ParsableArguments {
    @Flag(name: .long, help: "Every node of the inventory (NODE_IPS of --env, or of this node's environment.sh), over SSH; with the rules that compare nodes.")
    var cluster = false

    @Option(name: .long, help: ArgumentHelp("These nodes over SSH (comma-separated hosts or ssh config Host names); with the rules that compare nodes.", valueName: "HOSTS"))
    var hosts: String?

    @Option(name: .long, help: ArgumentHelp("How many nodes to reach at once.", valueName: "N"))
    var parallel = 8

    @OptionGroup var ssh: SSHOptions

    /// Whether nodes are to be reached over SSH.
    var isSet: Bool { cluster || hosts != nil }

    func validate() throws {
        guard parallel >= 1 else { throw ValidationError("--parallel must be at least 1") }
        for host in hosts.map({ $0.split(separator: ",").map { String($0.trimmed) } }) ?? [] {
            if let problem = SSHTarget.validate(host) { throw ValidationError("--hosts: \(problem)") }
        }
    }

    /// The members of the run: this node directly, the others' snapshots over SSH.
    func collect(profile: Profile, inventory: Inventory?, local: Node) throws(CLIError) -> [ClusterMember] {
        try ClusterCollection.collect(profile: profile, hosts: hosts, inventory: inventory, local: local, sshConfig: ssh.sshConfig, parallel: parallel)
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

/// Every node of a cluster run: this one directly (an inventory address on one of its interfaces
/// other than loopback), the others' snapshots collected over SSH, at most `parallel` at once.
enum ClusterCollection {
    struct Collected: Sendable {
        let directory: String?
        let problem: String?
        let clock: [Double]?
        var rootSSH: [[String]]? = nil
    }

    /// The run's temporary directories (control sockets, snapshots), removed by `cleanUp`.
    nonisolated(unsafe) private static var temporary: [String] = []

    static func cleanUp() {
        for directory in temporary { Posix.removeTree(directory) }
        temporary = []
    }

    static func collect(
        profile: Profile, hosts: String?, inventory inv: Inventory?, local: Node, sshConfig: String?, parallel: Int
    ) throws(CLIError) -> [ClusterMember] {
        var members: [(label: String, host: String)] = []
        if let hosts {
            members = hosts.split(separator: ",").map { String($0.trimmed) }.map { ($0, $0) }
        } else {
            guard let inv, !inv.nodeIPs.isEmpty else {
                throw CLIError.usage("--cluster needs an inventory with NODE_IPS: pass --env environment.sh")
            }
            for (i, ip) in inv.nodeIPs.enumerated() {
                if let problem = SSHTarget.validate(ip) { throw CLIError.configuration("\(inv.path): NODE_IPS[\(i)]: \(problem)") }
                members.append((i < inv.nodeNames.count ? inv.nodeNames[i] : ip, ip))
            }
        }
        let mine: Set<String>
        if case .success(let addresses) = Posix.interfaceAddresses() {
            mine = Set(addresses.filter { !$0.address.hasPrefix("127.") }.map(\.address))
        } else {
            mine = []
        }
        let control = try SSHOptions.controlDirectory()
        let snapshots = try SSHOptions.controlDirectory()
        temporary += [control, snapshots]
        let progress = Posix.isTerminal(2)
        // Item 3 is tried from the inventory's first node, to every node of the inventory.
        let probe = hosts == nil ? (inv?.nodeIPs ?? []) : []
        let probeScript = SSHTarget.rootSSHScript(probe)
        let collected = Parallel.map(Array(members.enumerated()), width: parallel) { index, member -> Collected in
            if mine.contains(member.host) {
                guard index == 0, !probe.isEmpty, case .success(let result) = Posix.run(["sh", "-s"], input: Array(probeScript.utf8), timeoutSeconds: 120) else {
                    return Collected(directory: nil, problem: nil, clock: nil)
                }
                return Collected(directory: nil, problem: nil, clock: nil, rootSSH: SSHTarget.parseRootSSH(result.standardOutput).map { [$0.address, $0.result] })
            }
            let target = SSHTarget(host: member.host, configFile: sshConfig, controlDirectory: control)
            defer { target.close() }
            let directory = snapshots + "/\(index)"
            let started = Posix.monotonicNanoseconds()
            if progress { Posix.printError("\(member.label): collecting over SSH…\n") }
            guard case .success = Posix.makeDirectory(directory, mode: 0o700) else {
                return Collected(directory: nil, problem: "cannot make \(directory)", clock: nil)
            }
            switch target.snapshot(profile: profile, into: directory) {
            case .failure(let problem):
                if progress { Posix.printError("\(member.label): \(problem)\n") }
                return Collected(directory: nil, problem: problem.message, clock: nil)
            case .success:
                let clock = target.measureClock()
                if progress {
                    Posix.printError("\(member.label): collected in \(secondsText(Double(Posix.monotonicNanoseconds() - started) / 1e9)) s\n")
                }
                var rootSSH: [[String]]?
                if index == 0 && !probe.isEmpty, case .success(let result) = target.run(script: probeScript, timeoutSeconds: 120) {
                    rootSSH = SSHTarget.parseRootSSH(result.standardOutput).map { [$0.address, $0.result] }
                }
                return Collected(directory: directory, problem: nil, clock: clock.map { [$0.seconds, $0.uncertainty] }, rootSSH: rootSSH)
            }
        }
        return zip(members, collected).map { member, got -> ClusterMember in
            var result: ClusterMember
            if mine.contains(member.host) {
                result = ClusterMember(label: member.label, node: local, problem: nil, clockOffset: (0, 0))
            } else if let directory = got.directory {
                result = ClusterMember(
                    label: member.label, host: member.host, node: TreeNode(root: directory, source: "ssh:\(member.host)"), problem: nil,
                    clockOffset: got.clock.map { ($0[0], $0[1]) })
            } else {
                result = ClusterMember(label: member.label, host: member.host, node: nil, problem: got.problem)
            }
            result.rootSSH = got.rootSSH?.map { ($0[0], $0[1]) }
            return result
        }
    }
}
