import Foundation
import KCheckCore
import Testing

/// `kcheck undo` on node trees: the order of its steps, runs that later runs built on, the
/// package set put back exactly, and what `kcheck runs` counts. The same code undoes the live
/// node; the VM test bed (testbed/) proves it across real reboots.
@Suite("kcheck undo: order, later runs, packages")
struct UndoTests {
    /// The numbered lines undo prints for a run, in order.
    static func steps(_ output: String) -> [String] {
        output.split(separator: "\n").filter { $0.hasPrefix("  ") }.map { String($0.dropFirst(2)) }
    }

    static func index(_ lines: [String], _ prefix: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Int {
        guard let at = lines.firstIndex(where: { $0.hasPrefix(prefix) }) else {
            Issue.record("no step starting \"\(prefix)\" in \(lines)", sourceLocation: sourceLocation)
            return -1
        }
        return at
    }

    /// Issue 11, items 2 and 4: the clock is written in local time only after /etc/localtime
    /// names the old zone again (then /etc/adjtime, which hwclock rewrites, goes back byte for
    /// byte), and firewalld starts again only after the packages the run added are gone. The
    /// journal is the one a live fix writes, in the order that fix made its changes (packages,
    /// then firewalld, then the zone, then the RTC); on a tree undo only lists the commands.
    @Test func undoRestoresInDependencyOrder() throws {
        let (dir, root) = try copyOfFixture("debian12")
        defer { withExtendedLifetime(dir) {} }
        let statusPath = root + "/var/lib/dpkg/status"
        try (String(contentsOfFile: statusPath, encoding: .utf8)
            + "Package: iptables\nStatus: install ok installed\nVersion: 1.8.9-2\nDepends: libip4tc2\n\n"
            + "Package: libip4tc2\nStatus: install ok installed\nVersion: 1.8.9-2\n\n").write(toFile: statusPath, atomically: false, encoding: .utf8)
        let run = "var/lib/kcheck/runs/20261130T000000Z-001/"
        try dir.write("node/" + run + "files/1", "0.0 0 0.0\n0\nLOCAL\n", mode: 0o600)
        try dir.write("node/" + run + "journal", """
            kcheck-journal 1
            command kcheck%20fix%20--yes
            packages apt iptables
            packages-planned apt iptables absent libip4tc2 absent
            packages-added apt iptables libip4tc2
            done 1 applied
            service firewalld.service enabled running
            done 2 applied
            path /etc/localtime symlink /usr/share/zoneinfo/America/New_York
            done 3 applied
            path /etc/adjtime file 644 0 0 1
            rtc local
            done 4 applied

            """, mode: 0o600)
        let undo = try kcheck("undo", "--root", root, "--yes")
        #expect(undo.status == 0, "\(undo.stdout)\(undo.stderr)")
        let lines = Self.steps(undo.stdout)
        let purge = Self.index(lines, "purge the 2 packages the run added: dpkg --purge -- iptables libip4tc2")
        let firewalld = Self.index(lines, "enable firewalld.service, start firewalld.service")
        let zone = Self.index(lines, "link /etc/localtime -> /usr/share/zoneinfo/America/New_York again")
        let rtc = Self.index(lines, "write the hardware clock in local time")
        let adjtime = try #require(lines.lastIndex { $0.hasPrefix("restore /etc/adjtime") })
        #expect(purge < firewalld, "\(lines)")
        #expect(zone < rtc && rtc < adjtime, "\(lines)")
        #expect(try String(contentsOfFile: root + "/etc/adjtime", encoding: .utf8) == "0.0 0 0.0\n0\nLOCAL\n")
    }

    /// On yum/dnf nodes exactly the added packages are removed, with rpm -e (never `dnf remove`,
    /// which would take their dependents along). Not yet proven on a real RHEL node.
    @Test func onRpmNodesUndoRemovesTheAddedPackagesWithRpm() throws {
        let (dir, root) = try copyOfFixture("centos7-minimal")
        defer { withExtendedLifetime(dir) {} }
        #expect(try kcheck("fix", "--root", root, "--yes", "--only", "packages.required").status != 2)
        let undo = try kcheck("undo", "--root", root, "--yes")
        let lines = Self.steps(undo.stdout)
        #expect(lines.contains { $0.hasPrefix("purge the ") && $0.contains(": rpm -e -- ") && $0.contains("epel-release") }, "\(lines)")
        #expect(try TreeSnapshot(root, mtimes: false).differences(try TreeSnapshot(Repo.fixture("centos7-minimal"), mtimes: false)).isEmpty)
    }

    /// Issue 11, item 9: undo of a run that a later run built on is refused, naming it; with
    /// --with-later both are undone, newest first, and the tree is what it was before the first.
    @Test func aRunThatALaterRunBuiltOnIsUndoneOnlyWithIt() throws {
        let (dir, root) = try copyOfFixture("sysctl-runtime-only")
        defer { withExtendedLifetime(dir) {} }
        let first = try kcheck("fix", "--root", root, "--yes", "--only", "sysctl.net.ipv4.ip_forward")
        #expect(first.status != 2, "\(first.stderr)")
        let second = try kcheck("fix", "--root", root, "--yes", "--only", "sysctl.fs.file-max")
        #expect(second.status != 2, "\(second.stderr)")
        let runs = try kcheck("runs", "--root", root).stdout.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
        try #require(runs.count == 2, "\(runs)")
        let shared = try String(contentsOfFile: root + "/etc/sysctl.d/zz-kcheck-kubernetes.conf", encoding: .utf8)
        #expect(shared.contains("net.ipv4.ip_forward = 1") && shared.contains("fs.file-max = 52706963"))

        let refused = try kcheck("undo", "--root", root, "--yes", runs[0])
        #expect(refused.status == 2 && refused.stderr.contains("later run \(runs[1]) changed what it changed too"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: root + "/etc/sysctl.d/zz-kcheck-kubernetes.conf", encoding: .utf8) == shared)

        let both = try kcheck("undo", "--root", root, "--yes", "--with-later", runs[0])
        #expect(both.status == 0, "\(both.stdout)\(both.stderr)")
        let order = both.stdout.split(separator: "\n").filter { $0.hasPrefix("Restored run") }
        #expect(order == ["Restored run \(runs[1]).", "Restored run \(runs[0])."])
        let restored = try TreeSnapshot(root, mtimes: false)
        #expect(restored.differences(try TreeSnapshot(Repo.fixture("sysctl-runtime-only"), mtimes: false)).isEmpty)
        #expect(try kcheck("runs", "--root", root).stdout.split(separator: "\n").allSatisfy { $0.contains("undone") })
    }

    /// Issue 11, item 3: undo purges exactly the packages the run added; a package that was in
    /// rc state before, or that a package installed later depends on, is left alone and named.
    @Test func undoPurgesOnlyWhatTheRunAddedAndSaysWhatItLeaves() throws {
        let (dir, root) = try copyOfFixture("debian12")
        defer { withExtendedLifetime(dir) {} }
        let statusPath = root + "/var/lib/dpkg/status"
        var status = try String(contentsOfFile: statusPath, encoding: .utf8)
        for name in ["wget", "socat", "git"] {
            status = status.replacingOccurrences(of: "Package: \(name)\nStatus: install ok installed", with: "Package: \(name)\nStatus: \(name == "git" ? "deinstall ok config-files" : "purge ok not-installed")")
        }
        try status.write(toFile: statusPath, atomically: false, encoding: .utf8)
        let fix = try kcheck("fix", "--root", root, "--yes", "--only", "packages.required")
        #expect(fix.stdout.contains("install git socat wget") || fix.stdout.contains("install wget socat git"), "\(fix.stdout)")
        // Installed after the run, by someone else: it needs wget (wget2 is not installed).
        try (String(contentsOfFile: statusPath, encoding: .utf8)
            + "Package: wget-helper\nStatus: install ok installed\nVersion: 1\nDepends: libc6, wget (>= 1.0) | wget2\n\n"
            // Needs socat or curl: curl, there before the run, satisfies it, so socat still goes.
            + "Package: fetcher\nStatus: install ok installed\nVersion: 1\nDepends: socat | curl\n\n")
            .write(toFile: statusPath, atomically: false, encoding: .utf8)
        let undo = try kcheck("undo", "--root", root, "--yes")
        let lines = Self.steps(undo.stdout)
        #expect(lines.contains("purge the 1 package the run added: dpkg --purge -- socat"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("leave package git as it is: it was removed with its configuration files kept (rc)") }, "\(lines)")
        #expect(lines.contains("leave package wget as it is: wget-helper depends on it"), "\(lines)")
        #expect(undo.stdout.contains("package wget left as it is"), "said again after the undo: \(undo.stdout)")
    }

    /// Issue 11, item 5: a service that should run but is not installed gets its package
    /// installed, and no command that cannot work is offered.
    @Test func aMissingRsyslogIsInstalledNotRestarted() throws {
        let (dir, root) = try copyOfFixture("debian12")
        defer { withExtendedLifetime(dir) {} }
        try FileManager.default.removeItem(atPath: root + "/usr/lib/systemd/system/rsyslog.service")
        let facts = try String(contentsOfFile: root + "/.kcheck/facts", encoding: .utf8)
        try facts.replacingOccurrences(of: "unit rsyslog.service active\n", with: "").write(toFile: root + "/.kcheck/facts", atomically: false, encoding: .utf8)
        let dry = try kcheck("fix", "--root", root, "--dry-run", "--only", "service.rsyslog")
        #expect(dry.stdout.contains("install rsyslog (apt-get install -y -- rsyslog)"), "\(dry.stdout)")
        #expect(!dry.stdout.contains("By hand"), "\(dry.stdout)")
    }

    /// A fix with nothing to change still writes the reports asked for (automation reads them).
    @Test func aFixWithNothingToChangeStillWritesItsReport() throws {
        let (dir, root) = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(dir) {} }
        let fix = try kcheck("fix", "--root", root, "--yes", "--format", "json", "--output", dir.path + "/fix.json")
        #expect(fix.stdout.hasPrefix("Nothing to change"), "\(fix.stdout)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.path + "/fix.json"))) as? [String: Any]
        #expect(report?["command"] as? String == "fix" && report?["run"] == nil)
    }

