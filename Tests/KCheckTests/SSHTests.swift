import Foundation
import KCheckCore
import KCheckNative
import KCheckProfile
import Testing

/// Real sshd instances on loopback addresses (127.0.0.2, 127.0.0.3, …), each in a private mount
/// namespace (its privilege-separation directory on a tmpfs over /run, so this machine's /run is
/// untouched), each serving a fixture tree through sshd's SetEnv KCHECK_ROOT. The client is the
/// system's ssh with an ssh_config of the test's own (-F): keys, known hosts and ports are set
/// there, never taken from root's home.
final class TestSSHCluster {
    struct NodeSpec {
        let alias: String
        let address: String
        let tree: String
        /// No sshd listens (unreachable).
        var stopped = false
        /// known_hosts holds another key for it.
        var wrongHostKey = false
        /// Its sshd accepts another client key only.
        var refusesKey = false
        /// Every session runs this command instead (a hostile or broken node).
        var forceCommand: String? = nil
        /// Prepended to the session's PATH (a fake uname: another architecture).
        var path: String? = nil
    }

    let dir: TemporaryDirectory
    let config: String

    /// The node's cache of kcheck (KCHECK_CACHE_DIR, in place of /var/lib/kcheck/bin).
    func cache(_ index: Int) -> String { dir.path + "/cache-\(index)" }
    private var pidFiles: [String] = []

