import Foundation
import KCheckCore
import KCheckNative
import Testing

/// One case of fixtures/files/expected-findings: a file, how to lint it, and exactly what it yields.
struct LintCase: CustomTestStringConvertible, Sendable {
    let file: String
    let kind: FileKind
    let tree: String
    let env: String?
    let expected: [String]  // "check status line", sorted
    var testDescription: String { "\(file) on \(tree)\(env.map { " with \($0)" } ?? "")" }

    static func load() -> [LintCase] {
        let text = (try? String(contentsOfFile: Repo.root + "/fixtures/files/expected-findings", encoding: .utf8)) ?? ""
        var cases: [LintCase] = []
        var current: (String, FileKind, String, String?)?
        var findings: [String] = []
        func flush() {
            if let c = current { cases.append(LintCase(file: c.0, kind: c.1, tree: c.2, env: c.3, expected: findings.sorted())) }
            findings = []
        }
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let fields = line.split(separator: " ").map(String.init)
            guard !fields.isEmpty else { continue }
            if fields[0] == "file" && fields.count == 5 {
                flush()
                current = (fields[1], FileKind(rawValue: fields[2])!, fields[3], fields[4] == "-" ? nil : fields[4])
            } else if fields.count == 3 {
                findings.append(fields.joined(separator: " "))
            }
        }
        flush()
        return cases
    }
}

@Suite("kcheck lint on fixture files")
struct LintFixtureTests {
    static let cases = LintCase.load()

    @Test("each fixture file yields exactly its expected findings", arguments: cases)
    func exactFindings(_ c: LintCase) throws {
        let path = Repo.root + "/fixtures/files/" + c.file
        let bytes = try Posix.readFile(path, limit: 1 << 20).get()
        let node = TreeNode(root: Repo.fixture(c.tree))
        let inventory: Inventory?
        if let env = c.env {
            inventory = try Inventory.parse(try Posix.readFile(Repo.root + "/fixtures/files/" + env, limit: 1 << 20).get(), path: env)
        } else {
            inventory = Inventory.load(from: node)
        }
        let findings = Linter.lint(path: path, bytes: bytes, kind: c.kind, node: node, inventory: inventory, profile: Repo.profile)
        let got = findings.map { "\($0.check.rawValue) \($0.status.rawValue) \($0.location.line)" }.sorted()
        #expect(got == c.expected, "\(c.file): \(findings.map { "\($0.check.rawValue):\($0.location.line) \($0.message)" })")
        for f in findings { #expect(f.location.file == path) }
    }

    @Test("every lint check has a fixture that triggers it")
    func everyCheckIsCovered() {
        let seen = Set(Self.cases.flatMap { $0.expected.map { String($0.split(separator: " ")[0]) } })
        // lint.readable is about reading, not content: HostileInputTests makes unreadable node files.
        let all = Set(LintCheck.allCases.map(\.rawValue)).subtracting([LintCheck.clean.rawValue, LintCheck.readable.rawValue])
        #expect(all.subtracting(seen).isEmpty, "no fixture triggers: \(all.subtracting(seen).sorted())")
    }

    @Test("kinds are told from names and content")
    func detection() {
        func kind(_ path: String, _ text: String) -> FileKind? { Linter.detect(path: path, bytes: Array(text.utf8)) }
        #expect(kind("/opt/k8s/bin/environment.sh", "") == .environment)
        #expect(kind("/tmp/env", "export NODE_IPS=(1.2.3.4)\n") == .environment)
        #expect(kind("/etc/sysctl.d/99-k8s.conf", "") == .sysctl)
        #expect(kind("/tmp/x", "# k8s\nvm.swappiness = 0\nnet.ipv4.ip_forward=1\n") == .sysctl)
        #expect(kind("/tmp/x", "127.0.0.1 localhost\n::1 localhost\n") == .hosts)
        #expect(kind("/tmp/x", "UUID=abc / ext4 defaults 0 1\n/dev/sda2 none swap sw 0 0\n") == .fstab)
        #expect(kind("/tmp/x", "{\"signing\": {}}") == .caConfig)
        #expect(kind("/tmp/x", "{\"CN\": \"x\"}") == .caCSR)
        #expect(kind("/tmp/x", "hello world\n") == nil)
        #expect(kind("/tmp/x", "") == nil)
    }
}

@Suite("kcheck lint on the command line")
struct LintCLITests {
    func fixture(_ name: String) -> String { Repo.root + "/fixtures/files/" + name }

