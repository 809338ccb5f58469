import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import KCheckCore
import Testing

/// Waivers: a rule (on every node, one node, or one certificate) a person approved to fail until
/// a date, with the reason. Waived in every format; an expired one fails the run naming its line;
/// a bad file is exit 2 with file:line:col; `kcheck fix` leaves a waived rule as it is.
@Suite("Waivers")
struct WaiverTests {
    static let overcommit = """
        waivers:
          - rule: sysctl.vm.overcommit_memory
            reason: "vendor agent needs overcommit 0 until 2027"
            approved_by: "ops lead"
            expires: 2099-06-30

        """

    @Test func theDayAfterIsCountedAsTheCalendarDoes() {
        #expect(Waivers.dayAfter("1970-01-01") == 86_400)
        #expect(Waivers.dayAfter("2000-02-29") == 951_868_800)
        #expect(Waivers.dayAfter("2027-06-30") == 1_814_400_000)
        for bad in ["2001-02-29", "2027-13-01", "2027-00-10", "2027-6-30", "27-06-30", "2027-06-31", "tomorrow", ""] {
            #expect(Waivers.dayAfter(bad) == nil, "\(bad)")
        }
    }

    @Test func aWaivedRuleIsWaivedInEveryFormat() throws {
        let dir = try TemporaryDirectory()
        let waivers = try dir.write("waivers.yaml", Self.overcommit)
        let out = dir.path + "/out"
        let only = "sysctl.vm.overcommit_memory,sysctl.net.ipv4.neigh.default.gc_thresh2"
        let r = try kcheck(
            "preflight", "--root", Repo.fixture("guide-sysctl-copy"), "--only", only, "--waivers", waivers, "--output-dir", out,
            "--format", "text,json,junit,markdown,html", "--fail-on", "fail,error")
        // gc_thresh2 still fails; the waived rule does not fail the run on its own (below).
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let text = try String(contentsOfFile: out + "/kcheck-preflight.txt", encoding: .utf8)
        #expect(text.contains("FAILED: 2 rules, 1 failed (1 medium), 1 waived, 0 passed"), "\(text)")
        #expect(hasLine(text, "WAIVED", "sysctl.vm.overcommit_memory"), "\(text)")
        #expect(text.contains("Waived until 2099-06-30 by ops lead: vendor agent needs overcommit 0 until 2027 (\(waivers):2)."), "\(text)")
        // JSON: the status, the waiver, the count; valid against the schema.
        let json = out + "/kcheck-preflight.json"
        #expect(try validateReportFile(json, schema: Repo.reportSchema).status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        #expect((object["summary"] as? [String: Any])?["waived"] as? Int == 1)
        let result = try #require((object["results"] as? [[String: Any]])?.first { $0["id"] as? String == "sysctl.vm.overcommit_memory" })
        #expect(result["status"] as? String == "waived")
        let waiver = try #require(result["waiver"] as? [String: Any])
        #expect(waiver["status"] as? String == "fail" && waiver["expired"] as? Bool == false && waiver["expires"] as? String == "2099-06-30")
        #expect(waiver["approved_by"] as? String == "ops lead" && waiver["file"] as? String == waivers && waiver["line"] as? Int == 2)
        // JUnit: skipped with the reason, and still valid.
        let xml = try String(contentsOfFile: out + "/kcheck-preflight.xml", encoding: .utf8)
        #expect(try validateJUnit(xml).status == 0)
        let doc = try XMLDocument(data: Data(xml.utf8))
        let skipped = try doc.nodes(forXPath: "//testcase[starts-with(@name, 'sysctl.vm.overcommit_memory')]/skipped").first as? XMLElement
        #expect(skipped?.attribute(forName: "message")?.stringValue?.hasPrefix("Waived until 2099-06-30 by ops lead") == true, "\(xml)")
        let markdown = try String(contentsOfFile: out + "/kcheck-preflight.md", encoding: .utf8)
        #expect(markdown.contains("| waived | `sysctl.vm.overcommit_memory`") && markdown.contains("vendor agent needs overcommit 0 until 2027"), "\(markdown)")
        let html = try String(contentsOfFile: out + "/kcheck-preflight.html", encoding: .utf8)
        #expect(html.contains("<td class=\"s waived\">waived</td>") && html.contains("vendor agent needs overcommit 0 until 2027"))
        // A saved report reads back with its waiver.
        let back = try kcheck("report", json, "--format", "json")
        #expect(back.stdout.contains("\"waived\"") && back.stdout.contains("\"approved_by\": \"ops lead\""), "\(back.stdout.prefix(600))")

        // The waived rule alone: the run passes.
        let alone = try kcheck("preflight", "--root", Repo.fixture("guide-sysctl-copy"), "--only", "sysctl.vm.overcommit_memory", "--waivers", waivers)
        #expect(alone.status == 0 && alone.stdout.contains("PASSED: 1 rule, 1 waived, 0 passed"), "\(alone.stdout)")
    }