    /// Issue 11, item 7: `kcheck runs` counts the actions that changed the node apart from those
    /// already in place.
    @Test func runsCountsOnlyWhatChangedTheNode() throws {
        let dir = try TemporaryDirectory()
        try dir.write("var/lib/kcheck/runs/20261130T000000Z-001/journal", "kcheck-journal 1\ncommand kcheck%20fix\ndone 1 applied\ndone 2 already%20in%20place\ndone 3 applied,%20needs%20reboot\n")
        let runs = try kcheck("runs", "--root", dir.path)
        #expect(runs.stdout.contains("applied 2 actions changed the node, 1 already in place"), "\(runs.stdout)")
    }
}

/// A journal whose runtime record points at a FIFO (a hostile or broken journal): undo never
/// opens it for writing and waits for a reader; it reports the path and finishes.
@Suite("Undo and special files")
struct UndoSpecialFileTests {
    @Test func aFIFOWhereAKernelFileWasIsRefusedNotWaitedOn() throws {
        let (dir, root) = try copyOfFixture("guide-sysctl-copy")
        defer { withExtendedLifetime(dir) {} }
        let fix = try kcheck("fix", "--root", root, "--yes")
        #expect(fix.stdout.contains("Run "), "\(fix.stdout)\(fix.stderr)")
        let runs = try FileManager.default.contentsOfDirectory(atPath: root + "/var/lib/kcheck/runs")
        let journal = root + "/var/lib/kcheck/runs/" + (runs.first ?? "") + "/journal"
        var text = try String(contentsOfFile: journal, encoding: .utf8)
        text += "runtime /proc/sys/kernel/kcheck_fifo 1\n"
        try text.write(toFile: journal, atomically: false, encoding: .utf8)
        #expect(mkfifo(root + "/proc/sys/kernel/kcheck_fifo", 0o644) == 0)
        let undo = try kcheck("undo", "--root", root, "--yes")
        #expect(undo.status == 1 && undo.stderr.contains("kcheck_fifo"), "\(undo.status) \(undo.stdout)\(undo.stderr)")
    }

