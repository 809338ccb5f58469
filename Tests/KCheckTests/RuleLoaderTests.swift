import KCheckCore
import KCheckRuleLoader
import Testing

@Suite("Rule files: bad input gets file:line:col")
struct RuleLoaderTests {
    static let valid = """
        rules:
          - id: demo.forward
            title: forwarding on
            severity: high
            guide: [14]
            rationale: because
            remediation: sysctl -w net.ipv4.ip_forward=1
            check:
              sysctl:
                key: net.ipv4.ip_forward
                value: "1"
        """

    func error(_ yaml: String) -> RuleFileError? {
        do {
            _ = try RuleLoader.parse(yaml: yaml, file: "bad.yaml")
            return nil
        } catch {
            return error
        }
    }

    @Test func validFileLoads() throws {
        let rules = try RuleLoader.parse(yaml: Self.valid, file: "ok.yaml")
        #expect(rules.count == 1)
        #expect(rules[0].rule.check == .sysctl(SysctlCheck(key: "net.ipv4.ip_forward", value: "1")))
        #expect(rules[0].line == 2 && rules[0].column == 5)
    }

    @Test("A rule's phase: its own, else its file's, else prepare; an unknown one named at its line")
    func phases() throws {
        #expect(try RuleLoader.parse(yaml: Self.valid, file: "ok.yaml")[0].rule.phase == .prepare)
        let filePhase = try RuleLoader.parse(yaml: "phase: running\n" + Self.valid, file: "ok.yaml")
        #expect(filePhase[0].rule.phase == .running)
        let own = try RuleLoader.parse(yaml: "phase: running\n" + Self.valid.replacingOccurrences(of: "    severity: high", with: "    severity: high\n    phase: install"), file: "ok.yaml")
        #expect(own[0].rule.phase == .install)
        let e = try #require(error(Self.valid.replacingOccurrences(of: "    severity: high", with: "    severity: high\n    phase: runing")))
        #expect(e.message.contains("unknown value `runing`; did you mean `running`?") && e.line == 5 && e.column == 12, "\(e)")
    }

