import Foundation
import KCheckCore
import KCheckNative
import Testing

/// The live node's /proc/net/tcp and tcp6 come from the kernel's sock_diag (listening sockets
/// only, without the walk of the established hash): what they say is what the files say.
@Suite("Listening sockets from sock_diag")
struct SocketDiagTests {
    static func listening(_ bytes: [UInt8], ipv6: Bool) throws -> Set<String> {
        Set(try ProcNetTCP.listening(bytes, ipv6: ipv6).map { "\($0.address) \($0.port) \($0.inode)" })
    }

    @Test func theLiveNodeSaysWhatTheFilesSay() throws {
        for (path, ipv6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
            guard case .success(let file) = Posix.readFile(path, limit: 32 << 20, followSymlinks: false) else { continue }
            guard case .content(let live) = LiveNode().read(path, limit: 32 << 20) else {
                Issue.record("\(path): not read")
                continue
            }
            #expect(try Self.listening(live, ipv6: ipv6) == Self.listening(file, ipv6: ipv6), "\(path)")
            // Only listening sockets, each as the file shows it.
            #expect(String(decoding: live, as: UTF8.self).split(separator: "\n").dropFirst().allSatisfy { $0.split(separator: " ")[3] == "0A" })
        }
    }

    /// In a private network namespace with listeners on IPv4, IPv6 and a dual-stack socket:
    /// `ports.free` finds each with its program, and the files agree with sock_diag.
    @Test(.enabled(if: KernelNamespaceTests.canUnshare, "needs root and unshare(1)"))
    func listenersInAPrivateNamespace() throws {
        let script = """
            ip link set lo up
            python3 -c '
            import socket, sys, time
            a = socket.socket(); a.bind(("127.0.0.1", 6443)); a.listen()
            b = socket.socket(socket.AF_INET6); b.bind(("::1", 2379)); b.listen()
            c = socket.socket(socket.AF_INET6); c.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); c.bind(("::", 10250)); c.listen()
            d = socket.socket(); d.bind(("127.0.0.1", 7777)); d.listen(); e = socket.create_connection(("127.0.0.1", 7777)); f, _ = d.accept()
            print("ready", flush=True); time.sleep(20)' > /tmp/kcheck-diag.$$ &
            for i in $(seq 50); do grep -q ready /tmp/kcheck-diag.$$ && break; sleep 0.1; done
            "$1" preflight --only ports.free --color never
            echo "== files"; awk '$4=="0A"{print $2}' /proc/net/tcp /proc/net/tcp6 | sort
            kill $!; rm -f /tmp/kcheck-diag.$$
            """
        let r = try run("/usr/bin/unshare", ["-n", "--", "/bin/sh", "-c", script, "sh", Repo.kcheck])
        let out = r.stdout
        for held in ["127.0.0.1:6443 is held by python3", "[::1]:2379 is held by python3", "[::]:10250 is held by python3"] {
            #expect(out.contains(held), "\(held)\n\(out)\(r.stderr)")
        }
        // The established connection's ends are not listeners; the files list the same four.
        let files = out.components(separatedBy: "== files\n").last?.split(separator: "\n").map(String.init) ?? []
        #expect(files.count == 4, "\(files)")
    }
}