    /// A journal whose saved copy of a file is gone: undo says which file cannot be put back and
    /// restores everything else of the run.
    @Test func aMissingSavedCopyIsNamedAndTheRestIsUndone() throws {
        let (dir, root) = try copyOfFixture("guide-sysctl-copy")
        defer { withExtendedLifetime(dir) {} }
        let original = try TreeSnapshot(root, mtimes: false)
        let fix = try kcheck("fix", "--root", root, "--yes")
        #expect(fix.stdout.contains("Run "), "\(fix.stdout)\(fix.stderr)")
        let runs = try FileManager.default.contentsOfDirectory(atPath: root + "/var/lib/kcheck/runs")
        let run = root + "/var/lib/kcheck/runs/" + (runs.first ?? "")
        let journal = try String(contentsOfFile: run + "/journal", encoding: .utf8)
        let saved = journal.split(separator: "\n").filter { $0.hasPrefix("path ") && $0.contains(" file ") }
        try #require(saved.count >= 2, "\(journal)")
        let lost = String(saved[0].split(separator: " ")[1])
        try FileManager.default.removeItem(atPath: run + "/files/1")
        let undo = try kcheck("undo", "--root", root, "--yes")
        #expect(undo.status == 1, "\(undo.stdout)\(undo.stderr)")
        #expect(undo.stderr.contains("\(lost): its saved copy") && undo.stderr.contains("is missing"), "\(undo.stderr)")
        #expect(!undo.stderr.contains("not a journal record"))
        let after = try TreeSnapshot(root, mtimes: false)
        let differing = original.differences(after).filter { !$0.hasPrefix("var/lib/kcheck") && $0 != "var/lib" && $0 != "var" }
        #expect(differing == [String(lost.dropFirst())], "only the file whose copy is gone differs: \(differing)")
    }
}
