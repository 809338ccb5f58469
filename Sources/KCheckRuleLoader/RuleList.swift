import KCheckCore

/// The profile's rules as a Markdown list by phase: the part of docs/rules.md between its markers,
/// written by `kcheck-rulegen` (a test fails while it and the rules differ).
public enum RuleList {
    public static let begin = "<!-- rules by phase: written by `swift run kcheck-rulegen`; do not edit -->"
    public static let end = "<!-- end of rules by phase -->"

    public static func markdown(_ profile: Profile) -> String {
        var out = ""
        for phase in Phase.allCases {
            let rules = profile.rules.filter { $0.phase == phase }
            let clusterRules = profile.clusterRules.filter { $0.phase == phase }
            guard !rules.isEmpty || !clusterRules.isEmpty else { continue }
            out += "\n### \(phase.heading) — `\(phase.rawValue)`\n\n"
            out += "| rule | severity | items | title |\n| --- | --- | --- | --- |\n"
            for rule in rules { out += row(rule.id, rule.severity, rule.guide, rule.title) }
            for rule in clusterRules { out += row(rule.id + " (cluster)", rule.severity, rule.guide, rule.title) }
        }
        let counts = Phase.allCases.map { phase in
            "\(profile.rules.filter { $0.phase == phase }.count + profile.clusterRules.filter { $0.phase == phase }.count) \(phase.rawValue)"
        }
        return out + "\n\(profile.rules.count) node rules and \(profile.clusterRules.count) cluster rules: \(counts.joined(separator: ", ")).\n"
    }

    static func row(_ id: String, _ severity: Severity, _ items: [Int], _ title: String) -> String {
        let cell = title.replacing("|", with: "\\|")
        return "| `\(id)` | \(severity.rawValue) | \(items.map(String.init).joined(separator: ", ")) | \(cell) |\n"
    }

    /// `document` with the text between the markers replaced; nil when it lacks them.
    public static func splice(_ list: String, into document: String) -> String? {
        guard let start = document.firstRange(of: begin), let stop = document[start.upperBound...].firstRange(of: end) else { return nil }
        return String(document[..<start.upperBound]) + "\n" + list + "\n" + String(document[stop.lowerBound...])
    }
}