    @Test func prometheusHasAWaivedStatus() throws {
        let dir = try TemporaryDirectory()
        let waivers = try dir.write("waivers.yaml", Self.overcommit)
        let prom = dir.path + "/kcheck.prom"
        let r = try kcheck(
            "audit", "--root", Repo.fixture("guide-sysctl-copy"), "--only", "sysctl.vm.overcommit_memory", "--waivers", waivers,
            "--reports-dir", dir.path + "/audits", "--prometheus", prom)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let metrics = try String(contentsOfFile: prom, encoding: .utf8)
        #expect(metrics.contains("rule=\"sysctl.vm.overcommit_memory\",severity=\"medium\",status=\"waived\"} 1"), "\(metrics)")
        #expect(metrics.contains("status=\"waived\"} 1\n"))
    }

    @Test func anExpiredWaiverFailsTheRunNamingItsLine() throws {
        let dir = try TemporaryDirectory()
        let waivers = try dir.write("waivers.yaml", Self.overcommit.replacingOccurrences(of: "2099-06-30", with: "2024-01-31"))
        let r = try kcheck("preflight", "--root", Repo.fixture("guide-sysctl-copy"), "--only", "sysctl.vm.overcommit_memory", "--waivers", waivers)
        #expect(r.status == 1)
        #expect(r.stdout.contains("1 waiver expired") && r.stdout.contains("The waiver at \(waivers):2 expired on 2024-01-31"), "\(r.stdout)")
        // Renewed by a later entry while the old one is still in the file: the one that holds wins.
        let renewed = try dir.write(
            "renewed.yaml", Self.overcommit.replacingOccurrences(of: "2099-06-30", with: "2024-01-31") + Self.overcommit.replacingOccurrences(of: "waivers:\n", with: ""))
        let again = try kcheck("preflight", "--root", Repo.fixture("guide-sysctl-copy"), "--only", "sysctl.vm.overcommit_memory", "--waivers", renewed)
        #expect(again.status == 0 && again.stdout.contains("(\(renewed):6)"), "\(again.stdout)")
    }

    @Test func aWaiverForAnotherNodeDoesNotApply() throws {
        let dir = try TemporaryDirectory()
        let other = try dir.write("other.yaml", Self.overcommit.replacingOccurrences(of: "    reason:", with: "    node: k8s-node09\n    reason:"))
        let mine = try dir.write("mine.yaml", Self.overcommit.replacingOccurrences(of: "    reason:", with: "    node: k8s-node01\n    reason:"))
        let args = ["preflight", "--root", Repo.fixture("guide-sysctl-copy"), "--only", "sysctl.vm.overcommit_memory", "--waivers"]
        #expect(try kcheck(args + [other]).status == 1)
        #expect(try kcheck(args + [mine]).status == 0)
    }

    @Test func theNodesOwnWaiversFileIsReadByDefault() throws {
        let (dir, root) = try copyOfFixture("guide-sysctl-copy")
        defer { withExtendedLifetime(dir) {} }
        let args = ["preflight", "--root", root, "--only", "sysctl.vm.overcommit_memory"]
        #expect(try kcheck(args).status == 1)
        try FileManager.default.createDirectory(atPath: root + "/etc/kcheck", withIntermediateDirectories: true)
        try Self.overcommit.write(toFile: root + "/etc/kcheck/waivers.yaml", atomically: true, encoding: .utf8)
        let r = try kcheck(args)
        #expect(r.status == 0 && r.stdout.contains("(/etc/kcheck/waivers.yaml:2)"), "\(r.stdout)")
    }

