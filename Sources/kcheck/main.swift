import ArgumentParser
import KCheckNative

// The one place that prints errors and exits. Argument errors exit 2 (swift-argument-parser's
// own default would be 64).
do {
    var command = try KCheck.parseAsRoot()
    try command.run()
    Posix.exitProcess(Exit.passed)
} catch let error as CLIError {
    Posix.printError(error.message + "\n")
    Posix.exitProcess(Exit.usage)
} catch let error as ExitCode {
    Posix.exitProcess(error.rawValue)
} catch {
    let code = KCheck.exitCode(for: error)
    if code == .success {
        Posix.printOut(KCheck.fullMessage(for: error) + "\n")
        Posix.exitProcess(Exit.passed)
    }
    Posix.printError(KCheck.fullMessage(for: error) + "\n")
    Posix.exitProcess(Exit.usage)
}
