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
        printText(question + " [y/N] ")
        guard let answer = readLine(), ["y", "yes"].contains(answer.trimmed.lowercased()) else {
            printText("Nothing was changed.\n")
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
    @OptionGroup var waiverOptions: WaiverOptions

    @Option(name: .long, help: ArgumentHelp("Fix only these rules (comma-separated ids).", valueName: "IDS"), completion: ruleIDCompletion)
    var only: String?

    @Option(name: .long, help: ArgumentHelp("Leave these rules alone (comma-separated ids).", valueName: "IDS"), completion: ruleIDCompletion)
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
        let waivers = try waiverOptions.load(from: target, rules: node.rules)
        let (judged, evaluator) = Engine.evaluate(
            profile: profile, on: target, command: "fix", policy: reports.policy, only: selection, inventory: inv)
        // A rule a waiver holds for is left as it is: waived, nothing planned for it.
        let report = Waivers.apply(waivers, to: judged, names: [judged.node.name], now: nowSeconds)
        let plan = Planner(evaluator: evaluator).plan(report, profile: profile)
        let remediator = Remediator(node: target)
        let name = "\(report.node.name) (\(report.node.source))"
        // --quiet with reports in files and --yes: nothing on standard output (cron, automation).
        let quiet = reports.quiet && (reports.output != nil || reports.outputDir != nil) && change.yes
        let say: (String) -> Void = { if !quiet { printText($0) } }
        say(PlanText.render(plan, remediator: remediator, node: name))
        if plan.isEmpty || dryRun {
            if dryRun && !plan.isEmpty { say("\n--dry-run: nothing was changed.\n") }
            if !dryRun { FixSession.tidy(remediator: remediator) }
            // Reports asked for in files are written whether or not anything was to change:
            // automation reads them after every run.
            if reports.output != nil || reports.outputDir != nil { try reports.emit(report, command: "fix") }
            if report.failed { throw ExitCode(Exit.failed) }
            return
        }
        try change.confirm("\nApply these \(plan.actions.count) actions to \(name)?")
        ChangeOptions.installFaultHook(on: remediator)
        let outcome: FixSession.Outcome
        switch FixSession.apply(plan, remediator: remediator, command: CommandLine.arguments.joined(separator: " ")) {
        case .success(let o): outcome = o
        case .failure(.lock(let failure)): throw CLIError.usage("cannot take the lock \(failure)")
        case .failure(let failure): throw CLIError.output("\(failure)")
        }
        let results = outcome.results
        say(PlanText.render(results, run: outcome.runID.map { "\($0) (undo with: kcheck undo \($0))" }))
        // Re-evaluate a fresh view of the node: nothing read before the changes is reused.
        var after = Engine.run(
            profile: profile, on: try node.node(), command: "fix", policy: reports.policy, only: selection, inventory: inv)
        after = Waivers.apply(waivers, to: after, names: [after.node.name], now: nowSeconds)
        after.actions = results.map(\.record)
        after.run = outcome.runID
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
    /// it; every other node by kcheck itself on the node, which applies the plan shown only while
    /// the observations it was built from still hold (and journals it, so `kcheck undo --hosts`
    /// and `kcheck undo` on the node work). Then every node is collected and judged again.
    func runCluster() throws {
        let profile = try node.profile()
        let selection = try selectedRules(profile)
        let local = LiveNode()
        let inv = try inventory.load(from: local)
        let explicit = inventory.env == nil ? nil : inv
        defer { ClusterCollection.cleanUp() }
        let request = try remoteRequest(.record, rules: node.rules, env: inventory.env, only: selection)
        let members = try nodes.collect(request: request, inventory: inv, local: local)
        let plans = try memberPlans(members, profile: profile, selection: selection, inventory: explicit, waiversFrom: local)
        for (member, plan, _, _) in plans {
            guard let target = member.node as? MutableNode else { continue }
            printText("== \(member.label)\n" + PlanText.render(plan, remediator: Remediator(node: target), node: member.label) + "\n")
        }
        let work = plans.filter { !$0.plan.isEmpty }
        if dryRun || work.isEmpty {
            if dryRun && !work.isEmpty { printText("--dry-run: nothing was changed.\n") }
            if plans.count < members.count { throw ExitCode(Exit.failed) }
            return
        }
        let total = work.map(\.plan.actions.count).reduce(0, +)
        try change.confirm("Apply these \(total) actions on \(work.count) node\(work.count == 1 ? "" : "s")?")
        var failed = false
        let invocation = CommandLine.arguments.joined(separator: " ")
        for (member, plan, report, renewals) in work {
            guard let host = member.host else {
                // This node: as `kcheck fix` applies a plan here.
                switch FixSession.apply(plan, remediator: Remediator(node: LiveNode()), command: invocation) {
                case .failure(let failure): throw CLIError.output("cannot apply on this node: \(failure)")
                case .success(let outcome):
                    printText("== \(member.label)\n" + PlanText.render(outcome.results, run: outcome.runID))
                    failed = failed || outcome.failed
                }
                continue
            }
            var fix = request
            fix.command = .fix
            fix.invocation = invocation + " (from another node over SSH)"
            fix.planFingerprint = FixSession.fingerprint(plan)
            fix.renewals = renewals
            // The node leaves the rules waived for it out of its own judgement: its plan is the one shown.
            let waived = Set(report.entries.filter { $0.result.status == .waived }.map(\.subject.id))
            if !waived.isEmpty { fix.only = (selection ?? Set(profile.rules.map(\.id))).subtracting(waived).sorted() }
            let served = Set(plan.actions.flatMap(\.rules))
            for entry in report.entries where served.contains(entry.subject.id) { fix.observations[entry.subject.id] = FixSession.observation(entry.result) }
            switch try nodes.ssh.call(host, fix) {
            case .failure(let problem):
                failed = true
                printText("== \(member.label): \(problem)\n")
            case .success(let call):
                failed = failed || call.answer.status != 0
                let run = call.answer.runID.map { ": run \($0) (undo: kcheck undo --hosts \(host) \($0))" } ?? ""
                printText("== \(member.label)\(run)\n" + call.answer.text)
            }
        }
        // Every node again, from scratch.
        ClusterCollection.cleanUp()
        let after = try nodes.collect(request: request, inventory: inv, local: LiveNode())
        // Judged with the waivers the plans were made with: a rule left alone is waived, not failed.
        let report = Waivers.apply(
            try waiverOptions.load(from: local, rules: node.rules),
            to: ClusterEngine.run(profile: profile, members: after, inventory: explicit, policy: reports.policy, command: "fix", only: selection),
            now: nowSeconds)
        printText("\n")
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
        defer { ClusterCollection.cleanUp() }
        if nodes.isSet {
            let local = LiveNode()
            inv = try inventory.load(from: local)
            members = try nodes.collect(request: try remoteRequest(.record, rules: node.rules, env: inventory.env, only: selection), inventory: inv, local: local)
            if inventory.env == nil { inv = nil }
        } else {
            let target = try node.node()
            inv = try inventory.load(from: target)
            members = [ClusterMember(label: node.root ?? "this node", node: target, problem: nil)]
        }
        // The default waivers file: the operator's for a cluster, the tree's (or this node's) otherwise.
        let waiversFrom: Node = nodes.isSet ? LiveNode() : try node.node()
        let plans = try memberPlans(members, profile: profile, selection: selection, inventory: inv, waiversFrom: waiversFrom).map { (host: $0.member.label, plan: $0.plan) }
        func write(_ text: String, _ path: String?) throws(CLIError) {
            guard let path else { return printText(text) }
            if case .failure(let error) = Posix.writeOutput(path, text: text) { throw CLIError.output("cannot write \(path): \(error)") }
        }
        switch format {
        case .ansible:
            let target: PlanEmitter.AnsibleTarget = nodes.isSet ? .hosts : node.root.map { .tree($0) } ?? .thisMachine
            try write(PlanEmitter.ansible(plans, target: target), reports.output ?? reports.outputDir.map { $0 + "/kcheck-fix.yml" })
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

    /// Each reachable member's plan, the report it was built from and the cluster rules' share of
    /// it (each node with its own inventory unless --env names one); an unreachable one is named on
    /// standard error.
    func memberPlans(_ members: [ClusterMember], profile: Profile, selection: Set<String>?, inventory: Inventory?, waiversFrom: Node) throws(CLIError)
        -> [(member: ClusterMember, plan: Plan, report: Report, renewals: [IdentityRenewal])]
    {
        let waivers = try waiverOptions.load(from: waiversFrom, rules: node.rules)
        let (plans, unreachable) = ClusterFix.plans(
            members, profile: profile, selection: selection, inventory: inventory, policy: reports.policy, waivers: waivers, now: nowSeconds)
        for (label, problem) in unreachable { printError("kcheck: \(label): \(problem): no plan\n") }
        return plans.map { ($0.member, $0.plan, $0.report, $0.renewals) }
    }

    /// --only and --skip, checked against the profile.
    func selectedRules(_ profile: Profile) throws(CLIError) -> Set<String>? {
        // Over SSH, the cluster rules a fix serves (a copied machine-id, copied host keys) too.
        let cluster = nodes.isSet
        var selection = try only.map { t throws(CLIError) in try ruleIDs(t, option: "--only", in: profile, clusterRules: cluster) }
        if let skip {
            let skipped = try ruleIDs(skip, option: "--skip", in: profile, clusterRules: cluster)
            selection = (selection ?? Set(profile.rules.map(\.id) + (cluster ? profile.clusterRules.map(\.id) : []))).subtracting(skipped)
        }
        return selection
    }
}

struct Undo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "undo", _superCommandName: "kcheck",
        abstract: "Put back what a kcheck fix run changed: every file byte for byte, and the runtime values it recorded.",
        discussion: "Without RUN, the last run that was not undone yet. With --hosts, on those nodes over SSH (kcheck runs there). Exit status: 0 restored; 1 something could not be restored; 2 a usage error.")

    @Option(name: .long, help: ArgumentHelp("Undo on a node tree.", valueName: "DIR"))
    var root: String?

    @Option(name: .long, help: ArgumentHelp("Undo on these nodes over SSH (comma-separated hosts).", valueName: "HOSTS"))
    var hosts: String?

    @OptionGroup var ssh: SSHOptions

    @OptionGroup var change: ChangeOptions

    @Argument(help: ArgumentHelp("The run to undo (see kcheck runs).", valueName: "RUN"))
    var runID: String?

    @Flag(name: .long, help: "When later runs changed what RUN changed, undo them first (newest first), then RUN. Without it, such an undo is refused.")
    var withLater = false

    func validate() throws {
        if hosts != nil && root != nil { throw ValidationError("--root undoes on a node tree here; --hosts on nodes over SSH") }
        for host in hostList { if let problem = SSHTarget.validate(host) { throw ValidationError("--hosts: \(problem)") } }
    }

    var hostList: [String] { hosts.map { $0.split(separator: ",").map { String($0.trimmed) } } ?? [] }

    func run() throws {
        if hosts != nil { return try runRemote() }
        let target = try NodeOptions.node(root: root)
        let remediator = Remediator(node: target)
        let journals: [Journal]
        switch UndoSession.select(runID, withLater: withLater, remediator: remediator, node: target) {
        case .success(let selected): journals = selected
        case .failure(let refusal): throw CLIError.usage(refusal.message)
        }
        printText(UndoSession.describe(journals, remediator: remediator))
        guard !journals.isEmpty else {
            // Nothing to undo: what killed runs left half-written is still removed.
            FixSession.tidy(remediator: remediator)
            return
        }
        try change.confirm(journals.count == 1 ? "Restore these?" : "Undo these \(journals.count) runs, in this order?")
        switch UndoSession.apply(journals, remediator: remediator) {
        case .failure(let failure): throw CLIError.usage("\(failure)")
        case .success(let outcome):
            printText(outcome.text)
            printError(outcome.problems.map { "kcheck: \($0)\n" }.joined())
            if !outcome.problems.isEmpty { throw ExitCode(Exit.failed) }
        }
    }

    /// On each node, kcheck itself undoes (the same code, the node's own journal).
    func runRemote() throws {
        defer { ClusterCollection.cleanUp() }
        var request = RemoteRequest(command: .undoPlan)
        request.runID = runID
        request.withLater = withLater
        var failed = false
        for host in hostList {
            if !change.yes {
                switch try ssh.call(host, request) {
                case .failure(let problem):
                    printText("== \(host): \(problem)\n")
                    failed = true
                    continue
                case .success(let call):
                    printText("== \(host)\n" + call.answer.text)
                    if call.answer.status != 0 || call.answer.text == "No run to undo.\n" {
                        failed = failed || call.answer.status != 0
                        continue
                    }
                }
                try change.confirm("Restore these on \(host)?")
            }
            var undo = request
            undo.command = .undo
            switch try ssh.call(host, undo) {
            case .failure(let problem):
                printText("== \(host): \(problem)\n")
                failed = true
            case .success(let call):
                printText("== \(host)\n" + call.answer.text)
                failed = failed || call.answer.status != 0
            }
        }
        if failed { throw ExitCode(Exit.failed) }
    }
}

