import Foundation
import KCheckCore
import KCheckProfile
import KCheckRuleLoader
import Testing

/// Every rule is tested where it passes and where it fails, by data: each rule in rules/ names
/// fixture trees and the status it must have on each. Adding a rule adds its tests.
@Suite("Rules on fixture trees")
struct RuleFixtureTests {
    static let rules = Repo.profile.rules

    @Test("rule behaves as its fixtures say", arguments: rules.map(\.id))
    func ruleOnItsFixtures(id: String) throws {
        let rule = try #require(Repo.profile.rule(id: id))
        #expect(rule.tests.contains { $0.status == .pass }, "\(id) has no fixture where it passes")
        // A rule that reports a known weakness only warns: its "fails" are warnings.
        let failing: Status = { if case .componentConfig(let c) = rule.check, c.otherwise == .warn { return .warn }
            if case .componentFlag(let c) = rule.check, c.otherwise == .warn { return .warn }
            if case .separateFilesystems = rule.check { return .warn }
            return .fail }()
        #expect(rule.tests.contains { $0.status == failing }, "\(id) has no fixture where it \(failing == .warn ? "warns" : "fails")")
        for test in rule.tests {
            let node = TreeNode(root: Repo.fixture(test.node))
            let result = Evaluator(node: node, rules: [rule], inventory: Inventory.load(from: node)).evaluate(rule)
            #expect(
                result.status == test.status,
                "\(id) on \(test.node): expected \(test.status), got \(result.status): \(result.actual) — \(result.message)")
            if let message = test.message {
                #expect(
                    result.message.contains(message) || result.actual.contains(message),
                    "\(id) on \(test.node): message lacks \"\(message)\": \(result.message) / \(result.actual)")
            }
        }
    }

    /// Issue 14's "done": a node that followed the whole guide verbatim (fixtures/nodes/guide-complete)
    /// reports exactly the guide's own mistakes, each with its documented status (docs/rules.md).
    @Test("the guide followed verbatim shows exactly the guide's own mistakes")
    func guideVerbatimShowsItsOwnMistakes() throws {
        let node = TreeNode(root: Repo.fixture("guide-complete"))
        let report = Engine.run(profile: Repo.profile, on: node, inventory: Inventory.load(from: node))
        let findings = Dictionary(uniqueKeysWithValues: report.entries.filter { ![.pass, .skip].contains($0.result.status) }.map { ($0.subject.id, $0.result.status) })
        #expect(findings == [
            "pki.apiserver-sans": .fail,  // L1
            "kernel.ipvs.boot": .fail,  // L13
            "scheduler.insecure-port": .warn,  // L3
            "etcd.plain-listener": .warn,  // L11
            "apiserver.encryption-config": .warn,  // L13
            "kubelet.pod-cidr": .warn,  // L7
            "kube-nginx.proxy": .warn,  // L10
            "scheduler.requestheader-allowed-names": .warn,  // L12
            "containerd.v1-linux-runtime": .warn,  // L8
        ], "\(findings)")
    }

    /// The cluster rules the same way: each names sets of node trees (fixtures/clusters/NAME, a
    /// directory per node) and the status it must have on each, judged as `--snapshots` judges.
    @Test("cluster rule behaves as its fixtures say", arguments: Repo.profile.clusterRules.map(\.id))
    func clusterRuleOnItsFixtures(id: String) throws {
        let rule = try #require(Repo.profile.clusterRule(id: id))
        #expect(rule.tests.contains { $0.status == .pass }, "\(id) has no fixture where it passes")
        #expect(rule.tests.contains { $0.status == .fail }, "\(id) has no fixture where it fails")
        for test in rule.tests {
            let dir = Repo.root + "/fixtures/clusters/" + test.cluster
            let members = try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { name in
                ClusterMember(label: name, tree: TreeNode(root: dir + "/" + name))
            }
            let profile = Profile(name: "t", rules: Repo.profile.rules, clusterRules: [rule])
            let report = ClusterEngine.run(profile: profile, members: members, inventory: nil, policy: .default)
            let result = try #require(report.cluster.entries.first?.result)
            #expect(result.status == test.status, "\(id) on \(test.cluster): expected \(test.status), got \(result.status): \(result.actual) — \(result.message)")
            if let message = test.message {
                #expect(result.message.contains(message) || result.actual.contains(message), "\(id) on \(test.cluster): lacks \"\(message)\": \(result.message) / \(result.actual)")
            }
        }
    }

    @Test("every cluster fixture is used, and every cluster check kind")
    func clusterFixturesAreConsistent() throws {
        let named = Set(Repo.profile.clusterRules.flatMap { $0.tests.map(\.cluster) })
        let present = Set(try FileManager.default.contentsOfDirectory(atPath: Repo.root + "/fixtures/clusters"))
        #expect(named == present, "named \(named.sorted()), present \(present.sorted())")
        #expect(Set(Repo.profile.clusterRules.map(\.check.kind)) == Set(ClusterCheck.Kind.allCases))
    }

    @Test("every fixture a rule names exists, and every fixture tree is used")
    func fixturesAreConsistent() throws {
        let named = Set(Self.rules.flatMap { $0.tests.map(\.node) })
        let present = Set(try FileManager.default.contentsOfDirectory(atPath: Repo.fixtures))
        #expect(named.subtracting(present).isEmpty, "rules name missing fixtures: \(named.subtracting(present).sorted())")
        #expect(present.subtracting(named).isEmpty, "fixture trees no rule uses: \(present.subtracting(named).sorted())")
    }

    @Test("the prepared trees pass the whole profile; the fresh CentOS 7 install fails it")
    func wholeProfile() {
        for name in ["centos7-prepared", "debian12"] {
            let node = TreeNode(root: Repo.fixture(name))
            let report = Engine.run(profile: Repo.profile, on: node, inventory: Inventory.load(from: node))
            let bad = report.entries.filter { report.policy.isFailure($0.result.status) || $0.result.status == .warn }
            #expect(bad.isEmpty, "\(name): \(bad.map { "\($0.subject.id): \($0.result.message)" })")
        }
        let minimal = Engine.run(profile: Repo.profile, on: TreeNode(root: Repo.fixture("centos7-minimal")))
        #expect(minimal.failed)
        #expect(minimal.summary[.fail] >= 25)
    }

    @Test("rule ids are unique and every check kind is used by the default profile")
    func coverage() {
        let ids = Self.rules.map(\.id)
        #expect(Set(ids).count == ids.count)
        let kinds = Set(Self.rules.map(\.check.kind))
        #expect(kinds == Set(Check.Kind.allCases), "unused kinds: \(Set(Check.Kind.allCases).subtracting(kinds))")
    }
}

