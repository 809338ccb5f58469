import KCheckNative

/// The library's entry point: run a profile on a node and get a report. It never prints and
/// never exits; the CLI does both.
public enum Engine {
    public static let version = "0.1.0"

    public static func run(
        profile: Profile, on node: Node, command: String = "preflight", policy: FailurePolicy = .default,
        only: Set<String>? = nil, inventory: Inventory? = nil
    ) -> Report {
        evaluate(profile: profile, on: node, command: command, policy: policy, only: only, inventory: inventory).report
    }

    /// A run's report, with the evaluator that made it (whose facts a fix plan is built from).
    public static func evaluate(
        profile: Profile, on node: Node, command: String = "preflight", policy: FailurePolicy = .default,
        only: Set<String>? = nil, inventory: Inventory? = nil
    ) -> (report: Report, evaluator: Evaluator) {
        let started = Posix.wallClock()
        let clock = Posix.monotonicNanoseconds()
        let rules = only.map { ids in profile.rules.filter { ids.contains($0.id) } } ?? profile.rules
        let evaluator = Evaluator(node: node, rules: rules, inventory: inventory)
        let entries = rules.map { Report.Entry(rule: $0, result: evaluator.evaluate($0)) }
        let elapsed = Double(Posix.monotonicNanoseconds() - clock) / 1e9
        var report = Report(
            toolVersion: version, command: command, profile: profile.name, node: evaluator.identity,
            startedAt: started, durationSeconds: elapsed, entries: entries, policy: policy)
        // Which failures `kcheck fix` would act on: the plan it would make, from the facts just
        // read (reports point to `kcheck fix --dry-run` for them).
        if entries.contains(where: { $0.result.status == .fail || $0.result.status == .warn }) {
            report.fixable = Set(Planner(evaluator: evaluator).plan(report, profile: profile).actions.flatMap(\.rules))
        }
        return (report, evaluator)
    }
}