struct Runs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runs", _superCommandName: "kcheck", abstract: "List the kcheck fix runs journaled on this node (a node tree, or nodes over SSH).")

    @Option(name: .long, help: ArgumentHelp("A node tree.", valueName: "DIR"))
    var root: String?

    @Option(name: .long, help: ArgumentHelp("These nodes over SSH (comma-separated hosts).", valueName: "HOSTS"))
    var hosts: String?

    @OptionGroup var ssh: SSHOptions

    func validate() throws {
        for host in hosts.map({ $0.split(separator: ",").map { String($0.trimmed) } }) ?? [] {
            if let problem = SSHTarget.validate(host) { throw ValidationError("--hosts: \(problem)") }
        }
    }

    func run() throws {
        guard let hosts else {
            let target = try NodeOptions.node(root: root)
            let listing = RunsListing.listing(writer: SafeWriter(root: root ?? "/"), node: target)
            printText(listing.text)
            if listing.unreadable > 0 { throw ExitCode(Exit.failed) }
            return
        }
        defer { ClusterCollection.cleanUp() }
        var failed = false
        for host in hosts.split(separator: ",").map({ String($0.trimmed) }) {
            switch try ssh.call(host, RemoteRequest(command: .runs)) {
            case .failure(let problem):
                printText("== \(host): \(problem)\n")
                failed = true
            case .success(let call): printText("== \(host)\n" + call.answer.text)
            }
        }
        if failed { throw ExitCode(Exit.failed) }
    }
}
