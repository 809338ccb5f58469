import Foundation
import KCheckCore
import Testing

/// Advice that works: what to do is computed from what was seen on the node, for its
/// distribution, never a template that cannot work there.
@Suite("Advice computed from what was seen")
struct AdviceTests {
    static func result(_ id: String, on root: String) throws -> RuleResult {
        let report = Engine.run(profile: Repo.profile, on: TreeNode(root: root), only: [id])
        return try #require(report.entries.first?.result)
    }

    @Test func aMissingUnitIsInstalledNotRestarted() throws {
        // Debian 12 without rsyslog: install it with apt, then start it (not `systemctl restart`).
        let (dir, root) = try copyOfFixture("debian12")
        defer { withExtendedLifetime(dir) {} }
        for path in ["/usr/lib/systemd/system/rsyslog.service", "/etc/systemd/system/multi-user.target.wants/rsyslog.service"] {
            try FileManager.default.removeItem(atPath: root + path)
        }
        let rsyslog = try Self.result("service.rsyslog", on: root)
        #expect(rsyslog.status == .fail)
        #expect(rsyslog.advice == "apt-get install -y rsyslog && systemctl start rsyslog", "\(rsyslog.advice ?? "nil")")
        #expect(rsyslog.message == "rsyslog.service is not installed: apt-get install -y rsyslog && systemctl start rsyslog.")
        // CentOS 7 without cronie: yum, and the unit CentOS names.
        let (dir2, centos) = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(dir2) {} }
        for unit in ["usr/lib/systemd/system/crond.service", "etc/systemd/system/multi-user.target.wants/crond.service"] {
            try? FileManager.default.removeItem(atPath: centos + "/" + unit)
        }
        let crond = try Self.result("service.crond", on: centos)
        #expect(crond.advice == "yum install -y cronie && systemctl start crond", "\(crond.message)")
    }

    @Test func chronyIsNamedAsTheDistributionNamesIt() throws {
        // services-wrong (CentOS): chronyd disabled and stopped → the rhel unit; the Debian
        // fixture with chrony stopped → `chrony`, never `chronyd`.
        let centos = try Self.result("service.chronyd", on: Repo.fixture("services-wrong"))
        #expect(centos.advice == "systemctl enable chronyd && systemctl start chronyd", "\(centos.advice ?? "nil")")
        let (dir, root) = try copyOfFixture("debian12")
        defer { withExtendedLifetime(dir) {} }
        try FileManager.default.removeItem(atPath: root + "/etc/systemd/system/multi-user.target.wants/chrony.service")
        let debian = try Self.result("service.chronyd", on: root)
        #expect(debian.status == .fail && debian.advice == "systemctl enable chrony", "\(debian.message)")
        // The report's fix is the advice in every format: markdown's column, JUnit's remediation.
        let markdown = try kcheck("preflight", "--root", root, "--only", "service.chronyd", "--format", "markdown")
        #expect(markdown.stdout.contains("| systemctl enable chrony |") && !markdown.stdout.contains("systemctl enable chronyd"), "\(markdown.stdout)")
        let junit = try kcheck("preflight", "--root", root, "--only", "service.chronyd", "--format", "junit")
        #expect(junit.stdout.contains("remediation: systemctl enable chrony\n") || junit.stdout.contains("remediation: systemctl enable chrony&#10;") || junit.stdout.contains("remediation: systemctl enable chrony<"), "\(junit.stdout)")
    }

    @Test func anUnsynchronisedClockPointsToWhatKeepsItSynchronised() throws {
        // Debian without chrony: install it (apt, the unit chrony), then wait for it.
        let (dir, root) = try copyOfFixture("debian12")
        defer { withExtendedLifetime(dir) {} }
        let facts = root + "/.kcheck/facts"
        let text = try String(contentsOfFile: facts, encoding: .utf8)
        try text.replacingOccurrences(of: "clock maxerror_us=4000 status=8193", with: "clock maxerror_us=16000000 status=65")
            .replacingOccurrences(of: "unit chrony.service active\n", with: "").write(toFile: facts, atomically: true, encoding: .utf8)
        for path in ["/usr/lib/systemd/system/chrony.service", "/etc/systemd/system/multi-user.target.wants/chrony.service"] {
            try FileManager.default.removeItem(atPath: root + path)
        }
        let missing = try Self.result("time.ntp-synchronized", on: root)
        #expect(missing.status == .fail)
        #expect(missing.advice == "apt-get install -y chrony && systemctl enable --now chrony; then `kcheck preflight --wait 5m` waits for it to synchronise", "\(missing.advice ?? "nil")")
        // CentOS with chronyd installed and running: its sources, not an install.
        let running = try Self.result("time.ntp-synchronized", on: Repo.fixture("clock-wrong"))
        #expect(running.advice?.hasPrefix("check chrony's sources") == true || running.advice?.hasPrefix("systemctl enable --now chronyd") == true, "\(running.advice ?? "nil")")
    }

    @Test func aMissingCAKeyIsCopiedNotChmodded() throws {
        let missing = try Self.result("pki.ca-key", on: Repo.fixture("centos7-minimal"))
        #expect(missing.status == .fail)
        let advice = try #require(missing.advice)
        #expect(advice.hasPrefix("copy ca-key.pem from the first node") && !advice.contains("chmod") && !advice.contains("chown"), "\(advice)")
        // A readable key: exactly the chmod it needs.
        let open = try Self.result("pki.ca-key", on: Repo.fixture("pki-wrong"))
        #expect(open.advice?.contains("chmod 0600 /etc/kubernetes/cert/ca-key.pem") == true, "\(open.advice ?? "nil")")
    }

    @Test func aLaterFileThatDecidesIsNamed() throws {
        let (dir, root) = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(dir) {} }
        try "vm.swappiness = 30\n".write(toFile: root + "/etc/sysctl.d/zz-tuning.conf", atomically: true, encoding: .utf8)
        let r = try Self.result("sysctl.vm.swappiness", on: root)
        #expect(r.advice == "change /etc/sysctl.d/zz-tuning.conf:1 to `vm.swappiness = 0`, then run `sysctl --system`", "\(r.advice ?? "nil")")
        // The guide's own file deciding a wrong value: that line.
        let copy = try Self.result("sysctl.net.ipv4.neigh.default.gc_thresh1", on: Repo.fixture("guide-sysctl-copy"))
        #expect(copy.advice == "change /etc/sysctl.d/kubernetes.conf:7 to `net.ipv4.neigh.default.gc_thresh1 = 1024`, then run `sysctl --system`")
        // Nothing sets it: write the guide's file; a module's key: load the module first.
        let fresh = try Self.result("sysctl.net.bridge.bridge-nf-call-iptables", on: Repo.fixture("centos7-minimal"))
        #expect(fresh.advice?.hasPrefix("load br_netfilter now and at boot (`modprobe br_netfilter`;") == true, "\(fresh.advice ?? "nil")")
        #expect(fresh.advice?.contains("write `net.bridge.bridge-nf-call-iptables = 1` to /etc/sysctl.d/kubernetes.conf") == true)
    }

    @Test func certsFindTheClusterCAByItself() throws {
        // Scanning /etc/etcd/cert alone: its certificate is verified against the cluster's CA at
        // /etc/kubernetes/cert/ca.pem, which is not a result of its own.
        let r = try kcheck("certs", "--root", Repo.fixture("centos7-prepared"), "/etc/etcd/cert", "--format", "json")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let results = try #require(object["results"] as? [[String: Any]])
        #expect(results.map { $0["id"] as? String } == ["/etc/etcd/cert/etcd.pem"])
        let certificate = try #require(results.first?["certificate"] as? [String: Any])
        #expect(certificate["issuer_file"] as? String == "/etc/kubernetes/cert/ca.pem", "\(certificate)")
        #expect(results.first?["status"] as? String == "pass")
    }
}
