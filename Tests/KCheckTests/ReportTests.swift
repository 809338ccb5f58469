import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import KCheckCore
import Testing

@Suite("Reports validate against their schemas")
struct ReportTests {
    static let trees = ["centos7-minimal", "centos7-prepared", "debian12", "guide-sysctl-copy", "no-systemd", "br-netfilter-not-at-boot"]

    @Test("JSON validates against reports/kcheck-report.schema.json", arguments: trees)
    func jsonValidates(tree: String) throws {
        let report = Engine.run(profile: Repo.profile, on: TreeNode(root: Repo.fixture(tree)))
        let json = JSONReporter.render(report, options: RenderOptions())
        let check = try validateReportJSON(json)
        #expect(check.status == 0, "\(check.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let results = try #require(object["results"] as? [[String: Any]])
        #expect(results.count == Repo.profile.rules.count)
        let summary = try #require(object["summary"] as? [String: Int])
        for status in Status.allCases {
            #expect(summary[status.rawValue] == results.filter { $0["status"] as? String == status.rawValue }.count)
        }
        #expect(object["passed"] as? Bool == !report.failed)
    }

    @Test("JUnit validates against junit-10.xsd", arguments: trees)
    func junitValidates(tree: String) throws {
        let report = Engine.run(profile: Repo.profile, on: TreeNode(root: Repo.fixture(tree)))
        let xml = JUnitReporter.render(report, options: RenderOptions())
        let check = try validateJUnit(xml)
        #expect(check.status == 0, "\(check.stderr)")
        let doc = try XMLDocument(data: Data(xml.utf8))
        let cases = try doc.nodes(forXPath: "//testcase")
        #expect(cases.count == Repo.profile.rules.count)
        #expect(try doc.nodes(forXPath: "//testcase/failure").count == report.summary[.fail])
        #expect(try doc.nodes(forXPath: "//testcase/error").count == report.summary[.error])
        #expect(try doc.nodes(forXPath: "//testcase/skipped").count == report.summary[.skip])
        let suite = try #require(try doc.nodes(forXPath: "//testsuite").first as? XMLElement)
        #expect(suite.attribute(forName: "failures")?.stringValue == String(report.summary[.fail]))
        #expect(suite.attribute(forName: "name")?.stringValue == report.node.name)
    }

    /// A report whose every string is hostile: quotes, markup, control characters, non-ASCII.
    func hostileReport(policy: FailurePolicy = .default) -> Report {
        let nasty = "a\"b'c<d>e&f\u{01}g\u{1B}[31mh\ti\nj\\k 添加 \u{2028}"
        let rule = Rule(
            id: "demo.nasty", title: nasty, severity: .high, guide: [1], rationale: nasty, remediation: nasty,
            check: .swapOff, tests: [])
        let entries = Status.allCases.map { status in
            Report.Entry(
                rule: rule,
                result: RuleResult(
                    ruleID: rule.id, status: status, expected: nasty, actual: nasty, message: nasty,
                    evidence: [SourceLocation(file: nasty, line: 3)]))
        }
        return Report(
            toolVersion: "0.1.0", command: "preflight", profile: "p<&>", node: NodeIdentity(name: nasty, source: "tree:\(nasty)", distribution: nasty, kernel: nasty),
            startedAt: (1_764_043_200, 5_000_000), durationSeconds: 0.0123, entries: entries, policy: policy)
    }

    @Test func hostileStringsStayValidJSONAndRoundTrip() throws {
        let json = JSONReporter.render(hostileReport(), options: RenderOptions())
        #expect(try validateReportJSON(json).status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let first = try #require((object["results"] as? [[String: Any]])?.first)
        #expect(first["title"] as? String == "a\"b'c<d>e&f\u{01}g\u{1B}[31mh\ti\nj\\k 添加 \u{2028}")
        #expect(object["started_at"] as? String == "2025-11-25T04:00:00.005Z")
    }

    @Test func hostileStringsStayValidJUnit() throws {
        for policy in [FailurePolicy.default, FailurePolicy([.fail, .error, .warn])] {
            let xml = JUnitReporter.render(hostileReport(policy: policy), options: RenderOptions())
            let check = try validateJUnit(xml)
            #expect(check.status == 0, "\(check.stderr)")
            let doc = try XMLDocument(data: Data(xml.utf8))
            let failure = try #require(try doc.nodes(forXPath: "//failure").first as? XMLElement)
            // The control characters are written visibly (XML 1.0 forbids them); everything else survives escaping.
            #expect(failure.stringValue?.contains("a\"b'c<d>e&f\\x01g\\x1b[31mh") == true)
            let failures = try doc.nodes(forXPath: "//failure").count
            #expect(failures == (policy.isFailure(.warn) ? 2 : 1))
        }
    }

}

/// What a CI server reads: the JUnit that `kcheck preflight --format junit` writes, parsed by a
/// JUnit library CI tooling uses (PyPI's junitparser, installed by the README's test command into
/// .build/python), must count the same passes, failures, errors and skips as the JSON report of
/// the same run, testcase by testcase, with and without warnings failing the run.
@Suite("JUnit read by junitparser agrees with the JSON report")
struct JUnitParserTests {
    static let library = Repo.root + "/.build/python"
    static var available: Bool { FileManager.default.fileExists(atPath: library + "/junitparser") }

