import Foundation
import KCheckCore
import KCheckNative
import KCheckProfile
import Testing

/// Snapshots are recorded by the engine: the profile run on a `RecordingNode` keeps what it read,
/// written out as a node tree. Judged with `--root`, every fixture tree's snapshot gives the
/// tree's own verdict, rule by rule, with the same words.
@Suite("Snapshots: what the engine read, recorded")
struct SnapshotTests {
    static let trees: [String] = (try? FileManager.default.contentsOfDirectory(atPath: Repo.fixtures))?.sorted() ?? []

    static func results(_ node: Node) -> [String: String] {
        let report = Engine.run(profile: Profile.guideNode, on: node, inventory: Inventory.load(from: node))
        return Dictionary(uniqueKeysWithValues: report.entries.map { ($0.subject.id, "\($0.result.status.rawValue): \($0.result.actual) \($0.result.message)") })
    }

    static func plan(_ node: Node) -> Plan {
        let (report, evaluator) = Engine.evaluate(profile: Profile.guideNode, on: node, command: "fix", inventory: Inventory.load(from: node))
        return Planner(evaluator: evaluator).plan(report, profile: Profile.guideNode)
    }

    /// root's .bashrc holding the inventory's ENCRYPTION_KEY: its snapshot holds a stand-in, yet the
    /// plan (appending the PATH line) is the node's own, so fix over SSH runs what was shown.
    @Test func anAppendPlansTheSameFromASnapshotWithScrubbedSecrets() throws {
        let (dir, root) = try copyOfFixture("debian12")
        defer { withExtendedLifetime(dir) {} }
        let env = try String(contentsOfFile: root + "/opt/k8s/bin/environment.sh", encoding: .utf8)
        let key = try #require(env.split(separator: "\n").first { $0.hasPrefix("export ENCRYPTION_KEY=") })
        try "# ~/.bashrc\n\(key)\n".write(toFile: root + "/root/.bashrc", atomically: false, encoding: .utf8)
        let answer = RemoteServer.handle(RemoteRequest(command: .record), profile: Profile.guideNode, node: TreeNode(root: root), root: nil, inventory: nil)
        let snapshot = dir.path + "/snapshot"
        try Recording.decode(try #require(answer.recording).encoded()[...]).write(to: snapshot)
        let recorded = try String(contentsOfFile: snapshot + "/root/.bashrc", encoding: .utf8)
        #expect(!recorded.contains(String(key.dropFirst("export ENCRYPTION_KEY=".count))), "the snapshot holds the key: \(recorded)")
        let planned = Self.plan(TreeNode(root: root)), replanned = Self.plan(TreeNode(root: snapshot))
        #expect(planned.actions.contains { $0.appendedLine == "export PATH=/opt/k8s/bin:$PATH" })
        #expect(FixSession.fingerprint(planned) == FixSession.fingerprint(replanned))
    }

    @Test(arguments: trees)
    func aSnapshotIsJudgedAsTheTreeItself(tree: String) throws {
        let dir = try TemporaryDirectory()
        let original = Self.results(TreeNode(root: Repo.fixture(tree)))
        // Recorded as `kcheck snapshot` and a node asked over SSH record, through the wire format.
        let answer = RemoteServer.handle(RemoteRequest(command: .record), profile: Profile.guideNode, node: TreeNode(root: Repo.fixture(tree)), root: nil, inventory: nil)
        let recording = try Recording.decode(try #require(answer.recording).encoded()[...])
        try recording.write(into: dir.path)
        let copy = Self.results(TreeNode(root: dir.path))
        // The node's own verdicts, and the plan fix makes, are those of its snapshot.
        #expect(answer.verdicts == Dictionary(uniqueKeysWithValues: original.map { ($0.key, Status(rawValue: String($0.value.prefix { $0 != ":" }))!) }))
        let planned = Self.plan(TreeNode(root: Repo.fixture(tree))), replanned = Self.plan(TreeNode(root: dir.path))
        #expect(FixSession.fingerprint(planned) == FixSession.fingerprint(replanned),
                "\(tree): the plan differs: \(planned.actions.map(\.action.summary)) vs \(replanned.actions.map(\.action.summary))")
        #expect(original.count > 40)
        for (id, result) in original.sorted(by: { $0.key < $1.key }) {
            #expect(copy[id] == result, "\(tree) \(id): the tree says \(result), its snapshot \(copy[id] ?? "nothing")")
        }
        // Nothing more than was read: no binary's bytes (a binary a rule looked at is an empty
        // stand-in; what its bytes said is a `binary` facts line), no file the rules did not look at.
        for directory in ["/usr/bin", "/opt/k8s/bin", "/opt/k8s/kube-nginx/sbin"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path + directory)) ?? [] where name != "environment.sh" {
                let size = (try? FileManager.default.attributesOfItem(atPath: dir.path + directory + "/" + name)[.size] as? Int) ?? 0
                #expect(size == 0, "\(tree): the snapshot holds \(size) bytes of \(directory)/\(name)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/usr/bin") || tree == "login-path-shadowed", "\(tree): /usr/bin recorded")
    }

    /// A snapshot never holds a private key or the inventory's secrets, and is judged the same.
    @Test func secretsAreRedactedAndTheVerdictKept() throws {
        let copy = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(copy) {} }
        let pki = try TestPKI()
        try pki.makeCA(in: pki.work.path)
        for name in ["ca.pem", "ca-key.pem"] {
            try? FileManager.default.removeItem(atPath: copy.root + "/etc/kubernetes/cert/" + name)
            try FileManager.default.copyItem(atPath: pki.work.path + "/" + name, toPath: copy.root + "/etc/kubernetes/cert/" + name)
        }
        let envPath = copy.root + "/opt/k8s/bin/environment.sh"
        let token = "0123456789abcdef0123456789abcdef", key = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="
        var env = try String(contentsOfFile: envPath, encoding: .utf8)
        env += "\nexport BOOTSTRAP_TOKEN=\(token)\nexport ENCRYPTION_KEY=\"\(key)\"\n"
        try env.write(toFile: envPath, atomically: false, encoding: .utf8)
        let recorder = RecordingNode(TreeNode(root: copy.root))
        let original = Self.results(recorder)
        let dir = try TemporaryDirectory()
        try recorder.recording.write(into: dir.path)
        #expect(Self.results(TreeNode(root: dir.path)) == original)
        let recordedKey = try String(contentsOfFile: dir.path + "/etc/kubernetes/cert/ca-key.pem", encoding: .utf8)
        #expect(!recordedKey.contains("BEGIN PRIVATE KEY") && !recordedKey.contains("BEGIN RSA PRIVATE KEY") && recordedKey.contains("KCHECK REDACTED PRIVATE KEY"), "\(recordedKey)")
        let recordedEnv = try String(contentsOfFile: dir.path + "/opt/k8s/bin/environment.sh", encoding: .utf8)
        #expect(!recordedEnv.contains(token) && !recordedEnv.contains(key), "\(recordedEnv)")
        let everything = try run("/bin/grep", ["-r", "-l", "-e", token, "-e", key, "-e", "BEGIN RSA PRIVATE KEY", "-e", "BEGIN PRIVATE KEY", dir.path])
        #expect(everything.stdout.isEmpty, "\(everything.stdout)")
        // The node's own digest of environment.sh is kept, for comparing nodes.
        let facts = try String(contentsOfFile: dir.path + "/.kcheck/facts", encoding: .utf8)
        let digest = try run("/usr/bin/sha256sum", [envPath]).stdout.split(separator: " ").first.map(String.init) ?? "?"
        #expect(facts.contains("digest /opt/k8s/bin/environment.sh \(digest)"), "\(facts)")
    }

