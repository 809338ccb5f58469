import ArgumentParser
import KCheckCore
import KCheckNative
import KCheckRuleLoader

// `kcheck SUBCOMMAND …` is parsed with the subcommand as the root: swift-argument-parser then
// reflects over that command alone and skips its completion-script check (each subcommand names
// "kcheck" as its super-command, so usage and help still read `kcheck SUBCOMMAND`). That is 0.6 ms
// of a 5 ms preflight. Anything else (`kcheck --help`, `kcheck help fix`, completion scripts)
// goes through the whole command tree.
let arguments = Array(CommandLine.arguments.dropFirst())
// Commands that may make temporary directories (cluster runs, snapshots) block SIGINT/SIGTERM/
// SIGHUP before any other thread starts, so that only SignalCleanup's thread takes them and
// removes those directories (a worker thread started earlier would let a signal end the process
// without it). One thread more, for these commands only.
if arguments.first == "snapshot" || arguments.contains(where: { a in ["--hosts", "--cluster", "--snapshots"].contains { a == $0 || a.hasPrefix($0 + "=") } }) {
    SignalCleanup.install()
}
var direct = arguments.first.flatMap { name in KCheck.configuration.subcommands.first { $0.configuration.commandName == name } }
// A misspelt command: said with the nearest one (`kcheck prefligth`: did you mean `preflight`?).
if direct == nil, let first = arguments.first, !first.hasPrefix("-"), first != "help" {
    let names = KCheck.configuration.subcommands.compactMap { $0.configuration.commandName }.filter { $0 != "remote" }
    printError("kcheck: error: unknown command '\(first)'\(suggestion(first, names)) (commands: \(names.joined(separator: ", ")); see 'kcheck --help')\n")
    Posix.exitProcess(Exit.usage)
}
if direct == Preflight.self && OneNodePreflight.handles(arguments.dropFirst()) { direct = OneNodePreflight.self }
let root: ParsableCommand.Type = direct == OneNodePreflight.self ? Preflight.self : direct ?? KCheck.self

// The one place that prints errors and exits. Argument errors exit 2 (swift-argument-parser's
// own default would be 64).
do {
    var command: ParsableCommand
    do {
        command = try direct.map { try $0.parseAsRoot(Array(arguments.dropFirst())) } ?? KCheck.parseAsRoot(arguments)
    } catch where direct == OneNodePreflight.self {
        // A usage error: said by the command users know, with all its options.
        command = try Preflight.parseAsRoot(Array(arguments.dropFirst()))
    }
    try command.run()
    Posix.exitProcess(Exit.passed)
} catch let error as CLIError {
    printError(error.message + "\n")
    Posix.exitProcess(Exit.usage)
} catch let error as ExitCode {
    Posix.exitProcess(error.rawValue)
} catch {
    let code = root.exitCode(for: error)
    // The parser's "See 'NAME --help'" line leaves out the super-command: put "kcheck" back.
    let message = root.fullMessage(for: error).split(separator: "\n", omittingEmptySubsequences: false).map { line in
        line.hasPrefix("  See '") && !line.hasPrefix("  See 'kcheck") ? "  See 'kcheck " + line.dropFirst("  See '".count) : line
    }.joined(separator: "\n")
    if code == .success {
        Posix.printOut(message + "\n")
        Posix.exitProcess(Exit.passed)
    }
    printError(message + "\n")
    Posix.exitProcess(Exit.usage)
}
