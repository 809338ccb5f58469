import Foundation
import KCheckCore
import Testing

/// The text report people read: the verdict first, failures by area with the most severe first,
/// the kernel parameters as one table, passing areas one line, the next step last; within a
/// screen for a fresh CentOS 7 node, and nothing lost that --verbose and JSON keep.
@Suite("Text report layout")
struct TextLayoutTests {
    static func report(_ fixture: String) -> Report { Engine.run(profile: Repo.profile, on: TreeNode(root: Repo.fixture(fixture))) }

    static func area(of line: Substring) -> Substring? {
        guard !line.hasPrefix(" "), let dot = line.range(of: " · ") else { return nil }
        return line[..<dot.lowerBound]
    }

    @Test func freshCentOS7FitsOneScreenVerdictFirst() throws {
        let report = Self.report("centos7-minimal")
        let text = TextReporter.render(report, options: RenderOptions())
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count <= 65, "\(lines.count) lines:\n\(text)")
        #expect(lines[0].hasPrefix("kcheck preflight · localhost.localdomain"))
        let failing = report.entries.filter { $0.result.status == .fail }
        #expect(lines[1].hasPrefix("FAILED: \(report.entries.count) rules, \(failing.count) failed ("), "\(lines[1])")
        // Every failing rule is on a line of its own or a row of the kernel-parameter table.
        for entry in failing {
            let key: String
            if case .sysctl(let o)? = entry.result.observation { key = o.key } else { key = entry.subject.id }
            #expect(lines.contains { $0.hasPrefix("  FAIL ") && $0.contains(" \(key) ") }, "\(entry.subject.id) missing")
        }
        // Passing rules are counted per area, never listed; not one PASS line.
        #expect(!lines.contains { $0.hasPrefix("  PASS") })
        let passedLine = try #require(lines.first { $0.hasPrefix("passed · ") })
        #expect(passedLine.contains("cgroup 2"))
        // Areas with the most severe failures first: the first area holds a critical failure,
        // and no area after a high-only one holds a critical failure.
        let areas = lines.compactMap(Self.area).filter { $0 != "passed" && $0 != "not applicable" && !$0.hasPrefix("kcheck") }
        #expect(areas.first == "pki", "\(areas)")
        func worst(_ area: Substring) -> Severity {
            failing.filter { $0.subject.id.hasPrefix(area + ".") }.map(\.subject.severity).min() ?? .low
        }
        #expect(areas.map(worst) == areas.map(worst).sorted(), "\(areas)")
        // The kernel parameters: one table, each row now / after reboot / wanted / what decides.
        let header = try #require(lines.firstIndex { $0.contains("key") && $0.contains("after reboot") && $0.contains("wanted") })
        let forward = try #require(lines.first { $0.contains(" net.ipv4.ip_forward ") })
        #expect(forward.split(separator: " ", omittingEmptySubsequences: true).suffix(9).joined(separator: " ") == "0 0 1 kernel default (no file sets it)")
        let bridge = try #require(lines.first { $0.contains(" net.bridge.bridge-nf-call-iptables ") })
        #expect(bridge.contains("br_netfilter not loaded at boot"))
        #expect(lines[header...].contains { $0.contains("fix: load br_netfilter, nf_conntrack now and at boot") })
        // The last line: kcheck fix can fix most of it, and says where the rest's how is.
        let last = try #require(lines.last)
        #expect(last.hasPrefix("kcheck fix can fix \(report.fixable.intersection(failing.map(\.subject.id)).count) of these \(failing.count): `kcheck fix --dry-run` shows the plan"), "\(last)")
        #expect(report.fixable.contains("swap.off") && report.fixable.contains("sysctl.net.ipv4.ip_forward") && !report.fixable.contains("kernel.version"))
        // Nothing but printable text and newlines.
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
    }

    @Test func verboseListsEverythingWithItsRemediation() {
        let report = Self.report("centos7-minimal")
        let text = TextReporter.render(report, options: RenderOptions(verbose: true))
        for entry in report.entries where entry.result.observation == nil || entry.result.status == .pass || entry.result.status == .skip {
            #expect(text.contains(" \(entry.subject.id) "), "\(entry.subject.id)")
        }
        #expect(text.contains("remediation: swapoff -a"))
        #expect(text.contains("sysctl.net.ipv4.ip_forward: Running value is 0, expected 1."))
    }

    @Test func guideMistakesInSysctlFilesAreSaidUnderTheirRow() throws {
        let text = TextReporter.render(Self.report("guide-sysctl-copy"), options: RenderOptions())
        let lines = text.split(separator: "\n")
        let row = try #require(lines.firstIndex { $0.contains(" vm.overcommit_memory ") })
        #expect(lines[row + 1].contains("↳") && lines[row + 1].contains("writes `vm.swappiness=0 vm.overcommit_memory=1` on one line"))
        // A row the table says all of has no note.
        let plain = try #require(lines.firstIndex { $0.contains(" net.ipv4.neigh.default.gc_thresh2 ") })
        #expect(!lines[plain + 1].contains("↳"))
        #expect(text.hasSuffix("kcheck fix can fix all 5: `kcheck fix --dry-run` shows the plan, `kcheck fix` applies it (with undo).\n"))
    }

    @Test func aFileReadAfterKubernetesConfIsNamedInTheAdvice() throws {
        // A later file (sorting after kubernetes.conf) that sets the wrong value decides at boot:
        // the advice is to change it, not only to write kubernetes.conf.
        let dir = try TemporaryDirectory()
        try FileManager.default.copyItem(atPath: Repo.fixture("centos7-prepared"), toPath: dir.path + "/node")
        try dir.write("node/etc/sysctl.d/zz-tuning.conf", "vm.swappiness = 30\n")
        let report = Engine.run(profile: Repo.profile, on: TreeNode(root: dir.path + "/node"))
        let text = TextReporter.render(report, options: RenderOptions())
        let row = try #require(text.split(separator: "\n").first { $0.contains(" vm.swappiness ") })
        #expect(row.hasSuffix("/etc/sysctl.d/zz-tuning.conf:1"), "\(row)")
        #expect(text.contains("fix: set it in /etc/sysctl.d/kubernetes.conf, and change /etc/sysctl.d/zz-tuning.conf:1 (read after it), then `sysctl --system`"), "\(text)")
    }

    @Test func aPassingNodeIsThreeLinesAndNoNextStep() {
        let report = Self.report("centos7-prepared")
        let text = TextReporter.render(report, options: RenderOptions())
        let lines = text.split(separator: "\n")
        #expect(lines[1].hasPrefix("PASSED: \(report.entries.count) rules, \(report.summary[.pass]) passed, \(report.summary[.skip]) not applicable"), "\(text)")
        #expect(lines.count == 4, "\(text)")
        #expect(!text.contains("kcheck fix"))
    }

    @Test func aSavedReportReadsBackToTheSameText() throws {
        // The table and the next step come from the JSON's observations and fixable marks.
        for fixture in ["centos7-minimal", "guide-sysctl-copy"] {
            let report = Self.report(fixture)
            let json = JSONReporter.render(report, options: RenderOptions())
            #expect(try validateReportJSON(json).status == 0)
            let read = try ReportReader.read(json, file: "saved.json")
            guard case .node(let back) = read else {
                Issue.record("\(fixture): not read as a node report")
                continue
            }
            #expect(TextReporter.render(back, options: RenderOptions()) == TextReporter.render(report, options: RenderOptions()), "\(fixture)")
        }
    }

    @Test func quietAuditShowsOnlyProblemAreas() {
        let report = Self.report("guide-sysctl-copy")
        let text = TextReporter.render(report, options: RenderOptions(problemsOnly: true))
        #expect(!text.contains("passed · ") && !text.contains("not applicable · "))
        #expect(text.contains("(\(report.summary[.pass] + report.summary[.skip]) passing or not applicable not shown)"))
        #expect(text.contains("sysctl · 5 failed"))
    }
}