    static let available: Bool = FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh") && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")

    init(_ nodes: [NodeSpec]) throws {
        dir = try TemporaryDirectory()
        let d = dir.path
        for key in ["hostkey", "otherhostkey", "id", "otherid"] {
            let r = try run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", key, "-f", "\(d)/\(key)"])
            guard r.status == 0 else { throw TestFailure("ssh-keygen: \(r.stderr)") }
        }
        func publicKey(_ name: String) throws -> String {
            try String(contentsOfFile: "\(d)/\(name).pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        try (publicKey("id") + "\n").write(toFile: "\(d)/authorized_keys", atomically: false, encoding: .utf8)
        try (publicKey("otherid") + "\n").write(toFile: "\(d)/other_authorized_keys", atomically: false, encoding: .utf8)
        var clientConfig = ""
        var knownHosts = ""
        for (i, node) in nodes.enumerated() {
            let port = 20000 + Int.random(in: 0..<20000)
            clientConfig += "Host \(node.alias)\n  HostName \(node.address)\n  Port \(port)\n"
            knownHosts += "[\(node.address)]:\(port) \(try publicKey(node.wrongHostKey ? "otherhostkey" : "hostkey"))\n"
            guard !node.stopped else { continue }
            let sshdConfig = """
                ListenAddress \(node.address):\(port)
                HostKey \(d)/hostkey
                PidFile \(d)/sshd-\(i).pid
                AuthorizedKeysFile \(d)/\(node.refusesKey ? "other_authorized_keys" : "authorized_keys")
                PermitRootLogin prohibit-password
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                UsePAM no
                StrictModes no
                SetEnv KCHECK_ROOT=\(node.tree) KCHECK_CACHE_DIR=\(d)/cache-\(i)\(node.path.map { " PATH=\($0):/usr/bin:/bin" } ?? "")
                \(node.forceCommand.map { "ForceCommand " + $0 } ?? "")

                """
            try sshdConfig.write(toFile: "\(d)/sshd-\(i).conf", atomically: false, encoding: .utf8)
            // sshd daemonises (no -D): the process started here ends at once, and no Foundation
            // Process is left waiting on a daemon (its child monitor then blocks other waits).
            let started = try run("/usr/bin/unshare", [
                "-m", "--", "/bin/sh", "-c",
                "mount -t tmpfs kcheck-test-run /run && mkdir -m 755 /run/sshd && exec /usr/sbin/sshd -E \"$2\" -f \"$1\"",
                "sh", "\(d)/sshd-\(i).conf", "\(d)/sshd-\(i).log",
            ])
            guard started.status == 0 else { throw TestFailure("sshd: \(started.stderr)") }
            pidFiles.append("\(d)/sshd-\(i).pid")
            // Ready when the port accepts a connection (at most 5 s).
            var ready = false
            for _ in 0..<100 {
                if (try? run("/bin/bash", ["-c", "exec 3<>/dev/tcp/\(node.address)/\(port)"]).status) == 0 { ready = true; break }
                usleep(50_000)
            }
            guard ready else { throw TestFailure("sshd on \(node.address):\(port) did not start: \((try? String(contentsOfFile: "\(d)/sshd-\(i).log", encoding: .utf8)) ?? "")") }
        }
        clientConfig += """
            Host *
              User root
              IdentityFile \(d)/id
              IdentitiesOnly yes
              UserKnownHostsFile \(d)/known_hosts
              GlobalKnownHostsFile /dev/null
              StrictHostKeyChecking yes

            """
        config = try dir.write("ssh_config", clientConfig)
        try dir.write("known_hosts", knownHosts)
    }

    deinit {
        for file in pidFiles {
            if let text = try? String(contentsOfFile: file, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(pid, SIGTERM)
            }
        }
    }
}

@Suite("Nodes over SSH, with real sshd on loopback", .serialized)
struct SSHTests {
    @Test(.enabled(if: TestSSHCluster.available, "needs openssh-server, openssh-client and unshare(1)"))
    func snapshotOverSSHIsJudgedAsTheTree() throws {
        let cluster = try TestSSHCluster([.init(alias: "node1", address: "127.0.0.2", tree: Repo.fixture("centos7-prepared"))])
        defer { withExtendedLifetime(cluster) {} }
        let out = try TemporaryDirectory()
        let r = try kcheck("snapshot", "node1", "-o", out.path + "/node1", "--ssh-config", cluster.config)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        func results(_ root: String) -> [String: String] {
            let node = TreeNode(root: root)
            let report = Engine.run(profile: Profile.guideNode, on: node, inventory: Inventory.load(from: node))
            return Dictionary(uniqueKeysWithValues: report.entries.map { ($0.subject.id, "\($0.result.status.rawValue): \($0.result.actual)") })
        }
        let want = results(Repo.fixture("centos7-prepared")), got = results(out.path + "/node1")
        for (id, result) in want { #expect(got[id] == result, "\(id): \(got[id] ?? "nothing") over SSH, \(result) on the tree") }
    }

    @Test(.enabled(if: TestSSHCluster.available, "needs openssh-server, openssh-client and unshare(1)"))
    func unreachableWrongHostKeyAndRefusedKeyAreErrorsWithTheReason() throws {
        let tree = Repo.fixture("debian12")
        let cluster = try TestSSHCluster([
            .init(alias: "down", address: "127.0.0.3", tree: tree, stopped: true),
            .init(alias: "impostor", address: "127.0.0.4", tree: tree, wrongHostKey: true),
            .init(alias: "locked", address: "127.0.0.5", tree: tree, refusesKey: true),
        ])
        defer { withExtendedLifetime(cluster) {} }
        let out = try TemporaryDirectory()
        for (alias, reason) in [("down", "Connection refused"), ("impostor", "Host key verification failed"), ("locked", "Permission denied")] {
            let r = try kcheck("snapshot", alias, "-o", out.path + "/" + alias, "--ssh-config", cluster.config)
            #expect(r.status == 1 && r.stderr.contains(reason), "\(alias): \(r.stderr)")
        }
        // Option injection: refused before ssh runs, whether the parser or kcheck's own check sees it.
        let marker = out.path + "/injected"
        let bad = try kcheck("snapshot", "-o", out.path + "/x", "--", "-oProxyCommand=touch \(marker)")
        #expect(bad.status == 2 && bad.stderr.contains("begins with '-'"), "\(bad.stderr)")
        let spaced = try kcheck("snapshot", "-o", out.path + "/y", "node1;touch \(marker)")
        #expect(spaced.status == 2 && spaced.stderr.contains("is not a host name or address"), "\(spaced.stderr)")
        #expect(!FileManager.default.fileExists(atPath: marker))
    }
}

@Suite("kcheck preflight over a cluster of real sshd", .serialized)
struct ClusterTests {
    @Test(.enabled(if: TestSSHCluster.available, "needs openssh-server, openssh-client and unshare(1)"))
    func oneReportForTheClusterWithTheRulesThatCompareNodes() throws {
        // node3 is a copy of node1 (so its hostname is k8s-node01 too) with a CA of its own.
        let copy = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(copy) {} }
        let pki = try TestPKI()
        try pki.makeCA(in: pki.work.path)
        try FileManager.default.removeItem(atPath: copy.root + "/etc/kubernetes/cert/ca.pem")
        try FileManager.default.copyItem(atPath: pki.work.path + "/ca.pem", toPath: copy.root + "/etc/kubernetes/cert/ca.pem")
        // node5's /etc/hosts sends k8s-node03 to another address than the others' do.
        let moved = try copyOfFixture("debian12")
        defer { withExtendedLifetime(moved) {} }
        let hosts = try String(contentsOfFile: moved.root + "/etc/hosts", encoding: .utf8)
        try ("192.168.7.209 k8s-node03\n" + hosts).write(toFile: moved.root + "/etc/hosts", atomically: false, encoding: .utf8)
        let cluster = try TestSSHCluster([
            .init(alias: "node1", address: "127.0.0.2", tree: Repo.fixture("centos7-prepared")),
            .init(alias: "node2", address: "127.0.0.3", tree: Repo.fixture("debian12")),
            .init(alias: "node3", address: "127.0.0.4", tree: copy.root),
            .init(alias: "down", address: "127.0.0.5", tree: Repo.fixture("debian12"), stopped: true),
            .init(alias: "node5", address: "127.0.0.6", tree: moved.root),
        ])
        defer { withExtendedLifetime(cluster) {} }
        let env = Repo.fixture("centos7-prepared") + "/opt/k8s/bin/environment.sh"
        let out = try TemporaryDirectory()
        let r = try kcheck(
            "preflight", "--hosts", "node1,node2,node3,down,node5", "--ssh-config", cluster.config, "--env", env, "--parallel", "3",
            "--format", "json,junit,text", "--output-dir", out.path)
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let json = try String(contentsOfFile: out.path + "/kcheck-preflight.json", encoding: .utf8)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let nodes = try #require(object["nodes"] as? [[String: Any]])
        #expect(nodes.map { $0["host"] as? String } == ["node1", "node2", "node3", "down", "node5"])
        // Each node's report is a kcheck report, valid against its schema; node1's is the tree's own verdict.
        for node in nodes {
            let report = try #require(node["report"])
            let text = String(decoding: try JSONSerialization.data(withJSONObject: report), as: UTF8.self)
            #expect(try validateReportJSON(text).stdout.contains("valid"))
        }
        func results(_ index: Int) -> [String: [String: Any]] {
            let report = nodes[index]["report"] as? [String: Any]
            let list = report?["results"] as? [[String: Any]] ?? []
            return Dictionary(uniqueKeysWithValues: list.map { ($0["id"] as? String ?? "", $0) })
        }
        #expect(results(0)["pki.ca-certificate"]?["status"] as? String == "pass")
        #expect(results(1)["sysctl.net.ipv4.ip_forward"]?["status"] as? String == "pass")
        let down = results(3)
        #expect(!down.isEmpty && down.values.allSatisfy { $0["status"] as? String == "error" && ($0["message"] as? String)?.contains("Connection refused") == true })
        // The cluster rules.
        let clusterReport = try #require(object["cluster"] as? [String: Any])
        #expect(try validateReportJSON(String(decoding: try JSONSerialization.data(withJSONObject: clusterReport), as: UTF8.self)).stdout.contains("valid"))
        let clusterResults = try #require(clusterReport["results"] as? [[String: Any]])
        let rule = Dictionary(uniqueKeysWithValues: clusterResults.map { ($0["id"] as? String ?? "", $0) })
        #expect(rule["cluster.hostnames-unique"]?["status"] as? String == "fail")
        #expect((rule["cluster.hostnames-unique"]?["message"] as? String)?.contains("k8s-node01 is the hostname of node1 and node3") == true, "\(rule["cluster.hostnames-unique"] ?? [:])")
        #expect(rule["cluster.ca-identical"]?["status"] as? String == "fail")
        #expect((rule["cluster.ca-identical"]?["actual"] as? String)?.contains("on node3") == true)
        #expect(rule["cluster.kernels-agree"]?["status"] as? String == "fail")
        // node5's /etc/hosts sends k8s-node03 elsewhere than the others' do.
        #expect(rule["cluster.hosts-agree"]?["status"] as? String == "fail")
        #expect((rule["cluster.hosts-agree"]?["actual"] as? String)?.contains("on node5") == true, "\(rule["cluster.hosts-agree"] ?? [:])")
        #expect(rule["cluster.clocks-agree"]?["status"] as? String == "pass", "\(rule["cluster.clocks-agree"] ?? [:])")
        #expect((rule["cluster.clocks-agree"]?["message"] as? String)?.contains("down") == true)
        // The whole document against the cluster schema; the JUnit against junit-10.xsd: a suite per node and one for the cluster.
        let schema = try validateReportFile(out.path + "/kcheck-preflight.json", schema: Repo.clusterReportSchema)
        #expect(schema.stdout.contains("valid"), "\(schema.stderr)")
        let xml = try String(contentsOfFile: out.path + "/kcheck-preflight.xml", encoding: .utf8)
        #expect(try validateJUnit(xml).status == 0)
        #expect(xml.components(separatedBy: "<testsuite ").count == 7)
        let text = try String(contentsOfFile: out.path + "/kcheck-preflight.txt", encoding: .utf8)
        #expect(text.contains("== node3") && text.contains("== the cluster") && text.contains("FAILED: 5 nodes (") && text.contains("; the cluster rules failed") && text.contains("down"), "\(text.suffix(300))")
    }
}

@Suite("kcheck fix --emit over a cluster of real sshd", .serialized)
struct ClusterEmitTests {
    @Test(.enabled(if: TestSSHCluster.available, "needs openssh-server, openssh-client and unshare(1)"))
    func onePlayPerNodeCollectedOverSSH() throws {
        let cluster = try TestSSHCluster([
            .init(alias: "node1", address: "127.0.0.2", tree: Repo.fixture("services-wrong")),
            .init(alias: "node2", address: "127.0.0.3", tree: Repo.fixture("fstab-tabs")),
        ])
        defer { withExtendedLifetime(cluster) {} }
        let r = try kcheck("fix", "--hosts", "node1,node2", "--ssh-config", cluster.config, "--emit", "ansible")
        #expect(r.status == 0, "\(r.stderr)")
        let check = try run("/usr/bin/python3", ["-c", """
            import sys, yaml
            plays = yaml.safe_load(sys.stdin.read())
            print([(p["hosts"], [list(t.keys())[1] for t in p["tasks"]]) for p in plays])
            """], input: r.stdout)
        #expect(check.stdout.contains("('node1', ['ansible.builtin.systemd', 'ansible.builtin.systemd', 'ansible.builtin.systemd', 'ansible.builtin.systemd'])"), "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("('node2', ['ansible.builtin.copy'])"), "\(check.stdout)")
        let several = try kcheck("fix", "--hosts", "node1,node2", "--ssh-config", cluster.config, "--emit", "sh")
        #expect(several.status == 2 && several.stderr.contains("needs --output-dir"), "\(several.stderr)")
    }

    /// Cloned machines found over SSH: the node records what the cluster rules compare (machine-id,
    /// product_uuid, MACs, host keys), though no node rule reads it; snapshots give the same verdict.
    @Test(.enabled(if: TestSSHCluster.available, "needs openssh-server, openssh-client and unshare(1)"))
    func clonedMachinesOverSSH() throws {
        let trees = Repo.root + "/fixtures/clusters/disagree/"
        let cluster = try TestSSHCluster([
            .init(alias: "node1", address: "127.0.0.2", tree: trees + "k8s-node01"),
            .init(alias: "node2", address: "127.0.0.3", tree: trees + "k8s-node02"),
            .init(alias: "node3", address: "127.0.0.4", tree: trees + "k8s-node03"),
        ])
        defer { withExtendedLifetime(cluster) {} }
        let over = try kcheck("preflight", "--hosts", "node1,node2,node3", "--ssh-config", cluster.config, "--phase", "install", "--color", "never")
        let offline = try kcheck("preflight", "--snapshots", Repo.root + "/fixtures/clusters/disagree", "--phase", "install", "--color", "never")
        for id in ["cluster.machine-id-unique", "cluster.product-uuid-unique", "cluster.mac-unique", "cluster.ssh-host-keys-unique"] {
            #expect(hasLine(over.stdout, "FAIL", id) && hasLine(offline.stdout, "FAIL", id), "\(id)\n\(over.stdout)\(over.stderr)")
        }
        #expect(over.stdout.contains("Cloned machines: node3 has node1's 5c1d2e3f4a5b6c7d8e9f0a1b2c3d4e00"), "\(over.stdout)")
    }

    /// The plan made from a node's recording over SSH is the plan made on the node: what planning
    /// reads beyond the rules (zone files, loaded modules) is in the recording too.
    @Test(.enabled(if: TestSSHCluster.available, "needs openssh-server, openssh-client and unshare(1)"))
    func planOverSSHIsThePlanOnTheNode() throws {
        let tree = Repo.fixture("centos7-minimal")
        let cluster = try TestSSHCluster([.init(alias: "node1", address: "127.0.0.2", tree: tree)])
        defer { withExtendedLifetime(cluster) {} }
        let here = try kcheck("fix", "--dry-run", "--root", tree, "--color", "never")
        let there = try kcheck("fix", "--dry-run", "--hosts", "node1", "--ssh-config", cluster.config, "--color", "never")
        func steps(_ text: String) -> [String] { text.split(separator: "\n").map(String.init).filter { $0.first?.isNumber == true } }
        #expect(steps(here.stdout).count > 5 && steps(here.stdout).contains { $0.contains("/etc/localtime") }, "\(here.stdout)")
        #expect(steps(here.stdout) == steps(there.stdout), "on the node:\n\(here.stdout)\nover SSH:\n\(there.stdout)\n\(there.stderr)")
    }
}

/// `kcheck fix --hosts … --yes`: every node's plan applied over SSH by kcheck itself on the node,
/// journaled as `kcheck fix` journals, so that `kcheck undo` (there, or --hosts) restores it.
@Suite("kcheck fix over SSH", .serialized)
struct ClusterFixTests {
    @Test(.enabled(if: TestSSHCluster.available, "needs openssh-server, openssh-client and unshare(1)"))
    func fixOverSSHThenUndoOnTheNode() throws {
        let one = try copyOfFixture("fstab-tabs"), two = try copyOfFixture("guide-sysctl-copy")
        defer { withExtendedLifetime((one, two)) {} }
        let planned = [plannedRules(one.root), plannedRules(two.root)]
        let cluster = try TestSSHCluster([
            .init(alias: "node1", address: "127.0.0.2", tree: one.root), .init(alias: "node2", address: "127.0.0.3", tree: two.root),
        ])
        defer { withExtendedLifetime(cluster) {} }
        let r = try kcheck("fix", "--hosts", "node1,node2", "--ssh-config", cluster.config, "--yes", "--format", "json", "--output", one.dir.path + "/after.json")
        #expect(r.stdout.contains("== node1: run ") && r.stdout.contains("== node2: run "), "\(r.stdout)\(r.stderr)")
        let outcomes = r.stdout.split(separator: "\n").filter { line in
            ["applied", "already-in-place", "needs-reboot", "failed"].contains { line.contains(". " + $0) }
        }
        #expect(outcomes.count == planned.map(\.count).reduce(0, +) || !outcomes.isEmpty, "\(r.stdout)")
        #expect(!outcomes.contains { $0.contains(". failed") }, "\(outcomes)")
        for (i, root) in [one.root, two.root].enumerated() {
            let after = statuses(root)
            for id in planned[i] { #expect(after[id] == .pass || after[id] == .skip, "node\(i + 1) \(id): \(after[id]?.rawValue ?? "?")") }
            let runs = try kcheck("runs", "--root", root)
            #expect(runs.stdout.contains("applied"), "\(runs.stdout)")
        }
        let again = try kcheck("fix", "--hosts", "node1,node2", "--ssh-config", cluster.config, "--yes")
        #expect(again.stdout.components(separatedBy: "Nothing to change").count == 3, "\(again.stdout)")
        // The journal kcheck kept on the node is its own: `kcheck runs|undo --hosts` (kcheck on the
        // node) and `kcheck undo` on the node itself put every byte back.
        let remoteRuns = try kcheck("runs", "--hosts", "node1", "--ssh-config", cluster.config)
        #expect(remoteRuns.status == 0 && remoteRuns.stdout.contains("== node1") && remoteRuns.stdout.contains("applied"), "\(remoteRuns.stdout)\(remoteRuns.stderr)")
        let remoteUndo = try kcheck("undo", "--hosts", "node1", "--ssh-config", cluster.config, "--yes")
        #expect(remoteUndo.status == 0 && remoteUndo.stdout.contains("Restored run"), "\(remoteUndo.stdout)\(remoteUndo.stderr)")
        let localUndo = try kcheck("undo", "--root", two.root, "--yes")
        #expect(localUndo.status == 0, "\(localUndo.stdout)\(localUndo.stderr)")
        for (root, fixture) in [(one.root, "fstab-tabs"), (two.root, "guide-sysctl-copy")] {
            let left = try TreeSnapshot(root, mtimes: false).differences(try TreeSnapshot(Repo.fixture(fixture), mtimes: false))
            #expect(left.isEmpty, "\(fixture): undo left \(left)")
        }
    }
}

/// Item 3: root on the first node logs in to every node by key. The first node is a tree served
/// by sshd; its root/.ssh/config (which the probe reads under KCHECK_ROOT) reaches the other
/// sshd on loopback; one of them accepts another key only.
@Suite("The cluster rule for root's SSH from the first node", .serialized)
struct RootSSHTests {
    @Test(.enabled(if: TestSSHCluster.available, "needs openssh-server, openssh-client and unshare(1)"))
    func everyNodeByKeyFromTheFirst() throws {
        let first = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(first) {} }
        let cluster = try TestSSHCluster([
            .init(alias: "127.0.0.2", address: "127.0.0.2", tree: first.root),
            .init(alias: "127.0.0.3", address: "127.0.0.3", tree: Repo.fixture("debian12")),
            .init(alias: "127.0.0.4", address: "127.0.0.4", tree: Repo.fixture("debian12"), refusesKey: true),
        ])
        defer { withExtendedLifetime(cluster) {} }
        try FileManager.default.createDirectory(atPath: first.root + "/root/.ssh", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: cluster.config, toPath: first.root + "/root/.ssh/config")
        let env = try first.dir.write("environment.sh", "export NODE_IPS=(127.0.0.2 127.0.0.3 127.0.0.4)\nexport NODE_NAMES=(k8s-node01 k8s-node02 k8s-node03)\n")
        let r = try kcheck("preflight", "--cluster", "--env", env, "--ssh-config", cluster.config, "--only", "swap.off", "--format", "json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout)\(r.stderr)")
        let results = try #require((object["cluster"] as? [String: Any])?["results"] as? [[String: Any]])
        let rule = try #require(results.first { $0["id"] as? String == "cluster.root-ssh" })
        #expect(rule["status"] as? String == "fail", "\(rule)")
        #expect((rule["actual"] as? String) == "from k8s-node01: 127.0.0.2 ok, 127.0.0.3 ok, 127.0.0.4 refused", "\(rule)")
        #expect((rule["message"] as? String)?.contains("k8s-node01 → 127.0.0.4: root@127.0.0.4: Permission denied") == true, "\(rule)")
    }
}

/// kcheck runs itself on the nodes: copied once, cached by hash, refused on another
/// architecture; and whatever a node answers, the other nodes complete and nothing is left behind.
@Suite("kcheck on the node, over SSH", .serialized)
struct RemoteKCheckTests {
    @Test(.enabled(if: TestSSHCluster.available, "needs openssh-server, openssh-client and unshare(1)"))
    func copiedOnceThenCachedByHash() throws {
        let cluster = try TestSSHCluster([.init(alias: "node1", address: "127.0.0.2", tree: Repo.fixture("debian12"))])
        defer { withExtendedLifetime(cluster) {} }
        let first = try kcheck("preflight", "--hosts", "node1", "--ssh-config", cluster.config, "--format", "json")
        #expect(first.stdout.contains("\"nodes\""), "\(first.stdout.prefix(300))\(first.stderr)")
        let cached = try FileManager.default.contentsOfDirectory(atPath: cluster.cache(0)).filter { $0.hasPrefix("kcheck-") }
        #expect(cached.count == 1, "\(cached)")
        let path = cluster.cache(0) + "/" + (cached.first ?? "")
        let before = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
        // The name is the SHA-256 of what runs.
        let digest = try run("/usr/bin/sha256sum", [path]).stdout.prefix(64)
        #expect(cached.first == "kcheck-" + digest)
        let second = try kcheck("preflight", "--hosts", "node1", "--ssh-config", cluster.config, "--format", "json")
        #expect(second.status == first.status)
        let after = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
        #expect(before == after, "copied again")
        // A cached copy that is not what its name says is never run: it is copied anew.
        try "#!/bin/sh\necho tampered\n".write(toFile: path, atomically: false, encoding: .utf8)
        let third = try kcheck("preflight", "--hosts", "node1", "--ssh-config", cluster.config, "--format", "json")
        #expect(third.status == first.status && !third.stdout.contains("tampered"), "\(third.stdout.prefix(300))\(third.stderr)")
        #expect(try run("/usr/bin/sha256sum", [path]).stdout.prefix(64) == digest)
        // A cache others may write to is never run from.
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: cluster.cache(0))
        let unsafe = try kcheck("preflight", "--hosts", "node1", "--ssh-config", cluster.config, "--format", "json")
        #expect(unsafe.status == 1 && unsafe.stdout.contains("writable by others"), "\(unsafe.stdout.prefix(600))")
    }

    /// A child that never reads its input (a stalled connection, a hostile node) cannot block
    /// kcheck: the input is written as it is read, under the same deadline as the output.
    @Test func aChildThatNeverReadsItsInputIsStoppedAtTheDeadline() throws {
        let result = try Posix.run(["/bin/sleep", "60"], input: [UInt8](repeating: 65, count: 8 << 20), timeoutSeconds: 2).get()
        #expect(result.timedOut)
    }

    @Test(.enabled(if: TestSSHCluster.available, "needs openssh-server, openssh-client and unshare(1)"))
    func anotherArchitectureIsRefusedWithTheReason() throws {
        let bin = try TemporaryDirectory()
        try bin.write("uname", "#!/bin/sh\necho aarch64\n", mode: 0o755)
        let cluster = try TestSSHCluster([.init(alias: "arm", address: "127.0.0.2", tree: Repo.fixture("debian12"), path: bin.path)])
        defer { withExtendedLifetime(cluster) {} }
        let out = try TemporaryDirectory()
        let r = try kcheck("snapshot", "arm", "-o", out.path + "/arm", "--ssh-config", cluster.config)
        #expect(r.status == 1 && r.stderr.contains("arm is a aarch64 machine; this kcheck is built for x86_64"), "\(r.stderr)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: cluster.cache(0)))?.isEmpty ?? true)
    }

    /// Nodes that answer garbage, a cut-off answer, an endless line, a clock of `inf`, a recording
    /// with a path out of the tree: each one's rules are errors with the reason, the good node is
    /// judged, kcheck exits 1 (not a trap), and its temporary directory is left empty.
    @Test(.enabled(if: TestSSHCluster.available, "needs openssh-server, openssh-client and unshare(1)"))
    func hostileAnswersAreErrorsAndLeaveNothingBehind() throws {
        let bad = try TemporaryDirectory()
        var answers: [(String, [UInt8])] = []
        answers.append(("garbage", Array("HTTP/1.1 200 OK\r\n\r\n<html>".utf8)))
        answers.append(("cut", Array("kcheck-answer 1\nstatus 1\n0\nrecording 999999\nkcheck-recording 1\n".utf8)))
        answers.append(("clock", Array("kcheck-answer 1\nclock 3\ninf\nend 0\n\n".utf8)))
        var escape = Array("kcheck-recording 1\n".utf8)
        Frames.append("facts", Array("format 1\n".utf8), to: &escape)
        Frames.append("file", Array("/../../../tmp/kcheck-pwned".utf8) + [0] + [0x41], to: &escape)
        var answer = Array("kcheck-answer 1\n".utf8)
        Frames.append("recording", escape, to: &answer)
        Frames.append("end", [], to: &answer)
        answers.append(("escape", answer))
        answers.append(("huge", Array("kcheck-answer 1\nstatus 99999999999999999999\n".utf8)))
        var specs: [TestSSHCluster.NodeSpec] = [.init(alias: "good", address: "127.0.0.2", tree: Repo.fixture("debian12"))]
        for (i, (name, bytes)) in answers.enumerated() {
            let file = bad.path + "/" + name
            FileManager.default.createFile(atPath: file, contents: Data(bytes))
            specs.append(.init(alias: name, address: "127.0.0.\(3 + i)", tree: Repo.fixture("debian12"), forceCommand: "/bin/cat \(file)"))
        }
        let cluster = try TestSSHCluster(specs)
        defer { withExtendedLifetime(cluster) {} }
        let tmp = try TemporaryDirectory()
        let r = try kcheck(
            ["preflight", "--hosts", specs.map(\.alias).joined(separator: ","), "--ssh-config", cluster.config, "--format", "json"],
            environment: ["TMPDIR": tmp.path])
        #expect(r.status == 1, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout.prefix(200))\(r.stderr)")
        let nodes = try #require(object["nodes"] as? [[String: Any]])
        for node in nodes {
            let results = (node["report"] as? [String: Any])?["results"] as? [[String: Any]] ?? []
            let host = node["host"] as? String ?? "?"
            if host == "good" {
                #expect(results.contains { $0["status"] as? String == "pass" }, "good: \(results.prefix(2))")
            } else {
                #expect(!results.isEmpty && results.allSatisfy { $0["status"] as? String == "error" }, "\(host): \(results.prefix(1))")
                let message = results.first?["message"] as? String ?? ""
                #expect(!message.contains("\r") && message.contains("could not check"), "\(host): \(message)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/kcheck-pwned"))
        let left = try FileManager.default.contentsOfDirectory(atPath: tmp.path)
        #expect(left.isEmpty, "left in TMPDIR: \(left)")
    }

    /// The same statuses for every fixture tree judged three ways: directly, over SSH (kcheck on
    /// the node serving the tree through the test seam), and from the snapshot saved over SSH.
    @Test(.enabled(if: TestSSHCluster.available, "needs openssh-server, openssh-client and unshare(1)"))
    func everyFixtureTreeThreeWays() throws {
        let trees = SnapshotTests.trees
        let specs = trees.enumerated().map { i, tree in TestSSHCluster.NodeSpec(alias: tree, address: "127.0.1.\(i + 1)", tree: Repo.fixture(tree)) }
        let cluster = try TestSSHCluster(specs)
        defer { withExtendedLifetime(cluster) {} }
        let r = try kcheck("preflight", "--hosts", trees.joined(separator: ","), "--ssh-config", cluster.config, "--format", "json", "--parallel", "2")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
        let nodes = try #require(object["nodes"] as? [[String: Any]])
        let snapshots = try TemporaryDirectory()
        for (tree, node) in zip(trees, nodes) {
            let overSSH = Dictionary(uniqueKeysWithValues: ((node["report"] as? [String: Any])?["results"] as? [[String: Any]] ?? []).map {
                ($0["id"] as? String ?? "", $0["status"] as? String ?? "")
            })
            let direct = try kcheck("preflight", "--root", Repo.fixture(tree), "--format", "json")
            let saved = try kcheck("snapshot", tree, "-o", snapshots.path + "/" + tree, "--ssh-config", cluster.config)
            #expect(saved.status == 0, "\(saved.stderr)")
            let offline = try kcheck("preflight", "--root", snapshots.path + "/" + tree, "--format", "json")
            for (name, run) in [("directly", direct), ("from its snapshot", offline)] {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
                let statuses = Dictionary(uniqueKeysWithValues: (object["results"] as? [[String: Any]] ?? []).map { ($0["id"] as? String ?? "", $0["status"] as? String ?? "") })
                #expect(statuses == overSSH, "\(tree): over SSH and \(name) differ: \(statuses.filter { overSSH[$0.key] != $0.value })")
            }
        }
    }
}

/// Cloned machines: `kcheck fix --hosts` gives every node but the first its own machine-id and
/// SSH host keys (journaled on the node, undone there), and leaves product_uuid and MACs to a
/// person with the instruction.
@Suite("kcheck fix for cloned machines over SSH", .serialized)
struct ClonedMachineFixTests {
    /// Keys made in-process are keys OpenSSH reads: ssh-keygen derives the same public key from
    /// the private one, and sshd starts with them (-t checks its host keys).
    @Test func hostKeysOpenSSHReads() throws {
        let dir = try TemporaryDirectory()
        for type in [SSHHostKey.KeyType.ed25519, .ecdsa(bits: 256), .ecdsa(bits: 384), .ecdsa(bits: 521), .rsa(bits: 2048)] {
            let made = try SSHHostKey.make(type, comment: "root@test")
            let path = dir.path + "/ssh_host_\(type.keygenName)_key"
            #expect(FileManager.default.createFile(atPath: path, contents: Data(made.privateKey), attributes: [.posixPermissions: 0o600]))
            try Data(made.publicLine).write(to: URL(fileURLWithPath: path + ".pub"))
            let derived = try run("/usr/bin/ssh-keygen", ["-y", "-f", path])
            let line = String(decoding: made.publicLine, as: UTF8.self)
            #expect(derived.status == 0 && derived.stdout.split(separator: " ").prefix(2) == line.split(separator: " ").prefix(2), "\(type): \(derived.stdout)\(derived.stderr)\n\(line)")
            #expect(!String(decoding: made.privateKey, as: UTF8.self).contains(line.split(separator: " ")[1]), "the private key file is OpenSSH's own format, not the public line")
            guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") else { continue }
            let config = try dir.write("sshd-\(type.keygenName).conf", "HostKey \(path)\nPidFile \(dir.path)/never.pid\nUsePAM no\n")
            // sshd wants its privilege-separation directory: a tmpfs over /run in a private mount
            // namespace, as TestSSHCluster runs it.
            let checked = try run("/usr/bin/unshare", [
                "-m", "--", "/bin/sh", "-c", "mount -t tmpfs kcheck-test-run /run && mkdir -m 755 /run/sshd && exec /usr/sbin/sshd -t -f \"$1\"", "sh", config,
            ])
            #expect(checked.status == 0, "\(type): sshd -t: \(checked.stderr)")
        }
        let id = try SSHHostKey.machineID()
        #expect(id.count == 32 && id.allSatisfy(\.isHexDigit) && Array(id)[12] == "4", "\(id)")
        #expect(try SSHHostKey.machineID() != id)
    }

    @Test(.enabled(if: TestSSHCluster.available, "needs openssh-server, openssh-client and unshare(1)"))
    func copiesMadeAnewOnTheClonesThenUndone() throws {
        let dir = try TemporaryDirectory()
        let copy = try run("/bin/cp", ["-a", Repo.root + "/fixtures/clusters/disagree", dir.path + "/cluster"])
        guard copy.status == 0 else { throw TestFailure("cp: \(copy.stderr)") }
        let trees = ["k8s-node01", "k8s-node02", "k8s-node03"].map { dir.path + "/cluster/" + $0 }
        let cluster = try TestSSHCluster(
            trees.enumerated().map { i, tree in .init(alias: "node\(i + 1)", address: "127.0.0.\(i + 2)", tree: tree) })
        defer { withExtendedLifetime(cluster) {} }
        let hosts = ["--hosts", "node1,node2,node3", "--ssh-config", cluster.config]
        let rules = "cluster.machine-id-unique,cluster.ssh-host-keys-unique,cluster.product-uuid-unique"
        let planned = try kcheck(["fix", "--dry-run", "--only", rules, "--color", "never"] + hosts)
        // node3 has node1's machine-id and host key; node2 only node1's product_uuid.
        #expect(planned.stdout.contains("give this node a new /etc/machine-id"), "\(planned.stdout)\(planned.stderr)")
        #expect(planned.stdout.contains("make new SSH host keys /etc/ssh/ssh_host_ed25519_key"), "\(planned.stdout)")
        #expect(planned.stdout.contains("product_uuid is node1's"), "the hypervisor's part is left to a person: \(planned.stdout)")
        let before = try trees.map { try TreeSnapshot($0, mtimes: false) }
        let fixed = try kcheck(["fix", "--yes", "--only", rules, "--color", "never"] + hosts)
        #expect(fixed.stdout.contains("== node3: run "), "\(fixed.stdout)\(fixed.stderr)")
        #expect(!fixed.stdout.contains("== node1: run "), "the first node keeps its own: \(fixed.stdout)")
        let after = try kcheck(["preflight", "--phase", "install", "--color", "never", "--verbose"] + hosts)
        #expect(hasLine(after.stdout, "PASS", "cluster.machine-id-unique") && hasLine(after.stdout, "PASS", "cluster.ssh-host-keys-unique"), "\(after.stdout)\(after.stderr)")
        #expect(hasLine(after.stdout, "FAIL", "cluster.product-uuid-unique"), "\(after.stdout)")
        let key = trees[2] + "/etc/ssh/ssh_host_ed25519_key"
        let derived = try run("/usr/bin/ssh-keygen", ["-y", "-f", key])
        let line = try String(contentsOfFile: key + ".pub", encoding: .utf8)
        #expect(derived.status == 0 && derived.stdout.split(separator: " ").prefix(2) == line.split(separator: " ").prefix(2) && line.hasSuffix(" root@k8s-node01\n"), "\(derived.stderr)\(line)")
        let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let id = try String(contentsOfFile: trees[2] + "/etc/machine-id", encoding: .utf8)
        #expect(id.count == 33 && id != "5c1d2e3f4a5b6c7d8e9f0a1b2c3d4e00\n")
        // Undone on the node over SSH: every byte back, the old key too.
        let undo = try kcheck(["undo", "--hosts", "node3", "--ssh-config", cluster.config, "--yes"])
        #expect(undo.status == 0 && undo.stdout.contains("Restored run"), "\(undo.stdout)\(undo.stderr)")
        for (i, tree) in trees.enumerated() {
            let left = try TreeSnapshot(tree, mtimes: false).differences(before[i]).filter { !$0.contains("/var/lib/kcheck") }
            #expect(left.isEmpty, "\(tree): \(left)")
        }
    }

    /// Issue 15: a waiver holds over SSH too. node3's vm.swappiness (10 now) is waived for node3:
    /// `kcheck fix --hosts` plans nothing for it there, the node applies the plan shown (its own
    /// judgement leaves the rule out as well), and a node-less waiver of the machine-id rule
    /// keeps kcheck from making node3 a new machine-id.
    @Test(.enabled(if: TestSSHCluster.available, "needs openssh-server, openssh-client and unshare(1)"))
    func waivedRulesAreLeftAsTheyAre() throws {
        let dir = try TemporaryDirectory()
        let copy = try run("/bin/cp", ["-a", Repo.root + "/fixtures/clusters/disagree", dir.path + "/cluster"])
        guard copy.status == 0 else { throw TestFailure("cp: \(copy.stderr)") }
        let trees = ["k8s-node01", "k8s-node02", "k8s-node03"].map { dir.path + "/cluster/" + $0 }
        let cluster = try TestSSHCluster(
            trees.enumerated().map { i, tree in .init(alias: "node\(i + 1)", address: "127.0.0.\(i + 2)", tree: tree) })
        defer { withExtendedLifetime(cluster) {} }
        let waivers = try dir.write("waivers.yaml", """
            waivers:
              - rule: sysctl.vm.swappiness
                node: node3
                reason: "the vendor's agent"
                approved_by: ops
                expires: 2099-01-01
              - rule: cluster.machine-id-unique
                reason: "re-imaged next month"
                approved_by: ops
                expires: 2099-01-01

            """)
        let hosts = ["--hosts", "node1,node2,node3", "--ssh-config", cluster.config]
        let rules = "sysctl.vm.swappiness,cluster.machine-id-unique"
        let swappiness = trees[2] + "/proc/sys/vm/swappiness", machineID = trees[2] + "/etc/machine-id"
        let machineIDBefore = try String(contentsOfFile: machineID, encoding: .utf8)
        let planned = try kcheck(["fix", "--dry-run", "--only", rules, "--color", "never", "--waivers", waivers] + hosts)
        #expect(!planned.stdout.contains("vm.swappiness") && !planned.stdout.contains("machine-id"), "\(planned.stdout)\(planned.stderr)")
        let fixed = try kcheck(["fix", "--yes", "--only", rules, "--color", "never", "--waivers", waivers] + hosts)
        #expect(!fixed.stdout.contains("refused") && !fixed.stderr.contains("refused"), "\(fixed.stdout)\(fixed.stderr)")
        // Nothing is left to change anywhere: the waived rules are not failures, exit 0.
        #expect(fixed.status == 0 && fixed.stdout.contains("Nothing to change on node3."), "\(fixed.stdout)\(fixed.stderr)")
        #expect(try String(contentsOfFile: swappiness, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == "10")
        #expect(try String(contentsOfFile: machineID, encoding: .utf8) == machineIDBefore)
        // (--only on preflight names node rules; every cluster rule is judged.)
        let judged = try kcheck(["preflight", "--only", "sysctl.vm.swappiness", "--color", "never", "--waivers", waivers] + hosts)
        #expect(hasLine(judged.stdout, "WAIVED", "sysctl.vm.swappiness") && hasLine(judged.stdout, "WAIVED", "cluster.machine-id-unique"), "\(judged.stdout)\(judged.stderr)")
        // Without the waivers the same fix changes both.
        let unwaived = try kcheck(["fix", "--dry-run", "--only", rules, "--color", "never"] + hosts)
        #expect(unwaived.stdout.contains("vm.swappiness") && unwaived.stdout.contains("new /etc/machine-id"), "\(unwaived.stdout)")
    }

}
