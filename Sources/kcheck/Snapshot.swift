import ArgumentParser
import KCheckCore
import KCheckNative
import KCheckRuleLoader

/// Options of the commands that reach nodes over SSH.
struct SSHOptions: ParsableArguments {
    @Option(name: .customLong("ssh-config"), help: ArgumentHelp("An ssh_config file for ssh's -F (default: the user's own).", valueName: "FILE"))
    var sshConfig: String?

    /// --ssh-config, checked to be a file kcheck can read before ssh is given it: ssh itself
    /// would wait for ever on a FIFO.
    static func checked(_ path: String?) throws(CLIError) -> String? {
        guard let path else { return nil }
        if case .failure(let error) = Posix.readFile(path, limit: 1 << 20, followSymlinks: true) { throw CLIError.usage("--ssh-config: \(error)") }
        return path
    }

    /// A run's directory of its own (mode 0700), removed by `ClusterCollection.cleanUp`. ssh's
    /// control sockets go under /tmp whatever TMPDIR says: a socket's path must stay under 108 bytes.
    static func temporaryDirectory(_ prefix: String) throws(CLIError) -> String {
        switch Posix.makeTemporaryDirectory(prefix: prefix, in: prefix == "kcheck-ssh" ? "/tmp" : nil) {
        case .success(let dir):
            SignalCleanup.install()
            SignalCleanup.register(dir)
            ClusterCollection.temporary.append(dir)
            return dir
        case .failure(let error): throw CLIError.output("\(error)")
        }
    }

    /// kcheck as it is copied to nodes, prepared once and cached in ~/.cache/kcheck.
    static func binary() throws(CLIError) -> RemoteBinary {
        let cache: String
        if let xdg = Posix.environment("XDG_CACHE_HOME"), xdg.hasPrefix("/") {
            cache = xdg + "/kcheck"
        } else if let home = Posix.environment("HOME"), home.hasPrefix("/") {
            cache = home + "/.cache/kcheck"
        } else {
            cache = try temporaryDirectory("kcheck-binary")
        }
        switch RemoteBinary.prepare(cache: cache) {
        case .success(let binary): return binary
        case .failure(let problem): throw CLIError.output("cannot prepare kcheck for copying to nodes: \(problem)")
        }
    }

    /// One node over SSH, for one request; the reason when it could not be served.
    /// One request to kcheck on a node. Calls to one host share one SSH connection (its control
    /// master) until `ClusterCollection.cleanUp`: `undo --hosts` asks for the plan and then undoes
    /// over the same connection.
    func call(_ host: String, _ request: RemoteRequest) throws(CLIError) -> Result<SSHTarget.Call, Recording.Problem> {
        let binary = try Self.binary()
        let sshConfig = try Self.checked(sshConfig)
        let key = host + "\u{0}" + (sshConfig ?? "")
        let target: SSHTarget
        if let open = ClusterCollection.connections[key] {
            target = open
        } else {
            target = SSHTarget(host: host, configFile: sshConfig, controlDirectory: try Self.temporaryDirectory("kcheck-ssh"))
            ClusterCollection.connections[key] = target
        }
        return target.kcheck(request, binary: binary)
    }
}

