import Foundation
import KCheckCore
import KCheckNative
import Testing

/// kcheck under a generous watchdog: a hang shows as exit 124 from timeout(1), never as a stuck
/// test run. (No timed assertion: the watchdog only bounds what would otherwise never end.)
func watched(_ arguments: [String], seconds: Int = 300) throws -> Run {
    try run("/usr/bin/timeout", ["-s", "KILL", String(seconds), Repo.kcheck] + arguments, environment: testCache)
}

/// The report's JSON entries as rule id → (status, message).
func jsonResults(_ json: String) throws -> [String: (status: String, message: String)] {
    let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
    var out: [String: (String, String)] = [:]
    for result in object?["results"] as? [[String: Any]] ?? [] {
        let id = result["id"] as? String ?? ""
        out[id] = (result["status"] as? String ?? "", result["message"] as? String ?? "")
    }
    return out
}

/// Issue 13: hostile and huge input ends by itself, with exit 0, 1 or 2 and the truth in its message.
@Suite("hostile and huge input")
struct HostileInputTests {
    static let environment = "opt/k8s/bin/environment.sh"

    @Test("a doubling environment.sh (A=$A$A x40) and 500,000 array appends are bounded, with file:line")
    func shellExpansionIsBounded() throws {
        let doubling = "A=xxxxxxxxxxxxxxxx\n" + String(repeating: "A=$A$A\n", count: 40)
        let appends = String(repeating: "A+=(x)\n", count: 500_000)
        for (text, line, words) in [(doubling, 18, "longer than 1 MiB"), (appends, 100_001, "more than 100000 items")] {
            let (dir, root) = try copyOfFixture("debian12")
            try text.write(toFile: root + "/" + Self.environment, atomically: false, encoding: .utf8)
            let report = try watched(["preflight", "--root", root, "--format", "json"])
            #expect(report.status == 1, "\(report.stderr)")
            let results = try jsonResults(report.stdout)
            let lint = try #require(results["inventory.lint-clean"])
            #expect(lint.status == "fail")
            #expect(lint.message.contains("/opt/k8s/bin/environment.sh:\(line):") && lint.message.contains(words), "\(lint.message)")
            #expect(results["inventory.hostname"]?.status == "error")
            let env = try watched(["lint", "--env", root + "/" + Self.environment, "--root", root])
            #expect(env.status == 2)
            #expect(env.stderr.contains("environment.sh:\(line):") && env.stderr.contains(words), "\(env.stderr)")
            _ = dir
        }
    }

    @Test("an environment.sh that cannot be read is an error with the reason, never 'absent'; lint --root says so too")
    func unreadableEnvironmentIsAnError() throws {
        for kind in ["fifo", "directory", "too large"] {
            let (dir, root) = try copyOfFixture("debian12")
            let path = root + "/" + Self.environment
            try FileManager.default.removeItem(atPath: path)
            switch kind {
            case "fifo": #expect(mkfifo(path, 0o644) == 0)
            case "directory": try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            default: try Data(repeating: UInt8(ascii: "#"), count: (4 << 20) + 10).write(to: URL(fileURLWithPath: path))
            }
            let report = try watched(["preflight", "--root", root, "--format", "json"])
            #expect(report.status == 1, "\(kind): \(report.stderr)")
            let results = try jsonResults(report.stdout)
            #expect(results["inventory.lint-clean"]?.status == "error", "\(kind)")
            #expect(results["inventory.lint-clean"]?.message.contains("cannot be read") == true)
            #expect(!(results["inventory.lint-clean"]?.message.contains("No /opt/k8s/bin/environment.sh") ?? true))
            #expect(results["inventory.hosts"]?.status == "error", "\(kind)")
            let lint = try watched(["lint", "--root", root, "--format", "json"])
            #expect(lint.status == 1)
            let readable = try jsonResults(lint.stdout)["lint.readable"]
            #expect(readable?.status == "error", "\(kind): \(lint.stdout.prefix(400))")
            _ = dir
        }
    }

