import Foundation
import KCheckCore
import KCheckNative
import KCheckProfile
import Testing

/// The snapshot collector (a POSIX sh script kcheck generates) run by a real sh on a fixture tree
/// (KCHECK_ROOT), unpacked into a new tree: every rule must judge the snapshot as it judges the
/// tree itself.
@Suite("Snapshots: the collector script and the unpacker")
struct SnapshotTests {
    static func snapshot(of tree: String, into dir: String) throws {
        let script = SnapshotScript.render(profile: Profile.guideNode)
        let result = try Posix.run(["/usr/bin/env", "KCHECK_ROOT=" + tree, "/bin/sh", "-s"], input: Array(script.utf8)).get()
        #expect(result.status == 0, "\(String(decoding: result.standardError, as: UTF8.self))")
        try Snapshot.unpack(result.standardOutput, into: dir)
    }

    @Test(arguments: ["centos7-prepared", "centos7-minimal", "debian12", "services-wrong", "sysctl-shadowed", "pki-wrong", "hosts-wrong", "br-netfilter-not-at-boot"])
    func aSnapshotIsJudgedAsTheTreeItself(tree: String) throws {
        let dir = try TemporaryDirectory()
        try Self.snapshot(of: Repo.fixture(tree), into: dir.path)
        func results(_ root: String) -> [String: String] {
            let node = TreeNode(root: root)
            let report = Engine.run(profile: Profile.guideNode, on: node, inventory: Inventory.load(from: node))
            return Dictionary(uniqueKeysWithValues: report.entries.map { ($0.subject.id, "\($0.result.status.rawValue): \($0.result.actual)") })
        }
        let original = results(Repo.fixture(tree)), copy = results(dir.path)
        for (id, result) in original.sorted(by: { $0.key < $1.key }) {
            #expect(copy[id] == result, "\(tree) \(id): the tree says \(result), its snapshot \(copy[id] ?? "nothing")")
        }
    }

    /// On a live kernel (this machine's, read only): every kernel value the profile reads comes
    /// over whole. A sysctl file answers a read at an offset past 0 with end of file, so a shell
    /// that reads a byte at a time (dash, Debian's sh) got "5" for fs.file-max = 52706963; the VM
    /// test bed found it.
    @Test func aLiveSnapshotCarriesTheKernelsWholeValues() throws {
        let dir = try TemporaryDirectory()
        let script = SnapshotScript.render(profile: Profile.guideNode)
        let result = try Posix.run(["/bin/sh", "-s"], input: Array(script.utf8)).get()
        #expect(result.status == 0, "\(String(decoding: result.standardError, as: UTF8.self))")
        try Snapshot.unpack(result.standardOutput, into: dir.path)
        var compared = 0
        for rule in Profile.guideNode.rules {
            guard case .sysctl(let check) = rule.check else { continue }
            let path = SysctlConfig.procPath(check.key)
            guard let live = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            let copied = try String(contentsOfFile: dir.path + path, encoding: .utf8)
            #expect(copied.split(whereSeparator: \.isWhitespace) == live.split(whereSeparator: \.isWhitespace), "\(path): live \(live), snapshot \(copied)")
            compared += 1
        }
        #expect(compared >= 8, "only \(compared) kernel values to compare on this machine")
    }

    @Test func hostileArchivesAreRefused() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: Snapshot.Problem.self) { try Snapshot.unpack(Array("hello\n".utf8), into: dir.path) }
        #expect(throws: Snapshot.Problem.self) { try Snapshot.unpack(Array("kcheck-snapshot 1\n== values\n../../etc/passwd\tx\n== tar\n".utf8), into: dir.path) }
        #expect(throws: Snapshot.Problem.self) { try Snapshot.unpack(Array("kcheck-snapshot 1\n== values\n".utf8), into: dir.path) }
        // A tar whose first member is a symlink out of the tree and whose second writes through it.
        let work = try TemporaryDirectory()
        let outside = try TemporaryDirectory()
        try FileManager.default.createSymbolicLink(atPath: work.path + "/etc", withDestinationPath: outside.path)
        let tar = try run("/bin/tar", ["-C", work.path, "-cf", work.path + "/a.tar", "etc"])
        try #require(tar.status == 0)
        try FileManager.default.removeItem(atPath: work.path + "/etc")
        try FileManager.default.createDirectory(atPath: work.path + "/etc", withIntermediateDirectories: false)
        try "pwned\n".write(toFile: work.path + "/etc/passwd", atomically: false, encoding: .utf8)
        let tar2 = try run("/bin/tar", ["-C", work.path, "-rf", work.path + "/a.tar", "etc/passwd"])
        try #require(tar2.status == 0)
        let archive = try Data(contentsOf: URL(fileURLWithPath: work.path + "/a.tar"))
        let stream = Array("kcheck-snapshot 1\n== facts\nformat 1\n== tar\n".utf8) + Array(archive)
        #expect(throws: Snapshot.Problem.self) { try Snapshot.unpack(stream, into: dir.path) }
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