/// What every node is asked besides the command: the rule files of --rules, --env's bytes, the
/// rules --only/--skip leave.
func remoteRequest(_ command: RemoteRequest.Command, rules: String?, env: String?, only: Set<String>?) throws(CLIError) -> RemoteRequest {
    var request = RemoteRequest(command: command)
    if let rules {
        do throws(RuleFileError) {
            request.ruleFiles = try RuleLoader.ruleFiles(directory: rules)
        } catch {
            throw CLIError.configuration(error.description)
        }
    }
    if let env {
        switch Posix.readFile(env, limit: defaultReadLimit, followSymlinks: true) {
        case .success(let bytes): request.inventory = (env, bytes)
        case .failure(let error): throw CLIError.usage("--env: \(error)")
        }
    }
    request.only = only.map { $0.sorted() }
    return request
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

    /// The members of the run: this node directly, the others recorded by kcheck on them.
    func collect(request: RemoteRequest, inventory: Inventory?, local: Node) throws(CLIError) -> [ClusterMember] {
        try ClusterCollection.collect(request: request, hosts: hosts, inventory: inventory, local: local, sshConfig: ssh.sshConfig, parallel: parallel)
    }
}

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", _superCommandName: "kcheck",
        abstract: "Save what the profile reads of a node (this one, a tree, or HOST over SSH), to judge it later with kcheck preflight --root DIR.",
        discussion: """
            Runs the profile on the node with a recording node and writes what the rules read \
            into DIR in the node-tree format (docs/node-tree.md): judged with --root, it gives \
            the node's own verdict. Private keys and environment.sh's secrets are replaced by \
            stand-ins that keep every verdict, so a snapshot can be attached to a ticket. With \
            HOST, kcheck runs on the node itself over SSH (copied there once, cached under \
            /var/lib/kcheck/bin by its SHA-256). Exit status: 0 saved; 1 the node could not be \
            reached or answered wrongly (with the reason); 2 a usage error.
            """)

    @Argument(help: ArgumentHelp("The node: a host name or address, or an ssh config Host (default: this node).", valueName: "HOST"))
    var host: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("The directory to write (new, or empty).", valueName: "DIR"))
    var output: String

    @Option(name: .long, help: ArgumentHelp("Record a node tree instead of this node.", valueName: "DIR"))
    var root: String?

    @Option(name: .long, help: ArgumentHelp("Load the rules from the YAML files in DIR instead of the built-in guide profile.", valueName: "DIR"))
    var rules: String?

    @OptionGroup var ssh: SSHOptions

    func validate() throws {
        if let host, let problem = SSHTarget.validate(host) { throw ValidationError(problem) }
        if host != nil && root != nil { throw ValidationError("--root records a node tree here; HOST is recorded over SSH") }
    }

    func run() throws {
        let profile = try NodeOptions.profile(rules: rules)
        let output = Posix.operatorPath(self.output)
        switch Posix.listDirectory(output) {
        case .success(let names) where !names.isEmpty: throw CLIError.usage("--output \(output) is not empty")
        case .success: break
        case .failure(let error) where error.isNotFound: break  // made whole, at the end
        case .failure(let error): throw CLIError.usage("--output: \(error)")
        }
        defer { ClusterCollection.cleanUp() }
        let recording: Recording
        if let host {
            switch try ssh.call(host, try remoteRequest(.record, rules: rules, env: nil, only: nil)) {
            case .failure(let problem):
                printError("kcheck: \(problem)\n")
                throw ExitCode(Exit.failed)
            case .success(let call):
                guard var r = call.answer.recording else {
                    printError("kcheck: \(host) recorded nothing: \(call.answer.text)\n")
                    throw ExitCode(Exit.failed)
                }
                r.facts.clockOffset = call.clockOffset
                recording = r
            }
        } else {
            let answer = RemoteServer.handle(RemoteRequest(command: .record), profile: profile, node: try NodeOptions.node(root: root), root: root, inventory: nil)
            recording = answer.recording ?? Recording()
        }
        do throws(Recording.Problem) {
            try recording.write(to: output)
        } catch {
            throw CLIError.output("cannot write the snapshot: \(error)")
        }
        printText("Saved \(host ?? root ?? "this node")'s snapshot in \(output): kcheck preflight --root \(output)\n")
    }
}

