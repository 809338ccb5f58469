import Foundation
import KCheckCore
import KCheckProfile
import Testing

/// The kcheck executable as a user runs it: exit codes, formats, files, errors.
@Suite("kcheck command line")
struct CLITests {
    @Test func preparedTreeExitsZero() throws {
        let r = try kcheck("preflight", "--root", Repo.fixture("centos7-prepared"))
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        // Every rule passes but the running cluster's, which do not apply before it is installed.
        let n = Profile.guideNode.rules.count, running = notApplicableBeforeInstalling(Profile.guideNode)
        #expect(r.stdout.contains("\nPASSED: \(n) rules, \(n - running) passed, \(running) not applicable ("), "\(r.stdout)")
        #expect(!r.stdout.contains("\u{1B}["), "colour off a terminal")
    }

    @Test func failingTreeExitsOne() throws {
        let r = try kcheck("preflight", "--root", Repo.fixture("centos7-minimal"))
        #expect(r.status == 1)
        #expect(r.stdout.hasPrefix("kcheck preflight · localhost.localdomain (tree:"))
        let firstLine = r.stdout.split(separator: "\n").dropFirst().first { !$0.isEmpty }
        #expect(firstLine?.hasPrefix("FAIL") == true)
    }

    @Test func couldNotCheckFailsByDefaultButNotWithFailOnFail() throws {
        // no-systemd: service states cannot be checked; postfix is enabled and jq missing.
        let tree = try TemporaryDirectory()
        let only = "service.chronyd,service.rsyslog"
        let r = try kcheck("preflight", "--root", Repo.fixture("no-systemd"), "--only", only, "--output-dir", tree.path, "--format", "json")
        #expect(r.status == 1)
        #expect(r.stdout.contains("  ERROR  critical service.chronyd "), "\(r.stdout)")
        let relaxed = try kcheck("preflight", "--root", Repo.fixture("no-systemd"), "--only", only, "--fail-on", "fail")
        #expect(relaxed.status == 0)
    }

    @Test func warningsFailOnlyWhenAsked() throws {
        let only = "sysctl.net.bridge.bridge-nf-call-iptables"
        let tree = Repo.fixture("br-netfilter-not-at-boot")
        #expect(try kcheck("preflight", "--root", tree, "--only", only).status == 0)
        let strict = try kcheck("preflight", "--root", tree, "--only", only, "--fail-on", "fail,error,warn", "--format", "junit")
        #expect(strict.status == 1)
        #expect(strict.stdout.contains("<failure type=\"warning\""))
    }

    /// Issue 15: a misspelt command or rule id is said with the nearest one, exit 2.
    @Test func misspellingsGetSuggestions() throws {
        let command = try kcheck("prefligth")
        #expect(command.status == 2 && command.stderr.contains("unknown command 'prefligth'; did you mean `preflight`?"), "\(command.stderr)")
        let unknown = try kcheck("xyzzy")
        #expect(unknown.status == 2 && unknown.stderr.contains("unknown command 'xyzzy'") && !unknown.stderr.contains("did you mean"), "\(unknown.stderr)")
        let rule = try kcheck("preflight", "--root", Repo.fixture("debian12"), "--only", "swap.of")
        #expect(rule.status == 2 && rule.stderr.contains("no rule 'swap.of' in profile guide-node; did you mean `swap.off`?"), "\(rule.stderr)")
        let skip = try kcheck("fix", "--root", Repo.fixture("debian12"), "--dry-run", "--skip", "sysctl.vm.swapiness")
        #expect(skip.status == 2 && skip.stderr.contains("did you mean `sysctl.vm.swappiness`?"), "\(skip.stderr)")
        // What is spelt right still runs.
        #expect(try kcheck("version").status == 0)
        #expect(try kcheck("help", "fix").status == 0)
    }

    /// Issue 15: `kcheck snapshot -o a/b` makes the missing parents, as mkdir -p.
    @Test func snapshotMakesTheMissingParents() throws {
        let dir = try TemporaryDirectory()
        let out = dir.path + "/new/deeper/snap"
        let r = try kcheck("snapshot", "--root", Repo.fixture("debian12"), "--output", out)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(try kcheck("preflight", "--root", out).status == 0)
    }

