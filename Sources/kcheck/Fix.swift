import ArgumentParser
import KCheckCore
import KCheckNative

/// Options of the commands that change a node.
struct ChangeOptions: ParsableArguments {
    @Flag(name: .long, help: "Apply without asking. Required when standard input is not a terminal.")
    var yes = false

    /// Asks on a terminal; off a terminal, --yes is required (exit 2 otherwise).
    func confirm(_ question: String) throws {
        if yes { return }
        guard Posix.isTerminal(0) else {
            throw CLIError.usage("standard input is not a terminal: pass --yes to apply (or --dry-run to only show the plan); nothing was changed")
        }
        Posix.printOut(question + " [y/N] ")
        guard let answer = readLine(), ["y", "yes"].contains(answer.trimmed.lowercased()) else {
            Posix.printOut("Nothing was changed.\n")
            throw ExitCode(Exit.passed)
        }
    }

    /// The test hook of the fault-injection tests: KCHECK_TEST_KILL_AT=N stops the process with
    /// SIGKILL at the N-th point where a fault can be injected (before and after each journal
    /// record, and in the middle of every file write). Never set it on a real node.
    static func installFaultHook(on remediator: Remediator) {
        guard let text = Posix.environment("KCHECK_TEST_KILL_AT"), let target = Int(text), target > 0 else { return }
        let counter = Counter(target: target)
        remediator.faultPoint = { counter.tick() }
        SafeWriter.midWriteHook = { counter.tick() }
    }

    final class Counter: @unchecked Sendable {
        let target: Int
        var count = 0
        init(target: Int) { self.target = target }
        func tick() {
            count += 1
            if count == target { Posix.killSelf() }
        }
    }

    /// The lock that stops two runs that change the node at once.
    static func lock(_ writer: SafeWriter) throws -> FileLock {
        switch FileLock.acquire(writer, path: Journal.lockPath) {
        case .success(let lock): return lock
        case .failure(let failure): throw CLIError.usage("cannot take the lock \(failure)")
        }
    }
}