/// `kcheck remote`: what runs on a node when kcheck is asked over SSH (hidden from --help). Reads
/// one request on standard input, serves it with the engine on this node (under the test seam
/// KCHECK_ROOT, on that node tree), and writes one answer on standard output.
struct RemoteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remote", _superCommandName: "kcheck", abstract: "Serve one request from kcheck over SSH.", shouldDisplay: false)

    func run() throws {
        var answer = RemoteAnswer()
        switch Posix.readAll(fd: 0, limit: 64 << 20) {
        case .failure(let error):
            answer.status = 2
            answer.text = "cannot read the request: \(error)\n"
        case .success(let bytes):
            do throws(Recording.Problem) {
                answer = try Self.serve(try RemoteRequest.decode(bytes))
            } catch {
                answer.status = 2
                answer.text = "\(error)\n"
            }
        }
        let now = Posix.wallClock()
        answer.clock = (now.seconds, now.nanoseconds)
        _ = Posix.writeAll(fd: 1, answer.encoded())
    }

    static func serve(_ request: RemoteRequest) throws(Recording.Problem) -> RemoteAnswer {
        let profile: Profile
        if request.ruleFiles.isEmpty {
            profile = Profile.guideNode
        } else {
            do throws(RuleFileError) {
                profile = try RuleLoader.loadProfile(files: request.ruleFiles, name: "rules")
            } catch {
                throw Recording.Problem("the rules sent: \(error)")
            }
        }
        var inventory: Inventory?
        if let (path, bytes) = request.inventory {
            do throws(SourceError) { inventory = try Inventory.parse(bytes, path: path) } catch { throw Recording.Problem("\(error)") }
        }
        // The test seam (docs/cluster.md): sshd's SetEnv KCHECK_ROOT serves a node tree.
        let root = Posix.environment("KCHECK_ROOT").flatMap { $0.isEmpty ? nil : $0 }
        let node: MutableNode = root.map { TreeNode(root: $0) } ?? LiveNode()
        return RemoteServer.handle(request, profile: profile, node: node, root: root, inventory: inventory)
    }
}

/// Every node of a cluster run: this one directly (an inventory address on one of its interfaces
/// other than loopback), the others recorded by kcheck on them over SSH, at most `parallel` at once.
enum ClusterCollection {
    /// The run's temporary directories (control sockets, recordings), removed by `cleanUp`.
    nonisolated(unsafe) static var temporary: [String] = []

    /// Open SSH connections of `SSHOptions.call`, by host and ssh_config.
    nonisolated(unsafe) static var connections: [String: SSHTarget] = [:]

    static func cleanUp() {
        for target in connections.values { target.close() }
        connections = [:]
        for directory in temporary {
            Posix.removeTree(directory)
            SignalCleanup.unregister(directory)
        }
        temporary = []
    }

    /// The members named by --hosts, or the inventory's NODE_IPS (named by NODE_NAMES).
    static func hosts(_ hosts: String?, inventory inv: Inventory?) throws(CLIError) -> [ClusterCollector.Host] {
        if let hosts { return hosts.split(separator: ",").map { String($0.trimmed) }.map { ClusterCollector.Host(label: $0, host: $0) } }
        guard let inv, !inv.nodeIPs.isEmpty else {
            throw CLIError.usage("--cluster needs an inventory with NODE_IPS: pass --env environment.sh")
        }
        var members: [ClusterCollector.Host] = []
        for (i, ip) in inv.nodeIPs.enumerated() {
            if let problem = SSHTarget.validate(ip) { throw CLIError.configuration("\(inv.path): NODE_IPS[\(i)]: \(problem)") }
            members.append(ClusterCollector.Host(label: i < inv.nodeNames.count ? inv.nodeNames[i] : ip, host: ip))
        }
        return members
    }

    static func collect(
        request: RemoteRequest, hosts: String?, inventory inv: Inventory?, local: Node, sshConfig: String?, parallel: Int
    ) throws(CLIError) -> [ClusterMember] {
        let members = try Self.hosts(hosts, inventory: inv)
        var mine: Set<String> = []
        if case .success(let addresses) = Posix.interfaceAddresses() {
            mine = Set(addresses.filter { !$0.address.hasPrefix("127.") }.map(\.address))
        }
        let remote = members.contains { !mine.contains($0.host) }
        var collector = ClusterCollector(
            request: request, sshConfig: try SSHOptions.checked(sshConfig), parallel: parallel, directory: try SSHOptions.temporaryDirectory("kcheck-nodes"),
            controlDirectory: try SSHOptions.temporaryDirectory("kcheck-ssh"), binary: remote ? try SSHOptions.binary() : nil)
        if Posix.isTerminal(2) { collector.progress = { printError($0 + "\n") } }
        // Item 3 is tried from the inventory's first node, to every node of the inventory.
        let probe = hosts == nil ? (inv?.nodeIPs ?? []) : []
        return collector.collect(members, local: local, localAddresses: mine, probe: probe)
    }
}