    @Test("a 60,000-line ad-block /etc/hosts is judged (linear), and its blocking lines are no finding")
    func longHostsFile() throws {
        let (dir, root) = try copyOfFixture("debian12")
        let hosts = root + "/etc/hosts"
        var text = try String(contentsOfFile: hosts, encoding: .utf8)
        for i in 0..<60_000 { text += "0.0.0.0 ad\(i).example.com\n" }
        try text.write(toFile: hosts, atomically: false, encoding: .utf8)
        let report = try watched(["preflight", "--root", root, "--format", "json"], seconds: 120)
        #expect(report.status == 0, "\(report.stdout.prefix(2000))")
        #expect(try jsonResults(report.stdout)["inventory.hosts"]?.status == "pass")
        let lint = try watched(["lint", "--root", root], seconds: 120)
        #expect(lint.status == 0, "\(lint.stdout.prefix(2000))")
        _ = dir
    }

    @Test("a 4 MiB junk hosts file: the first 100 findings and one that counts the rest")
    func findingsAreBoundedPerFile() throws {
        let dir = try TemporaryDirectory()
        var junk = ""
        for i in 0..<20_000 { junk += "junk line \(i) \u{1B}[2J\r\n" }
        let file = try dir.write("hosts", junk)
        let lint = try watched(["lint", "--kind", "hosts", file, "--format", "json"])
        #expect(lint.status == 1)
        let object = try JSONSerialization.jsonObject(with: Data(lint.stdout.utf8)) as? [String: Any]
        let results = object?["results"] as? [[String: Any]] ?? []
        #expect(results.count == Linter.maxFindingsPerFile + 1)
        let more = try #require(results.last)
        #expect(more["id"] as? String == "lint.more")
        #expect((more["message"] as? String ?? "").contains("and 19900 more findings"), "\(more)")
        // The text form shows the junk's escape sequences visibly, never raw.
        let text = try watched(["lint", "--kind", "hosts", file])
        #expect(!text.stdout.contains("\u{1B}") && !text.stdout.contains("\r"))
        #expect(text.stdout.contains("\\x1b[2J"))
    }

