import Foundation
import KCheckCore
import KCheckNative
import KCheckProfile
import Testing

/// A node tree as a map from relative path to what is there: type, permission bits, owner, bytes
/// or link target, and modification time. kcheck's own journal (var/lib/kcheck) is left out.
struct TreeSnapshot: Equatable {
    struct Item: Equatable {
        let kind: String
        let mode: Int
        let owner: Int
        let content: Data?
        let link: String?
        let modified: Date?
    }

    let items: [String: Item]

    init(items: [String: Item]) { self.items = items }

    init(_ root: String, mtimes: Bool = true) throws {
        var items: [String: Item] = [:]
        let fm = FileManager.default
        for relative in try fm.subpathsOfDirectory(atPath: root) where !relative.hasPrefix("var/lib/kcheck") {
            let path = root + "/" + relative
            let attributes = try fm.attributesOfItem(atPath: path)
            let type = attributes[.type] as? FileAttributeType
            let kind = type == .typeSymbolicLink ? "link" : type == .typeDirectory ? "dir" : "file"
            items[relative] = Item(
                kind: kind, mode: (attributes[.posixPermissions] as? Int) ?? -1, owner: (attributes[.ownerAccountID] as? Int) ?? -1,
                content: kind == "file" ? fm.contents(atPath: path) : nil,
                link: kind == "link" ? try fm.destinationOfSymbolicLink(atPath: path) : nil,
                modified: mtimes && kind == "file" ? attributes[.modificationDate] as? Date : nil)
        }
        self.items = items
    }

    /// Paths whose entries differ. The journal's parents (var, var/lib) may exist on one side
    /// only: the journal made them.
    func differences(_ other: TreeSnapshot) -> [String] {
        Set(items.keys).union(other.items.keys).filter { path in
            if ["var", "var/lib"].contains(path) && (items[path] == nil || other.items[path] == nil) { return false }
            return items[path] != other.items[path]
        }.sorted()
    }

    static func == (a: TreeSnapshot, b: TreeSnapshot) -> Bool { a.differences(b).isEmpty }
}

/// A copy of a fixture tree in a temporary directory.
func copyOfFixture(_ name: String) throws -> (dir: TemporaryDirectory, root: String) {
    let dir = try TemporaryDirectory()
    let root = dir.path + "/node"
    let copy = try run("/bin/cp", ["-a", Repo.fixture(name), root])
    guard copy.status == 0 else { throw TestFailure("cp: \(copy.stderr)") }
    return (dir, root)
}

/// The rules a plan for the tree at `root` would serve (what `kcheck fix` can make pass).
func plannedRules(_ root: String) -> Set<String> {
    let node = TreeNode(root: root)
    let (report, evaluator) = Engine.evaluate(profile: Profile.guideNode, on: node, inventory: Inventory.load(from: node))
    return Set(Planner(evaluator: evaluator).plan(report, profile: Profile.guideNode).actions.flatMap(\.rules))
}

func statuses(_ root: String) -> [String: Status] {
    let node = TreeNode(root: root)
    let report = Engine.run(profile: Profile.guideNode, on: node, inventory: Inventory.load(from: node))
    return Dictionary(uniqueKeysWithValues: report.entries.map { ($0.subject.id, $0.result.status) })
}

@Suite("kcheck fix and undo on copies of the fixture trees")
struct FixTests {
    static let trees = [
        "centos7-minimal", "services-wrong", "sysctl-shadowed", "guide-sysctl-copy", "fstab-tabs", "selinux-permissive",
        "br-netfilter-not-at-boot", "sysctl-runtime-only", "layout-wrong", "clock-wrong", "no-br-netfilter", "no-systemd", "swap-sources",
        "ipvs-not-at-boot",
    ]

    /// Dry-run changes nothing; fix makes every rule it plans for pass; a second fix changes not a
    /// byte nor a modification time and records no run; undo restores the original tree.
    @Test(arguments: trees)
    func fixThenFixAgainThenUndo(tree: String) throws {
        let (dir, root) = try copyOfFixture(tree)
        defer { withExtendedLifetime(dir) {} }
        let original = try TreeSnapshot(root)
        let planned = plannedRules(root)
        try #require(!planned.isEmpty, "\(tree): nothing to fix, so this tree tests nothing")

        let dry = try kcheck("fix", "--root", root, "--dry-run")
        #expect(dry.stdout.contains("--dry-run: nothing was changed"), "\(dry.stdout)")
        let afterDry = try TreeSnapshot(root)
        #expect(afterDry == original, "dry-run changed \(afterDry.differences(original))")
        #expect(!FileManager.default.fileExists(atPath: root + "/var/lib/kcheck"))

        let fix = try kcheck("fix", "--root", root, "--yes")
        #expect(fix.stderr.isEmpty, "\(fix.stderr)")
        let after = statuses(root)
        // Planned rules pass; one that also asks whether a service runs is "could not check"
        // where the tree records no running systemd, never a failure.
        for id in planned.sorted() {
            #expect(after[id] != nil && after[id] != .fail && after[id] != .warn, "\(tree): \(id) is \(after[id].map(\.rawValue) ?? "missing") after fix\n\(fix.stdout)")
        }
        let runs = try kcheck("runs", "--root", root)
        #expect(runs.stdout.split(separator: "\n").count == 1 && runs.stdout.contains("applied"), "\(runs.stdout)")

        let fixed = try TreeSnapshot(root)
        let again = try kcheck("fix", "--root", root, "--yes")
        #expect(again.stdout.hasPrefix("Nothing to change"), "\(again.stdout)")
        let afterAgain = try TreeSnapshot(root)
        #expect(afterAgain == fixed, "the second fix changed \(afterAgain.differences(fixed))")
        #expect(try kcheck("runs", "--root", root).stdout.split(separator: "\n").count == 1, "a fix that changed nothing recorded a run")

        let undo = try kcheck("undo", "--root", root, "--yes")
        #expect(undo.status == 0 && undo.stdout.contains("Restored run"), "\(undo.stdout)\(undo.stderr)")
        let restored = try TreeSnapshot(root, mtimes: false)
        let want = try TreeSnapshot(Repo.fixture(tree), mtimes: false)
        #expect(restored.differences(want).isEmpty, "\(tree): undo left \(restored.differences(want))")
        #expect(try kcheck("runs", "--root", root).stdout.contains("undone"))
        #expect(try kcheck("undo", "--root", root, "--yes").stdout == "No run to undo.\n")
    }

