import KCheckNative

/// Collects every node of a cluster run: this node directly (when one of its addresses is a
/// member's), every other one over SSH, where kcheck itself records what the profile read
/// (`RemoteRequest.record`). The recordings are written as node trees under `directory` (the
/// caller's, mode 0700, removed by the caller) and judged here by the same engine; each node's
/// own verdicts come along, and a member whose recording is judged otherwise than the node judged
/// itself is marked (`ClusterMember.nodeVerdicts`).
public struct ClusterCollector: Sendable {
    public struct Host: Sendable {
        public let label: String
        public let host: String
        public init(label: String, host: String) {
            self.label = label
            self.host = host
        }
    }

    /// What each node is asked (rule files, --env, --only); `record` is set by the collector.
    public var request: RemoteRequest
    public let sshConfig: String?
    public let parallel: Int
    /// Where the recordings are written (a directory of this run's).
    public let directory: String
    /// Where ssh's control sockets live (a directory of this run's).
    public let controlDirectory: String
    public let binary: RemoteBinary?
    /// Called as each node starts and ends (from several threads; keep it short).
    public var progress: (@Sendable (String) -> Void)?

    public init(request: RemoteRequest, sshConfig: String?, parallel: Int, directory: String, controlDirectory: String, binary: RemoteBinary?) {
        self.request = request
        self.sshConfig = sshConfig
        self.parallel = parallel
        self.directory = directory
        self.controlDirectory = controlDirectory
        self.binary = binary
    }

    struct Collected: Sendable {
        var directory: String?
        var problem: String?
        var rootSSH: [[String]]?
        var verdicts: [String: Status]?
    }

    /// `probe`: the addresses root on the first member must reach by key (item 3), tried from it.
    public func collect(_ hosts: [Host], local: Node, localAddresses: Set<String>, probe: [String]) -> [ClusterMember] {
        let collected = Parallel.map(Array(hosts.enumerated()), width: parallel) { index, member -> Collected in
            let probeHere = index == 0 ? probe : []
            if localAddresses.contains(member.host) {
                return Collected(rootSSH: probeHere.isEmpty ? nil : RootSSHProbe.run(probeHere, root: nil).map { [$0.address, $0.result] })
            }
            guard let binary else { return Collected(problem: "kcheck cannot be copied to nodes from here") }
            let started = Posix.monotonicNanoseconds()
            progress?("\(member.label): collecting over SSH…")
            let target = SSHTarget(host: member.host, configFile: sshConfig, controlDirectory: controlDirectory)
            defer { target.close() }
            var request = self.request
            request.command = .record
            request.probe = probeHere
            let call: SSHTarget.Call
            switch target.kcheck(request, binary: binary) {
            case .success(let c): call = c
            case .failure(let problem):
                progress?("\(member.label): \(problem)")
                return Collected(problem: problem.message)
            }
            guard var recording = call.answer.recording else {
                return Collected(problem: "\(member.host): kcheck on the node recorded nothing: \(call.answer.text.trimmed)")
            }
            // What was measured over the connection goes with the recording, so a saved snapshot
            // is judged for time and root's SSH as the run was.
            recording.facts.clockOffset = call.clockOffset
            recording.facts.sshProbes = probeHere.isEmpty ? [] : call.answer.probe
            let tree = directory + "/\(index)"
            guard case .success = Posix.makeDirectory(tree, mode: 0o700) else { return Collected(problem: "cannot make \(tree)") }
            do throws(Recording.Problem) {
                try recording.write(into: tree)
            } catch {
                return Collected(problem: "\(member.host): \(error.message)")
            }
            let seconds = Double(Posix.monotonicNanoseconds() - started) / 1e9
            progress?("\(member.label): collected in \(secondsText(seconds)) s\(call.installed ? " (kcheck copied to the node first)" : "")")
            return Collected(directory: tree, verdicts: call.answer.verdicts)
        }
        return zip(hosts, collected).map { member, got -> ClusterMember in
            var result: ClusterMember
            if localAddresses.contains(member.host) {
                result = ClusterMember(label: member.label, node: local, problem: nil, clockOffset: (0, 0))
            } else if let tree = got.directory {
                result = ClusterMember(label: member.label, host: member.host, tree: TreeNode(root: tree, source: "ssh:\(member.host)"))
                result.nodeVerdicts = got.verdicts
            } else {
                result = ClusterMember(label: member.label, host: member.host, node: nil, problem: got.problem)
            }
            if let probes = got.rootSSH { result.rootSSH = probes.map { ($0[0], $0[1]) } }
            return result
        }
    }
}