    @Test("escape sequences in a node's hostname and os-release are shown visibly in every human format")
    func controlCharactersAreVisible() throws {
        let (dir, root) = try copyOfFixture("debian12")
        try "evil\u{1B}]0;owned\u{07}\u{1B}[31m\n".write(toFile: root + "/proc/sys/kernel/hostname", atomically: false, encoding: .utf8)
        var release = try String(contentsOfFile: root + "/etc/os-release", encoding: .utf8)
        release = release.replacingOccurrences(of: "PRETTY_NAME=", with: "PRETTY_NAME=\"Debian\u{1B}[2J\r\u{202E}\"\nX=")
        try release.write(toFile: root + "/etc/os-release", atomically: false, encoding: .utf8)
        for format in ["text", "markdown", "html", "junit"] {
            let out = try watched(["preflight", "--root", root, "--format", format])
            #expect(out.status == 0 || out.status == 1)
            for raw in ["\u{1B}", "\u{07}", "\r", "\u{202E}"] { #expect(!out.stdout.contains(raw), "\(format) holds \(raw.unicodeScalars.first!.value)") }
            #expect(out.stdout.contains("evil\\x1b]0;owned\\x07\\x1b[31m"), "\(format): \(out.stdout.prefix(600))")
        }
        let json = try watched(["preflight", "--root", root, "--format", "json"])
        #expect(json.stdout.contains(#"evil\u001b]0;owned\u0007\u001b[31m"#), "JSON keeps the truth, escaped: \(json.stdout.prefix(600))")
        #expect(visible("a\u{1B}b\tc\nd\u{9B}", singleLine: true) == "a\\x1bb\tc\\nd\\x9b")
        _ = dir
    }

    @Test("IPv4 addresses are parsed strictly, byte by byte")
    func ipv4Parsing() {
        for good in ["192.168.7.201", "0.0.0.0", "255.255.255.255", "10.0.0.1"] { #expect(IPv4(good)?.description == good) }
        for bad in ["01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "1.2.3.4 ", "", "1.2.3.", ".1.2.3", "1.2.3.4x", "١.2.3.4", "1.2.3.0004", "99999999999999999999.1.1.1"] {
            #expect(IPv4(bad) == nil, "\(bad)")
        }
        #expect(IPv4("192.168.7.201")?.value == 0xC0A8_07C9)
    }

    @Test("no ENCRYPTION_KEY or BOOTSTRAP_TOKEN value in any output: computed around a literal, or in /root/.bashrc's plan diff")
    func secretsNeverPrinted() throws {
        let key = "Zm9vYmFyYmF6cXV4cXV1eHh4eHh4eHh4eHh4eHh4eHh4eHg="
        let (dir, root) = try copyOfFixture("centos7-minimal")
        try FileManager.default.createDirectory(atPath: root + "/opt/k8s/bin", withIntermediateDirectories: true)
        let env = try String(contentsOfFile: Repo.fixture("debian12") + "/" + Self.environment, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("export ENCRYPTION_KEY=") ? "export ENCRYPTION_KEY=\"\(key)$(true)\"" : String($0) }.joined(separator: "\n")
        try env.write(toFile: root + "/" + Self.environment, atomically: false, encoding: .utf8)
        let bashrc = root + "/root/.bashrc"
        let old = (try? String(contentsOfFile: bashrc, encoding: .utf8)) ?? ""
        try (old + "export ENCRYPTION_KEY=\"GgQtyzzHnARQUJLh+D/ReqeFpRptTuvdw1CxdmZcynY=\"\nexport BOOTSTRAP_TOKEN=34e544f507e1e2329f926a18bd5633dd\n")
            .write(toFile: bashrc, atomically: false, encoding: .utf8)
        var outputs: [String] = []
        for arguments in [["lint", "--root", root], ["preflight", "--root", root], ["preflight", "--root", root, "--format", "json"], ["fix", "--dry-run", "--root", root]] {
            let out = try watched(arguments)
            outputs.append(out.stdout + out.stderr)
        }
        for out in outputs {
            for secret in [key, "GgQtyzzHnARQUJLh", "34e544f507e1e2329f926a18bd5633dd"] { #expect(!out.contains(secret), "\(out.prefix(3000))") }
        }
        #expect(outputs[0].contains("computed around literal text (not shown"))
        // A snapshot holds neither the computed key nor root's own export of it.
        let snapshot = dir.path + "/snapshot"
        let saved = try watched(["snapshot", "--root", root, "-o", snapshot])
        #expect(saved.status == 0, "\(saved.stderr)")
        let held = try run("/bin/grep", ["-rlF", "-e", key, "-e", "GgQtyzzHnARQUJLh", "-e", "34e544f507e1e2329f926a18bd5633dd", snapshot]).stdout
        #expect(held.isEmpty, "the snapshot holds a secret: \(held)")
        // A secret used as another variable's value never reaches a report through it.
        let leaky = env.replacingOccurrences(of: "export IFACE=eth0", with: "export IFACE=\"$ENCRYPTION_KEY\"")
            .replacingOccurrences(of: "export ENCRYPTION_KEY=\"\(key)$(true)\"", with: "export ENCRYPTION_KEY=\"\(key)\"")
        try leaky.write(toFile: root + "/" + Self.environment, atomically: false, encoding: .utf8)
        for arguments in [["lint", "--root", root], ["preflight", "--root", root, "--format", "json"], ["fix", "--dry-run", "--root", root]] {
            let out = try watched(arguments)
            #expect(!(out.stdout + out.stderr).contains(key), "\(arguments)")
        }
        #expect(outputs[3].contains("export ENCRYPTION_KEY=\"[redacted ENCRYPTION_KEY]\"") && outputs[3].contains("+export PATH=/opt/k8s/bin:$PATH"))
        _ = dir
    }

    @Test("paths the operator gives follow symlinks, as any Unix tool does")
    func operatorPathsFollowSymlinks() throws {
        let dir = try TemporaryDirectory()
        try dir.mkdir("real/reports")
        try dir.symlink("link", to: dir.path + "/real")
        let env = try dir.write("real/env.sh", try String(contentsOfFile: Repo.fixture("debian12") + "/" + Self.environment, encoding: .utf8))
        try dir.symlink("env-link.sh", to: env)
        let tree = Repo.fixture("debian12")
        #expect(try watched(["lint", dir.path + "/env-link.sh"]).status == 0)
        #expect(try watched(["preflight", "--root", tree, "--env", dir.path + "/env-link.sh"]).status == 0)
        _ = try run("/bin/cp", ["-a", Repo.rules, dir.path + "/real/rules"])
        let rules = try watched(["preflight", "--root", tree, "--rules", dir.path + "/link/rules"])
        #expect(rules.status == 0, "\(rules.stderr)")
        let audit = try watched(["audit", "--root", tree, "--reports-dir", dir.path + "/link/reports", "--prometheus", dir.path + "/link/kcheck.prom"])
        #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.path + "/real/reports/latest.json"))
        #expect(FileManager.default.fileExists(atPath: dir.path + "/real/kcheck.prom"))
    }

    @Test("a snapshot is written whole or not at all, and a recording's paths are bounded in depth")
    func snapshotsAreAtomic() throws {
        let dir = try TemporaryDirectory()
        let out = dir.path + "/snap"
        let failed = try watched(["snapshot", "kcheck-no-such-host.invalid", "-o", out], seconds: 120)
        #expect(failed.status != 0)
        #expect(!FileManager.default.fileExists(atPath: out), "a failed snapshot left \(out)")
        let made = try watched(["snapshot", "--root", Repo.fixture("debian12"), "-o", out])
        #expect(made.status == 0, "\(made.stderr)")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(left == ["snap"], "\(left)")
        #expect(try watched(["preflight", "--root", out]).status == 0)
        var deep = Recording()
        deep.entries["/" + Array(repeating: "a", count: 65).joined(separator: "/")] = .directory
        #expect(throws: Recording.Problem.self) { _ = try Recording.decode(deep.encoded()[...]) }
        var shallow = Recording()
        shallow.entries["/" + Array(repeating: "a", count: 64).joined(separator: "/")] = .directory
        #expect(try Recording.decode(shallow.encoded()[...]).entries.count == 1)
    }

    @Test("a cluster run stopped by SIGTERM or SIGINT removes its temporary directories and stops ssh")
    func signalsRemoveTemporaryDirectories() throws {
        for signal in [SIGTERM, SIGINT] {
            let dir = try TemporaryDirectory()
            try dir.mkdir("tmp")
            // ssh waits for a proxy that never answers: the run is stopped mid-collection.
            let config = try dir.write("ssh_config", "Host *\n  ProxyCommand /bin/sleep 120\n")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Repo.kcheck)
            process.arguments = ["preflight", "--hosts", "node-a,node-b", "--ssh-config", config]
            process.environment = ProcessInfo.processInfo.environment.merging(testCache.merging(["TMPDIR": dir.path + "/tmp"]) { $1 }) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            var seen: [String] = []
            for _ in 0..<600 where seen.isEmpty {
                usleep(100_000)
                seen = (try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/tmp")) ?? []
            }
            try #require(!seen.isEmpty, "kcheck made no temporary directory")
            usleep(500_000)
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == signal, "\(process.terminationReason) \(process.terminationStatus)")
            let left = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/tmp")
            #expect(left.isEmpty, "signal \(signal) left \(left)")
            let ssh = try run("/usr/bin/pgrep", ["-f", "ssh -F \(config)"])
            #expect(ssh.stdout.isEmpty, "ssh still runs: \(ssh.stdout)")
        }
    }

    @Test("a FIFO where a file is expected is refused at once, on every path kcheck reads")
    func fifosAreNeverWaitedOn() throws {
        let dir = try TemporaryDirectory()
        let fifo = dir.path + "/fifo"
        #expect(mkfifo(fifo, 0o644) == 0)
        let tree = Repo.fixture("debian12")
        for arguments in [["report", fifo], ["lint", fifo], ["preflight", "--root", tree, "--env", fifo], ["preflight", "--hosts", "n1", "--ssh-config", fifo]] {
            let r = try watched(arguments, seconds: 60)
            #expect(r.status == 2, "\(arguments): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("fifo"), "\(arguments): \(r.stderr)")
        }
        // A rule directory with a FIFO named like a rule file.
        _ = try run("/bin/cp", ["-a", Repo.rules, dir.path + "/rules"])
        #expect(mkfifo(dir.path + "/rules/zz.yaml", 0o644) == 0)
        let rules = try watched(["preflight", "--root", tree, "--rules", dir.path + "/rules"], seconds: 60)
        #expect(rules.status == 2 && rules.stderr.contains("zz.yaml"), "\(rules.status) \(rules.stderr)")
        // An audit whose previous report is a FIFO: never blocked, and never taken for a first
        // audit (its drift would be lost): exit 2 with the reason.
        try dir.mkdir("reports")
        #expect(mkfifo(dir.path + "/reports/kcheck-audit-20260101T000000Z-000.json", 0o644) == 0)
        try dir.symlink("reports/latest.json", to: "kcheck-audit-20260101T000000Z-000.json")
        let audit = try watched(["audit", "--root", tree, "--reports-dir", dir.path + "/reports"], seconds: 60)
        #expect(audit.status == 2 && audit.stderr.contains("the previous audit cannot be read"), "\(audit.status) \(audit.stderr)")
        #expect(!audit.stdout.contains("First audit"))
        // A unit file, os-release or localtime that is a FIFO: an error with the reason, never
        // "not installed", "no os-release" or a wrong zone.
        for (path, rule, words) in [
            ("etc/systemd/system/kubelet.service", "kubelet.read-only-port", "is not a regular file"),
            ("etc/os-release", "service.chronyd", "/etc/os-release cannot be read"),
            ("etc/localtime", "time.timezone", "/etc/localtime"),
            // A unit whose environment may set a proxy: could not check, never "no proxy set".
            ("etc/systemd/system/containerd.service", "proxy.no-proxy", "is not a regular file"),
        ] {
            let (copy, root) = try copyOfFixture("guide-complete")
            try? FileManager.default.removeItem(atPath: root + "/" + path)
            #expect(mkfifo(root + "/" + path, 0o644) == 0)
            let r = try watched(["preflight", "--root", root, "--only", rule, "--format", "json"], seconds: 60)
            let result = try jsonResults(r.stdout)[rule]
            #expect(result?.status == "error" && result?.message.contains(words) == true, "\(path): \(String(describing: result))")
            _ = copy
        }
    }

    @Test("a run whose journal is not a file is listed as unreadable (exit 1); undo refuses it with the reason (exit 2)")
    func unreadableJournalsAreNamed() throws {
        for kind in ["fifo", "directory"] {
            let (dir, root) = try copyOfFixture("centos7-minimal")
            defer { withExtendedLifetime(dir) {} }
            let fix = try watched(["fix", "--root", root, "--yes", "--only", "swap.off"], seconds: 120)
            #expect(fix.status == 0, "\(fix.stdout)\(fix.stderr)")
            let runs = root + "/var/lib/kcheck/runs"
            let id = try #require(try FileManager.default.contentsOfDirectory(atPath: runs).first { !$0.hasPrefix(".") })
            let journal = runs + "/" + id + "/journal"
            try FileManager.default.removeItem(atPath: journal)
            if kind == "fifo" { #expect(mkfifo(journal, 0o600) == 0) } else { try FileManager.default.createDirectory(atPath: journal, withIntermediateDirectories: false) }
            let listing = try watched(["runs", "--root", root], seconds: 60)
            #expect(listing.status == 1 && listing.stdout.contains("\(id)") && listing.stdout.contains("unreadable"), "\(kind): \(listing.stdout)")
            #expect(!listing.stdout.contains("No runs"))
            let undo = try watched(["undo", "--root", root, "--yes"], seconds: 60)
            #expect(undo.status == 2 && undo.stderr.contains("cannot be undone by kcheck"), "\(kind): \(undo.stdout)\(undo.stderr)")
        }
    }

    @Test("numbers past 64 bits are never wrapped: sysctl values, kernel versions, a CA's expiry")
    func numbersNeverWrap() throws {
        let (dir, root) = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(dir) {} }
        try "vm.swappiness = -9223372036854775808\nnet.ipv4.ip_forward = 18446744073709551617\n"
            .write(toFile: root + "/etc/sysctl.d/zz.conf", atomically: false, encoding: .utf8)
        try "18446744073709551616\n".write(toFile: root + "/proc/sys/vm/overcommit_memory", atomically: false, encoding: .utf8)
        for command in [["preflight"], ["lint"], ["fix", "--dry-run"], ["audit", "--reports-dir", dir.path + "/reports"]] {
            let r = try watched(command + ["--root", root], seconds: 120)
            #expect(r.status == 1, "\(command): exit \(r.status) \(r.stderr.suffix(500))")
        }
        let results = try jsonResults(try watched(["preflight", "--root", root, "--format", "json"]).stdout)
        for rule in ["sysctl.vm.swappiness", "sysctl.net.ipv4.ip_forward", "sysctl.vm.overcommit_memory"] {
            #expect(results[rule]?.status == "fail", "\(rule): \(String(describing: results[rule]))")
        }
        // A kernel release no kernel has: could not check, never "older than 4.4".
        try "9223372036854775808.0.1-1.el7\n".write(toFile: root + "/proc/sys/kernel/osrelease", atomically: false, encoding: .utf8)
        let kernel = try jsonResults(try watched(["preflight", "--root", root, "--only", "kernel.version", "--format", "json"]).stdout)["kernel.version"]
        #expect(kernel?.status == "error", "\(String(describing: kernel))")
        // A CA expiry kcheck cannot read is never replaced by its own 876000h.
        let (dir2, root2) = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(dir2) {} }
        for name in ["ca.pem", "ca-key.pem"] { try FileManager.default.removeItem(atPath: root2 + "/etc/kubernetes/cert/" + name) }
        let csr = root2 + "/opt/k8s/work/ca-csr.json"
        for (expiry, words) in [("99999999999999999999h", "more than 1000 years"), ("-5h", ": kcheck makes a CA only"), ("0h", ": kcheck makes a CA only"), ("1e400", ": kcheck makes a CA only")] {
            let text = try String(contentsOfFile: csr, encoding: .utf8).replacingOccurrences(of: "\"876000h\"", with: "\"\(expiry)\"")
            try text.write(toFile: csr, atomically: false, encoding: .utf8)
            let plan = try watched(["fix", "--dry-run", "--root", root2, "--only", "pki.ca-certificate"])
            #expect(!plan.stdout.contains("make the root CA") && plan.stdout.contains("ca.expiry is ") && plan.stdout.contains(words), "\(expiry): \(plan.stdout)")
            try text.replacingOccurrences(of: "\"\(expiry)\"", with: "\"876000h\"").write(toFile: csr, atomically: false, encoding: .utf8)
        }
    }

    @Test("a facts file of 200,000 package lines and an environment.sh of 100,000 appends are read in linear time")
    func longFactsAndAppends() throws {
        let (dir, root) = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(dir) {} }
        let facts = try String(contentsOfFile: root + "/.kcheck/facts", encoding: .utf8)
        try (facts + (0..<200_000).map { "package pkg\($0)\n" }.joined()).write(toFile: root + "/.kcheck/facts", atomically: false, encoding: .utf8)
        let env = try String(contentsOfFile: root + "/" + Self.environment, encoding: .utf8)
        try (env + "A=()\n" + String(repeating: "A+=(x)\n", count: 99_999)).write(toFile: root + "/" + Self.environment, atomically: false, encoding: .utf8)
        let r = try watched(["preflight", "--root", root, "--format", "json"], seconds: 120)
        #expect(r.status == 0 || r.status == 1, "\(r.status) \(r.stderr)")
        #expect(try jsonResults(r.stdout)["inventory.lint-clean"]?.status != "error")
    }

