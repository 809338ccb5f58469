/// The plan and the outcome of applying it, as text for people: each action with the rules it
/// serves, a unified diff for every file it changes, old → new for runtime values, and what needs
/// a reboot; then what stays for a person.
public enum PlanText {
    public static func render(_ plan: Plan, remediator: Remediator, node: String) -> String {
        var out = ""
        // The inventory's secrets, read once for every diff below.
        var inventorySecrets: [Redaction.Secret] = []
        if case .content(let env) = remediator.node.read(Inventory.nodePath, limit: defaultReadLimit) { inventorySecrets = Redaction.secrets(in: env) }
        if plan.actions.isEmpty {
            out += "Nothing to change on \(node)"
            out += plan.manual.isEmpty ? ".\n" : " automatically.\n"
        } else {
            out += "Plan for \(node): \(plan.actions.count) action\(plan.actions.count == 1 ? "" : "s")\n"
        }
        for (i, planned) in plan.actions.enumerated() {
            out += "\n\(i + 1). \(planned.action.summary)\(planned.needsReboot ? "  [takes full effect after a reboot]" : "")\n"
            out += "   for: \(planned.rules.joined(separator: ", "))\n"
            if let note = planned.note { out += "   why: \(note)\n" }
            if let change = remediator.runtimeChange(planned.action) { out += "   change: \(change)\n" }
            if let more = remediator.packagePreview(planned.action) { out += "   \(more)\n" }
            if case .rtcUTC = planned.action, remediator.live {
                out += "   file: /etc/adjtime is written by hwclock: its third line becomes UTC, and hwclock rewrites its first two lines too (drift factor, time of this adjustment)\n"
            }
            if let diff = remediator.fileChange(planned.action) {
                if diff.old == diff.new {
                    out += "   (already as planned)\n"
                } else {
                    // No ENCRYPTION_KEY or BOOTSTRAP_TOKEN value in a diff's lines (/root/.bashrc may hold one).
                    let secrets = Redaction.secrets(in: diff.new) + Redaction.secrets(in: diff.old ?? []) + inventorySecrets
                    let old = diff.old.map { Redaction.forDisplay($0, secrets) }, new = Redaction.forDisplay(diff.new, secrets)
                    for line in UnifiedDiff.render(path: diff.path, old: old, new: new).split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
                        out += "   " + line + "\n"
                    }
                }
            }
        }
        if !plan.manual.isEmpty {
            out += "\nBy hand (kcheck does not change these):\n"
            for item in plan.manual { out += "- \(item.rule): \(item.instructions)\n" }
        }
        return visible(out)  // a file's line or a node's name never reaches the terminal raw
    }

    public static func render(_ results: [Remediator.Result], run: String?) -> String {
        var out = run.map { "\nRun \($0):\n" } ?? "\n"
        for (i, result) in results.enumerated() {
            if case .failed(let why) = result.outcome {
                out += "\(i + 1). \("failed".padded(to: 22)) \(result.planned.action.summary)\n   \(why)\n"
            } else {
                out += "\(i + 1). \(result.outcome.label.padded(to: 22)) \(result.planned.action.summary)\n"
            }
            if let change = result.change { out += "   \(change)\n" }
            for argv in result.commands { out += "   command: \(argv.joined(separator: " "))\n" }
        }
        return visible(out)
    }
}
