import Foundation
import KCheckCore
import KCheckNative
import Testing

@Suite("environment.sh parsed as bash, never executed")
struct ShellParserTests {
    func parse(_ name: String) throws -> ShellFile {
        let text = try String(contentsOfFile: Repo.root + "/fixtures/files/env/" + name, encoding: .utf8)
        return try ShellFile.parse(text)
    }

    @Test func everyKindOfQuoting() throws {
        let f = try parse("quoting.sh")
        func value(_ name: String) -> ShellValue? { f[name]?.value }
        #expect(value("PLAIN") == .scalar("value"))
        #expect(f["EXPORTED"]?.exported == true)
        #expect(f["PLAIN"]?.exported == false)
        #expect(value("SINGLE") == .scalar("single $NOT_EXPANDED \"double inside\""))
        #expect(value("DOUBLE") == .scalar("double with value and exported-value and \"escaped\" and $dollar and \\backslash"))
        #expect(value("MIXED") == .scalar("presingledoublepost"))
        #expect(value("ESCAPED") == .scalar("a b\"c"))
        #expect(value("EMPTY") == .scalar(""))
        #expect(value("EMPTY_QUOTED") == .scalar(""))
        #expect(value("DECLARED") == .scalar("declared"))
        #expect(f["DECLARED"]?.exported == true)
        #expect(value("RO") == .scalar("read only"))
        #expect(value("ARRAY") == .array(["one", "two words", "three", "four five"]))
        #expect(value("IPS") == .array(["10.0.0.1", "10.0.0.2"]))
        #expect(value("NAMES") == .array(["a", "b"]))
        #expect(value("FIRST") == .scalar("one"))
        #expect(value("SECOND") == .scalar("two words"))
        #expect(value("ALL") == .scalar("one two words three four five"))
        #expect(value("CONTINUED") == .scalar("line one line two"))
        #expect(f["COMPUTED"]?.computed == true)
        #expect(value("COMPUTED") == .scalar("$(date +%s)"))
        #expect(f["NESTED"]?.computed == true)
        #expect(value("NESTED") == .scalar("$(echo \"$(echo ')' )\")"))
        #expect(f["BACKTICK"]?.computed == true)
        #expect(f["ARITH"]?.computed == true)
        #expect(f["UNKNOWN_REF"]?.unresolved == ["HOME", "UNSET_THING"])
        #expect(value("UNKNOWN_REF") == .scalar("$HOME/bin:${UNSET_THING}"))
        #expect(value("APPENDED") == .scalar("ab"))
        #expect(value("SEMI") == .scalar("1"))
        #expect(value("AFTER_SEMI") == .scalar("2"))
        #expect(f.commandLines.contains(33))
        #expect(f["ARRAY"]?.line == 13 && f["ARRAY"]?.column == 1)
    }

    @Test func theGuidesOwnFileParses() throws {
        let f = try parse("guide-environment.sh")
        #expect(f["NODE_IPS"]?.value == .array(["192.168.7.200", "192.168.7.201", "192.168.7.202"]))
        #expect(f["NODE_NAMES"]?.value == .array(["k8s-node01", "k8s-node02", "k8s-node03"]))
        #expect(f["ENCRYPTION_KEY"]?.computed == true)
        #expect(f["ENCRYPTION_KEY"]?.line == 4)
        #expect(f["BOOTSTRAP_TOKEN"]?.exported == false)
        #expect(f["PATH"]?.unresolved == ["PATH"])
    }

    @Test(arguments: [
        ("A='open", 1, 3, "unterminated single quote"),
        ("A=\"open", 1, 3, "unterminated double quote"),
        ("A=ok\nB=$(date", 2, 3, "unterminated command substitution `$(`"),
        ("A=(one\n two", 1, 1, "unterminated array: `(` at 1:1 has no `)`"),
        ("A=`date", 1, 3, "unterminated backquoted command substitution"),
        ("# 中文注释\nA=\"中文 ${B", 2, 7, "unterminated `${`"),
    ])
    func syntaxErrorsNameLineAndColumn(text: String, line: Int, column: Int, message: String) {
        #expect(throws: SyntaxError(line: line, column: column, message: message)) { try ShellFile.parse(text) }
    }

