import Foundation
import KCheckCore
import Testing

/// The packet-filter rules on the live node against the real kernel: a private network namespace
/// holds its own legacy iptables tables and nf_tables rule set, made there with iptables-legacy,
/// iptables-nft and nft. kcheck reads them through the kernel (getsockopt, netlink), never through
/// those tools. This machine's own firewall never changes.
@Suite("Firewall rules on the live node in a private network namespace")
struct FirewallNamespaceTests {
    static let tools = ["/usr/sbin/iptables-legacy", "/usr/sbin/iptables-nft", "/usr/sbin/nft"]
    static let available: Bool = {
        guard KernelNamespaceTests.canUnshare, tools.allSatisfy(FileManager.default.isExecutableFile(atPath:)) else { return false }
        return (try? run("/usr/bin/unshare", ["-n", "--", tools[0], "-L", "-n"]).status) == 0
            && (try? run("/usr/bin/unshare", ["-n", "--", tools[2], "list", "ruleset"]).status) == 0
    }()

    /// Runs `setup` (a constant script) in a new network namespace, then kcheck preflight on the
    /// firewall rules there; the results by id.
    func judge(_ setup: String) throws -> [String: [String: Any]] {
        let script = setup + "\nexec \"$@\""
        let r = try run(
            "/usr/bin/unshare",
            ["-n", "--", "/bin/sh", "-ec", script, "sh", Repo.kcheck, "preflight", "--only", "iptables.forward-accept,iptables.flushed", "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout) \(r.stderr)")
        let results = try #require(object["results"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: results.map { ($0["id"] as! String, $0) })
    }

    func chains(_ result: [String: Any]?) -> [String] {
        let observation = result?["observation"] as? [String: Any]
        return (observation?["chains"] as? [[String: Any]] ?? []).map { c in
            "\(c["backend"]!) \(c["family"]!) \(c["table"]!) \(c["name"]!) \(c["policy"] as? String ?? "-") \(c["rules"]!)"
        }
    }

    /// `kcheck fix` sets FORWARD to accept on the live node, with the system's tool as argv, and
    /// `kcheck undo` sets the old policy again: in a private network namespace and a private mount
    /// namespace (a tmpfs over /var/lib holds kcheck's journal and lock), so neither this machine's firewall nor
    /// its /var/lib/kcheck changes.
    @Test(.enabled(if: available, "needs root, unshare(1), iptables and nftables"), arguments: [
        ("legacy", "iptables-legacy -P FORWARD DROP", "iptables-legacy -S FORWARD", "-P FORWARD ACCEPT", "-P FORWARD DROP"),
        ("iptables-nft", "iptables-nft -P FORWARD DROP", "iptables-nft -S FORWARD", "-P FORWARD ACCEPT", "-P FORWARD DROP"),
        ("nft inet", "nft add table inet fw; nft add chain inet fw pods '{ type filter hook forward priority 0 ; policy drop ; }'",
         "nft list chain inet fw pods | grep policy", "policy accept", "policy drop"),
    ])
    func fixThenUndoOnTheLiveKernel(name: String, setup: String, show: String, fixed: String, restored: String) throws {
        let script = """
            mount -t tmpfs kcheck-test /var/lib
            \(setup)
            "$1" fix --only iptables.forward-accept --yes --color never >/tmp/kcheck-fw-fix.$$ 2>&1 || true
            echo "== fixed"; \(show)
            "$1" preflight --only iptables.forward-accept --color never --verbose | grep iptables.forward-accept
            "$1" undo --yes >/dev/null 2>&1 || echo "undo failed"
            echo "== undone"; \(show)
            cat /tmp/kcheck-fw-fix.$$; rm -f /tmp/kcheck-fw-fix.$$
            """
        let r = try run("/usr/bin/unshare", ["-n", "-m", "--", "/bin/sh", "-c", script, "sh", Repo.kcheck])
        let out = r.stdout
        let fixedPart = out.components(separatedBy: "== undone").first ?? ""
        let undonePart = out.components(separatedBy: "== undone").dropFirst().first ?? ""
        #expect(fixedPart.contains(fixed) && hasLine(fixedPart, "PASS", "iptables.forward-accept"), "\(name): \(out)\(r.stderr)")
        #expect(undonePart.contains(restored) && !out.contains("undo failed"), "\(name): \(out)\(r.stderr)")
    }

    @Test(.enabled(if: available, "needs root, unshare(1), iptables and nftables"))
    func legacyDockerLeftovers() throws {
        let results = try judge("""
            iptables-legacy -P FORWARD DROP
            iptables-legacy -N DOCKER-USER
            iptables-legacy -A DOCKER-USER -j RETURN
            iptables-legacy -A FORWARD -j DOCKER-USER
            iptables-legacy -A FORWARD -i lo -j ACCEPT
            iptables-legacy -t nat -N DOCKER
            """)
        let forward = results["iptables.forward-accept"]
        #expect(forward?["status"] as? String == "fail", "\(String(describing: forward))")
        #expect((forward?["message"] as? String)?.contains("iptables-legacy -t filter -P FORWARD ACCEPT") == true)
        #expect(chains(forward) == ["legacy ip filter FORWARD drop 2"])
        let flushed = results["iptables.flushed"]
        #expect(flushed?["status"] as? String == "fail")
        let seen = chains(flushed)
        #expect(seen.contains("legacy ip filter DOCKER-USER - 1"), "\(seen)")
        #expect(seen.contains("legacy ip nat DOCKER - 0"), "\(seen)")
        #expect(seen.contains("legacy ip filter INPUT accept 0"), "\(seen)")
    }

    @Test(.enabled(if: available, "needs root, unshare(1), iptables and nftables"))
    func nftablesChainsAndANativeTable() throws {
        let results = try judge("""
            iptables-nft -P FORWARD DROP
            iptables-nft -N KUBE-OLD
            iptables-nft -A KUBE-OLD -j RETURN
            iptables-nft -A KUBE-OLD -j RETURN
            nft add table inet extra
            nft add chain inet extra forwarding '{ type filter hook forward priority 0; policy drop; }'
            """)
        let forward = results["iptables.forward-accept"]
        #expect(forward?["status"] as? String == "fail")
        #expect(Set(chains(forward)) == ["nftables ip filter FORWARD drop 0", "nftables inet extra forwarding drop 0"], "\(chains(forward))")
        #expect((forward?["message"] as? String)?.contains("nft chain inet extra forwarding { policy accept ; }") == true)
        let flushed = results["iptables.flushed"]
        #expect(chains(flushed).contains("nftables ip filter KUBE-OLD - 2"), "\(chains(flushed))")
    }

    @Test(.enabled(if: available, "needs root, unshare(1), iptables and nftables"))
    func aFlushedAcceptingNamespacePasses() throws {
        let results = try judge("""
            iptables-legacy -P FORWARD ACCEPT
            iptables-nft -P FORWARD ACCEPT
            """)
        #expect(results["iptables.forward-accept"]?["status"] as? String == "pass", "\(results)")
        #expect(results["iptables.flushed"]?["status"] as? String == "pass", "\(results)")
        #expect(Set(chains(results["iptables.forward-accept"])) == ["legacy ip filter FORWARD accept 0", "nftables ip filter FORWARD accept 0"])
    }

    /// A snapshot taken in the namespace holds the chains as `chain` facts, and judged offline it
    /// gives the live verdict, word for word.
    @Test(.enabled(if: available, "needs root, unshare(1), iptables and nftables"))
    func aSnapshotGivesTheLiveVerdict() throws {
        let dir = try TemporaryDirectory()
        let snapshot = dir.path + "/node"
        let only = ["--only", "iptables.forward-accept,iptables.flushed", "--format", "json"]
        // A constant script; the paths travel as arguments.
        let script = """
            iptables-legacy -P FORWARD DROP
            iptables-legacy -N DOCKER
            iptables-nft -t nat -N KUBE-OLD
            "$1" snapshot -o "$2" > /dev/null
            shift 2
            exec "$@"
            """
        let live = try run("/usr/bin/unshare", ["-n", "--", "/bin/sh", "-ec", script, "sh", Repo.kcheck, snapshot, Repo.kcheck, "preflight"] + only)
        let offline = try run(Repo.kcheck, ["preflight", "--root", snapshot] + only)
        func verdicts(_ text: String) throws -> [String] {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
            return (object["results"] as? [[String: Any]] ?? []).map { "\($0["id"]!) \($0["status"]!) \($0["actual"]!) \($0["message"]!)" }
        }
        let seen = try verdicts(live.stdout)
        #expect(seen.count == 2 && seen.allSatisfy { $0.contains(" fail ") }, "\(seen) \(live.stderr)")
        #expect(try verdicts(offline.stdout) == seen)
        let facts = try String(contentsOfFile: snapshot + "/.kcheck/facts", encoding: .utf8)
        #expect(facts.contains("chain legacy ip filter FORWARD forward drop 0"), "\(facts)")
        #expect(facts.contains("chain nftables ip nat KUBE-OLD - - 0"), "\(facts)")
    }
}

/// The parsers on the committed fuzz seeds, built by hand from the kernel's structures: what they
/// must find there (the namespace tests above check the same parsers on the kernel's own bytes).
@Suite("Packet-filter parsers")
struct FirewallParserTests {
    @Test func legacySeedHoldsItsChains() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Repo.root + "/fuzz/corpus/firewall/legacy-filter")))
        let words: [UInt32] = (0..<10).map { (i: Int) -> UInt32 in
            let low = UInt32(bytes[2 + 2 * i]), high = UInt32(bytes[3 + 2 * i])
            return low | high << 8
        }
        let chains = try FirewallChains.legacy(
            name: "filter", validHooks: UInt32(bytes[1]), hookEntry: Array(words[0..<5]), underflow: Array(words[5..<10]), entries: Array(bytes[22...]))
        let seen: [String] = chains.map { (c: FirewallChain) -> String in "\(c.name) \(c.hook ?? "-") \(c.policy ?? "-") \(c.rules)" }
        #expect(seen == [
            "INPUT input accept 0", "FORWARD forward drop 1", "OUTPUT output accept 0", "DOCKER - - 1",
        ])
        // Cut anywhere, the table is an error, never a wrong answer or a crash.
        for cut in stride(from: 22, to: bytes.count, by: 7) {
            let parsed = try? FirewallChains.legacy(
                name: "filter", validHooks: UInt32(bytes[1]), hookEntry: Array(words[0..<5]), underflow: Array(words[5..<10]), entries: Array(bytes[22..<cut]))
            // A cut inside the entries is an error; only a cut in the final ERROR entry's padding may parse.
            let acceptable = parsed == nil || cut > bytes.count - 112
            #expect(acceptable, "cut at \(cut): \(String(describing: parsed))")
        }
    }
}
