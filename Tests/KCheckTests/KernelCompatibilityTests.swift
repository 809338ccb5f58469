import Foundation
import Testing

/// kcheck runs on CentOS 7's kernel 3.10: under a seccomp filter that answers ENOSYS to every
/// system call newer than 3.10 (Tests/seccomp/kernel310.c, built here with the toolchain's clang),
/// preflight, fix on a tree, its undo, a snapshot and the node side of SSH all work, with the same
/// verdicts as without the filter.
@Suite("On kernel 3.10's system calls", .serialized)
struct KernelCompatibilityTests {
    static let clang: String? = ["/usr/bin/clang", "/opt/swift/usr/bin/clang"].first { FileManager.default.isExecutableFile(atPath: $0) }
        ?? (try? run("/bin/sh", ["-c", "command -v clang"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)).flatMap { $0.isEmpty ? nil : $0 }

    static func wrapper(_ dir: TemporaryDirectory) throws -> String {
        let out = dir.path + "/kernel310"
        let built = try run(try #require(clang), ["-O1", "-o", out, Repo.root + "/Tests/seccomp/kernel310.c"])
        try #require(built.status == 0, "\(built.stderr)")
        // The filter works: a call newer than 3.10 (getrandom, 318) fails with ENOSYS.
        let probe = try run(out, ["/usr/bin/python3", "-c", "import os\ntry:\n  os.getrandom(1)\nexcept OSError as e:\n  print(e.errno)"])
        try #require(probe.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "38", "the filter does not filter: \(probe.stdout)\(probe.stderr)")
        return out
    }

    @Test(.enabled(if: clang != nil, "needs clang (part of the Swift toolchain)"))
    func preflightFixUndoSnapshotAndTheRemoteSide() throws {
        let dir = try TemporaryDirectory()
        let k310 = try Self.wrapper(dir)
        func statuses(_ json: String) throws -> [String: String] {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            return Dictionary(uniqueKeysWithValues: (object["results"] as? [[String: Any]] ?? []).map { ($0["id"] as? String ?? "", $0["status"] as? String ?? "") })
        }
        for tree in ["centos7-minimal", "debian12"] {
            let plain = try kcheck("preflight", "--root", Repo.fixture(tree), "--format", "json")
            let old = try run(k310, [Repo.kcheck, "preflight", "--root", Repo.fixture(tree), "--format", "json"], environment: testCache)
            let (a, b) = (try statuses(old.stdout), try statuses(plain.stdout))
            #expect(old.status == plain.status && a == b, "\(tree): \(old.stderr)")
        }
        let copy = try copyOfFixture("centos7-minimal")
        defer { withExtendedLifetime(copy) {} }
        let fix = try run(k310, [Repo.kcheck, "fix", "--root", copy.root, "--yes"], environment: testCache)
        #expect(fix.stdout.contains("Run "), "\(fix.stdout)\(fix.stderr)")
        let undo = try run(k310, [Repo.kcheck, "undo", "--root", copy.root, "--yes"], environment: testCache)
        #expect(undo.status == 0, "\(undo.stdout)\(undo.stderr)")
        let left = try TreeSnapshot(copy.root, mtimes: false).differences(try TreeSnapshot(Repo.fixture("centos7-minimal"), mtimes: false))
        #expect(left.isEmpty, "undo under 3.10 left \(left)")
        let snap = try run(k310, [Repo.kcheck, "snapshot", "--root", Repo.fixture("debian12"), "-o", dir.path + "/snap"], environment: testCache)
        #expect(snap.status == 0, "\(snap.stderr)")
        // The node's side of SSH: a request on standard input, an answer on standard output.
        let request = "kcheck-request 1\ncommand 6\nrecord\ninvocation 0\n\n"
        let served = try run("/usr/bin/env", ["KCHECK_ROOT=" + Repo.fixture("debian12"), k310, Repo.kcheck, "remote"], input: request)
        #expect(served.status == 0 && served.stdout.hasPrefix("kcheck-answer 1\nstatus 1\n0\n") && served.stdout.contains("recording "), "\(served.stdout.prefix(200))\(served.stderr)")
    }
}