    @Test func cleanFilesExitZeroAndFindingsExitOne() throws {
        let clean = try kcheck("lint", "--root", Repo.fixture("centos7-prepared"), fixture("../nodes/centos7-prepared/opt/k8s/bin/environment.sh"), fixture("ca/ca-config.json"), fixture("ca/ca-csr.json"))
        #expect(clean.status == 0, "\(clean.stdout)")
        #expect(clean.stdout.contains("PASSED: 3 results"))
        let guide = try kcheck("lint", fixture("env/guide-environment.sh"))
        #expect(guide.status == 1)
        #expect(guide.stdout.contains("k8s-node01 is 192.168.7.200 in NODE_IPS"))
    }

    @Test func warningsFailUnlessFailOnSaysOtherwise() throws {
        let dir = try TemporaryDirectory()
        let env = try dir.write("environment.sh", try String(contentsOfFile: fixture("../nodes/centos7-prepared/opt/k8s/bin/environment.sh"), encoding: .utf8)
            .replacingOccurrences(of: "export ENCRYPTION_KEY=\"GgQtyzzHnARQUJLh+D/ReqeFpRptTuvdw1CxdmZcynY=\"", with: "export ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64)"))
        #expect(try kcheck("lint", env).status == 1)
        #expect(try kcheck("lint", "--fail-on", "fail", env).status == 0)
    }

    @Test func lintReportsValidate() throws {
        let dir = try TemporaryDirectory()
        let r = try kcheck("lint", "--format", "json,junit", "--output-dir", dir.path, "--kind", "sysctl", "--root", Repo.fixture("centos7-minimal"), fixture("sysctl/guide/kubernetes.conf"))
        #expect(r.status == 1)
        let json = try String(contentsOfFile: dir.path + "/kcheck-lint.json", encoding: .utf8)
        #expect(try validateReportJSON(json).status == 0)
        #expect(try validateJUnit(try String(contentsOfFile: dir.path + "/kcheck-lint.xml", encoding: .utf8)).status == 0)
        #expect(r.stdout.contains("sysctl gives vm.swappiness the whole rest of the line"))
    }

    @Test func usageErrorsExitTwo() throws {
        let unknown = try kcheck("lint", Repo.root + "/README.md")
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("cannot tell what kind of file this is; pass --kind"))
        #expect(try kcheck("lint", "--kind", "yaml", fixture("hosts/clean")).status == 2)
        #expect(try kcheck("lint", "/nonexistent").status == 2)
    }

    @Test func withoutFilesTheNodesOwnFilesAreLinted() throws {
        let r = try kcheck("lint", "--root", Repo.fixture("env-guide-copy"), "--format", "json")
        #expect(r.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let results = try #require(object["results"] as? [[String: Any]])
        let files = Set(results.compactMap { ($0["evidence"] as? [[String: Any]])?.first?["file"] as? String })
        #expect(files.contains("/opt/k8s/bin/environment.sh"))
        #expect(results.contains { $0["id"] as? String == "env.etcd-nodes" })
    }

    @Test func badEnvFileIsAConfigurationErrorWithLineAndColumn() throws {
        let r = try kcheck("preflight", "--env", fixture("env/syntax-error.sh"), "--root", Repo.fixture("centos7-prepared"))
        #expect(r.status == 2)
        #expect(r.stderr.contains("syntax-error.sh:3:23: error: unterminated double quote"), "\(r.stderr)")
    }
}
