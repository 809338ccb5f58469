import KCheckNative

/// The use-cases of changing a node, as `kcheck fix`, `kcheck undo` and `kcheck runs` run them on
/// this node or a tree, and as a node runs them when asked over SSH: the same code either way, so
/// journals, locks and the undo order are the same whoever asked.
public enum FixSession {
    public struct Outcome: Sendable {
        public let results: [Remediator.Result]
        /// The run's id, when something changed (an empty journal is discarded).
        public let runID: String?

        public var failed: Bool { results.contains { if case .failed = $0.outcome { true } else { false } } }
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// Another run holds the node's lock (or it cannot be taken).
        case lock(SafeWriter.Failure)
        case journal(SafeWriter.Failure)

        public var description: String {
            switch self {
            case .lock(let failure): "cannot take the lock \(failure)"
            case .journal(let failure): "cannot write the journal: \(failure)"
            }
        }
    }

    /// `body` while this process holds the node's lock (the one that stops two runs that change
    /// the node at once).
    static func locked<T>(_ writer: SafeWriter, _ body: () -> Result<T, Failure>) -> Result<T, Failure> {
        switch FileLock.acquire(writer, path: Journal.lockPath) {
        case .failure(let failure): return .failure(.lock(failure))
        case .success(let lock):
            defer { withExtendedLifetime(lock) {} }
            return body()
        }
    }

    /// Takes the node's lock, opens a journal and applies the plan.
    public static func apply(_ plan: Plan, remediator: Remediator, command: String, id: String = Posix.runID()) -> Result<Outcome, Failure> {
        locked(remediator.writer) {
            Journal.sweep(writer: remediator.writer, node: remediator.node)
            return journaled(plan, remediator: remediator, command: command, id: id)
        }
    }

    private static func journaled(_ plan: Plan, remediator: Remediator, command: String, id: String) -> Result<Outcome, Failure> {
        let journal: Journal
        switch Journal.create(id: id, writer: remediator.writer, command: command) {
        case .success(let j): journal = j
        case .failure(let failure): return .failure(.journal(failure))
        }
        let results = remediator.apply(plan, journal: journal)
        let changed = journal.records.contains { if case .done = $0 { false } else { true } }
        if !changed { Journal.discard(journal) }
        return .success(Outcome(results: results, runID: changed ? id : nil))
    }

    /// With nothing to change, what killed runs left half-written is still removed (when no other
    /// run holds the lock: then that run does it).
    public static func tidy(remediator: Remediator) {
        _ = locked(remediator.writer) { () -> Result<Void, Failure> in
            Journal.sweep(writer: remediator.writer, node: remediator.node)
            return .success(())
        }
    }

    /// A digest of what the plan will do, action by action. Both sides of an SSH connection run
    /// the same binary (verified by hash), so the same plan has the same digest there.
    public static func fingerprint(_ plan: Plan) -> String {
        var text = ""
        for planned in plan.actions {
            // An append is the line it appends: the other lines of the file (root's .bashrc) are
            // the node's, and a snapshot holds them with their secrets scrubbed.
            let what: String
            if let line = planned.appendedLine, case .writeFile(let path, _, let mode) = planned.action {
                what = "append \(path) \(mode) \(line)"
            } else {
                what = "\(planned.action)"
            }
            text += "\(planned.rules)\u{0}\(what)\u{0}\(planned.needsReboot)\u{1}"
        }
        return (try? OpenSSL.sha256Hex(Array(text.utf8))) ?? ""
    }

    /// A digest of what a rule observed: a plan built on it is valid while it is the same.
    public static func observation(_ result: RuleResult) -> String {
        let text = "\(result.status.rawValue)\u{0}\(result.expected)\u{0}\(result.actual)\u{0}\(result.message)"
        return (try? OpenSSL.sha256Hex(Array(text.utf8))) ?? ""
    }
}

/// `kcheck runs`: the journaled runs of a node, one line each.
public enum RunsListing {
    public static func text(writer: SafeWriter, node: Node) -> String { listing(writer: writer, node: node).text }

    /// The listing, and how many runs could not be read (their changes may still be applied).
    public static func listing(writer: SafeWriter, node: Node) -> (text: String, unreadable: Int) {
        let runs = Journal.runs(writer: writer, node: node)
        if runs.isEmpty { return ("No runs.\n", 0) }
        var out = ""
        var unreadable = 0
        for (id, undone) in runs {
            switch Journal.load(id: id, writer: writer) {
            case .success(let journal):
                let counts = journal.outcomeCounts
                var what = "\(counts.changed) action\(counts.changed == 1 ? "" : "s") changed the node"
                if counts.inPlace > 0 { what += ", \(counts.inPlace) already in place" }
                if counts.failed > 0 { what += ", \(counts.failed) failed" }
                out += "\(id.padded(to: 28)) \(undone ? "undone " : "applied") \(what)  \(journal.command)\n"
            case .failure(let failure):
                out += "\(id.padded(to: 28)) unreadable: \(failure)\n"
                unreadable += 1
            }
        }
        return (out, unreadable)
    }
}

/// `kcheck undo`: which runs, what undoing them does, and doing it.
public enum UndoSession {
    /// The runs to undo, newest first (RUN, or the last one not undone; with `withLater`, the
    /// later runs that built on it first); a message when refused.
    public static func select(_ runID: String?, withLater: Bool, remediator: Remediator, node: Node) -> Result<[Journal], UndoRefusal> {
        let runs = Journal.runs(writer: remediator.writer, node: node)
        switch UndoSelection.select(runID, runs: runs, withLater: withLater, load: { Journal.load(id: $0, writer: remediator.writer) }) {
        case .success(let selected): return .success(selected)
        case .failure(.unreadable(let failure)): return .failure(UndoRefusal(message: "\(failure)"))
        case .failure(.builtOn(let refusal)): return .failure(UndoRefusal(message: refusal.message))
        }
    }

    public struct UndoRefusal: Error, Sendable {
        public let message: String
    }

    public static func describe(_ journals: [Journal], remediator: Remediator) -> String {
        if journals.isEmpty { return "No run to undo.\n" }
        var out = ""
        for journal in journals {
            out += "Run \(journal.id): \(journal.command)\n"
            for line in remediator.undoPlan(journal).describe() { out += "  " + line + "\n" }
            for line in journal.missing { out += "  cannot restore " + line + "\n" }
        }
        return out
    }

    /// Undoes the runs under the node's lock: what was restored, what could not be.
    public static func apply(_ journals: [Journal], remediator: Remediator) -> Result<(text: String, problems: [String]), FixSession.Failure> {
        FixSession.locked(remediator.writer) {
            Journal.sweep(writer: remediator.writer, node: remediator.node)
            return .success(undo(journals, remediator: remediator))
        }
    }

    private static func undo(_ journals: [Journal], remediator: Remediator) -> (text: String, problems: [String]) {
        var text = ""
        var problems: [String] = []
        for outcome in remediator.undo(runs: journals) {
            if outcome.failures.isEmpty {
                text += "Restored run \(outcome.run).\n"
                for (name, reason) in outcome.plan.kept { text += "  package \(name) left as it is: \(reason)\n" }
            } else {
                problems += outcome.failures.map { "could not restore \($0)" }
            }
        }
        return (text, problems)
    }
}