    /// /etc/hosts: kcheck adds a block it owns for the nodes no line maps right, replaces that
    /// block when the inventory changes, never appends a second copy, and touches no other line.
    @Test func hostsBlockIsOwnedAndReplaced() throws {
        let (dir, root) = try copyOfFixture("debian12")
        defer { withExtendedLifetime(dir) {} }
        let others = "127.0.0.1\tlocalhost\n# a comment that stays\n192.168.7.201 k8s-node02\n"
        try others.write(toFile: root + "/etc/hosts", atomically: false, encoding: .utf8)
        #expect(statuses(root)["inventory.hosts"] == .fail)
        let first = try kcheck("fix", "--root", root, "--yes", "--only", "inventory.hosts")
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let hosts = try String(contentsOfFile: root + "/etc/hosts", encoding: .utf8)
        #expect(hosts.hasPrefix(others))
        #expect(hosts.contains("192.168.7.200 k8s-node01\n192.168.7.202 k8s-node03\n# END kcheck\n"))
        #expect(!hosts.dropFirst(others.count).contains("k8s-node02"), "a second copy of a right line:\n\(hosts)")
        #expect(statuses(root)["inventory.hosts"] == .pass)

        // The inventory moves k8s-node03: the block is rewritten in place, not appended again.
        let env = root + "/opt/k8s/bin/environment.sh"
        let text = try String(contentsOfFile: env, encoding: .utf8).replacingOccurrences(of: "192.168.7.202", with: "192.168.7.212")
        try text.write(toFile: env, atomically: false, encoding: .utf8)
        let second = try kcheck("fix", "--root", root, "--yes", "--only", "inventory.hosts")
        #expect(second.status == 0, "\(second.stdout)")
        let rewritten = try String(contentsOfFile: root + "/etc/hosts", encoding: .utf8)
        #expect(rewritten.components(separatedBy: "# BEGIN kcheck").count == 2 && rewritten.contains("192.168.7.212 k8s-node03"))
        #expect(!rewritten.contains("192.168.7.202"))
        #expect(rewritten.hasPrefix(others))
    }

    /// A write never follows a symlink: one planted where kcheck would write (pointing out of the
    /// tree) makes that action fail with the path named; nothing outside the tree changes.
    @Test func symlinksOutOfTheTreeAreRefused() throws {
        let (dir, root) = try copyOfFixture("fstab-tabs")
        // ../../outside/fstab from the tree's /etc: outside the tree for the host (dir/outside);
        // inside it for kcheck's reads, where ".." stops at the tree's top (node/outside).
        let outside = dir.path + "/outside"
        let bait = "/dev/sdz1 swap swap defaults 0 0\n"
        for place in [outside, root + "/outside"] {
            try FileManager.default.createDirectory(atPath: place, withIntermediateDirectories: true)
            try bait.write(toFile: place + "/fstab", atomically: false, encoding: .utf8)
        }
        try FileManager.default.removeItem(atPath: root + "/etc/fstab")
        try FileManager.default.createSymbolicLink(atPath: root + "/etc/fstab", withDestinationPath: "../../outside/fstab")
        let r = try kcheck("fix", "--root", root, "--yes", "--only", "swap.fstab")
        #expect(r.status == 1)
        #expect(r.stdout.contains("/etc/fstab: is a symlink; kcheck never writes through a symlink"), "\(r.stdout)")
        #expect(try String(contentsOfFile: outside + "/fstab", encoding: .utf8) == bait)
        #expect(try String(contentsOfFile: root + "/outside/fstab", encoding: .utf8) == bait)

        // A symlinked directory on the way: /etc/sysctl.d -> an absolute path outside.
        let (dir2, root2) = try copyOfFixture("guide-sysctl-copy")
        let elsewhere = dir2.path + "/elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: root2 + "/etc/sysctl.d", toPath: elsewhere + "/sysctl.d")
        try FileManager.default.createSymbolicLink(atPath: root2 + "/etc/sysctl.d", withDestinationPath: elsewhere + "/sysctl.d")
        let before = try TreeSnapshot(elsewhere)
        let r2 = try kcheck("fix", "--root", root2, "--yes")
        #expect(r2.status == 1 && r2.stdout.contains("/etc/sysctl.d is a symlink or not a directory"), "\(r2.stdout)")
        #expect(try TreeSnapshot(elsewhere) == before)
    }