    /// Issue 15: `preflight --env FILE` lints the file given, not the node's (absent) one.
    @Test func envFileIsTheOneLinted() throws {
        let env = Repo.fixture("env-guide-copy") + "/opt/k8s/bin/environment.sh"
        let r = try kcheck("preflight", "--root", Repo.fixture("centos7-minimal"), "--env", env, "--only", "inventory.lint-clean", "--format", "json")
        #expect(r.stdout.contains("\"status\": \"fail\"") || r.stdout.contains("\"status\":\"fail\""), "\(r.stdout)")
        #expect(r.stdout.contains("both DOCKER_DIR and CONTAINERD_DIR are set") && !r.stdout.contains("No /opt/k8s/bin/environment.sh"), "\(r.stdout)")
    }

    /// Issue 15: a playbook planned from a node tree never uses the tree's path as a host
    /// pattern; one for this machine targets localhost with a local connection.
    @Test func ansibleHostPatterns() throws {
        let (dir, root) = try copyOfFixture("centos7-minimal")
        defer { withExtendedLifetime(dir) {} }
        let tree = try kcheck("fix", "--root", root, "--emit", "ansible")
        #expect(tree.stdout.contains("  hosts: \"all\"") && !tree.stdout.contains("hosts: \"\(root)\""), "\(tree.stdout.prefix(600))")
        #expect(tree.stdout.contains("Planned from the node tree \(root)"), "\(tree.stdout.prefix(600))")
        let rules = try kcheck("rules", "show", "swap.off")
        #expect(rules.stdout.contains("guide items: 10 (docs/DOCUMENTED-STATE.md)"), "\(rules.stdout)")
        #expect(FileManager.default.fileExists(atPath: Repo.root + "/docs/DOCUMENTED-STATE.md") && FileManager.default.fileExists(atPath: Repo.root + "/docs/RUNNING-STATE.md"))
    }

