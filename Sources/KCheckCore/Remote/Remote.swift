import KCheckNative

/// What kcheck asks of a node over SSH: the node runs kcheck itself (`kcheck remote`, the same
/// binary, copied there and verified by hash) with this request on its standard input.
/// Framed (`Frames`), versioned by its first line.
public struct RemoteRequest: Sendable {
    public enum Command: String, Sendable, CaseIterable {
        /// Run the profile with a recording node; answer with the recording and the verdicts.
        case record
        /// Apply the plan the operator saw (after checking the node still is as it was seen).
        case fix
        /// Describe what undoing would do; `undo` does it.
        case undoPlan = "undo-plan"
        case undo
        case runs
    }

    public var command: Command
    /// The rule files of `--rules DIR` (name and bytes); none: the built-in profile.
    public var ruleFiles: [(path: String, bytes: [UInt8])] = []
    /// `--env FILE` (its path as the operator named it, and its bytes); none: the node's own.
    public var inventory: (path: String, bytes: [UInt8])?
    /// `--only`/`--skip` as the set of rules to evaluate.
    public var only: [String]?
    /// fix: the plan's digest and, for each rule it serves, the digest of its observation.
    public var planFingerprint: String?
    public var observations: [String: String] = [:]
    /// fix: what the cluster rules found this node holds of another's (its plan's last actions).
    public var renewals: [IdentityRenewal] = []
    /// fix: the operator's command line, for the node's journal.
    public var invocation: String = ""
    /// undo: the run (none: the last one) and whether later runs go first.
    public var runID: String?
    public var withLater = false
    /// record: addresses to try root's SSH to, from this node (item 3).
    public var probe: [String] = []

    public init(command: Command) { self.command = command }

    static let header = "kcheck-request 1\n"

    public func encoded() -> [UInt8] {
        var out = Array(Self.header.utf8)
        Frames.append("command", Array(command.rawValue.utf8), to: &out)
        for file in ruleFiles { Frames.append("rules", Array(file.path.utf8) + [0] + file.bytes, to: &out) }
        if let inventory { Frames.append("inventory", Array(inventory.path.utf8) + [0] + inventory.bytes, to: &out) }
        if let only { Frames.append("only", Array(only.joined(separator: ",").utf8), to: &out) }
        if let planFingerprint { Frames.append("plan", Array(planFingerprint.utf8), to: &out) }
        for (id, digest) in observations.sorted(by: { $0.key < $1.key }) { Frames.append("observed", Array("\(id) \(digest)".utf8), to: &out) }
        for r in renewals {
            Frames.append("renew", Array(r.rule.utf8) + [0] + Array(r.fact.rawValue.utf8) + [0] + Array(r.path.utf8) + [0] + Array(r.value.utf8), to: &out)
        }
        Frames.append("invocation", Array(invocation.utf8), to: &out)
        if let runID { Frames.append("run", Array(runID.utf8), to: &out) }
        if withLater { Frames.append("with-later", [], to: &out) }
        for address in probe { Frames.append("probe", Array(address.utf8), to: &out) }
        return out
    }

    public static func decode(_ bytes: [UInt8]) throws(Recording.Problem) -> RemoteRequest {
        guard bytes.starts(with: Array(header.utf8)) else { throw Recording.Problem("not a kcheck request (this kcheck reads version 1)") }
        var request: RemoteRequest?
        var pending: [Frames.Frame] = []
        for frame in try Frames.decode(bytes[header.utf8.count...]) {
            if frame.name == "command" {
                guard let command = Command(rawValue: String(decoding: frame.payload, as: UTF8.self)) else {
                    throw Recording.Problem("unknown command `\(Frames.printable(frame.payload.prefix(40)))`: this node's kcheck is another version?")
                }
                request = RemoteRequest(command: command)
            } else {
                pending.append(frame)
            }
        }
        guard var request else { throw Recording.Problem("the request names no command") }
        func split(_ payload: ArraySlice<UInt8>) -> (String, [UInt8]) {
            guard let nul = payload.firstIndex(of: 0) else { return (String(decoding: payload, as: UTF8.self), []) }
            return (String(decoding: payload[..<nul], as: UTF8.self), Array(payload[(nul + 1)...]))
        }
        for frame in pending {
            let text = String(decoding: frame.payload, as: UTF8.self)
            switch frame.name {
            case "rules": request.ruleFiles.append(split(frame.payload))
            case "inventory": request.inventory = split(frame.payload)
            case "only": request.only = text.split(separator: ",").map(String.init)
            case "plan": request.planFingerprint = text
            case "observed":
                let parts = text.split(separator: " ").map(String.init)
                guard parts.count == 2 else { throw Recording.Problem("a malformed observation `\(Frames.printable(frame.payload.prefix(80)))`") }
                request.observations[parts[0]] = parts[1]
            case "renew":
                let parts = frame.payload.split(separator: 0, maxSplits: 3, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
                guard parts.count == 4, let fact = IdentityFact(rawValue: parts[1]), !parts[0].isEmpty, parts[2].hasPrefix("/") else {
                    throw Recording.Problem("a malformed renewal `\(Frames.printable(frame.payload.prefix(80)))`")
                }
                request.renewals.append(IdentityRenewal(rule: parts[0], fact: fact, value: parts[3], path: parts[2]))
            case "invocation": request.invocation = text
            case "run": request.runID = text
            case "with-later": request.withLater = true
            case "probe": request.probe.append(text)
            default: throw Recording.Problem("unknown frame `\(frame.name)` in a request")
            }
        }
        return request
    }
}

/// What a node answers. Everything in it is untrusted: `decode` is strict and bounded, and a
/// node that answers anything else gets its rules marked `error` with the reason.
public struct RemoteAnswer: Sendable {
    /// 0 done; 1 done, and something failed or was refused; 2 the request could not be served.
    public var status: Int = 0
    /// What the node says to the person (plans applied, runs, undo), as text.
    public var text: String = ""
    /// The node's wall clock when it answered (seconds, nanoseconds).
    public var clock: (seconds: Int64, nanoseconds: Int64)?
    public var recording: Recording?
    /// The node's own verdict of each rule: the operator's verdict of the recording must agree.
    public var verdicts: [String: Status] = [:]
    /// record with probe: root's SSH from this node to each address, "ok" or ssh's reason.
    public var probe: [(address: String, result: String)] = []
    /// fix: the journaled run's id.
    public var runID: String?