@Suite("Compiled-in profile")
struct CompiledProfileTests {
    @Test("the compiled-in profile equals rules/ as loaded from YAML")
    func compiledEqualsYAML() {
        #expect(Profile.guideNode.name == "guide-node")
        #expect(Profile.guideNode.rules.count == Repo.profile.rules.count)
        for (compiled, loaded) in zip(Profile.guideNode.rules, Repo.profile.rules) {
            #expect(compiled == loaded, "\(loaded.id) differs: run `swift run kcheck-rulegen`")
        }
    }

    @Test("GuideNodeProfile.swift is what kcheck-rulegen writes for rules/")
    func generatedFileIsCurrent() throws {
        let path = Repo.root + "/Sources/KCheckProfile/GuideNodeProfile.swift"
        let committed = try String(contentsOfFile: path, encoding: .utf8)
        let fresh = SwiftSource.render(Repo.profile, sourceDescription: "rules/")
        #expect(committed == fresh, "Sources/KCheckProfile/GuideNodeProfile.swift is stale: run `swift run kcheck-rulegen`")
    }

    @Test("docs/rules.md lists every rule by phase, as kcheck-rulegen writes it")
    func rulesDocIsCurrent() throws {
        let committed = try String(contentsOfFile: Repo.root + "/docs/rules.md", encoding: .utf8)
        let fresh = try #require(RuleList.splice(RuleList.markdown(Repo.profile), into: committed), "docs/rules.md lacks the markers")
        #expect(committed == fresh, "docs/rules.md's list of rules is stale: run `swift run kcheck-rulegen`")
        for rule in Repo.profile.rules { #expect(committed.contains("| `\(rule.id)` |")) }
    }
}