    /// Off a terminal, fix and undo need --yes: exit 2 and not a byte changed.
    @Test func noTerminalNoYesChangesNothing() throws {
        let (dir, root) = try copyOfFixture("services-wrong")
        defer { withExtendedLifetime(dir) {} }
        let before = try TreeSnapshot(root)
        let r = try kcheck("fix", "--root", root)
        #expect(r.status == 2 && r.stderr.contains("pass --yes"), "\(r.stderr)")
        #expect(try TreeSnapshot(root) == before)
        #expect(!FileManager.default.fileExists(atPath: root + "/var/lib/kcheck"))
        _ = try kcheck("fix", "--root", root, "--yes")
        let fixed = try TreeSnapshot(root)
        let u = try kcheck("undo", "--root", root)
        #expect(u.status == 2 && u.stderr.contains("pass --yes"))
        #expect(try TreeSnapshot(root) == fixed)
    }

    /// --only and --skip choose rules; an unknown id is a usage error.
    @Test func quietWithReportsInFilesPrintsNothing() throws {
        let (dir, root) = try copyOfFixture("services-wrong")
        let r = try kcheck("fix", "--root", root, "--yes", "--quiet", "--format", "json", "--output", dir.path + "/fix.json")
        #expect(r.status == 0 && r.stdout.isEmpty, "\(r.stdout)")
        #expect(try String(contentsOfFile: dir.path + "/fix.json", encoding: .utf8).contains("\"actions\""))
    }

    @Test func onlyAndSkipSelectRules() throws {
        let (dir, root) = try copyOfFixture("services-wrong")
        defer { withExtendedLifetime(dir) {} }
        let r = try kcheck("fix", "--root", root, "--yes", "--only", "service.firewalld,service.chronyd", "--skip", "service.chronyd")
        #expect(r.stdout.contains("disable firewalld.service") && !r.stdout.contains("chronyd.service:"), "\(r.stdout)")
        let after = statuses(root)
        #expect(after["service.firewalld"] == .pass && after["service.chronyd"] == .fail)
        let bad = try kcheck("fix", "--root", root, "--yes", "--skip", "service.nope")
        #expect(bad.status == 2 && bad.stderr.contains("--skip: no rule 'service.nope'"))
    }

    /// Two runs that change a node never overlap: while the lock is held, fix exits 2.
    @Test func aSecondRunWaitsForNoOne() throws {
        let (dir, root) = try copyOfFixture("services-wrong")
        defer { withExtendedLifetime(dir) {} }
        let lock = try #require(try? FileLock.acquire(SafeWriter(root: root), path: Journal.lockPath).get())
        let before = try TreeSnapshot(root)
        let r = try kcheck("fix", "--root", root, "--yes")
        // The loser names what really holds the lock: here, this test process.
        #expect(r.status == 2 && r.stderr.contains("it is held by process \(getpid()) started "), "\(r.stderr)")
        #expect(try TreeSnapshot(root) == before)
        withExtendedLifetime(lock) {}
        // An audit finding its reports directory's lock taken says who has it, too.
        let reports = try TemporaryDirectory()
        let auditLock = try #require(try? FileLock.acquire(SafeWriter(root: "/"), path: reports.path + "/.lock").get())
        let audit = try kcheck("audit", "--root", Repo.fixture("services-wrong"), "--reports-dir", reports.path)
        #expect(audit.status == 2 && audit.stderr.contains("it is held by process \(getpid()) started "), "\(audit.status) \(audit.stderr)")
        withExtendedLifetime(auditLock) {}
    }
}

/// Fault injection: kcheck fix stopped by SIGKILL at every point where a fault can be injected
/// (before and after each journal record, in the middle of every file write, the journal's own
/// included), through the KCHECK_TEST_KILL_AT hook. Every file of the tree must then be wholly
/// old or wholly new; the next fix converges; undo, run for each run, restores the original tree.
@Suite("kcheck fix killed at every fault point")
struct FaultInjectionTests {
    /// The contents of every file and link of a tree, outside kcheck's journal.
    static func contents(_ root: String) throws -> [String: String] {
        try TreeSnapshot(root, mtimes: false).items.compactMapValues { item in
            item.kind == "dir" ? "dir" : item.link.map { "link:" + $0 } ?? item.content.map { "file:" + $0.base64EncodedString() }
        }
    }

