import ArgumentParser
import KCheckCore
import KCheckNative

struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules", _superCommandName: "kcheck",
        abstract: "List the profile's rules, or show one.",
        subcommands: [List.self, Show.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List the profile's rules by phase: id, severity, title (--phase selects phases).")
        @OptionGroup var node: NodeOptions

        func run() throws {
            let profile = try node.profile()
            let width = (profile.rules.map(\.id.count) + profile.clusterRules.map(\.id.count)).max() ?? 0
            func line(_ id: String, _ severity: Severity, _ title: String) -> String {
                "  " + id.padded(to: width) + "  " + severity.rawValue.padded(to: 8) + "  " + title + "\n"
            }
            var groups: [String] = []
            for phase in Phase.allCases {
                let rules = profile.rules.filter { $0.phase == phase }
                let clusterRules = profile.clusterRules.filter { $0.phase == phase }
                guard !rules.isEmpty || !clusterRules.isEmpty else { continue }
                var out = "\(phase.heading) [\(phase.rawValue)]:\n"
                for rule in rules { out += line(rule.id, rule.severity, rule.title) }
                if !clusterRules.isEmpty {
                    out += "  Rules that compare nodes (--cluster, --hosts, --snapshots):\n"
                    for rule in clusterRules { out += line(rule.id, rule.severity, rule.title) }
                }
                groups.append(out)
            }
            let out = groups.joined(separator: "\n")
                + "\n\(profile.rules.count) rules and \(profile.clusterRules.count) cluster rules in profile \(profile.name)\n"
            printText(out)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one rule with its rationale and remediation.")
        @OptionGroup var node: NodeOptions
        @Argument(help: "The rule's id.", completion: ruleIDCompletion) var id: String

        func run() throws {
            let profile = try node.profile()
            if let rule = profile.clusterRule(id: id) {
                var out = "\(rule.id)\n  \(rule.title)\n\n"
                out += "severity:    \(rule.severity.rawValue)\n"
                out += "phase:       \(rule.phase.rawValue)\n"
                out += "guide items: \(guideItems(rule.guide))\n"
                out += "compares:    \(rule.check.summary)\n\n"
                out += "Why (from the guide):\n  \(rule.rationale)\n\n"
                out += "Remediation:\n  \(rule.remediation)\n"
                if !rule.tests.isEmpty {
                    out += "\nFixture clusters (fixtures/clusters):\n"
                    for test in rule.tests { out += "  \(test.status.rawValue.padded(to: 5)) \(test.cluster)\n" }
                }
                return printText(out)
            }
            guard let rule = profile.rule(id: id) else {
                let near = (profile.rules.map(\.id) + profile.clusterRules.map(\.id)).filter { $0.contains(id) || id.contains($0) }.prefix(5)
                throw CLIError.usage("no rule '\(id)' in profile \(profile.name)" + (near.isEmpty ? "" : "; did you mean: \(near.joined(separator: ", "))?"))
            }
            var out = "\(rule.id)\n  \(rule.title)\n\n"
            out += "severity:    \(rule.severity.rawValue)\n"
            out += "phase:       \(rule.phase.rawValue)\n"
            out += "guide items: \(guideItems(rule.guide))\n"
            out += "checks:      \(rule.check.summary)\n\n"
            out += "Why (from the guide):\n  \(rule.rationale)\n\n"
            out += "Remediation:\n  \(rule.remediation)\n"
            if !rule.tests.isEmpty {
                out += "\nFixture trees (fixtures/nodes):\n"
                for test in rule.tests { out += "  \(test.status.rawValue.padded(to: 5)) \(test.node)\n" }
            }
            printText(out)
        }
    }
}

/// Guide item numbers with the document each comes from (1-30: part 1, 31-51: the later parts).
func guideItems(_ items: [Int]) -> String {
    if items.isEmpty { return "none (a check kcheck adds)" }
    let prepare = items.filter { $0 <= 30 }, running = items.filter { $0 > 30 }
    return [
        prepare.isEmpty ? nil : prepare.map(String.init).joined(separator: ", ") + " (docs/DOCUMENTED-STATE.md)",
        running.isEmpty ? nil : running.map(String.init).joined(separator: ", ") + " (docs/RUNNING-STATE.md)",
    ].compactMap { $0 }.joined(separator: "; ")
}