    /// The ways a secret hides: environment.sh with CRLF line ends, the key assigned through
    /// another variable and exported again in root's .bashrc, a DSA and an OpenSSH key, a
    /// truncated key block, a DER key. None of it reaches the snapshot; every verdict stays.
    @Test func secretsThatHideAreScrubbedToo() throws {
        let copy = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(copy) {} }
        let key = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=", token = "0123456789abcdef0123456789abcdef"
        let envPath = copy.root + "/opt/k8s/bin/environment.sh"
        var env = try String(contentsOfFile: envPath, encoding: .utf8).replacingOccurrences(of: "GgQtyzzHnARQUJLh+D/ReqeFpRptTuvdw1CxdmZcynY=", with: "$K")
        env = "K=\"\(key)\"\n" + env + "BOOTSTRAP_TOKEN=\(token)\n"
        try env.replacingOccurrences(of: "\n", with: "\r\n").write(toFile: envPath, atomically: false, encoding: .utf8)
        try ("export BOOTSTRAP_TOKEN=\(token)\n").write(toFile: copy.root + "/root/.bashrc", atomically: false, encoding: .utf8)
        let cert = copy.root + "/etc/kubernetes/cert/"
        try "-----BEGIN DSA PRIVATE KEY-----\nMIIBuwIBAAKBgQDSECRETDSA\n-----END DSA PRIVATE KEY-----\n".write(toFile: cert + "dsa-key.pem", atomically: false, encoding: .utf8)
        try "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUSECRETSSH\n-----END OPENSSH PRIVATE KEY-----\n".write(toFile: cert + "ssh-key.pem", atomically: false, encoding: .utf8)
        try "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEASECRETTRUNC\n".write(toFile: cert + "cut-key.pem", atomically: false, encoding: .utf8)
        let der = try run("/usr/bin/openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-outform", "DER", "-out", cert + "der-key.der"])
        try #require(der.status == 0, "\(der.stderr)")
        let derBytes = try Data(contentsOf: URL(fileURLWithPath: cert + "der-key.der"))
        let answer = RemoteServer.handle(RemoteRequest(command: .record), profile: Profile.guideNode, node: TreeNode(root: copy.root), root: nil, inventory: nil)
        let dir = try TemporaryDirectory()
        try #require(answer.recording).write(into: dir.path)
        let original = Self.results(TreeNode(root: copy.root)), snapshot = Self.results(TreeNode(root: dir.path))
        for (id, result) in original.sorted(by: { $0.key < $1.key }) { #expect(snapshot[id] == result, "\(id): the tree says \(result), its snapshot \(snapshot[id] ?? "nothing")") }
        let leaks = try run("/bin/grep", ["-r", "-l", "-a", "-e", key, "-e", token, "-e", "SECRETDSA", "-e", "SECRETSSH", "-e", "SECRETTRUNC", dir.path])
        #expect(leaks.stdout.isEmpty, "\(leaks.stdout)")
        let copied = FileManager.default.contents(atPath: dir.path + "/etc/kubernetes/cert/der-key.der") ?? Data()
        #expect(copied.range(of: derBytes.suffix(32)) == nil, "the DER key reached the snapshot")
        // A stand-in is a key only in a snapshot: copied onto a node (a tree that is no snapshot)
        // it is not read as one.
        let planted = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(planted) {} }
        try FileManager.default.removeItem(atPath: planted.root + "/etc/kubernetes/cert/ca-key.pem")
        try FileManager.default.copyItem(atPath: dir.path + "/etc/kubernetes/cert/ca-key.pem", toPath: planted.root + "/etc/kubernetes/cert/ca-key.pem")
        let onNode = Self.results(TreeNode(root: planted.root))
        #expect(onNode["pki.ca-key"]?.hasPrefix("pass") == false, "\(onNode["pki.ca-key"] ?? "")")
    }

    /// On a live kernel (this machine's, read only): every kernel value the profile reads is
    /// recorded whole (the shell collector this replaced cut them to one digit under dash).
    @Test func aLiveRecordingCarriesTheKernelsWholeValues() throws {
        let recorder = RecordingNode(LiveNode())
        _ = Engine.run(profile: Profile.guideNode, on: recorder, only: Set(Profile.guideNode.rules.filter { if case .sysctl = $0.check { true } else { false } }.map(\.id)))
        var compared = 0
        for rule in Profile.guideNode.rules {
            guard case .sysctl(let check) = rule.check else { continue }
            let path = SysctlConfig.procPath(check.key)
            guard let live = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            guard case .file(let bytes)? = recorder.recording.entries[path] else {
                Issue.record("\(path) was not recorded")
                continue
            }
            #expect(String(decoding: bytes, as: UTF8.self) == live, "\(path)")
            compared += 1
        }
        #expect(compared >= 8, "only \(compared) kernel values to compare on this machine")
    }

    @Test func hostileRecordingsAreRefused() throws {
        func frames(_ build: (inout [UInt8]) -> Void) -> [UInt8] {
            var out = Array("kcheck-recording 1\n".utf8)
            Frames.append("facts", Array("format 1\n".utf8), to: &out)
            build(&out)
            return out
        }
        let cases: [(String, [UInt8])] = [
            ("not a recording", Array("hello\n".utf8)),
            ("a path out of the tree", frames { Frames.append("file", Array("/etc/../../x".utf8) + [0] + [1], to: &$0) }),
            ("a relative path", frames { Frames.append("file", Array("etc/passwd".utf8) + [0], to: &$0) }),
            ("the facts file itself", frames { Frames.append("file", Array("/.kcheck/facts".utf8) + [0], to: &$0) }),
            ("a length past the end", Array("kcheck-recording 1\nfacts 99999999\nformat 1\n".utf8)),
            ("a length too long to be a number", Array("kcheck-recording 1\nfacts 99999999999999999999999\n".utf8)),
            ("a negative length", Array("kcheck-recording 1\nfacts -5\n".utf8)),
            ("cut short", Array(frames { Frames.append("file", Array("/etc/hosts".utf8) + [0] + Array("x y\n".utf8), to: &$0) }.dropLast(3))),
            ("an unknown frame", frames { Frames.append("exec", Array("/bin/sh".utf8), to: &$0) }),
            ("bad facts", Array("kcheck-recording 1\nfacts 11\nclock x=inf\n".utf8)),
            ("twice", frames { Frames.append("dir", Array("/etc".utf8), to: &$0); Frames.append("dir", Array("/etc".utf8), to: &$0) }),
        ]
        for (what, bytes) in cases {
            #expect(throws: Recording.Problem.self, "\(what)") { try Recording.decode(bytes[...]) }
        }
        // A symlink out of the tree, and a file under it: the file is never written outside.
        let dir = try TemporaryDirectory(), outside = try TemporaryDirectory()
        var recording = Recording()
        recording.entries["/etc"] = .symlink(outside.path)
        recording.entries["/etc/passwd"] = .file(Array("pwned\n".utf8))
        #expect(throws: Recording.Problem.self) { try recording.write(into: dir.path) }
        #expect(!FileManager.default.fileExists(atPath: outside.path + "/passwd"))
    }
}

