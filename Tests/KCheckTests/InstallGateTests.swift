import Foundation
import KCheckCore
import Testing

/// The install gates' own parsers, on real input: this machine's socket tables against ss(8).
@Suite("install gates: parsers")
struct InstallGateTests {
    /// Root's login PATH as kcheck reads the files is the PATH bash itself builds from them: bash
    /// runs as a login shell in a private mount namespace with the tree's /etc/profile,
    /// /etc/profile.d and /root bound over this machine's (nothing outside the namespace changes).
    @Test("root's login PATH read from a tree's files is the PATH bash builds from them", arguments: [
        "centos7-prepared", "centos7-minimal", "debian12", "login-path-not-sourced", "login-path-shadowed", "layout-wrong",
    ])
    func loginPathIsBashs(fixture: String) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"), getuid() == 0 else { return }
        let tree = Repo.fixture(fixture)
        guard case .success(let ours) = LoginPath.read(TreeNode(root: tree)) else { throw TestFailure("\(fixture): not read") }
        var binds = "mount --bind \"$1/root\" /root && mount --bind \"$1/etc/profile\" /etc/profile"
        if FileManager.default.fileExists(atPath: tree + "/etc/profile.d") {
            binds += " && mount --bind \"$1/etc/profile.d\" /etc/profile.d"
        } else {
            binds += " && mount -t tmpfs none /etc/profile.d"
        }
        let r = try run("/usr/bin/unshare", [
            "-m", "--", "/bin/sh", "-c", binds + " && exec env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -l -c 'printf %s \"$PATH\"'",
            "sh", tree,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(ours.text == r.stdout, "\(fixture): kcheck \(ours.text), bash \(r.stdout) (files \(ours.files))")
    }

    @Test("/proc/net/tcp and tcp6 of this machine list the listeners ss lists")
    func socketTablesAgreeWithSS() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ss") else { return }
        var ours: Set<String> = []
        for (path, ipv6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            for socket in try ProcNetTCP.listening(Array(data), ipv6: ipv6) { ours.insert(socket.endpoint) }
        }
        let ss = try run("/usr/bin/ss", ["-Hltn"])
        // ss writes "*:22" for [::]:22 and "[::ffff:127.0.0.1]:80" for mapped addresses, and
        // %iface after link-local ones: compare ports and the plain addresses.
        var theirs: Set<String> = []
        for line in ss.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 4 else { continue }
            var local = String(fields[3])
            if local.hasPrefix("*:") { local = "[::]:" + local.dropFirst(2) }
            local = local.replacing(/%[^\]:]+/, with: "").replacing("[::ffff:", with: "").replacing(/\](:\d+)$/, with: { "\($0.output.1)" })
            if local.hasPrefix("["), !local.dropFirst().contains("]") { local = String(local.dropFirst()) }
            theirs.insert(local)
        }
        #expect(ours.map { $0.split(separator: ":").last! }.sorted() == theirs.map { $0.split(separator: ":").last! }.sorted(), "ours \(ours.sorted()), ss \(theirs.sorted())")
        #expect(ours.filter { !$0.hasPrefix("[") }.isSubset(of: theirs), "ours \(ours.sorted()), ss \(theirs.sorted())")
    }

    @Test("the kernel's socket tables read in one read where they fit (no second walk of every bucket) are read whole")
    func tablesReadWhole() throws {
        // The files themselves (a tree's, and the live node's fallback): the live node asks
        // sock_diag for the TCP tables (SocketDiagTests).
        let node = RootedFiles(root: "/")
        for path in ["/proc/net/tcp", "/proc/net/tcp6", "/proc/net/unix"] {
            // Sockets come and go between two reads (the suite's own ssh tests open dozens): the
            // header must match, and the line counts agree within 2 in one of five tries.
            var seen: [(Int, Int)] = []
            for _ in 0..<5 {
                guard let data = FileManager.default.contents(atPath: path) else { break }
                guard case .content(let bytes) = node.read(path, limit: 32 << 20) else { Issue.record("\(path) unreadable"); break }
                #expect(Array(bytes.prefix(60)) == Array(data.prefix(60)), "\(path)")
                let ours = bytes.filter { $0 == 10 }.count, theirs = data.filter { $0 == 10 }.count
                seen.append((ours, theirs))
                if abs(ours - theirs) <= 2 { break }
            }
            #expect(seen.isEmpty || seen.contains { abs($0.0 - $0.1) <= 2 }, "\(path): lines read by kcheck and by Foundation: \(seen)")
        }
    }

    @Test("/proc/net/ip_vs: services with their servers, firewall marks left out, IPv6 in brackets, a bad line named")
    func ipvsTable() throws {
        let table = try IPVSTable.parse(Array("""
            IP Virtual Server version 1.2.1 (size=4096)
            Prot LocalAddress:Port Scheduler Flags
              -> RemoteAddress:Port Forward Weight ActiveConn InActConn
            TCP  0AFE0001:01BB rr
              -> C0A807C8:192B      Masq    1      0          0
              -> C0A807C9:192B      Masq    1      3          1
            FWM  00000001 wlc
              -> C0A807CA:0050      Route   1      0          0
            UDP  [FD00:0000:0000:0000:0000:0000:0000:000A]:0035 sh
            """.utf8))
        #expect(table.services.map(\.endpoint) == ["TCP 10.254.0.1:443 rr", "UDP fd00:0000:0000:0000:0000:0000:0000:000a:53 sh"])
        #expect(table.services[0].servers.map { "\($0.address):\($0.port)" } == ["192.168.7.200:6443", "192.168.7.201:6443"])
        #expect(throws: SyntaxError.self) { try IPVSTable.parse(Array("h\nh\nh\nTCP nothex rr\n".utf8)) }
        #expect(throws: SyntaxError.self) { try IPVSTable.parse(Array("h\nh\nh\n  -> C0A807C8:192B Masq 1 0 0\n".utf8)) }
    }

    @Test("addresses as people write them; only LISTEN counts; a bad line is line:col")
    func socketTableDetails() throws {
        let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        let tail = " 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n"
        let v6 = header
            + "   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A" + tail
            + "   1: 00000000000000000000000001000000:1A0A 00000000000000000000000000000000:0000 0A" + tail
            + "   2: 0000000000000000FFFF00000100007F:2382 00000000000000000000000000000000:0000 0A" + tail
            + "   3: 000080FE00000000FF3F0A0211FF0BFE:1F90 00000000000000000000000000000000:0000 0A" + tail
            + "   4: 00000000000000000000000001000000:1A0B 00000000000000000000000001000000:D431 01" + tail
        let sockets = try ProcNetTCP.listening(Array(v6.utf8), ipv6: true)
        #expect(sockets.map(\.endpoint) == ["[::]:22", "[::1]:6666", "127.0.0.1:9090", "[fe80::20a:3fff:fe0b:ff11]:8080"])
        #expect(sockets.allSatisfy { $0.inode == 4242 } && sockets[0].isWildcard && !sockets[1].isWildcard)
        let v4 = header + "   0: 0100007F:20FB 00000000:0000 0A" + tail + "   1: C807A8C0:0016 0100A8C0:C350 01" + tail
        #expect(try ProcNetTCP.listening(Array(v4.utf8), ipv6: false).map(\.endpoint) == ["127.0.0.1:8443"])
        #expect(try ProcNetTCP.listening(Array(header.utf8), ipv6: false).isEmpty)
        #expect(try ProcNetTCP.listening([], ipv6: false).isEmpty)
        for (bad, line, column, words) in [
            (header + "   0: 0100007F:20FB 00000000:0000 0A 0\n", 2, 39, "expected 10 fields"),
            (header + "   0: 0100007G:20FB 00000000:0000 0A" + tail, 2, 7, "expected an address in hex"),
            (header + "   0: 0100007F20FB0 00000000:0000 0A" + tail, 2, 7, "hex digits, a colon"),
            (header + "   0: 0100007F:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42x 1\n", 2, 92, "expected an inode number"),
        ] {
            do throws(SyntaxError) {
                _ = try ProcNetTCP.listening(Array(bad.utf8), ipv6: false)
                Issue.record("accepted: \(bad)")
            } catch {
                #expect(error.line == line && error.column == column && error.message.contains(words), "\(error) \(line):\(column)")
            }
        }
    }
}

