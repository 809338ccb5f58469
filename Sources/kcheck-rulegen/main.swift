// Regenerates the compiled-in default profile from the rule files:
//   swift run kcheck-rulegen [RULES_DIR] [OUTPUT] [RULES_DOC]
// (defaults: rules, Sources/KCheckProfile/GuideNodeProfile.swift, docs/rules.md: its list of rules
// by phase, between the markers)
import KCheckNative
import KCheckRuleLoader


let arguments = CommandLine.arguments.dropFirst()
let rulesDirectory = arguments.first ?? "rules"
let output = arguments.dropFirst().first ?? "Sources/KCheckProfile/GuideNodeProfile.swift"
let rulesDoc = arguments.dropFirst(2).first ?? "docs/rules.md"

func write(_ path: String, _ text: String) {
    if case .failure(let error) = Posix.writeFileAtomically(path, Array(text.utf8)) {
        Posix.printError("kcheck-rulegen: \(error)\n")
        Posix.exitProcess(2)
    }
}

do throws(RuleFileError) {
    let profile = try RuleLoader.loadProfile(directory: rulesDirectory, name: "guide-node")
    write(output, SwiftSource.render(profile, sourceDescription: "rules/"))
    print("wrote \(output): \(profile.rules.count) rules")
    guard case .success(let bytes) = Posix.readFile(rulesDoc, limit: 1 << 20),
        let spliced = RuleList.splice(RuleList.markdown(profile), into: String(decoding: bytes, as: UTF8.self))
    else {
        Posix.printError("kcheck-rulegen: \(rulesDoc) is unreadable or lacks the markers \(RuleList.begin) … \(RuleList.end)\n")
        Posix.exitProcess(2)
    }
    write(rulesDoc, spliced)
    print("wrote \(rulesDoc): the rules by phase")
} catch {
    Posix.printError("\(error)\n")
    Posix.exitProcess(2)
}