    @Test(arguments: [("services-wrong", 1), ("sysctl-shadowed", 1), ("fstab-tabs", 1), ("centos7-minimal", 5)])
    func killedAnywhereLeavesOldOrNew(tree: String, stride: Int) throws {
        let original = try Self.contents(Repo.fixture(tree))
        let (refDir, reference) = try copyOfFixture(tree)
        defer { withExtendedLifetime(refDir) {} }
        _ = try kcheck("fix", "--root", reference, "--yes")
        let fixed = try Self.contents(reference)
        let planned = plannedRules(Repo.fixture(tree))
        var point = 1
        var killedRuns = 0
        while true {
            let (dir, root) = try copyOfFixture(tree)
            defer { withExtendedLifetime(dir) {} }
            let r = try kcheck("fix", "--root", root, "--yes", environment: ["KCHECK_TEST_KILL_AT": String(point)])
            if r.status != 9 {
                // The run got past every fault point: it completed.
                #expect(r.status == 0 || r.status == 1, "\(r.stderr)")
                break
            }
            killedRuns += 1
            for (path, now) in try Self.contents(root) {
                if path.split(separator: "/").last?.hasPrefix(".") == true && path.contains(".kcheck-") { continue }  // a killed write's temporary file
                if path == ".kcheck/facts", now != original[path], now != fixed[path] {
                    // Each service action rewrites the facts file whole, one unit's line at a time:
                    // between two actions every line is old or new.
                    let lines = { (text: String?) in Set(Data(base64Encoded: String(text?.dropFirst(5) ?? "")).map { String(decoding: $0, as: UTF8.self).split(separator: "\n").map(String.init) } ?? []) }
                    #expect(lines(now).isSubset(of: lines(original[path]).union(lines(fixed[path]))), "\(tree), killed at point \(point): a facts line is neither old nor new")
                    continue
                }
                #expect(now == original[path] || now == fixed[path], "\(tree), killed at point \(point): \(path) is neither old nor new")
            }
            let again = try kcheck("fix", "--root", root, "--yes")
            #expect(again.status == 0 || again.status == 1, "\(again.stderr)")
            let after = statuses(root)
            for id in planned { #expect(after[id] != .fail && after[id] != .warn, "\(tree), killed at \(point): \(id) did not converge") }
            #expect(try Self.contents(root).keys.allSatisfy { !$0.contains(".kcheck-") }, "the next fix left a killed run's temporary file")
            while try kcheck("runs", "--root", root).stdout.contains("applied") {
                let undo = try kcheck("undo", "--root", root, "--yes")
                try #require(undo.status == 0, "\(tree), killed at \(point): undo failed: \(undo.stdout)\(undo.stderr)")
            }
            let restored = try Self.contents(root)
            let wrong = Set(restored.keys).union(original.keys).filter { path in
                restored[path] != original[path] && !(["var", "var/lib"].contains(path) && original[path] == nil)
            }
            #expect(wrong.isEmpty, "\(tree), killed at \(point): undo left \(wrong.sorted())")
            point += stride
        }
        #expect(killedRuns >= 3, "the hook stopped no run: it tests nothing")
    }
}

/// The root CA's making killed at every point (between its key and its certificate too): the
/// next fix completes it with the key the killed run wrote, nothing half-written is left anywhere
/// (the journal's own temporaries included), and undo removes what the runs made.
@Suite("kcheck fix killed while making the CA")
struct CAFaultTests {
    static let cert = "/etc/kubernetes/cert"

    static func temporaries(_ root: String) throws -> [String] {
        try run("/usr/bin/find", [root, "-name", "*.kcheck-*"]).stdout.split(separator: "\n").map(String.init)
    }

    @Test func killedAnywhereTheNextFixCompletesIt() throws {
        var point = 1
        var killedRuns = 0
        var completed = 0
        while true {
            let (dir, root) = try copyOfFixture("centos7-prepared")
            defer { withExtendedLifetime(dir) {} }
            for name in ["ca.pem", "ca-key.pem"] { try FileManager.default.removeItem(atPath: root + Self.cert + "/" + name) }
            let only = ["--only", "pki.ca-certificate,pki.ca-key"]
            let r = try kcheck(["fix", "--root", root, "--yes"] + only, environment: ["KCHECK_TEST_KILL_AT": String(point)])
            if r.status != 9 {
                #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
                break
            }
            killedRuns += 1
            let keyOnly = FileManager.default.fileExists(atPath: root + Self.cert + "/ca-key.pem")
                && !FileManager.default.fileExists(atPath: root + Self.cert + "/ca.pem")
            let again = try kcheck(["fix", "--root", root, "--yes"] + only)
            #expect(again.status == 0, "killed at \(point): \(again.stdout)\(again.stderr)")
            if keyOnly {
                completed += 1
                #expect(again.stdout.contains("completes the CA that run"), "killed at \(point): \(again.stdout)")
            }
            let after = statuses(root)
            #expect(after["pki.ca-certificate"] == .pass && after["pki.ca-key"] == .pass, "killed at \(point): \(after)")
            let ca = root + Self.cert + "/ca.pem", key = root + Self.cert + "/ca-key.pem"
            let certificateKey = try run("/usr/bin/openssl", ["x509", "-in", ca, "-noout", "-pubkey"]).stdout
            let keyPublic = try run("/usr/bin/openssl", ["pkey", "-in", key, "-pubout"]).stdout
            #expect(!certificateKey.isEmpty && certificateKey == keyPublic, "killed at \(point)")
            let left = try Self.temporaries(root)
            #expect(left.isEmpty, "killed at \(point): \(left)")
            while try kcheck("runs", "--root", root).stdout.contains("applied") {
                let undo = try kcheck("undo", "--root", root, "--yes")
                try #require(undo.status == 0, "killed at \(point): undo failed: \(undo.stdout)\(undo.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: ca) && !FileManager.default.fileExists(atPath: key), "killed at \(point): undo left the CA")
            point += 1
        }
        #expect(killedRuns >= 5, "the hook stopped no run: it tests nothing")
        #expect(completed >= 1, "no kill point fell between the key and the certificate")
    }

    /// Killed anywhere, then undone at once (no fix in between): undo restores, and leaves no
    /// temporary beside any file a run wrote (a half-written ca-key.pem among them).
    @Test func killedAnywhereUndoLeavesNothingBehind() throws {
        var point = 1
        var killedRuns = 0
        while true {
            let (dir, root) = try copyOfFixture("centos7-prepared")
            defer { withExtendedLifetime(dir) {} }
            for name in ["ca.pem", "ca-key.pem"] { try FileManager.default.removeItem(atPath: root + Self.cert + "/" + name) }
            let r = try kcheck(["fix", "--root", root, "--yes", "--only", "pki.ca-certificate,pki.ca-key"], environment: ["KCHECK_TEST_KILL_AT": String(point)])
            if r.status != 9 { break }
            killedRuns += 1
            let undo = try kcheck("undo", "--root", root, "--yes")
            #expect(undo.status == 0, "killed at \(point): \(undo.stdout)\(undo.stderr)")
            let left = try Self.temporaries(root)
            #expect(left.isEmpty, "killed at \(point), then undone: \(left)")
            for name in ["ca.pem", "ca-key.pem"] {
                #expect(!FileManager.default.fileExists(atPath: root + Self.cert + "/" + name), "killed at \(point): undo left \(name)")
            }
            point += 1
        }
        #expect(killedRuns >= 5, "the hook stopped no run: it tests nothing")
    }
}

/// A full disk: the tree on a small tmpfs (in a private mount namespace) with only a few pages
/// left. kcheck fix must stop with errors that say so, leave every file old or new, converge once
/// there is room, and undo to the original.
@Suite("kcheck fix on a full disk")
struct FullDiskTests {
    static let canMount: Bool = {
        (try? run("/usr/bin/unshare", ["-m", "--", "/bin/sh", "-c", "mount -t tmpfs kcheck-probe /mnt"]).status) == 0
    }()