    @Test(.enabled(if: available, "needs junitparser in .build/python (the README's test command installs it)"))
    func countsAgreeOnEveryFixtureTree() throws {
        let out = try TemporaryDirectory()
        let trees = try FileManager.default.contentsOfDirectory(atPath: Repo.fixtures).sorted()
        var dirs: [String] = []
        for tree in trees {
            for failOn in ["fail,error", "fail,error,warn"] {
                let dir = out.path + "/\(tree)-\(failOn.count)"
                let r = try kcheck("preflight", "--root", Repo.fixture(tree), "--format", "json,junit", "--output-dir", dir, "--fail-on", failOn, "--quiet")
                #expect(r.status == 0 || r.status == 1, "\(tree): \(r.stderr)")
                dirs.append(dir)
            }
        }
        let script = """
            import json, sys
            from junitparser import JUnitXml, Failure, Error, Skipped
            compared = 0
            for d in sys.argv[1:]:
                report = json.load(open(d + "/kcheck-preflight.json"))
                warn_fails = "warn" in report["fail_on"]
                xml = JUnitXml.fromfile(d + "/kcheck-preflight.xml")
                suites = list(xml) if xml._tag == "testsuites" else [xml]
                cases = {}
                for suite in suites:
                    for case in suite:
                        kinds = [type(r).__name__ for r in case.result]
                        cases[case.name.split(":")[0]] = kinds[0] if kinds else "Passed"
                want = {}
                for r in report["results"]:
                    s = r["status"]
                    want[r["id"]] = {"pass": "Passed", "fail": "Failure", "error": "Error", "skip": "Skipped",
                                     "warn": "Failure" if warn_fails else "Passed"}[s]
                if cases != want:
                    print(d, sorted(set(cases.items()) ^ set(want.items())))
                    sys.exit(1)
                s = report["summary"]
                n = xml if xml._tag == "testsuite" else suites[0]
                got = (n.tests, n.failures, n.errors, n.skipped)
                exp = (s["total"], s["fail"] + (s["warn"] if warn_fails else 0), s["error"], s["skip"])
                if got != exp:
                    print(d, "suite counts", got, "json", exp)
                    sys.exit(1)
                compared += len(cases)
            print("agree", compared)
            """
        let check = try run("/usr/bin/python3", ["-c", script] + dirs, environment: ["PYTHONPATH": Self.library])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("agree \(dirs.count * Repo.profile.rules.count)"), "\(check.stdout)")
    }
}

/// Saved reports that are not what they claim: a duration of 1e400 (infinite as a Double), results
/// that are not a list, the same report twice (duplicate node labels) in the HTML: each an error
/// with the file and line (exit 2) or a normal run, never a trap.
@Suite("kcheck report on hostile reports")
struct HostileReportTests {
    @Test func neverATrap() throws {
        let dir = try TemporaryDirectory()
        let saved = dir.path + "/r.json"
        let made = try kcheck("preflight", "--root", Repo.fixture("debian12"), "--format", "json", "--output", saved)
        #expect(made.status == 0 || made.status == 1, "\(made.stderr)")
        let text = try String(contentsOfFile: saved, encoding: .utf8)
        let infinite = try dir.write("infinite.json", text.replacingOccurrences(
            of: #""duration_seconds": [0-9.e+-]+"#, with: "\"duration_seconds\": 1e400", options: .regularExpression))
        #expect(try String(contentsOfFile: infinite, encoding: .utf8).contains("1e400"))
        for format in ["text", "junit"] {
            let r = try kcheck("report", infinite, "--format", format)
            #expect(r.status == 2 && r.stderr.contains("infinite.json:") && r.stderr.contains("duration_seconds"), "\(format): \(r.status) \(r.stderr)")
        }
        let five = try dir.write("five.json", text.replacingOccurrences(of: #""results": \[[\s\S]*\]\s*\}\s*$"#, with: "\"results\": 5}", options: .regularExpression))
        let r5 = try kcheck("report", five, "--format", "text")
        #expect(r5.status == 2 && r5.stderr.contains("five.json:") && r5.stderr.contains("not a kcheck report"), "\(r5.status) \(r5.stdout.prefix(200)) \(r5.stderr)")
        // Results cut out of a report whose summary says otherwise, or a format from elsewhere.
        let empty = try dir.write("empty.json", text.replacingOccurrences(of: #""results": \[[\s\S]*\]\s*\}\s*$"#, with: "\"results\": []}", options: .regularExpression))
        let re = try kcheck("report", empty, "--format", "text")
        #expect(re.status == 2 && re.stderr.contains("empty.json:") && re.stderr.contains("but the results hold 0"), "\(re.status) \(re.stderr)")
        let future = try dir.write("future.json", text.replacingOccurrences(of: #""format_version": 1"#, with: "\"format_version\": 2", options: .regularExpression))
        let rf = try kcheck("report", future, "--format", "text")
        #expect(rf.status == 2 && rf.stderr.contains("format_version"), "\(rf.status) \(rf.stderr)")
        let twice = try kcheck("report", saved, saved, "--format", "html")
        #expect(twice.status == 0 || twice.status == 1, "\(twice.status) \(twice.stderr)")
        #expect(twice.stdout.contains("<table class=\"grid\">"), "\(twice.stdout.prefix(200))")
    }
}