/// Saved snapshots judged offline as one cluster (`kcheck preflight --snapshots DIR`).
@Suite("kcheck preflight --snapshots")
struct SnapshotsClusterTests {
    @Test func savedSnapshotsAreJudgedAsACluster() throws {
        let dir = try TemporaryDirectory()
        for (name, tree) in [("k8s-node01", "centos7-prepared"), ("k8s-node02", "debian12"), ("k8s-node03", "centos7-prepared")] {
            _ = try run("/bin/cp", ["-a", Repo.fixture(tree), dir.path + "/" + name])
            try "\(name)\n".write(toFile: dir.path + "/\(name)/proc/sys/kernel/hostname", atomically: false, encoding: .utf8)
        }
        let r = try kcheck("preflight", "--snapshots", dir.path, "--format", "json")
        #expect(r.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
        #expect((object["nodes"] as? [[String: Any]])?.map { $0["host"] as? String } == ["k8s-node01", "k8s-node02", "k8s-node03"])
        let results = try #require((object["cluster"] as? [String: Any])?["results"] as? [[String: Any]])
        let status = Dictionary(uniqueKeysWithValues: results.map { ($0["id"] as? String ?? "", $0["status"] as? String ?? "") })
        #expect(status["cluster.hostnames-unique"] == "pass")
        #expect(status["cluster.kernels-agree"] == "fail")
        let kernels = results.first { $0["id"] as? String == "cluster.kernels-agree" }?["actual"] as? String
        #expect(kernels?.hasPrefix("6.1.0-27-amd64 on k8s-node02;") == true, "\(kernels ?? "")")
        #expect(status["cluster.clocks-agree"] == "skip")
        let bad = try kcheck("preflight", "--snapshots", dir.path, "--root", dir.path)
        #expect(bad.status == 2)
    }
}