    public init() {}

    static let header = "kcheck-answer 1\n"

    public func encoded() -> [UInt8] {
        var out = Array(Self.header.utf8)
        Frames.append("status", Array(String(status).utf8), to: &out)
        if !text.isEmpty { Frames.append("text", Array(text.utf8), to: &out) }
        if let clock { Frames.append("clock", Array("\(clock.seconds) \(clock.nanoseconds)".utf8), to: &out) }
        for (id, status) in verdicts.sorted(by: { $0.key < $1.key }) { Frames.append("verdict", Array("\(id) \(status.rawValue)".utf8), to: &out) }
        for (address, result) in probe { Frames.append("probe", Array(address.utf8) + [0] + Array(result.utf8), to: &out) }
        if let runID { Frames.append("run", Array(runID.utf8), to: &out) }
        if let recording { Frames.append("recording", recording.encoded(), to: &out) }
        Frames.append("end", [], to: &out)
        return out
    }

    public static func decode(_ bytes: [UInt8]) throws(Recording.Problem) -> RemoteAnswer {
        guard bytes.starts(with: Array(header.utf8)) else {
            throw Recording.Problem("the node did not answer as kcheck does (it said `\(Frames.printable(bytes.prefix(60)))`)")
        }
        var answer = RemoteAnswer()
        var ended = false
        for frame in try Frames.decode(bytes[header.utf8.count...]) {
            guard !ended else { throw Recording.Problem("data after the end of the answer") }
            let text = String(decoding: frame.payload, as: UTF8.self)
            switch frame.name {
            case "status":
                guard frame.payload.count <= 3, let status = Int(text) else { throw Recording.Problem("a malformed status `\(Frames.printable(frame.payload.prefix(20)))`") }
                answer.status = status
            case "text": answer.text = Frames.printable(frame.payload, keepingNewlines: true)
            case "clock":
                let parts = text.split(separator: " ")
                guard parts.count == 2, parts.allSatisfy({ $0.count <= 11 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
                    let seconds = Int64(parts[0]), let nanoseconds = Int64(parts[1]), nanoseconds < 1_000_000_000
                else { throw Recording.Problem("a malformed clock reading `\(Frames.printable(frame.payload.prefix(40)))`") }
                answer.clock = (seconds, nanoseconds)
            case "verdict":
                let parts = text.split(separator: " ").map(String.init)
                guard parts.count == 2, let status = Status(rawValue: parts[1]) else {
                    throw Recording.Problem("a malformed verdict `\(Frames.printable(frame.payload.prefix(80)))`")
                }
                answer.verdicts[parts[0]] = status
            case "probe":
                let nul = frame.payload.firstIndex(of: 0) ?? frame.payload.endIndex
                let rest = nul < frame.payload.endIndex ? frame.payload[(nul + 1)...] : []
                answer.probe.append((Frames.printable(frame.payload[..<nul]), Frames.printable(rest)))
            case "run": answer.runID = Frames.printable(frame.payload)
            case "recording": answer.recording = try Recording.decode(frame.payload)
            case "end": ended = true
            default: throw Recording.Problem("unknown frame `\(frame.name)` in an answer")
            }
        }
        guard ended else { throw Recording.Problem("the answer ended early: the connection dropped, or kcheck stopped on the node") }
        return answer
    }
}

extension Frames {
    /// Text from elsewhere, fit to print: control characters (carriage returns, escapes) as `?`,
    /// newlines kept when asked.
    static func printable(_ bytes: ArraySlice<UInt8>, keepingNewlines: Bool) -> String {
        String(decoding: bytes.map { ($0 < 32 && !(keepingNewlines && ($0 == 10 || $0 == 9))) || $0 == 127 ? UInt8(ascii: "?") : $0 }, as: UTF8.self)
    }
}

/// The node's side: serves one request with the engine, on the live node (or, under the test
/// seam KCHECK_ROOT, on a node tree).
public enum RemoteServer {
    public static func handle(_ request: RemoteRequest, profile: Profile, node: MutableNode, root: String?, inventory explicit: Inventory?) -> RemoteAnswer {
        var answer = RemoteAnswer()
        let only = request.only.map(Set.init)
        switch request.command {
        case .record:
            let recorder = RecordingNode(node)
            let inventory = explicit ?? Inventory.load(from: recorder)
            let (report, evaluator) = Engine.evaluate(profile: profile, on: recorder, command: "preflight", only: only, inventory: inventory)
            // What planning reads too (modules loaded, zone files, package databases…): a plan
            // made from the recording is then the plan made on the node.
            _ = Planner(evaluator: evaluator).plan(report, profile: profile)
            // And what the cluster rules compare of each node.
            ClusterEngine.readFacts(profile.clusterRules, on: recorder)
            for entry in report.entries { answer.verdicts[entry.subject.id] = entry.result.status }
            answer.recording = recorder.recording
            answer.probe = RootSSHProbe.run(request.probe, root: root)
        case .fix:
            let inventory = explicit ?? Inventory.load(from: node)
            let (report, evaluator) = Engine.evaluate(profile: profile, on: node, command: "fix", only: only, inventory: inventory)
            let plan = ClusterFix.plan(Planner(evaluator: evaluator).plan(report, profile: profile), renewals: request.renewals, node: node)
            // The plan the operator saw is applied only while what it was built from holds.
            var changed: [String] = []
            for entry in report.entries {
                guard let seen = request.observations[entry.subject.id] else { continue }
                if FixSession.observation(entry.result) != seen {
                    changed.append("\(entry.subject.id) (now \(entry.result.status.rawValue): \(entry.result.actual))")
                }
            }
            if !changed.isEmpty {
                answer.status = 1
                answer.text = "refused: the node changed since the plan was made: \(changed.joined(separator: "; ")). Nothing was changed; run kcheck fix again to see the new plan.\n"
                return answer
            }
            guard FixSession.fingerprint(plan) == request.planFingerprint else {
                answer.status = 1
                answer.text = "refused: the plan made here now differs from the one shown (\(plan.actions.count) actions). Nothing was changed; run kcheck fix again to see the new plan.\n"
                return answer
            }
            let remediator = Remediator(node: node)
            switch FixSession.apply(plan, remediator: remediator, command: request.invocation) {
            case .failure(let failure):
                answer.status = 2
                answer.text = "\(failure)\n"
            case .success(let outcome):
                answer.runID = outcome.runID
                answer.text = PlanText.render(outcome.results, run: outcome.runID.map { "\($0) (undo with: kcheck undo \($0))" })
                answer.status = outcome.failed ? 1 : 0
            }
        case .undoPlan, .undo:
            let remediator = Remediator(node: node)
            switch UndoSession.select(request.runID, withLater: request.withLater, remediator: remediator, node: node) {
            case .failure(let refusal):
                answer.status = 2
                answer.text = refusal.message + "\n"
            case .success(let journals):
                answer.text = UndoSession.describe(journals, remediator: remediator)
                guard request.command == .undo, !journals.isEmpty else {
                    if request.command == .undo { FixSession.tidy(remediator: remediator) }
                    return answer
                }
                switch UndoSession.apply(journals, remediator: remediator) {
                case .failure(let failure):
                    answer.status = 2
                    answer.text = "\(failure)\n"
                case .success(let outcome):
                    answer.text = outcome.text + outcome.problems.map { $0 + "\n" }.joined()
                    answer.status = outcome.problems.isEmpty ? 0 : 1
                }
            }
        case .runs:
            answer.text = RunsListing.text(writer: SafeWriter(root: root ?? "/"), node: node)
        }
        return answer
    }
}

/// Item 3, tried from a node: root logs in to each address by key (no password, no new host
/// key), with the system's ssh as argv. Under KCHECK_ROOT, ssh reads the tree's root/.ssh/config.
public enum RootSSHProbe {
    public static func run(_ addresses: [String], root: String?) -> [(address: String, result: String)] {
        var options = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "StrictHostKeyChecking=yes", "-o", "PasswordAuthentication=no"]
        if let root, case .success = Posix.stat(root + "/root/.ssh/config") { options = ["-F", root + "/root/.ssh/config"] + options }
        return addresses.map { address in
            guard SSHTarget.validate(address) == nil else { return (address, "not an address") }
            switch Posix.run(["ssh"] + options + ["--", "root@" + address, "true"], input: [], timeoutSeconds: 30) {
            case .failure(let error): return (address, "cannot run ssh: \(error)")
            case .success(let result):
                if result.status == 0 { return (address, "ok") }
                let said = String(decoding: result.standardError, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r" }).last
                return (address, said.map(String.init) ?? "exit status \(result.status)")
            }
        }
    }
}