    @Test("--emit never carries /root/.bashrc's other lines: the PATH line is appended unless present")
    func emitAppendsTheLineOnly() throws {
        let (dir, root) = try copyOfFixture("centos7-minimal")
        let bashrc = root + "/root/.bashrc"
        let old = try String(contentsOfFile: bashrc, encoding: .utf8)
        try (old + "export ENCRYPTION_KEY=\"GgQtyzzHnARQUJLh+D/ReqeFpRptTuvdw1CxdmZcynY=\"\n").write(toFile: bashrc, atomically: false, encoding: .utf8)
        let sh = try watched(["fix", "--root", root, "--emit", "sh"])
        let ansible = try watched(["fix", "--root", root, "--emit", "ansible"])
        for out in [sh.stdout, ansible.stdout] { #expect(!out.contains("GgQtyzzHnARQUJLh") && !out.isEmpty) }
        #expect(sh.stdout.contains("addline '/root/.bashrc' 'export PATH=/opt/k8s/bin:$PATH'"), "\(sh.stdout)")
        #expect(ansible.stdout.contains(#"ansible.builtin.lineinfile: {path: "/root/.bashrc", line: "export PATH=/opt/k8s/bin:$PATH", create: true}"#))
        let script = try dir.write("fix.sh", sh.stdout)
        #expect(try run("/usr/bin/env", ["KCHECK_ROOT=" + root, "/bin/sh", script]).status == 0)
        let after = try String(contentsOfFile: bashrc, encoding: .utf8)
        #expect(after.hasPrefix(old) && after.hasSuffix("export PATH=/opt/k8s/bin:$PATH\n") && after.contains("ENCRYPTION_KEY"))
        #expect(statuses(root)["layout.root-path"] == .pass)
    }
}