/// The capacity and cgroup gates on this machine, read-only, against what the system's own tools say.
@Suite("install gates: this machine")
struct InstallGateLiveTests {
    @Test("CPUs, memory and the cgroup version as getconf, /proc/meminfo and stat -f say")
    func capacityAsTheSystemSays() throws {
        let r = try kcheck("preflight", "--only", "capacity.cpus,capacity.memory,cgroup.v1", "--format", "json")
        let results = try jsonResults(r.stdout)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let actual = Dictionary(uniqueKeysWithValues: (object?["results"] as? [[String: Any]] ?? []).map { ($0["id"] as? String ?? "", $0["actual"] as? String ?? "") })
        let cpus = try run("/usr/bin/getconf", ["_NPROCESSORS_ONLN"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(actual["capacity.cpus"]?.hasPrefix("\(cpus) CPU") == true, "\(actual)")
        #expect(results["capacity.cpus"]?.status == (Int(cpus)! >= 2 ? "pass" : "fail"))
        let meminfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let kb = Int(meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }!.split(separator: " ")[1])!
        #expect(actual["capacity.memory"] == "\(kb / 1024) MiB", "\(actual)")
        let fsType = try run("/usr/bin/stat", ["-f", "-c", "%T", "/sys/fs/cgroup"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(results["cgroup.v1"]?.status == (fsType == "cgroup2fs" ? "fail" : "pass"), "\(fsType): \(actual)")
    }
}

/// Unit files and command lines as systemd reads them, for the running-cluster rules.
@Suite("running rules: unit files as systemd reads them")
struct UnitParsingTests {
    @Test("continuations, comments inside them, quotes, escapes, prefixes, drop-ins and ExecStart resets")
    func execStartAsSystemdSplitsIt() throws {
        let unit = """
            [Unit]
            Description=x
            [Service]
            ExecStart=/bad
            ExecStart=
            ExecStart=-/opt/k8s/bin/kube-apiserver \\
            # a comment line inside the value is dropped
              --insecure-port=0\\
              --name="a b" 'c d' e\\sf \\
              --client-cert-auth \\
              --v 2
            """
        let parsed = SystemdUnit.parse(Array(unit.utf8), path: "/u.service")
        let starts = parsed.assignments.filter { $0.key == "ExecStart" }
        #expect(starts.map(\.value.isEmpty) == [false, true, false] && starts[2].location.line == 6)
        let argv = try ExecCommand.split(starts[2].value)
        #expect(argv == ["/opt/k8s/bin/kube-apiserver", "--insecure-port=0", "--name=a b", "c d", "e f", "--client-cert-auth", "--v", "2"], "\(argv)")
        let flags = ComponentFlags(argv: argv)
        #expect(flags.value("insecure-port") == "0" && flags.value("client-cert-auth") == "true" && flags.value("v") == "2")
        #expect(flags.value("name") == "a b" && flags.value("absent") == nil)
        #expect(throws: SyntaxError.self) { try ExecCommand.split("/bin/x \"open") }
        #expect(throws: SyntaxError.self) { try ExecCommand.split("/bin/x trailing\\") }
    }

    @Test("a drop-in's ExecStart= resets the unit's; the guide's L5 line (no space before the backslash) reads as systemd reads it")
    func dropInsAndTheGuidesL5() throws {
        let (dir, root) = try copyOfFixture("guide-complete")
        defer { withExtendedLifetime(dir) {} }
        // L5: "--use-service-account-credentials\" then "--concurrent-service-syncs=2": two flags.
        let before = try kcheck("preflight", "--root", root, "--only", "controller-manager.insecure-port", "--format", "json")
        #expect(try jsonResults(before.stdout)["controller-manager.insecure-port"]?.status == "pass", "\(before.stdout)")
        try FileManager.default.createDirectory(atPath: root + "/etc/systemd/system/kube-controller-manager.service.d", withIntermediateDirectories: true)
        try "[Service]\nExecStart=\nExecStart=/opt/k8s/bin/kube-controller-manager --port=10252\n".write(
            toFile: root + "/etc/systemd/system/kube-controller-manager.service.d/override.conf", atomically: false, encoding: .utf8)
        let after = try kcheck("preflight", "--root", root, "--only", "controller-manager.insecure-port", "--format", "json")
        let result = try jsonResults(after.stdout)["controller-manager.insecure-port"]
        #expect(result?.status == "fail" && result?.message.contains("override.conf:3") == true, "\(after.stdout)")
    }
}