    @Test func badWaiverFilesAreExitTwoWithTheirPlace() throws {
        let dir = try TemporaryDirectory()
        let cases: [(String, String)] = [
            ("waivers:\n  - rule: swap.of\n    reason: x\n    approved_by: y\n    expires: 2027-01-01\n", ":2:11: error: no rule 'swap.of'; did you mean `swap.off`?"),
            ("waivers:\n  - rule: swap.off\n    reason: x\n    aproved_by: y\n    expires: 2027-01-01\n", ":4:5: error: unknown key `aproved_by`; did you mean `approved_by`?"),
            ("waivers:\n  - rule: swap.off\n    reason: x\n    approved_by: y\n    expires: 2027-02-30\n", ":5:14: error: `expires` is a date, YYYY-MM-DD"),
            ("waivers:\n  - rule: swap.off\n    reason: x\n    expires: 2027-01-01\n", ":2:5: error: this waiver has no `approved_by`"),
            ("waivers:\n  - rule: swap.off\n    reason: \"\"\n    approved_by: y\n    expires: 2027-01-01\n", ":3:13: error: `reason` needs a value"),
            ("exceptions: []\n", ":1:1: error: unknown key `exceptions`"),
            ("waivers: swap.off\n", ":1:10: error: `waivers:` is a list"),
            ("waivers:\n  - rule: [swap.off\n", ":2:"),
            ("waivers:\n  - rule: cluster.hosts-agree\n    node: k8s-node01\n    reason: x\n    approved_by: y\n    expires: 2027-01-01\n", ":3:11: error: cluster.hosts-agree compares the nodes with each other: its waiver names no node"),
            ("waivers:\n  - rule: swap.off\n    reason: x\n    approved_by: y\n    expires: +999-01-01\n", ":5:14: error: `expires` is a date"),
        ]
        for (i, (text, message)) in cases.enumerated() {
            let file = try dir.write("w\(i).yaml", text)
            let r = try kcheck("preflight", "--root", Repo.fixture("centos7-prepared"), "--waivers", file)
            #expect(r.status == 2 && r.stderr.contains(file + message), "\(text)\n\(r.stderr)")
            #expect(r.stdout.isEmpty, "nothing judged on a bad waivers file")
        }
        let missing = try kcheck("preflight", "--root", Repo.fixture("centos7-prepared"), "--waivers", dir.path + "/none.yaml")
        #expect(missing.status == 2 && missing.stderr.contains("--waivers: "), "\(missing.stderr)")
    }

    @Test func fixLeavesAWaivedRuleAsItIs() throws {
        let (dir, root) = try copyOfFixture("guide-sysctl-copy")
        defer { withExtendedLifetime(dir) {} }
        let waivers = try dir.write("waivers.yaml", Self.overcommit)
        let overcommit = root + "/proc/sys/vm/overcommit_memory", nrOpen = root + "/proc/sys/fs/nr_open"
        let r = try kcheck("fix", "--root", root, "--yes", "--waivers", waivers, "--color", "never")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(!r.stdout.contains("vm.overcommit_memory = 1"), "no action for the waived rule: \(r.stdout)")
        #expect(try String(contentsOfFile: overcommit, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(try String(contentsOfFile: nrOpen, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == "52706963", "the others are fixed")
        #expect(hasLine(r.stdout, "WAIVED", "sysctl.vm.overcommit_memory"), "\(r.stdout)")
    }

    @Test func aCertificateIsWaivedByItsPath() throws {
        let dir = try TemporaryDirectory()
        let path = "/etc/kubernetes/cert/flanneld.pem"
        let waivers = try dir.write(
            "waivers.yaml",
            "waivers:\n  - rule: pki.certificates-valid\n    certificate: \(path)\n    reason: \"replaced next week\"\n    approved_by: sec\n    expires: 2099-01-01\n")
        let before = try kcheck("certs", "--root", Repo.fixture("pki-wrong"), "--format", "json")
        let after = try kcheck("certs", "--root", Repo.fixture("pki-wrong"), "--format", "json", "--waivers", waivers)
        func status(_ json: String) throws -> String? {
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
            return (object?["results"] as? [[String: Any]])?.first { $0["id"] as? String == path }?["status"] as? String
        }
        #expect(try status(before.stdout) == "fail")
        #expect(try status(after.stdout) == "waived")
        // The text shows it without --verbose (it is not a pass).
        let text = try kcheck("certs", "--root", Repo.fixture("pki-wrong"), "--waivers", waivers, "--color", "never")
        #expect(text.stdout.contains("WAIVED  \(path)"), "\(text.stdout)")
    }
}