struct Fix: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fix", _superCommandName: "kcheck",
        abstract: "Bring this node (or a node tree) to the documented state, with a journal to undo it.",
        discussion: """
            Evaluates the profile, builds a plan of typed actions for the failing rules that have \
            an automated remediation, shows it (a unified diff for every file, old → new for every \
            runtime value, what needs a reboot) and asks before applying; --dry-run only shows it. \
            Before anything changes, every file's original bytes and every runtime value go into \
            a journal under /var/lib/kcheck/runs/ID (kcheck runs, kcheck undo). Files are written \
            atomically and never through a symlink. Exit status: 0 the node is compliant \
            afterwards (pending reboots are named); 1 it is not; 2 a usage error, or no --yes off \
            a terminal.
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var inventory: InventoryOptions
    @OptionGroup var reports: ReportOptions
    @OptionGroup var change: ChangeOptions

    @Option(name: .long, help: ArgumentHelp("Fix only these rules (comma-separated ids).", valueName: "IDS"))
    var only: String?

    @Option(name: .long, help: ArgumentHelp("Leave these rules alone (comma-separated ids).", valueName: "IDS"))
    var skip: String?

    @Flag(name: .long, help: "Show the plan and change nothing.")
    var dryRun = false

    @Option(name: .long, help: ArgumentHelp("Write the plan out instead of applying it: sh (a POSIX sh script) or ansible (a playbook), to standard output or --output.", valueName: "FORMAT"))
    var emit: EmitFormat?

    @OptionGroup var nodes: ClusterOptions

    enum EmitFormat: String, ExpressibleByArgument, CaseIterable { case sh, ansible }

    func validate() throws {
        if nodes.isSet && node.root != nil { throw ValidationError("--root is one node tree; --cluster and --hosts collect nodes over SSH") }
        if emit == .sh && nodes.isSet && reports.outputDir == nil {
            throw ValidationError("--emit sh for several nodes needs --output-dir (one script per node)")
        }
    }

    func run() throws {
        if let emit { return try runEmit(emit) }
        if nodes.isSet { return try runCluster() }
        let profile = try node.profile()
        let target = try node.node()
        let inv = try inventory.load(from: target)
        let selection = try selectedRules(profile)
        let (report, evaluator) = Engine.evaluate(
            profile: profile, on: target, command: "fix", policy: reports.policy, only: selection, inventory: inv)
        let plan = Planner(evaluator: evaluator).plan(report, profile: profile)
        let remediator = Remediator(node: target, root: node.root)
        let name = "\(report.node.name) (\(report.node.source))"
        // --quiet with reports in files and --yes: nothing on standard output (cron, automation).
        let quiet = reports.quiet && (reports.output != nil || reports.outputDir != nil) && change.yes
        let say: (String) -> Void = { if !quiet { Posix.printOut($0) } }
        say(PlanText.render(plan, remediator: remediator, node: name))
        if plan.isEmpty || dryRun {
            if dryRun && !plan.isEmpty { say("\n--dry-run: nothing was changed.\n") }
            // Reports asked for in files are written whether or not anything was to change:
            // automation reads them after every run.
            if reports.output != nil || reports.outputDir != nil { try reports.emit(report, command: "fix") }
            if report.failed { throw ExitCode(Exit.failed) }
            return
        }
        try change.confirm("\nApply these \(plan.actions.count) actions to \(name)?")
        let lock = try ChangeOptions.lock(remediator.writer)
        let id = Posix.runID()
        let journal: Journal
        switch Journal.create(id: id, writer: remediator.writer, command: CommandLine.arguments.joined(separator: " ")) {
        case .success(let j): journal = j
        case .failure(let failure): throw CLIError.output("cannot write the journal: \(failure)")
        }
        ChangeOptions.installFaultHook(on: remediator)
        let results = remediator.apply(plan, journal: journal)
        let changed = journal.records.contains { if case .done = $0 { false } else { true } }
        if !changed { Journal.discard(journal) }
        say(PlanText.render(results, run: changed ? "\(id) (undo with: kcheck undo \(id))" : nil))
        withExtendedLifetime(lock) {}
        // Re-evaluate a fresh view of the node: nothing read before the changes is reused.
        var after = Engine.run(
            profile: profile, on: try node.node(), command: "fix", policy: reports.policy, only: selection, inventory: inv)
        after.actions = results.map(\.record)
        after.run = changed ? id : nil
        say("\n")
        try reports.emit(after, command: "fix")
        let reboot = results.filter { $0.outcome == .needsReboot }
        if !reboot.isEmpty {
            say("Reboot to finish: \(reboot.map(\.planned.action.summary).joined(separator: "; ")).\n")
        }
        if after.failed || results.contains(where: { if case .failed = $0.outcome { true } else { false } }) {
            throw ExitCode(Exit.failed)
        }
    }

    /// Every node's plan, shown, confirmed once, then applied: this node as `kcheck fix` applies
    /// it, the others by a journaled script over SSH (`PlanEmitter.journaled`), so that `kcheck
    /// undo` works on each node. Then every node is collected and judged again.
    func runCluster() throws {
        let profile = try node.profile()
        let selection = try selectedRules(profile)
        let local = LiveNode()
        let inv = try inventory.load(from: local)
        let members = try nodes.collect(profile: profile, inventory: inv, local: local)
        defer { ClusterCollection.cleanUp() }
        let plans = plan(members, profile: profile, selection: selection, inventory: inv)
        for (member, plan) in plans {
            let remediator = Remediator(node: member.node!, root: (member.node as? TreeNode)?.root)
            Posix.printOut("== \(member.label)\n" + PlanText.render(plan, remediator: remediator, node: member.label) + "\n")
        }
        let work = plans.filter { !$0.plan.isEmpty }
        if dryRun || work.isEmpty {
            if dryRun && !work.isEmpty { Posix.printOut("--dry-run: nothing was changed.\n") }
            if plans.count < members.count { throw ExitCode(Exit.failed) }
            return
        }
        let total = work.map(\.plan.actions.count).reduce(0, +)
        try change.confirm("Apply these \(total) actions on \(work.count) node\(work.count == 1 ? "" : "s")?")
        let control = try SSHOptions.controlDirectory()
        defer { Posix.removeTree(control) }
        var failed = false
        for (member, plan) in work {
            guard let host = member.host else {
                // This node: as `kcheck fix` applies a plan here.
                let remediator = Remediator(node: LiveNode(), root: nil)
                let lock = try ChangeOptions.lock(remediator.writer)
                let id = Posix.runID()
                guard case .success(let journal) = Journal.create(id: id, writer: remediator.writer, command: CommandLine.arguments.joined(separator: " ")) else {
                    throw CLIError.output("cannot write the journal on this node")
                }
                let results = remediator.apply(plan, journal: journal)
                withExtendedLifetime(lock) {}
                Posix.printOut("== \(member.label)" + PlanText.render(results, run: id))
                failed = failed || results.contains { if case .failed = $0.outcome { true } else { false } }
                continue
            }
            let id = Posix.runID() + "-" + member.label.filter { $0.isLetter || $0.isNumber || $0 == "-" }
            let target = SSHTarget(host: host, configFile: nodes.ssh.sshConfig, controlDirectory: control)
            defer { target.close() }
            let script = PlanEmitter.journaled(plan, run: id, command: CommandLine.arguments.joined(separator: " "))
            switch target.run(script: script) {
            case .failure(let problem):
                failed = true
                Posix.printOut("== \(member.label): \(problem)\n")
            case .success(let result):
                let lines = String(decoding: result.standardOutput, as: UTF8.self).split(separator: "\n")
                var out = "== \(member.label): run \(id) (undo on the node: kcheck undo \(id))\n"
                for line in lines where line.hasPrefix("kcheck-action ") || line.hasPrefix("kcheck-fatal ") {
                    let fields = line.split(separator: " ", maxSplits: 2).map(String.init)
                    if fields[0] == "kcheck-fatal" {
                        failed = true
                        out += "   \(line.dropFirst("kcheck-fatal ".count))\n"
                        continue
                    }
                    guard fields.count >= 3, let index = Int(fields[1]), index >= 1, index <= plan.actions.count else { continue }
                    if fields[2].hasPrefix("failed") { failed = true }
                    out += "\(index). \(fields[2].padded(to: 22)) \(plan.actions[index - 1].action.summary)\n"
                }
                if !lines.contains("kcheck-end") {
                    failed = true
                    out += "   the script did not finish (exit status \(result.status)): \(String(decoding: result.standardError, as: UTF8.self).split(separator: "\n").last ?? "")\n"
                }
                Posix.printOut(out)
            }
        }
        // Every node again, from scratch.
        ClusterCollection.cleanUp()
        let after = try nodes.collect(profile: profile, inventory: inv, local: LiveNode())
        let report = ClusterEngine.run(profile: profile, members: after, inventory: inv, policy: reports.policy, command: "fix")
        Posix.printOut("\n")
        try reports.emit(report, command: "fix")
        if failed || report.failed { throw ExitCode(Exit.failed) }
    }

    /// Plans for this node, a tree, or every node collected over SSH, written out as a script or
    /// a playbook; nothing is applied.
    func runEmit(_ format: EmitFormat) throws {
        let profile = try node.profile()
        let selection = try selectedRules(profile)
        var members: [ClusterMember]
        var inv: Inventory?
        if nodes.isSet {
            let local = LiveNode()
            inv = try inventory.load(from: local)
            members = try nodes.collect(profile: profile, inventory: inv, local: local)
        } else {
            let target = try node.node()
            inv = try inventory.load(from: target)
            members = [ClusterMember(label: node.root ?? "this node", node: target, problem: nil)]
        }
        defer { ClusterCollection.cleanUp() }
        let plans = plan(members, profile: profile, selection: selection, inventory: inv).map { (host: $0.member.label, plan: $0.plan) }
        func write(_ text: String, _ path: String?) throws(CLIError) {
            guard let path else { return Posix.printOut(text) }
            if case .failure(let error) = Posix.writeOutput(path, text: text) { throw CLIError.output("cannot write \(path): \(error)") }
        }
        switch format {
        case .ansible:
            try write(PlanEmitter.ansible(plans), reports.output ?? reports.outputDir.map { $0 + "/kcheck-fix.yml" })
        case .sh:
            if let dir = reports.outputDir {
                if case .failure(let error) = Posix.makeDirectory(dir) { throw CLIError.output("--output-dir: \(error)") }
                for (host, plan) in plans { try write(PlanEmitter.shell(plan, node: host), "\(dir)/kcheck-fix-\(host).sh") }
            } else {
                for (host, plan) in plans { try write(PlanEmitter.shell(plan, node: host), reports.output) }
            }
        }
        if plans.count < members.count { throw ExitCode(Exit.failed) }
    }

    /// Each reachable member's plan; an unreachable one is named on standard error.
    func plan(_ members: [ClusterMember], profile: Profile, selection: Set<String>?, inventory: Inventory?) -> [(member: ClusterMember, plan: Plan)] {
        members.compactMap { member in
            guard let target = member.node else {
                Posix.printError("kcheck: \(member.label): \(member.problem ?? "unreachable"): no plan\n")
                return nil
            }
            let (report, evaluator) = Engine.evaluate(profile: profile, on: target, command: "fix", policy: reports.policy, only: selection, inventory: inventory)
            return (member, Planner(evaluator: evaluator).plan(report, profile: profile))
        }
    }

    /// --only and --skip, checked against the profile.
    func selectedRules(_ profile: Profile) throws(CLIError) -> Set<String>? {
        var selection = try only.map { t throws(CLIError) in try ruleIDs(t, option: "--only", in: profile) }
        if let skip {
            let skipped = try ruleIDs(skip, option: "--skip", in: profile)
            selection = (selection ?? Set(profile.rules.map(\.id))).subtracting(skipped)
        }
        return selection
    }
}

struct Undo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "undo", _superCommandName: "kcheck",
        abstract: "Put back what a kcheck fix run changed: every file byte for byte, and the runtime values it recorded.",
        discussion: "Without RUN, the last run that was not undone yet. Exit status: 0 restored; 1 something could not be restored; 2 a usage error.")

    @Option(name: .long, help: ArgumentHelp("Undo on a node tree.", valueName: "DIR"))
    var root: String?

    @OptionGroup var change: ChangeOptions

    @Argument(help: ArgumentHelp("The run to undo (see kcheck runs).", valueName: "RUN"))
    var runID: String?

    @Flag(name: .long, help: "When later runs changed what RUN changed, undo them first (newest first), then RUN. Without it, such an undo is refused.")
    var withLater = false

    func run() throws {
        let target = try NodeOptions.node(root: root)
        let remediator = Remediator(node: target, root: root)
        let runs = Journal.runs(writer: remediator.writer, node: target)
        let journals: [Journal]
        switch UndoSelection.select(runID, runs: runs, withLater: withLater, load: { Journal.load(id: $0, writer: remediator.writer) }) {
        case .success(let selected): journals = selected
        case .failure(.unreadable(let failure)): throw CLIError.usage("\(failure)")
        case .failure(.builtOn(let refusal)): throw CLIError.usage(refusal.message)
        }
        guard !journals.isEmpty else {
            Posix.printOut("No run to undo.\n")
            return
        }
        for journal in journals {
            Posix.printOut("Run \(journal.id): \(journal.command)\n")
            for line in remediator.undoPlan(journal).describe() { Posix.printOut("  " + line + "\n") }
        }
        try change.confirm(journals.count == 1 ? "Restore these?" : "Undo these \(journals.count) runs, in this order?")
        let lock = try ChangeOptions.lock(remediator.writer)
        var failed = false
        for outcome in remediator.undo(runs: journals) {
            if outcome.failures.isEmpty {
                Posix.printOut("Restored run \(outcome.run).\n")
                for (name, reason) in outcome.plan.kept { Posix.printOut("  package \(name) left as it is: \(reason)\n") }
            } else {
                Posix.printError(outcome.failures.map { "kcheck: could not restore \($0)\n" }.joined())
                failed = true
            }
        }
        withExtendedLifetime(lock) {}
        if failed { throw ExitCode(Exit.failed) }
    }
}

struct Runs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runs", _superCommandName: "kcheck", abstract: "List the kcheck fix runs journaled on this node (or a node tree).")

    @Option(name: .long, help: ArgumentHelp("A node tree.", valueName: "DIR"))
    var root: String?

    func run() throws {
        let target = try NodeOptions.node(root: root)
        let writer = SafeWriter(root: root ?? "/")
        let runs = Journal.runs(writer: writer, node: target)
        if runs.isEmpty { Posix.printOut("No runs.\n") }
        for (id, undone) in runs {
            switch Journal.load(id: id, writer: writer) {
            case .success(let journal):
                let counts = journal.outcomeCounts
                var what = "\(counts.changed) action\(counts.changed == 1 ? "" : "s") changed the node"
                if counts.inPlace > 0 { what += ", \(counts.inPlace) already in place" }
                if counts.failed > 0 { what += ", \(counts.failed) failed" }
                Posix.printOut("\(id.padded(to: 28)) \(undone ? "undone " : "applied") \(what)  \(journal.command)\n")
            case .failure(let failure):
                Posix.printOut("\(id.padded(to: 28)) unreadable: \(failure)\n")
            }
        }
    }
}
