import KCheckNative

/// `--wait DURATION`: judging again until the run passes or the time is up — chrony synchronising
/// after a fix, a node coming back after a reboot. The last judgement is the run's result; its
/// exit status is the one it would have without waiting.
public enum Waiting {
    /// "90s", "5m", "1h", "1h30m", or a number of seconds; nil for anything else (or over a day).
    public static func seconds(_ text: String) -> Double? {
        if let plain = Double(text), plain >= 0, plain <= 86_400 { return plain }
        var total = 0.0, number = ""
        for c in text {
            if c.isNumber || c == "." {
                number.append(c)
                continue
            }
            guard let value = Double(number), let unit: Double = ["s": 1, "m": 60, "h": 3600][String(c)] else { return nil }
            total += value * unit
            number = ""
        }
        guard number.isEmpty, total > 0, total <= 86_400 else { return nil }
        return total
    }

    /// From the `first` judgement (already made: a cluster is not collected twice), calls `judge`
    /// again until `passed` holds or `seconds` have gone by, pausing `interval` between
    /// judgements; `waiting` hears, after each failing one, how many seconds are left.
    public static func run<Result>(
        from first: Result, for seconds: Double, every interval: Double = 2, judge: () throws -> Result, passed: (Result) -> Bool,
        waiting: (Result, Double) -> Void
    ) rethrows -> Result {
        let start = Posix.monotonicNanoseconds()
        func elapsed() -> Double { Double(Posix.monotonicNanoseconds() - start) / 1e9 }
        var result = first
        while !passed(result) && elapsed() + interval <= seconds {
            waiting(result, seconds - elapsed())
            Posix.pause(milliseconds: Int(interval * 1000))
            result = try judge()
        }
        return result
    }

    /// The rules a report still waits for (failing or not checked), for the progress line.
    public static func pending(_ report: Report) -> [String] {
        report.entries.filter { report.policy.isFailure($0.result.status) }.map(\.subject.id)
    }

    /// The same for a cluster: each node's rules named after the node, then the cluster rules.
    public static func pending(_ report: ClusterReport) -> [String] {
        report.nodes.flatMap { node in pending(node.report).map { "\(node.label) \($0)" } } + pending(report.cluster)
    }
}
