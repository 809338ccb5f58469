import Foundation
import Testing

/// The manual page: swift-argument-parser's own `generate-manual` (what `swift package plugin
/// generate-manual` runs) on the kcheck the tests run, rendered by groff as `man` would.
@Suite("The manual page")
struct ManualTests {
    @Test func generatesAndRenders() throws {
        // The tool is built once into its own scratch directory (not the tests' .build, which
        // `swift test` holds).
        let scratch = Repo.root + "/.build/manual"
        let build = try run("/usr/bin/env", ["swift", "build", "--package-path", Repo.root, "--scratch-path", scratch, "--product", "generate-manual"])
        #expect(build.status == 0, "\(build.stdout.suffix(800))\(build.stderr.suffix(800))")
        let dir = try TemporaryDirectory()
        let generated = try run(scratch + "/debug/generate-manual", [Repo.kcheck, "--date", "2026-12-01", "--output-directory", dir.path])
        #expect(generated.status == 0, "\(generated.stderr)")
        let page = try String(contentsOfFile: dir.path + "/kcheck.1", encoding: .utf8)
        #expect(page.contains(".Dt KCHECK 1") && page.contains(".Sh \"EXIT STATUS\""), "\(page.prefix(400))")
        for command in ["preflight", "fix", "undo", "runs", "audit", "report", "snapshot", "lint", "certs", "rules", "version"] {
            #expect(page.contains(".It Em \(command)\n"), "\(command) is in the manual")
        }
        #expect(page.contains("Fl -waivers Ar FILE") && page.contains("Fl -wait Ar DURATION") && page.contains("Fl -verbose"))
        // groff reads it without a warning, as man would show it.
        let rendered = try run("/usr/bin/groff", ["-mandoc", "-Tutf8", "-ww", dir.path + "/kcheck.1"])
        #expect(rendered.status == 0 && rendered.stderr.isEmpty, "\(rendered.stderr)")
        // Bold is overstruck (`E\bE`) or an escape sequence: read the text without them.
        var text = ""
        for c in rendered.stdout {
            if c == "\u{8}" { if !text.isEmpty { text.removeLast() } } else { text.append(c) }
        }
        text = text.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
        #expect(text.contains("kcheck preflight") && text.contains("EXIT STATUS") && text.contains("--waivers FILE"), "\(text.prefix(600))")
    }
}