    @Test(.enabled(if: canMount, "needs root, unshare(1) and mount"), arguments: [8, 24, 64])
    func aFullDiskLeavesOldOrNew(freeKiB: Int) throws {
        let tree = "centos7-minimal"
        let out = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: out.path + "/mnt", withIntermediateDirectories: true)
        let script = #"""
            set -e
            kcheck=$1 fixture=$2 out=$3 free=$4
            mount -t tmpfs -o size=2m kcheck-full "$out/mnt"
            cp -a "$fixture" "$out/mnt/node"
            dd if=/dev/zero of="$out/mnt/fill" bs=4k 2>/dev/null || true
            truncate -s -"$free"k "$out/mnt/fill"
            "$kcheck" fix --root "$out/mnt/node" --yes > "$out/fix.txt" 2>&1 || echo "exit $?" >> "$out/fix.txt"
            cp -a "$out/mnt/node" "$out/full"
            rm "$out/mnt/fill"
            "$kcheck" fix --root "$out/mnt/node" --yes > "$out/fix2.txt" 2>&1 || echo "exit $?" >> "$out/fix2.txt"
            cp -a "$out/mnt/node" "$out/converged"
            while "$kcheck" runs --root "$out/mnt/node" | grep -q applied; do "$kcheck" undo --root "$out/mnt/node" --yes >> "$out/undo.txt" 2>&1; done
            cp -a "$out/mnt/node" "$out/undone"
            """#
        let r = try run("/usr/bin/unshare", ["-m", "--", "/bin/sh", "-c", script, "sh", Repo.kcheck, Repo.fixture(tree), out.path, String(freeKiB)])
        try #require(r.status == 0, "\(r.stderr)")
        let fix = try String(contentsOfFile: out.path + "/fix.txt", encoding: .utf8)
        #expect(fix.contains("No space left on device"), "\(freeKiB) KiB free: \(fix)")
        #expect(fix.contains("exit 1") || fix.contains("exit 2"), "\(fix)")

        let original = try FaultInjectionTests.contents(Repo.fixture(tree))
        let (refDir, reference) = try copyOfFixture(tree)
        defer { withExtendedLifetime(refDir) {} }
        _ = try kcheck("fix", "--root", reference, "--yes")
        let fixed = try FaultInjectionTests.contents(reference)
        for (path, now) in try FaultInjectionTests.contents(out.path + "/full") where !path.contains(".kcheck-") {
            #expect(now == original[path] || now == fixed[path], "\(freeKiB) KiB free: \(path) is neither old nor new")
        }
        let planned = plannedRules(Repo.fixture(tree))
        let after = statuses(out.path + "/converged")
        for id in planned { #expect(after[id] != .fail && after[id] != .warn, "\(id) did not converge once there was room") }
        let undone = try FaultInjectionTests.contents(out.path + "/undone")
        let wrong = Set(undone.keys).union(original.keys).filter { undone[$0] != original[$0] && !(["var", "var/lib"].contains($0) && original[$0] == nil) }
        #expect(wrong.isEmpty, "undo left \(wrong.sorted())")
    }

    /// A read-only /etc (a read-only bind mount): the actions that write there fail and say so,
    /// the others apply, nothing is half-written; once /etc is writable the next fix converges
    /// and undo restores everything.
    @Test(.enabled(if: canMount, "needs root, unshare(1) and mount"))
    func aReadOnlyEtcFailsCleanly() throws {
        let tree = "centos7-minimal"
        let (dir, root) = try copyOfFixture(tree)
        let out = dir.path
        let script = #"""
            set -e
            kcheck=$1 root=$2 out=$3
            mount --bind "$root/etc" "$root/etc"
            mount -o remount,bind,ro "$root/etc"
            "$kcheck" fix --root "$root" --yes > "$out/fix.txt" 2>&1 || echo "exit $?" >> "$out/fix.txt"
            cp -a "$root" "$out/readonly"
            umount "$root/etc"
            "$kcheck" fix --root "$root" --yes > "$out/fix2.txt" 2>&1 || echo "exit $?" >> "$out/fix2.txt"
            cp -a "$root" "$out/converged"
            while "$kcheck" runs --root "$root" | grep -q applied; do "$kcheck" undo --root "$root" --yes >> "$out/undo.txt" 2>&1; done
            """#
        let r = try run("/usr/bin/unshare", ["-m", "--", "/bin/sh", "-c", script, "sh", Repo.kcheck, root, out])
        try #require(r.status == 0, "\(r.stderr)")
        let fix = try String(contentsOfFile: out + "/fix.txt", encoding: .utf8)
        #expect(fix.contains("Read-only file system") && fix.contains("exit 1"), "\(fix)")
        #expect(fix.contains("applied                set net.ipv4.ip_forward = 1 now"), "the actions outside /etc still apply: \(fix)")
        let original = try FaultInjectionTests.contents(Repo.fixture(tree))
        let readonly = try FaultInjectionTests.contents(out + "/readonly")
        for (path, now) in readonly where path.hasPrefix("etc/") { #expect(now == original[path], "\(path) changed on a read-only /etc") }
        let after = statuses(out + "/converged")
        for id in plannedRules(Repo.fixture(tree)) { #expect(after[id] != .fail && after[id] != .warn, "\(id) did not converge") }
        let undone = try FaultInjectionTests.contents(root)
        let wrong = Set(undone.keys).union(original.keys).filter { undone[$0] != original[$0] && !(["var", "var/lib"].contains($0) && original[$0] == nil) }
        #expect(wrong.isEmpty, "undo left \(wrong.sorted())")
    }
}

/// The root CA, made with OpenSSL as the guide's cfssl does, only on the first node and only
/// where neither file exists; its key is never printed or journaled.
@Suite("kcheck fix makes the root CA")
struct FixCATests {
    static let cert = "/etc/kubernetes/cert"

    func openssl(_ arguments: [String]) throws -> String {
        let r = try run("/usr/bin/openssl", arguments)
        guard r.status == 0 else { throw TestFailure("openssl \(arguments): \(r.stderr)") }
        return r.stdout
    }

    /// An expiry no arithmetic can hold (`100000000000h`, `9999999999999999h`) is a plan left to a
    /// person with the reason, never a trap mid-run and never an empty run.
    @Test(arguments: ["100000000000h", "9999999999999999h"])
    func anAbsurdExpiryIsRefusedNotATrap(expiry: String) throws {
        let (dir, root) = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(dir) {} }
        for name in ["ca.pem", "ca-key.pem"] { try FileManager.default.removeItem(atPath: root + Self.cert + "/" + name) }
        let csr = root + "/opt/k8s/work/ca-csr.json"
        let text = try String(contentsOfFile: csr, encoding: .utf8).replacingOccurrences(of: "876000h", with: expiry)
        try text.write(toFile: csr, atomically: false, encoding: .utf8)
        let fix = try kcheck("fix", "--root", root, "--yes", "--only", "pki.ca-certificate,pki.ca-key")
        #expect(fix.status == 1, "\(fix.status) \(fix.stdout)\(fix.stderr)")
        #expect(fix.stdout.contains("more than 1000 years"), "\(fix.stdout)")
        let runs = try kcheck("runs", "--root", root)
        #expect(runs.stdout == "No runs.\n", "\(runs.stdout)")
    }

    @Test func madeOnTheFirstNodeAsDocumented() throws {
        let (dir, root) = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(dir) {} }
        for name in ["ca.pem", "ca-key.pem", "admin.pem", "admin-key.pem", "kubernetes.pem", "kubernetes-key.pem"] {
            try FileManager.default.removeItem(atPath: root + Self.cert + "/" + name)
        }
        try FileManager.default.removeItem(atPath: root + "/etc/etcd/cert")
        try FileManager.default.createDirectory(atPath: root + "/etc/etcd/cert", withIntermediateDirectories: false)
        let fix = try kcheck("fix", "--root", root, "--yes")
        #expect(fix.status == 0, "\(fix.stdout)\(fix.stderr)")
        #expect(fix.stdout.contains("for: pki.ca-certificate, pki.ca-key"), "\(fix.stdout)")
        #expect(!fix.stdout.contains("PRIVATE KEY") && !fix.stderr.contains("PRIVATE KEY"))
        let ca = root + Self.cert + "/ca.pem", key = root + Self.cert + "/ca-key.pem"
        let text = try openssl(["x509", "-in", ca, "-noout", "-subject", "-issuer", "-ext", "basicConstraints,keyUsage", "-enddate"])
        #expect(text.contains("subject=C = CN, ST = BeiJing, L = BeiJing, O = k8s, OU = opsnull, CN = kubernetes-ca"), "\(text)")
        #expect(text.contains("issuer=C = CN, ST = BeiJing, L = BeiJing, O = k8s, OU = opsnull, CN = kubernetes-ca"))
        #expect(text.contains("X509v3 Basic Constraints: critical\n    CA:TRUE") && text.contains("Certificate Sign, CRL Sign"), "\(text)")
        // 876000 hours from now: the year is 100 later.
        let year = Calendar(identifier: .gregorian).component(.year, from: Date())
        #expect(text.contains("\(year + 99) GMT") || text.contains("\(year + 100) GMT"), "\(text)")
        #expect(try openssl(["x509", "-in", ca, "-noout", "-pubkey"]) == (try openssl(["pkey", "-in", key, "-pubout"])))
        #expect(try openssl(["verify", "-CAfile", ca, ca]).contains("OK"))
        let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // The journal says only that the files were absent.
        let journalHasKey = try run("/bin/grep", ["-r", "-l", "PRIVATE KEY", root + "/var/lib/kcheck"])
        #expect(journalHasKey.stdout.isEmpty)
        let after = statuses(root)
        #expect(after["pki.ca-certificate"] == .pass && after["pki.ca-key"] == .pass)
        // Never made twice, never replaced: a second fix plans nothing for it; undo removes both.
        let before = try Data(contentsOf: URL(fileURLWithPath: key))
        #expect(try kcheck("fix", "--root", root, "--yes").stdout.hasPrefix("Nothing to change"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: key)) == before)
        #expect(try kcheck("undo", "--root", root, "--yes").status == 0)
        #expect(!FileManager.default.fileExists(atPath: ca) && !FileManager.default.fileExists(atPath: key))
    }

    @Test func neverOnAnotherNodeAndNeverOverAnExistingFile() throws {
        let (dir, root) = try copyOfFixture("debian12")  // k8s-node02: the CA comes from the first node
        defer { withExtendedLifetime(dir) {} }
        try? FileManager.default.removeItem(atPath: root + Self.cert + "/ca.pem")
        try? FileManager.default.removeItem(atPath: root + Self.cert + "/ca-key.pem")
        let r = try kcheck("fix", "--root", root, "--dry-run", "--only", "pki.ca-certificate,pki.ca-key")
        #expect(!r.stdout.contains("make the root CA") && r.stdout.contains("This is not the first node (192.168.7.200)"), "\(r.stdout)")

        let (dir2, first) = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(dir2) {} }
        try FileManager.default.removeItem(atPath: first + Self.cert + "/ca-key.pem")
        let kept = try Data(contentsOf: URL(fileURLWithPath: first + Self.cert + "/ca.pem"))
        let r2 = try kcheck("fix", "--root", first, "--yes", "--only", "pki.ca-certificate,pki.ca-key")
        #expect(r2.stdout.contains("/etc/kubernetes/cert/ca.pem exists: kcheck never replaces a CA's certificate or key"), "\(r2.stdout)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: first + Self.cert + "/ca.pem")) == kept)
        #expect(!FileManager.default.fileExists(atPath: first + Self.cert + "/ca-key.pem"))
    }
}

/// kcheck fix reports in the preflight formats, with every action's outcome: the JSON validates
/// against the report schema, the JUnit against junit-10.xsd (a testsuite of actions beside the
/// node's), and both agree with what was done.
@Suite("kcheck fix reports")
struct FixReportTests {
    @Test func jsonAndJUnitCarryTheActions() throws {
        let (dir, root) = try copyOfFixture("services-wrong")
        let out = dir.path + "/reports"
        // An action that fails: a symlinked unit directory where enabling chronyd writes.
        let wants = root + "/etc/systemd/system/multi-user.target.wants"
        try FileManager.default.moveItem(atPath: wants, toPath: dir.path + "/wants-elsewhere")
        try FileManager.default.createSymbolicLink(atPath: wants, withDestinationPath: dir.path + "/wants-elsewhere")
        let r = try kcheck("fix", "--root", root, "--yes", "--format", "json,junit", "--output-dir", out)
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let json = try String(contentsOfFile: out + "/kcheck-fix.json", encoding: .utf8)
        let valid = try validateReportJSON(json)
        #expect(valid.stdout.contains("valid"), "\(valid.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let actions = try #require(object["actions"] as? [[String: Any]])
        #expect(actions.count == 4)
        let outcomes = actions.map { $0["outcome"] as? String ?? "" }
        #expect(outcomes.contains("failed") && outcomes.contains("applied"), "\(outcomes)")
        let failed = try #require(actions.first { $0["outcome"] as? String == "failed" })
        #expect((failed["reason"] as? String)?.contains("symlink") == true, "\(failed)")
        #expect((object["run"] as? String)?.isEmpty == false)
        let stop = try #require(actions.first { ($0["action"] as? String)?.hasPrefix("stop firewalld") == true })
        #expect((stop["commands"] as? [[String]])?.contains(["systemctl", "stop", "--", "firewalld.service"]) == true, "\(stop)")

        let xml = try String(contentsOfFile: out + "/kcheck-fix.xml", encoding: .utf8)
        let junit = try validateJUnit(xml)
        #expect(junit.status == 0, "\(junit.stderr)")
        #expect(xml.contains("kcheck fix actions\" tests=\"4\" failures=\"1\""), "\(xml)")
    }
}

/// On a terminal, fix shows the plan and asks; only "y" or "yes" applies it.
@Suite("kcheck fix asks on a terminal")
struct FixPromptTests {
    static let hasScript = FileManager.default.isExecutableFile(atPath: "/usr/bin/script")

    /// Runs kcheck under script(1), which gives it a pseudo-terminal, typing `answer`.
    func onTerminal(_ arguments: [String], typing answer: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        // The command line is built from the test's own paths (no spaces), never from input.
        process.arguments = ["-q", "-e", "-c", ([Repo.kcheck] + arguments).joined(separator: " "), "/dev/null"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(answer.utf8))
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(.enabled(if: hasScript, "needs script(1)"))
    func noChangesNothingYesApplies() throws {
        let (dir, root) = try copyOfFixture("services-wrong")
        defer { withExtendedLifetime(dir) {} }
        let before = try TreeSnapshot(root)
        let no = try onTerminal(["fix", "--root", root, "--color", "never"], typing: "n\n")
        #expect(no.output.contains("Apply these 4 actions to k8s-node01") && no.output.contains("Nothing was changed."), "\(no.output)")
        #expect(try TreeSnapshot(root) == before)
        let yes = try onTerminal(["fix", "--root", root, "--color", "never"], typing: "y\n")
        #expect(yes.status == 0 && yes.output.contains("Run "), "\(yes.output)")
        #expect(statuses(root)["service.chronyd"] == .pass)
    }
}

/// `kcheck fix --emit sh|ansible`: the plan written out for other tools. The script is run by a
/// real sh on a copy of a tree (KCHECK_ROOT), the playbook read by a real YAML parser.
@Suite("kcheck fix --emit")
struct EmitTests {
    static let commandKinds: Set<String> = ["service.firewalld", "service.postfix", "service.chronyd", "service.rsyslog", "service.crond", "packages.required"]

    @Test func theShellScriptDoesThePlanOnATreeAndTwiceIsOnce() throws {
        let (dir, root) = try copyOfFixture("centos7-minimal")
        let planned = plannedRules(root)
        let script = dir.path + "/fix.sh"
        let emitted = try kcheck("fix", "--root", root, "--emit", "sh", "--output", script)
        #expect(emitted.status == 0, "\(emitted.stderr)")
        #expect(try run("/bin/sh", ["-n", script]).status == 0)
        let untouched = try TreeSnapshot(root, mtimes: false).differences(try TreeSnapshot(Repo.fixture("centos7-minimal"), mtimes: false))
        #expect(untouched.isEmpty, "--emit changed \(untouched)")
        let first = try run("/usr/bin/env", ["KCHECK_ROOT=" + root, "/bin/sh", script])
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("would run: systemctl disable -- firewalld.service"))
        let after = statuses(root)
        for id in planned.subtracting(Self.commandKinds) {
            #expect(after[id] == .pass || after[id] == .skip, "\(id) is \(after[id]?.rawValue ?? "?") after the script")
        }
        let once = try TreeSnapshot(root)
        #expect(try run("/usr/bin/env", ["KCHECK_ROOT=" + root, "/bin/sh", script]).status == 0)
        let changed = try TreeSnapshot(root).differences(once)
        #expect(changed.isEmpty, "a second run changed \(changed)")
    }

    @Test func theScriptNeverWritesThroughASymlink() throws {
        let (dir, root) = try copyOfFixture("fstab-tabs")
        let script = dir.path + "/fix.sh"
        #expect(try kcheck("fix", "--root", root, "--emit", "sh", "--output", script, "--only", "swap.fstab").status == 0)
        try "bait\n".write(toFile: dir.path + "/outside", atomically: false, encoding: .utf8)
        try FileManager.default.removeItem(atPath: root + "/etc/fstab")
        try FileManager.default.createSymbolicLink(atPath: root + "/etc/fstab", withDestinationPath: dir.path + "/outside")
        let r = try run("/usr/bin/env", ["KCHECK_ROOT=" + root, "/bin/sh", script])
        #expect(r.status != 0 && r.stderr.contains("/etc/fstab is a symlink: not written"), "\(r.stderr)")
        #expect(try String(contentsOfFile: dir.path + "/outside", encoding: .utf8) == "bait\n")
    }

    @Test func thePlaybookHasATaskPerActionWithItsContent() throws {
        let (dir, root) = try copyOfFixture("services-wrong")
        defer { withExtendedLifetime(dir) {} }
        let r = try kcheck("fix", "--root", root, "--emit", "ansible")
        #expect(r.status == 0, "\(r.stderr)")
        let check = try run("/usr/bin/python3", ["-c", """
            import sys, yaml
            plays = yaml.safe_load(sys.stdin.read())
            assert len(plays) == 1 and plays[0]["become"] is True, plays
            tasks = plays[0]["tasks"]
            systemd = [t["ansible.builtin.systemd"] for t in tasks if "ansible.builtin.systemd" in t]
            print(len(tasks), sorted((s["name"], s.get("enabled"), s.get("state")) for s in systemd))
            """], input: r.stdout)
        #expect(check.stdout.contains("4 [('chronyd.service', True, 'started'), ('crond.service', None, 'started'), ('firewalld.service', False, 'stopped'), ('rsyslog.service', None, 'started')]"), "\(check.stdout)\(check.stderr)")
        let (minimalDir, minimal) = try copyOfFixture("centos7-minimal")
        defer { withExtendedLifetime(minimalDir) {} }
        let playbook = try kcheck("fix", "--root", minimal, "--emit", "ansible").stdout
        let content = try run("/usr/bin/python3", ["-c", """
            import sys, yaml
            tasks = yaml.safe_load(sys.stdin.read())[0]["tasks"]
            copy = [t["ansible.builtin.copy"] for t in tasks if "ansible.builtin.copy" in t and t["ansible.builtin.copy"]["dest"] == "/etc/fstab"][0]
            sys.stdout.write(copy["content"])
            """], input: playbook)
        #expect(content.stdout.contains("#/dev/mapper/centos-swap swap"), "\(content.stdout)\(content.stderr)")
    }
}