    @Test("kernel_module takes one name or a list, each maybe only for kernels below a version")
    func kernelModuleNames() throws {
        func check(_ body: String) throws -> Check {
            try RuleLoader.parse(yaml: Self.valid.replacingOccurrences(of: "      sysctl:\n        key: net.ipv4.ip_forward\n        value: \"1\"", with: body), file: "ok.yaml")[0].rule.check
        }
        #expect(try check("      kernel_module: {names: [ip_vs, {name: nf_conntrack_ipv4, kernel_below: \"4.19\"}], when: boot}")
            == .kernelModule(KernelModuleCheck(modules: [.init("ip_vs"), .init("nf_conntrack_ipv4", kernelBelow: KernelVersion([4, 19]))], when: .boot)))
        #expect(try check("      kernel_module: {name: br_netfilter}") == .kernelModule(KernelModuleCheck(name: "br_netfilter", when: .now)))
        let both = try #require(error(Self.valid.replacingOccurrences(of: "      sysctl:\n        key: net.ipv4.ip_forward\n        value: \"1\"", with: "      kernel_module: {name: a, names: [b]}")))
        #expect(both.message.contains("not beside `name`"), "\(both)")
        let version = try #require(error(Self.valid.replacingOccurrences(of: "      sysctl:\n        key: net.ipv4.ip_forward\n        value: \"1\"", with: "      kernel_module: {names: [{name: a, kernel_below: soon}]}")))
        #expect(version.message.contains("expected a kernel version such as 4.19") && version.line == 9, "\(version)")
        let evidence = try #require(error(Self.valid.replacingOccurrences(of: "      sysctl:\n        key: net.ipv4.ip_forward\n        value: \"1\"", with: "      kernel_module: {names: [a, b], evidence: /x}")))
        #expect(evidence.message.contains("`evidence` goes with one module"), "\(evidence)")
    }

    @Test func malformedYAMLNamesLineAndColumn() throws {
        let e = try #require(error("rules:\n  - id: x\n    title: [unclosed\n"))
        #expect(e.file == "bad.yaml")
        #expect(e.line == 3 && e.column == 12)
        #expect(e.message == "invalid YAML: unterminated [ (opened at line 3, column 12)")
        #expect(e.description.hasPrefix("bad.yaml:3:12: "))
    }

    @Test func unknownRuleFieldSuggestsNearest() throws {
        let e = try #require(error(Self.valid.replacingOccurrences(of: "    severity: high", with: "    severty: high")))
        #expect(e.message.contains("unknown field `severty`; did you mean `severity`?"), "\(e)")
        #expect(e.line == 4 && e.column == 5)
    }

    @Test func unknownCheckKindSuggestsNearest() throws {
        let e = try #require(error(Self.valid.replacingOccurrences(of: "      sysctl:", with: "      sysctll:")))
        #expect(e.message.contains("unknown check kind `sysctll`; did you mean `sysctl`?"), "\(e)")
        #expect(e.line == 9 && e.column == 7)
    }

    @Test func unknownCheckFieldSuggestsNearest() throws {
        let e = try #require(error(Self.valid.replacingOccurrences(of: "        value: \"1\"", with: "        vaule: \"1\"")))
        #expect(e.message.contains("unknown field `vaule`; did you mean `value`?"), "\(e)")
        #expect(e.line == 11 && e.column == 9)
    }

    @Test func missingFieldIsNamed() throws {
        let e = try #require(error(Self.valid.replacingOccurrences(of: "    title: forwarding on\n", with: "")))
        #expect(e.message == "missing required field `title`")
        #expect(e.line == 2)
    }

    @Test func badSeverityListsChoices() throws {
        let e = try #require(error(Self.valid.replacingOccurrences(of: "severity: high", with: "severity: hgih")))
        #expect(e.message.contains("unknown value `hgih`; did you mean `high`?"))
        #expect(e.message.contains("critical, high, medium, low"))
    }

    @Test func invalidRegexGivesPCRE2MessageAndOffset() throws {
        let yaml = """
            rules:
              - id: demo.path
                title: t
                severity: low
                rationale: r
                remediation: m
                check:
                  path: {path: /root/.bashrc, matches: 'PATH=(unclosed'}
            """
        let e = try #require(error(yaml))
        #expect(e.message.contains("invalid pattern: missing closing parenthesis at offset 14"), "\(e)")
        #expect(e.line == 8)
    }

    /// `append` is the line kcheck fix adds: it must be one line that `matches` matches, or the
    /// fix would never make the rule pass.
    @Test func appendMustMatchItsPattern() throws {
        func rule(_ path: String) -> String {
            """
            rules:
              - id: demo.path
                title: t
                severity: low
                rationale: r
                remediation: m
                check:
                  \(path)
            """
        }
        let wrong = try #require(error(rule("path: {path: /root/.bashrc, matches: '^export PATH=/opt', append: 'PATH=/usr/bin'}")))
        #expect(wrong.message.contains("`append` does not match `matches`") && wrong.line == 8 && wrong.column == 73, "\(wrong)")
        let alone = try #require(error(rule("path: {path: /root/.bashrc, append: 'export PATH=/opt'}")))
        #expect(alone.message.contains("`append` is one line that `matches` matches"), "\(alone)")
        #expect(error(rule("path: {path: /root/.bashrc, matches: '^export PATH=/opt', append: 'export PATH=/opt:$PATH'}")) == nil)
    }

    @Test func twoKindsInOneCheckIsAnError() throws {
        let e = try #require(error(Self.valid.replacingOccurrences(of: "      sysctl:", with: "      swap_off: {}\n      sysctl:")))
        #expect(e.message.contains("exactly one kind"))
    }

    @Test func duplicateIdsAcrossFilesAreRefused() throws {
        let dir = try TemporaryDirectory()
        try dir.write("a.yaml", Self.valid)
        try dir.write("b.yaml", Self.valid)
        #expect(throws: RuleFileError.self) { try RuleLoader.loadProfile(directory: dir.path) }
        do {
            _ = try RuleLoader.loadProfile(directory: dir.path)
        } catch {
            #expect(error.message.contains("duplicate rule id `demo.forward`"))
            #expect(error.file.hasSuffix("b.yaml") && error.line == 2)
        }
    }

    @Test func binaryJunkIsAClearError() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/junk.yaml"
        #expect(FileManagerWrite.bytes([0xff, 0xfe, 0x00, 0x41], to: path))
        do {
            _ = try RuleLoader.loadProfile(directory: dir.path)
            Issue.record("junk loaded")
        } catch {
            #expect(error.message == "not UTF-8 text")
        }
    }

    @Test func emptyDirectoryIsAnError() throws {
        let dir = try TemporaryDirectory()
        do {
            _ = try RuleLoader.loadProfile(directory: dir.path)
            Issue.record("empty directory loaded")
        } catch {
            #expect(error.message.contains("no rule files"))
        }
    }
}

import Foundation

enum FileManagerWrite {
    static func bytes(_ bytes: [UInt8], to path: String) -> Bool {
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }
}
