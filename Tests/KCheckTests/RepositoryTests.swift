import Foundation
import Testing

/// The README's commands are what CI runs, and the docs name files that exist.
@Suite("Repository")
struct RepositoryTests {
    func readme() throws -> String { try String(contentsOfFile: Repo.root + "/README.md", encoding: .utf8) }

    /// The first three fenced shell blocks of the README: set up and run; run the tests; run the
    /// real-node scenario.
    func readmeCommands() throws -> [String] {
        let parts = try readme().components(separatedBy: "```sh\n")
        return parts.dropFirst().prefix(3).map { $0.components(separatedBy: "\n```")[0] }
    }

    @Test func ciRunsTheReadmeTestCommands() throws {
        let commands = try readmeCommands()
        #expect(commands.count == 3)
        let ci = try String(contentsOfFile: Repo.root + "/.ci/run", encoding: .utf8)
        #expect(ci.contains("\n" + commands[1] + "\n"), "README test command: \(commands[1])")
        #expect(ci.contains("\n" + commands[2] + "\n"), "README scenario command: \(commands[2])")
        #expect(commands[2].hasSuffix("testbed/run.sh"))
        #expect(ci.contains("apt-get update"))
    }

    @Test func readmeSetupCommandBuildsTheBinaryCIBuilds() throws {
        let commands = try readmeCommands()
        let ci = try String(contentsOfFile: Repo.root + "/.ci/run", encoding: .utf8)
        #expect(commands[0].contains("swift build -c release -Xswiftc -static-executable"))
        #expect(ci.contains("swift build -c release -Xswiftc -static-executable"))
        #expect(commands[0].contains("libssl-dev libpcre2-dev"))
        #expect(commands[0].hasSuffix(".build/release/kcheck preflight"))
    }
}
