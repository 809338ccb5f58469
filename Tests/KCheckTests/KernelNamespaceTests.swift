import Foundation
import Testing

/// The live node against the real kernel, inside a private network namespace: network sysctls
/// are per namespace, so the test sets them there and this machine's own settings never change.
@Suite("Live node in a private network namespace")
struct KernelNamespaceTests {
    static let canUnshare: Bool = {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { return false }
        return (try? run("/usr/bin/unshare", ["-n", "--", "/bin/true"]).status) == 0
    }()

    /// Runs kcheck in a new network namespace after writing `value` to a network sysctl there.
    func kcheckInNamespace(key: String, value: String, _ arguments: [String]) throws -> Run {
        let procPath = "/proc/sys/" + key.replacingOccurrences(of: ".", with: "/")
        // The shell script is a constant; the path and value travel as arguments, never as code.
        let script = #"printf '%s\n' "$1" > "$2" && shift 2 && exec "$@""#
        return try run("/usr/bin/unshare", ["-n", "--", "/bin/sh", "-c", script, "sh", value, procPath, Repo.kcheck] + arguments)
    }

    @Test(.enabled(if: canUnshare, "needs root and unshare(1)"))
    func runningValueComesFromTheRealKernel() throws {
        let host = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let other = host == "1" ? "0" : "1"
        let r = try kcheckInNamespace(
            key: "net.ipv4.ip_forward", value: other,
            ["preflight", "--only", "sysctl.net.ipv4.ip_forward", "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
        let result = try #require((object["results"] as? [[String: Any]])?.first)
        #expect((result["actual"] as? String)?.hasPrefix("running \(other);") == true, "\(result)")
        #expect(r.status == (result["status"] as? String == "pass" ? 0 : 1))
        // The host's value is untouched.
        let after = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(after == host)
    }

    @Test(.enabled(if: canUnshare, "needs root and unshare(1)"))
    func aRightRunningValueStillFailsWhenNotPersisted() throws {
        // In the namespace IPv6 is disabled now, but unless this machine's sysctl files say so, it
        // will not be after a reboot: kcheck must say exactly that.
        let r = try kcheckInNamespace(
            key: "net.ipv6.conf.all.disable_ipv6", value: "1",
            ["preflight", "--only", "sysctl.net.ipv6.conf.all.disable_ipv6", "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
        let result = try #require((object["results"] as? [[String: Any]])?.first)
        let actual = try #require(result["actual"] as? String)
        #expect(actual.hasPrefix("running 1;"))
        if actual.hasSuffix("after reboot not set in any sysctl file") {
            #expect(result["status"] as? String == "fail")
            #expect((result["message"] as? String)?.contains("lost at reboot") == true)
            #expect(r.status == 1)
        }
    }
}

/// The hostname rule on the live node, with a real interface: a private network, UTS and mount
/// namespace holds a veth interface with a node's address, its own hostname and its own /sys.
@Suite("Inventory rules on the live node in private namespaces")
struct LiveInventoryNamespaceTests {
    static let canCreateInterfaces: Bool = {
        guard KernelNamespaceTests.canUnshare, FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")
            || FileManager.default.isExecutableFile(atPath: "/sbin/ip")
        else { return false }
        let probe = try? run("/usr/bin/unshare", ["-n", "--", "/bin/sh", "-c", "ip link add kc0 type veth peer name kc1"])
        return probe?.status == 0
    }()

    func hostnameRule(address: String, hostname: String) throws -> [String: Any] {
        let dir = try TemporaryDirectory()
        let env = try dir.write(
            "environment.sh",
            try String(contentsOfFile: Repo.root + "/fixtures/files/../nodes/centos7-prepared/opt/k8s/bin/environment.sh", encoding: .utf8)
                .replacingOccurrences(of: "export IFACE=eth0", with: "export IFACE=kc0"))
        // A constant script; interface, address and hostname travel as arguments.
        let script = #"""
            ip link add "$1" type veth peer name "$1p" && ip addr add "$2" dev "$1" && ip link set "$1" up \
              && mount -t sysfs sysfs /sys && printf '%s\n' "$3" > /proc/sys/kernel/hostname && shift 3 && exec "$@"
            """#
        let r = try run(
            "/usr/bin/unshare",
            ["-n", "-u", "-m", "--", "/bin/sh", "-c", script, "sh", "kc0", address, hostname, Repo.kcheck,
             "preflight", "--env", env, "--only", "inventory.hostname", "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
        return try #require((object["results"] as? [[String: Any]])?.first)
    }

    @Test(.enabled(if: canCreateInterfaces, "needs root, unshare(1), ip(8) and veth"))
    func theRightHostnamePasses() throws {
        let result = try hostnameRule(address: "192.168.7.201/24", hostname: "k8s-node02")
        #expect(result["status"] as? String == "pass", "\(result)")
        #expect(result["expected"] as? String == "hostname k8s-node02 (192.168.7.201 on kc0)")
    }

    @Test(.enabled(if: canCreateInterfaces, "needs root, unshare(1), ip(8) and veth"))
    func aWrongHostnameFailsWithTheFix() throws {
        let result = try hostnameRule(address: "192.168.7.200/24", hostname: "localhost")
        #expect(result["status"] as? String == "fail")
        #expect((result["message"] as? String)?.contains("hostnamectl set-hostname k8s-node01") == true, "\(result)")
    }

    @Test(.enabled(if: canCreateInterfaces, "needs root, unshare(1), ip(8) and veth"))
    func aNodeOutsideTheInventoryFails() throws {
        let result = try hostnameRule(address: "10.9.9.9/24", hostname: "k8s-node01")
        #expect(result["status"] as? String == "fail")
        #expect(result["actual"] as? String == "kc0: 10.9.9.9")
    }
}

/// `kcheck fix` and `kcheck undo` on the live node against the real kernel: in private network
/// and mount namespaces, where the network sysctls are the namespace's own and /etc/sysctl.d and
/// /var/lib are empty tmpfs mounts, so nothing of this machine changes.
@Suite("kcheck fix on the real kernel in private namespaces")
struct LiveFixNamespaceTests {
    static let canUnshare: Bool = {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { return false }
        return (try? run("/usr/bin/unshare", ["-n", "-m", "--", "/bin/sh", "-c", "mount -t tmpfs kcheck-probe /mnt"]).status) == 0
    }()

    static let rules = "sysctl.net.ipv4.ip_forward,sysctl.net.ipv6.conf.all.disable_ipv6"

    @Test(.enabled(if: canUnshare, "needs root, unshare(1) and mount"))
    func fixWritesTheNamespacesKernelAndUndoRestoresIt() throws {
        let hostValues = try ["net/ipv4/ip_forward", "net/ipv6/conf/all/disable_ipv6"].map {
            try String(contentsOfFile: "/proc/sys/" + $0, encoding: .utf8)
        }
        let hostSysctlD = try FileManager.default.contentsOfDirectory(atPath: "/etc/sysctl.d").sorted()
        let hostState = FileManager.default.fileExists(atPath: "/var/lib/kcheck")
        let out = try TemporaryDirectory()
        // A constant script; kcheck's path, the rules and the output directory travel as arguments.
        let script = #"""
            set -e
            kcheck=$1 rules=$2 out=$3
            mount -t tmpfs kcheck-sysctl.d /etc/sysctl.d
            mount -t tmpfs kcheck-var-lib /var/lib
            if [ -e /etc/sysctl.conf ]; then cp /etc/sysctl.conf "$out/sysctl.conf"; mount --bind "$out/sysctl.conf" /etc/sysctl.conf; fi
            echo 0 > /proc/sys/net/ipv4/ip_forward
            echo 0 > /proc/sys/net/ipv6/conf/all/disable_ipv6
            "$kcheck" fix --yes --only "$rules" > "$out/fix.txt" 2>&1 || echo "exit $?" >> "$out/fix.txt"
            cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/disable_ipv6 > "$out/after-fix"
            cat /etc/sysctl.d/* > "$out/sysctl.d"
            "$kcheck" fix --yes --only "$rules" > "$out/fix2.txt" 2>&1 || echo "exit $?" >> "$out/fix2.txt"
            "$kcheck" undo --yes > "$out/undo.txt" 2>&1 || echo "exit $?" >> "$out/undo.txt"
            cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/disable_ipv6 > "$out/after-undo"
            ls -A /etc/sysctl.d > "$out/sysctl.d-after-undo"
            "$kcheck" preflight --only "$rules" --format json > "$out/preflight.json" || true
            """#
        let r = try run("/usr/bin/unshare", ["-n", "-m", "--", "/bin/sh", "-c", script, "sh", Repo.kcheck, Self.rules, out.path])
        #expect(r.status == 0, "\(r.stderr)")
        func read(_ name: String) throws -> String { try String(contentsOfFile: out.path + "/" + name, encoding: .utf8) }
        let fix = try read("fix.txt")
        #expect(!fix.contains("exit "), "\(fix)")
        #expect(fix.contains("net.ipv4.ip_forward: 0 → 1") && fix.contains("net.ipv6.conf.all.disable_ipv6: 0 → 1"), "\(fix)")
        #expect(try read("after-fix") == "1\n1\n")
        #expect(try read("sysctl.d").contains("net.ipv4.ip_forward = 1\nnet.ipv6.conf.all.disable_ipv6 = 1\n"))
        let fix2 = try read("fix2.txt"), undo = try read("undo.txt")
        #expect(fix2.hasPrefix("Nothing to change"), "\(fix2)")
        #expect(undo.contains("Restored run"), "\(undo)")
        #expect(try read("after-undo") == "0\n0\n")
        #expect(try read("sysctl.d-after-undo") == "")
        // This machine: the same kernel values, sysctl files and state directory as before.
        let after = try ["net/ipv4/ip_forward", "net/ipv6/conf/all/disable_ipv6"].map { try String(contentsOfFile: "/proc/sys/" + $0, encoding: .utf8) }
        #expect(after == hostValues)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "/etc/sysctl.d").sorted() == hostSysctlD)
        #expect(FileManager.default.fileExists(atPath: "/var/lib/kcheck") == hostState)
    }
}