    /// The proof that environment.sh is never executed: command substitutions that would create a
    /// file, through every path that reads an inventory.
    @Test func environmentShIsNeverExecuted() throws {
        let dir = try TemporaryDirectory()
        let canary1 = dir.path + "/executed-dollar-paren"
        let canary2 = dir.path + "/executed-backtick"
        let canary3 = dir.path + "/executed-sourced"
        let text = try String(contentsOfFile: Repo.root + "/fixtures/files/../nodes/centos7-prepared/opt/k8s/bin/environment.sh", encoding: .utf8)
            + "export ENCRYPTION_KEY=$(touch \(canary1); head -c 32 /dev/urandom | base64)\n"
            + "BOOTSTRAP_TOKEN=`touch \(canary2)`\n"
            + "source /dev/null; touch \(canary3)\n"
        let env = try dir.write("environment.sh", text, mode: 0o755)
        let tree = try dir.write("tree/opt/k8s/bin/environment.sh", text, mode: 0o755)
        _ = tree
        _ = try kcheck("lint", env)
        _ = try kcheck("preflight", "--env", env, "--root", Repo.fixture("centos7-prepared"))
        _ = try kcheck("preflight", "--root", dir.path + "/tree")
        _ = try kcheck("lint", "--root", dir.path + "/tree")
        let inventory = try Inventory.parse(Array(text.utf8), path: env)
        _ = EnvironmentLinter.lint(inventory)
        for canary in [canary1, canary2, canary3] {
            #expect(!FileManager.default.fileExists(atPath: canary), "\(canary) exists: environment.sh was executed")
        }
        #expect(inventory["ENCRYPTION_KEY"]?.computed == true)
        // And the test itself can fail: running the file does create the canaries.
        let ran = try run("/bin/bash", [env])
        #expect(ran.status == 0)
        #expect(FileManager.default.fileExists(atPath: canary1) && FileManager.default.fileExists(atPath: canary3))
    }
}

/// Random and truncated input never crashes a parser, and every error has a real position.
@Suite("Parsers under random and truncated input")
struct ParserFuzzTests {
    /// A small deterministic generator (xorshift), so that a failure reproduces.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static let seeds: [String] = {
        let files = ["env/guide-environment.sh", "env/quoting.sh", "env/everything-wrong.sh", "sysctl/guide/kubernetes.conf",
                     "hosts/appended-twice", "ca/ca-config.json", "ca/ca-csr.json"]
        return files.compactMap { try? String(contentsOfFile: Repo.root + "/fixtures/files/" + $0, encoding: .utf8) }
    }()

    static let alphabet: [Unicode.Scalar] = Array("\"'`$(){}[]\\=#;&| \t\n\r.:/-_aZ09,中\u{0}".unicodeScalars)

    func mutations(_ count: Int, seed: UInt64) -> [String] {
        var g = Generator(state: seed)
        var out: [String] = []
        for i in 0..<count {
            let base = Array(Self.seeds[i % Self.seeds.count].unicodeScalars)
            var s = base
            switch g.below(4) {
            case 0: s = Array(s.prefix(g.below(s.count + 1)))  // truncated
            case 1:  // random edits
                for _ in 0..<(1 + g.below(8)) where !s.isEmpty {
                    s[g.below(s.count)] = Self.alphabet[g.below(Self.alphabet.count)]
                }
            case 2:  // insertions
                for _ in 0..<(1 + g.below(8)) { s.insert(Self.alphabet[g.below(Self.alphabet.count)], at: g.below(s.count + 1)) }
            default:  // pure noise
                s = (0..<g.below(200)).map { _ in Self.alphabet[g.below(Self.alphabet.count)] }
            }
            out.append(String(String.UnicodeScalarView(s)))
        }
        return out
    }

    func lineCount(_ text: String) -> Int { text.unicodeScalars.filter { $0 == "\n" }.count + 1 }

    @Test func shellParser() {
        for text in mutations(3000, seed: 0x9E3779B97F4A7C15) {
            do {
                let f = try ShellFile.parse(text)
                for a in f.assignments { #expect(a.line >= 1 && a.line <= lineCount(text)) }
            } catch {
                #expect(error.line >= 1 && error.line <= lineCount(text) && error.column >= 1, "\(error) for \(text.debugDescription)")
                #expect(!error.message.isEmpty)
            }
        }
    }

    @Test func jsonParser() {
        for text in mutations(3000, seed: 0xDEADBEEFCAFEBABE) {
            do {
                _ = try JSONDocument.parse(text)
            } catch {
                #expect(error.line >= 1 && error.line <= lineCount(text) && error.column >= 1, "\(error)")
            }
        }
    }

    @Test func lintersOfEveryKind() {
        let node = TreeNode(root: Repo.fixture("centos7-prepared"))
        let inventory = Inventory.load(from: node)
        var g = Generator(state: 42)
        for text in mutations(600, seed: 0x0123456789ABCDEF) {
            let bytes = Array(text.utf8) + (0..<g.below(4)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            for kind in FileKind.allCases {
                let findings = Linter.lint(path: "/fuzz", bytes: bytes, kind: kind, node: node, inventory: inventory, profile: Repo.profile)
                for f in findings { #expect(f.location.line >= 1) }
            }
            _ = HostsFile.parse(bytes)
            _ = Fstab.activeSwap(bytes)
            _ = Linter.detect(path: "/fuzz", bytes: bytes)
        }
    }

    @Test func factsFileParser() {
        for text in mutations(2000, seed: 7) {
            do {
                _ = try FactsFile.parse(Array(("format 1\n" + text).utf8))
            } catch {
                #expect(error.line >= 1 && error.column >= 1)
            }
        }
    }
}

@Suite("Shell parser regressions found by the fuzzer")
struct ShellParserRegressionTests {
    @Test(arguments: ["A=(a;b)", "A=(a & b)", "A=(a | b)", "A=(a < b)", "A=(a (b))"])
    func metacharactersInAnArrayAreAnErrorNotAHang(text: String) throws {
        #expect(throws: SyntaxError.self) { try ShellFile.parse(text) }
    }
}
