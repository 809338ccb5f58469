// Regenerates the compiled-in default profile from the rule files:
//   swift run kcheck-rulegen [RULES_DIR] [OUTPUT]
// (defaults: rules, Sources/KCheckProfile/GuideNodeProfile.swift)
import KCheckNative
import KCheckRuleLoader


let arguments = CommandLine.arguments.dropFirst()
let rulesDirectory = arguments.first ?? "rules"
let output = arguments.dropFirst().first ?? "Sources/KCheckProfile/GuideNodeProfile.swift"

do throws(RuleFileError) {
    let profile = try RuleLoader.loadProfile(directory: rulesDirectory, name: "guide-node")
    let source = SwiftSource.render(profile, sourceDescription: "rules/")
    switch Posix.writeFileAtomically(output, Array(source.utf8)) {
    case .success: print("wrote \(output): \(profile.rules.count) rules")
    case .failure(let error):
        Posix.printError("kcheck-rulegen: \(error)\n")
        Posix.exitProcess(2)
    }
} catch {
    Posix.printError("\(error)\n")
    Posix.exitProcess(2)
}