    /// Issue 15: an unreachable node is one line with ssh's reason in the text; no carriage
    /// return or other control character from ssh reaches any format; the summary does not say
    /// the cluster rules passed when a node was missing; the cluster header has no empty parts.
    @Test func anUnreachableNodeIsOneLine() throws {
        let dir = try TemporaryDirectory()
        // Nothing listens on 127.0.0.9:9: ssh says "Connection refused" (with CR LF, as it writes).
        let config = try dir.write("ssh_config", "Host down\n  HostName 127.0.0.9\n  Port 9\n  ConnectTimeout 5\n")
        let text = try kcheck("preflight", "--hosts", "down", "--ssh-config", config, "--color", "never")
        #expect(text.status == 1)
        let lines = text.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let nodeLines = lines.filter { $0.hasPrefix("== down") }
        #expect(nodeLines.count == 1 && nodeLines[0].contains("unreachable") && nodeLines[0].contains("Connection refused"), "\(text.stdout)")
        #expect(!text.stdout.contains("could not check: "), "no block per rule: \(text.stdout)")
        #expect(lines.count < 40, "\(lines.count) lines")
        #expect(text.stdout.contains("the cluster rules judged without 1 unreachable node") && !text.stdout.contains("the cluster rules passed"), "\(text.stdout)")
        #expect(!text.stdout.contains("(cluster) ·") && !text.stdout.contains("·  ·") && !text.stdout.contains("kernel  ·"), "\(text.stdout)")
        for format in ["text", "json", "junit", "markdown", "html"] {
            let r = try kcheck("preflight", "--hosts", "down", "--ssh-config", config, "--format", format, "--color", "never")
            let controls = r.stdout.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || $0.value == 0x7F }
            #expect(controls.isEmpty, "\(format): \(controls.map { $0.value })")
            #expect(!r.stdout.contains("\\r"), "\(format): an escaped carriage return")
        }
    }

    /// Issue 15: several single-node reports merged into text print each node's results, and no
    /// empty cluster section that "passed" with 0 rules.
    @Test func mergedSingleNodeReportsPrintTheirResults() throws {
        let dir = try TemporaryDirectory()
        let a = dir.path + "/a.json", b = dir.path + "/b.json"
        _ = try kcheck("preflight", "--root", Repo.fixture("debian12"), "--format", "json", "-o", a)
        _ = try kcheck("preflight", "--root", Repo.fixture("centos7-minimal"), "--format", "json", "-o", b)
        let r = try kcheck("report", a, b, "--format", "text")
        #expect(r.stdout.components(separatedBy: "\nkcheck preflight · ").count == 3 && r.stdout.contains("FAIL   critical swap.off"), "both nodes' results")
        #expect(!r.stdout.contains("PASSED: 0 rules") && !r.stdout.contains("the cluster rules passed"), "\(r.stdout.suffix(400))")
        #expect(r.stdout.contains("no cluster rules (single-node reports)"), "\(r.stdout.suffix(400))")
        let html = try kcheck("report", a, b, "--format", "html")
        #expect(!html.stdout.contains("<h2>The cluster rules</h2>") && html.stdout.contains("Every node, every rule"), "no empty first table")
        let markdown = try kcheck("report", a, b, "--format", "markdown")
        #expect(!markdown.stdout.contains("### The cluster rules"))
    }

    /// Issue 15: `audit --quiet` (what cron mails) prints what changed first, then only the
    /// results that need a person; passing and not-applicable rules are one count.
    @Test func quietAuditShowsChangesThenProblems() throws {
        let dir = try TemporaryDirectory()
        _ = try kcheck("audit", "--root", Repo.fixture("centos7-minimal"), "--reports-dir", dir.path, "--quiet")
        let r = try kcheck("audit", "--root", Repo.fixture("centos7-minimal"), "--reports-dir", dir.path, "--quiet")
        #expect(r.status == 1)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("No change since") == true, "changes first: \(lines.prefix(3))")
        #expect(!lines.contains { $0.hasPrefix("passed · ") || $0.hasPrefix("not applicable · ") }, "no passing or not-applicable lines")
        #expect(lines.contains { $0.hasPrefix("  FAIL ") } && lines.contains { $0.contains("passing or not applicable not shown") }, "\(r.stdout.suffix(300))")
        let loud = try kcheck("audit", "--root", Repo.fixture("centos7-minimal"), "--reports-dir", dir.path)
        #expect(loud.stdout.contains("\npassed · ") && loud.stdout.contains("\nnot applicable · "), "without --quiet the passing areas are counted")
    }

    /// Issue 15: `certs` shows failures and warnings first and passing certificates as one
    /// count line; --verbose shows them all; JSON always holds every certificate.
    @Test func certsSummarisePassingCertificates() throws {
        let short = try kcheck("certs", "--root", Repo.fixture("pki-wrong"), "--color", "never")
        let lines = short.stdout.split(separator: "\n").map(String.init)
        #expect(!lines.contains { $0.hasPrefix("PASS ") } && lines.contains { $0.contains("passing or not applicable not shown: --verbose shows them") }, "\(short.stdout.suffix(300))")
        let firstFail = lines.firstIndex { $0.hasPrefix("FAIL ") }
        #expect(firstFail != nil && firstFail! <= 3, "failures first")
        let verbose = try kcheck("certs", "--root", Repo.fixture("pki-wrong"), "--color", "never", "--verbose")
        #expect(verbose.stdout.contains("\nPASS "), "\(verbose.stdout.prefix(300))")
        let json = try kcheck("certs", "--root", Repo.fixture("pki-wrong"), "--format", "json")
        #expect(json.stdout.contains("\"status\": \"pass\"") || json.stdout.contains("\"status\":\"pass\""))
    }

    /// Issue 15: a long `certs` scan says how far it is on a terminal (one line on standard error,
    /// rewritten, cleared at the end); off a terminal it says nothing.
    @Test func certsShowProgressOnATerminal() throws {
        let dir = try TemporaryDirectory()
        let cert = try String(contentsOfFile: Repo.fixture("centos7-prepared") + "/etc/kubernetes/cert/admin.pem", encoding: .utf8)
        for i in 0..<700 { try dir.write("etc/kubernetes/cert/c\(i).pem", cert) }
        // script(1) gives kcheck a terminal; its output is the terminal's.
        let onTerminal = try run("/usr/bin/script", ["-qec", "\(Repo.kcheck) certs --root \(dir.path) --color never", "/dev/null"])
        #expect(onTerminal.stdout.hasPrefix("\rkcheck: read 512 of 700 files\rkcheck: read 700 of 700 files\r\u{1B}[Kkcheck certs · "), "\(onTerminal.stdout.prefix(200).debugDescription)")
        let piped = try kcheck("certs", "--root", dir.path)
        #expect(piped.stderr.isEmpty && piped.stdout.hasPrefix("kcheck certs · "), "\(piped.stderr)")
    }

    /// Issue 15: completion scripts for bash, zsh and fish know the commands and complete rule
    /// ids for --only, --skip and `rules show`.
    @Test func completionScriptsCompleteRuleIDs() throws {
        for shell in ["bash", "zsh", "fish"] {
            let r = try kcheck("--generate-completion-script", shell)
            #expect(r.status == 0 && r.stdout.contains("preflight") && r.stdout.contains("swap.off") && r.stdout.contains("cluster.machine-id-unique"), "\(shell)")
        }
    }

    /// Issue 15: `--wait` judges again until every rule passes (here: swap turned off in the tree
    /// two seconds into the run) or the time is up (exit 1, the last judgement); a duration it
    /// cannot read is exit 2.
    @Test func waitJudgesAgainUntilThePass() throws {
        let (dir, root) = try copyOfFixture("centos7-minimal")
        defer { withExtendedLifetime(dir) {} }
        let swaps = root + "/proc/swaps"
        DispatchQueue.global().asyncAfter(deadline: .now() + 2) {
            try? "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n".write(toFile: swaps, atomically: true, encoding: .utf8)
        }
        let started = Date()
        let passed = try kcheck("preflight", "--root", root, "--only", "swap.off", "--wait", "60s")
        #expect(passed.status == 0 && passed.stdout.contains("\nPASSED: 1 rule, 1 passed"), "\(passed.stdout)\(passed.stderr)")
        #expect(Date().timeIntervalSince(started) < 30, "it stopped waiting once the rule passed")
        let timedOut = try kcheck("preflight", "--root", Repo.fixture("centos7-minimal"), "--only", "swap.off", "--wait", "3s")
        #expect(timedOut.status == 1 && timedOut.stdout.contains("  FAIL   critical swap.off "))
        let bad = try kcheck("preflight", "--root", Repo.fixture("centos7-minimal"), "--wait", "soon")
        #expect(bad.status == 2 && bad.stderr.contains("--wait: `soon` is not a duration"), "\(bad.stderr)")
        // audit --wait records the last judgement.
        let (auditDir, auditRoot) = try copyOfFixture("centos7-minimal")
        defer { withExtendedLifetime(auditDir) {} }
        let reports = try TemporaryDirectory()
        let auditSwaps = auditRoot + "/proc/swaps"
        DispatchQueue.global().asyncAfter(deadline: .now() + 2) {
            try? "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n".write(toFile: auditSwaps, atomically: true, encoding: .utf8)
        }
        let audit = try kcheck("audit", "--root", auditRoot, "--only", "swap.off", "--wait", "60s", "--reports-dir", reports.path)
        #expect(audit.status == 0 && audit.stdout.contains("\nPASSED: 1 rule, 1 passed"), "\(audit.stdout)\(audit.stderr)")
        #expect(Waiting.seconds("1h30m") == 5400 && Waiting.seconds("90") == 90 && Waiting.seconds("2d") == nil && Waiting.seconds("") == nil)
    }

    /// Issue 15: a result whose message names several nodes (root's SSH from the first node) is
    /// one indented line per node in the text.
    @Test func severalNodesAreIndentedLines() throws {
        let subject = Report.Subject(id: "cluster.root-ssh", title: "root logs in by key", severity: .high, phase: .prepare, guide: [3], remediation: "ssh-copy-id")
        let result = RuleResult(
            ruleID: "cluster.root-ssh", status: .fail, expected: "by key", actual: "2 refused",
            message: "n1 → 10.0.0.2: Permission denied\nn1 → 10.0.0.3: Connection refused")
        let report = Report(
            toolVersion: "t", command: "preflight", profile: "p", node: NodeIdentity(name: "cluster", source: "cluster", distribution: "", kernel: ""),
            startedAt: (0, 0), durationSeconds: 0, entries: [Report.Entry(subject: subject, result: result)], policy: .default)
        let text = TextReporter.render(report, options: RenderOptions())
        #expect(text.contains("  FAIL   high     cluster.root-ssh  n1 → 10.0.0.2: Permission denied\n" + String(repeating: " ", count: 36) + "n1 → 10.0.0.3: Connection refused\n"), "\(text)")
    }

    /// Issue 15: on the HTML timeline an expired certificate is a full red bar with the days
    /// since it expired (its bar was 0 wide); long cells wrap instead of widening the page.
    @Test func expiredCertificatesAreRedOnTheTimeline() throws {
        let html = try kcheck("certs", "--root", Repo.fixture("pki-wrong"), "--format", "html")
        #expect(html.stdout.contains("<span class=\"fail\">expired ") && html.stdout.contains("width:100%;background:#cf222e"), "\(html.stdout.count) bytes")
        #expect(html.stdout.contains("overflow-wrap:anywhere"))
    }

    @Test func usageErrorsExitTwo() throws {
        let bad = try kcheck("preflight", "--format", "yaml")
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("unknown format 'yaml' (known: text, json, junit, markdown, html)"))
        #expect(try kcheck("preflight", "--bogus").status == 2)
        #expect(try kcheck("preflight", "--fail-on", "pass").status == 2)
        #expect(try kcheck("preflight", "--format", "json,junit").status == 2, "several formats need --output-dir")
        let missing = try kcheck("preflight", "--root", "/nonexistent/tree")
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("--root"))
        let unknownRule = try kcheck("preflight", "--only", "sysctl.nope")
        #expect(unknownRule.status == 2)
        #expect(unknownRule.stderr.contains("no rule 'sysctl.nope'"))
    }

    @Test func badRuleFileExitsTwoWithFileLineColumn() throws {
        let dir = try TemporaryDirectory()
        try dir.write("bad.yaml", "rules:\n  - id: x\n    title: t\n    severity: high\n    rationale: r\n    remediation: m\n    chek: {swap_off: {}}\n")
        let r = try kcheck("preflight", "--rules", dir.path)
        #expect(r.status == 2)
        #expect(r.stderr.contains("bad.yaml:7:5: error: unknown field `chek`; did you mean `check`?"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test func customRuleDirectoryIsUsed() throws {
        let dir = try TemporaryDirectory()
        try dir.write("one.yaml", """
            rules:
              - id: custom.swap
                title: swap is off
                severity: high
                rationale: r
                remediation: swapoff -a
                check: {swap_off: {}}
            """)
        let r = try kcheck("preflight", "--rules", dir.path, "--root", Repo.fixture("centos7-minimal"), "--format", "json")
        #expect(r.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(object["profile"] as? String == dir.path.split(separator: "/").last.map(String.init))
        #expect((object["results"] as? [[String: Any]])?.count == 1)
    }

    @Test func outputDirGetsEveryFormatAndStdoutTheTable() throws {
        let dir = try TemporaryDirectory()
        let out = dir.path + "/reports"
        let r = try kcheck("preflight", "--root", Repo.fixture("debian12"), "--format", "json,junit", "--format", "text", "--output-dir", out)
        #expect(r.status == 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(names == ["kcheck-preflight.json", "kcheck-preflight.txt", "kcheck-preflight.xml"])
        #expect(r.stdout.isEmpty, "text went to a file, so stdout stays quiet")
        let xml = try String(contentsOfFile: out + "/kcheck-preflight.xml", encoding: .utf8)
        #expect(try validateJUnit(xml).status == 0)
        let json = try String(contentsOfFile: out + "/kcheck-preflight.json", encoding: .utf8)
        #expect(try validateReportJSON(json).status == 0)
    }

    @Test func outputFileIsReplacedAtomicallyAndASymlinkIsNotFollowed() throws {
        let dir = try TemporaryDirectory()
        let victim = try dir.write("victim", "keep me\n")
        try dir.symlink("report.json", to: victim)
        let r = try kcheck("preflight", "--root", Repo.fixture("debian12"), "--format", "json", "--output", dir.path + "/report.json")
        #expect(r.status == 0)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep me\n")
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.path + "/report.json")
        #expect(attributes[.type] as? FileAttributeType == .typeRegular)
        #expect(r.stdout.contains("PASSED"), "the table goes to stdout when the report goes to a file")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".kcheck-") }
        #expect(leftovers.isEmpty)
    }

    /// `-o /dev/null` as root must write to the device, not rename a file over it. Tried on a
    /// device node of our own (mknod in a temporary directory), never on the machine's /dev/null.
    @Test func outputToADeviceWritesInPlace() throws {
        let dir = try TemporaryDirectory()
        let device = dir.path + "/null"
        let made = try run("/usr/bin/mknod", [device, "c", "1", "3"])
        try #require(made.status == 0, "mknod needs root: \(made.stderr)")
        let r = try kcheck("preflight", "--root", Repo.fixture("debian12"), "--format", "json", "--output", device)
        #expect(r.status == 0, "\(r.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: device)
        #expect(attributes[.type] as? FileAttributeType == .typeCharacterSpecial)
        let directory = try kcheck("preflight", "--root", Repo.fixture("debian12"), "--format", "json", "--output", dir.path)
        #expect(directory.status == 2 && directory.stderr.contains("Is a directory"), "\(directory.stderr)")
    }

    /// A one-node preflight is parsed by a command without the cluster options (faster); help and
    /// errors still come from the full command, with every option.
    @Test func oneNodeAndFullPreflightSayTheSame() throws {
        let help = try kcheck("preflight", "--help")
        #expect(help.status == 0 && help.stdout.contains("--cluster") && help.stdout.contains("--snapshots") && help.stdout.contains("--only"))
        let bad = try kcheck("preflight", "--root", Repo.fixture("debian12"), "--bogus")
        #expect(bad.status == 2 && bad.stderr.contains("Unknown option '--bogus'") && bad.stderr.contains("kcheck preflight --help"), "\(bad.stderr)")
        let both = try kcheck("preflight", "--root", Repo.fixture("debian12"), "--cluster")
        #expect(both.status == 2 && both.stderr.contains("--root checks one node tree"), "\(both.stderr)")
        let one = try kcheck("preflight", "--root", Repo.fixture("debian12"), "--only", "swap.off", "--format", "json")
        #expect(one.status == 0 && one.stdout.contains("\"swap.off\""))
    }

    @Test func unwritableOutputExitsTwo() throws {
        let r = try kcheck("preflight", "--root", Repo.fixture("debian12"), "--format", "json", "--output", "/nonexistent/dir/r.json")
        #expect(r.status == 2)
        #expect(r.stderr.contains("cannot write report"))
    }

    @Test func colourIsForcedOrDisabled() throws {
        let tree = Repo.fixture("centos7-minimal")
        #expect(try kcheck("preflight", "--root", tree, "--color", "always").stdout.contains("\u{1B}[1;31mFAIL"))
        #expect(!(try kcheck("preflight", "--root", tree, "--color", "never").stdout.contains("\u{1B}[")))
    }

    @Test func rulesListAndShow() throws {
        let list = try kcheck("rules")
        #expect(list.status == 0)
        #expect(list.stdout.contains("sysctl.net.ipv4.ip_forward"))
        #expect(list.stdout.contains("\(Profile.guideNode.rules.count) rules and \(Profile.guideNode.clusterRules.count) cluster rules in profile guide-node"))
        #expect(list.stdout.contains("cluster.clocks-agree"))
        let cluster = try kcheck("rules", "show", "cluster.ca-identical")
        #expect(cluster.status == 0 && cluster.stdout.contains("certificate_identical: /etc/kubernetes/cert/ca.pem") && cluster.stdout.contains("fail  disagree"), "\(cluster.stdout)")
        let show = try kcheck("rules", "show", "sysctl.vm.overcommit_memory")
        #expect(show.status == 0)
        #expect(show.stdout.contains("where sysctl never sets it"))
        #expect(show.stdout.contains("Remediation:"))
        #expect(show.stdout.contains("fail  guide-sysctl-copy"))
        let missing = try kcheck("rules", "show", "ip_forward")
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("did you mean: sysctl.net.ipv4.ip_forward"))
    }

    @Test("--phase selects the rules of those phases, in `rules` and in a preflight")
    func phaseSelects() throws {
        for phase in Phase.allCases {
            let list = try kcheck("rules", "--phase", phase.rawValue)
            let ids = Set(list.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
            for rule in Profile.guideNode.rules {
                #expect(ids.contains(rule.id) == (rule.phase == phase), "\(rule.id) (\(rule.phase)) with --phase \(phase)")
            }
            let json = try kcheck("preflight", "--root", Repo.fixture("centos7-prepared"), "--phase", phase.rawValue, "--format", "json")
            let judged = Set(try jsonResults(json.stdout).keys)
            #expect(judged == Set(Profile.guideNode.rules.filter { $0.phase == phase }.map(\.id)), "preflight --phase \(phase)")
        }
        let bad = try kcheck("rules", "--phase", "prepare,runing")
        #expect(bad.status == 2 && bad.stderr.contains("no phase 'runing' (one of: prepare, install, running)"), "\(bad.stderr)")
    }

    @Test func helpDocumentsExitStatus() throws {
        let help = try kcheck("preflight", "--help")
        #expect(help.status == 0)
        #expect(help.stdout.contains("Exit status: 0 every rule passed"))
        let version = try kcheck("--version")
        #expect(version.status == 0)
        #expect(version.stdout.hasPrefix("kcheck 0.1.0"))
    }

    /// The live node: this machine, read only. Whatever its state, the report is well-formed and
    /// the exit status is 0 or 1.
    @Test func liveNodeProducesAValidReport() throws {
        let r = try kcheck("preflight", "--format", "json")
        #expect(r.status == 0 || r.status == 1, "\(r.stderr)")
        #expect(try validateReportJSON(r.stdout).status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let node = try #require(object["node"] as? [String: String])
        #expect(node["source"] == "live")
        let release = try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)
        #expect(node["kernel"] == release.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
