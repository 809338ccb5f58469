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
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the profile's rules: id, severity, title.")
        @OptionGroup var node: NodeOptions

        func run() throws {
            let profile = try node.profile()
            let width = (profile.rules.map(\.id.count) + profile.clusterRules.map(\.id.count)).max() ?? 0
            var out = ""
            for rule in profile.rules {
                out += rule.id.padded(to: width) + "  " + rule.severity.rawValue.padded(to: 8) + "  " + rule.title + "\n"
            }
            if !profile.clusterRules.isEmpty {
                out += "\nRules that compare nodes (--cluster, --hosts, --snapshots):\n"
                for rule in profile.clusterRules {
                    out += rule.id.padded(to: width) + "  " + rule.severity.rawValue.padded(to: 8) + "  " + rule.title + "\n"
                }
            }
            out += "\n\(profile.rules.count) rules and \(profile.clusterRules.count) cluster rules in profile \(profile.name)\n"
            printText(out)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one rule with its rationale and remediation.")
        @OptionGroup var node: NodeOptions
        @Argument(help: "The rule's id.") var id: String

        func run() throws {
            let profile = try node.profile()
            if let rule = profile.clusterRule(id: id) {
                var out = "\(rule.id)\n  \(rule.title)\n\n"
                out += "severity:    \(rule.severity.rawValue)\n"
                out += "guide items: \(rule.guide.map(String.init).joined(separator: ", ")) (DOCUMENTED-STATE)\n"
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
            out += "guide items: \(rule.guide.map(String.init).joined(separator: ", ")) (DOCUMENTED-STATE)\n"
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
