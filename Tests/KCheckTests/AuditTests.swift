import Foundation
import KCheckCore
import KCheckNative
import KCheckProfile
import Testing

@Suite("kcheck audit")
struct AuditTests {
    func json(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    /// Timestamped reports, latest.* pointing at the newest, the last --keep kept, and what
    /// changed since the previous audit: newly failing, fixed, drift.
    @Test func reportsRotateAndChangesAreNamed() throws {
        let (dir, root) = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(dir) {} }
        let reports = dir.path + "/reports"
        let first = try kcheck("audit", "--root", root, "--reports-dir", reports, "--keep", "2")
        #expect(first.status == 0 && first.stdout.contains("First audit"), "\(first.stdout)\(first.stderr)")
        let latest = try json(reports + "/latest.json")
        #expect((latest["changes"] as? [String: Any])?["previous"] is NSNull)
        #expect(try validateReportJSON(try String(contentsOfFile: reports + "/latest.json", encoding: .utf8)).stdout.contains("valid"))
        #expect(try validateJUnit(try String(contentsOfFile: reports + "/latest.xml", encoding: .utf8)).status == 0)

        try "0\n".write(toFile: root + "/proc/sys/net/ipv4/ip_forward", atomically: false, encoding: .utf8)
        let second = try kcheck("audit", "--root", root, "--reports-dir", reports, "--keep", "2")
        #expect(second.status == 1 && second.stdout.contains("newly failing: sysctl.net.ipv4.ip_forward"), "\(second.stdout)")
        let changes = try #require(try json(reports + "/latest.json")["changes"] as? [String: Any])
        #expect(changes["newly_failing"] as? [String] == ["sysctl.net.ipv4.ip_forward"])
        let drift = try #require((changes["drift"] as? [[String: Any]])?.first)
        #expect(drift["id"] as? String == "sysctl.net.ipv4.ip_forward" && (drift["new"] as? String)?.hasPrefix("running 0;") == true)
        #expect((changes["previous"] as? String)?.hasPrefix(reports + "/kcheck-audit-") == true)

        try "1\n".write(toFile: root + "/proc/sys/net/ipv4/ip_forward", atomically: false, encoding: .utf8)
        let third = try kcheck("audit", "--root", root, "--reports-dir", reports, "--keep", "2")
        #expect(third.status == 0 && third.stdout.contains("fixed:         sysctl.net.ipv4.ip_forward"), "\(third.stdout)")
        let names = try FileManager.default.contentsOfDirectory(atPath: reports).filter { $0.hasPrefix("kcheck-audit-") }.sorted()
        #expect(names.count == 4, "\(names)")  // two audits: .json and .xml each
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: reports + "/latest.json") == names.last { $0.hasSuffix(".json") })
    }

    /// Drift is a change of what was observed, not of its words: the same kernel parameters moved
    /// from kubernetes.conf to another file (so every `actual` names another file:line) are no drift.
    @Test func aSettingMovedToAnotherFileIsNoDrift() throws {
        let (dir, root) = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(dir) {} }
        let reports = dir.path + "/reports"
        let first = try kcheck("audit", "--root", root, "--reports-dir", reports)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let conf = root + "/etc/sysctl.d/kubernetes.conf"
        let text = try String(contentsOfFile: conf, encoding: .utf8)
        try FileManager.default.removeItem(atPath: conf)
        try ("# moved here\n\n" + text).write(toFile: root + "/etc/sysctl.d/k8s.conf", atomically: false, encoding: .utf8)
        let second = try kcheck("audit", "--root", root, "--reports-dir", reports)
        let latest = try json(reports + "/latest.json")
        let results = try #require(latest["results"] as? [[String: Any]])
        let forward = try #require(results.first { $0["id"] as? String == "sysctl.net.ipv4.ip_forward" })
        #expect((forward["actual"] as? String)?.contains("/etc/sysctl.d/k8s.conf:") == true, "\(forward)")
        let drift = ((latest["changes"] as? [String: Any])?["drift"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(!drift.contains { $0.hasPrefix("sysctl.") }, "\(drift)\n\(second.stdout)")
        // A value that changes is drift still.
        try text.replacingOccurrences(of: "vm.swappiness=0", with: "vm.swappiness=1").write(toFile: root + "/etc/sysctl.d/k8s.conf", atomically: false, encoding: .utf8)
        _ = try kcheck("audit", "--root", root, "--reports-dir", reports)
        let third = ((try json(reports + "/latest.json")["changes"] as? [String: Any])?["drift"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(third.contains("sysctl.vm.swappiness"), "\(third)")
    }

    /// --quiet prints only when something failed or changed (cron mails only then); --notify-on
    /// narrows that.
    @Test func quietSpeaksOnlyWhenItShould() throws {
        let (dir, root) = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(dir) {} }
        let reports = dir.path + "/reports"
        _ = try kcheck("audit", "--root", root, "--reports-dir", reports)
        let calm = try kcheck("audit", "--root", root, "--reports-dir", reports, "--quiet")
        #expect(calm.status == 0 && calm.stdout.isEmpty, "\(calm.stdout)")
        try "0\n".write(toFile: root + "/proc/sys/net/ipv4/ip_forward", atomically: false, encoding: .utf8)
        let changed = try kcheck("audit", "--root", root, "--reports-dir", reports, "--quiet", "--notify-on", "change")
        #expect(changed.status == 1 && changed.stdout.contains("newly failing"))
        let again = try kcheck("audit", "--root", root, "--reports-dir", reports, "--quiet", "--notify-on", "change")
        #expect(again.status == 1 && again.stdout.isEmpty, "still failing, but nothing changed: \(again.stdout)")
        let failing = try kcheck("audit", "--root", root, "--reports-dir", reports, "--quiet")
        #expect(failing.status == 1 && failing.stdout.contains("FAILED"))
    }

    /// --only as in preflight: the named rules only, an unknown id a usage error naming it.
    @Test func onlyTheNamedRules() throws {
        let dir = try TemporaryDirectory()
        let reports = dir.path + "/reports"
        let unknown = try kcheck("audit", "--root", Repo.fixture("centos7-prepared"), "--reports-dir", reports, "--only", "swap.off,no.such-rule")
        #expect(unknown.status == 2 && unknown.stderr.contains("--only: no rule 'no.such-rule'"), "\(unknown.stderr)")
        let r = try kcheck("audit", "--root", Repo.fixture("centos7-prepared"), "--reports-dir", reports, "--only", "swap.off,selinux.not-enforcing")
        #expect(r.status == 0, "\(r.stderr)")
        let root = try JSONDocument.parse(String(contentsOfFile: reports + "/latest.json", encoding: .utf8))
        #expect(Set(root["results"]?.array?.compactMap { $0["id"]?.string } ?? []) == ["swap.off", "selinux.not-enforcing"])
    }

    static let hasPromtool = FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool")

    /// node_exporter's textfile format, written atomically, accepted by promtool.
    @Test(.enabled(if: hasPromtool, "needs promtool (Debian's prometheus package)"))
    func prometheusTextfilePassesPromtool() throws {
        let (dir, root) = try copyOfFixture("services-wrong")
        defer { withExtendedLifetime(dir) {} }
        let prom = dir.path + "/kcheck.prom"
        _ = try kcheck("audit", "--root", root, "--reports-dir", dir.path + "/reports", "--prometheus", prom, "--quiet")
        let text = try String(contentsOfFile: prom, encoding: .utf8)
        let check = try run("/usr/bin/promtool", ["check", "metrics"], input: text)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(text.contains("kcheck_rule_status{node=\"k8s-node01\",rule=\"service.firewalld\",severity=\"high\",status=\"fail\"} 1"))
        #expect(text.contains("kcheck_results{node=\"k8s-node01\",status=\"fail\"} 4"))
        #expect(text.contains("kcheck_certificate_expiry_seconds{node=\"k8s-node01\",path=\"/etc/kubernetes/cert/ca.pem\"}"))
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".kcheck-") }
        #expect(left.isEmpty, "a temporary file was left: \(left)")
    }

    /// Two audits never share the reports directory; a full disk is an error naming the
    /// directory, and the previous reports and latest.* stay whole.
    @Test func lockAndFullDisk() throws {
        let (dir, root) = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(dir) {} }
        let reports = dir.path + "/reports"
        _ = try kcheck("audit", "--root", root, "--reports-dir", reports)
        let lock = try #require(try? FileLock.acquire(SafeWriter(root: "/"), path: reports + "/.lock").get())
        let locked = try kcheck("audit", "--root", root, "--reports-dir", reports)
        #expect(locked.status == 2 && locked.stderr.contains("it is held by process \(getpid())"), "\(locked.stderr)")
        withExtendedLifetime(lock) {}

        guard (try? run("/usr/bin/unshare", ["-m", "--", "/bin/true"]).status) == 0 else { return }
        let script = #"""
            set -e
            kcheck=$1 root=$2 mnt=$3
            mount -t tmpfs -o size=256k kcheck-audit-full "$mnt"
            "$kcheck" audit --root "$root" --reports-dir "$mnt" --quiet || true
            dd if=/dev/zero of="$mnt/fill" bs=1k 2>/dev/null || true
            "$kcheck" audit --root "$root" --reports-dir "$mnt" > "$mnt/../out.txt" 2>&1 || echo "exit $?" >> "$mnt/../out.txt"
            readlink "$mnt/latest.json" > "$mnt/../latest.txt"
            python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$mnt/$(readlink "$mnt/latest.json")" && echo whole >> "$mnt/../latest.txt"
            """#
        let mnt = dir.path + "/mnt"
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let r = try run("/usr/bin/unshare", ["-m", "--", "/bin/sh", "-c", script, "sh", Repo.kcheck, root, mnt])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try String(contentsOfFile: dir.path + "/out.txt", encoding: .utf8)
        #expect(out.contains("cannot write the audit report in \(mnt)") && out.contains("No space left on device") && out.contains("exit 2"), "\(out)")
        #expect(try String(contentsOfFile: dir.path + "/latest.txt", encoding: .utf8).contains("whole"))
    }
}

/// contrib/: the systemd service and timer pass `systemd-analyze verify` (with ExecStart pointed at
/// the kcheck built here), and the cron.d line runs the same audit.
@Suite("contrib units")
struct ContribTests {
    static let hasAnalyze = FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")

    @Test(.enabled(if: hasAnalyze, "needs systemd-analyze"))
    func systemdUnitsVerify() throws {
        let dir = try TemporaryDirectory()
        for name in ["kcheck-audit.service", "kcheck-audit.timer"] {
            let text = try String(contentsOfFile: Repo.root + "/contrib/systemd/" + name, encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/kcheck", with: Repo.kcheck)
            try dir.write(name, text)
        }
        let r = try run("/usr/bin/systemd-analyze", ["verify", dir.path + "/kcheck-audit.service", dir.path + "/kcheck-audit.timer"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    }

    @Test func cronLineRunsTheAudit() throws {
        let lines = try String(contentsOfFile: Repo.root + "/contrib/cron/kcheck", encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.contains("=") && !$0.isEmpty }
        #expect(lines.count == 1)
        let fields = lines[0].split(separator: " ")
        #expect(fields.count > 7 && fields[5] == "root" && fields[6] == "/usr/local/bin/kcheck" && fields[7] == "audit")
        // The same arguments are accepted by kcheck itself (parsed, not run).
        let help = try kcheck(["audit"] + fields[8...].map(String.init) + ["--help"])
        #expect(help.status == 0, "\(help.stderr)")
    }

    /// contrib/kubernetes: the DaemonSet's and the CronJob's own commands, read from the manifests
    /// (python3-yaml), run with /host a node tree and the volumes' mount paths temporary
    /// directories: each writes its reports, and the DaemonSet's metrics pass promtool.
    @Test(.enabled(if: AuditTests.hasPromtool, "needs promtool"))
    func kubernetesManifestsCommandsRun() throws {
        let read = try run("/usr/bin/python3", ["-c", """
            import json, re, sys, yaml
            out = {}
            for name in ("daemonset", "cronjob"):
                doc = yaml.safe_load(open(sys.argv[1] + "/kcheck-" + name + ".yaml"))
                spec = doc["spec"]["template"]["spec"] if name == "daemonset" else doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
                c = spec["containers"][0]
                argv = c["command"] + c.get("args", [])
                if argv[:2] == ["/bin/sh", "-c"]:
                    argv = re.search(r"do (.*?); sleep", argv[2]).group(1).split(" ")
                mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
                out[name] = {"argv": argv, "mounts": mounts}
            print(json.dumps(out))
            """, Repo.root + "/contrib/kubernetes"])
        #expect(read.status == 0, "\(read.stderr)")
        let manifests = try #require(try JSONSerialization.jsonObject(with: Data(read.stdout.utf8)) as? [String: [String: Any]])
        for (name, manifest) in manifests.sorted(by: { $0.key < $1.key }) {
            let argv = try #require(manifest["argv"] as? [String]), mounts = try #require(manifest["mounts"] as? [String: String])
            #expect(argv.first == "/kcheck" && argv.dropFirst().first == "audit", "\(name): \(argv)")
            let dir = try TemporaryDirectory()
            var paths: [String: String] = ["/host": Repo.fixture("services-wrong")]
            for (volume, path) in mounts where volume != "host" {
                try dir.mkdir(volume)
                paths[path] = dir.path + "/" + volume
            }
            let args = argv.dropFirst().map { arg in
                paths.first { arg == $0.key || arg.hasPrefix($0.key + "/") }.map { $0.value + arg.dropFirst($0.key.count) } ?? arg
            }
            let r = try kcheck(Array(args))
            #expect(r.status == 1 && r.stdout.contains("FAILED"), "\(name): \(args) \(r.stderr)")
            let reports = try #require(paths["/reports"])
            #expect(FileManager.default.fileExists(atPath: reports + "/latest.json") && FileManager.default.fileExists(atPath: reports + "/latest.xml"), "\(name)")
            if let textfile = paths["/textfile"] {
                let check = try run("/usr/bin/promtool", ["check", "metrics"], input: try String(contentsOfFile: textfile + "/kcheck.prom", encoding: .utf8))
                #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
            }
        }
        #expect(manifests.count == 2)
    }
}

/// Reports for people: Markdown for CI summaries, one self-contained HTML file, and `kcheck
/// report` rendering and merging saved JSON reports.
@Suite("Markdown, HTML and kcheck report")
struct DocumentReportTests {
    @Test func markdownHasTheVerdictCountsAndFailures() throws {
        let r = try kcheck("preflight", "--root", Repo.fixture("services-wrong"), "--format", "markdown")
        #expect(r.status == 1)
        #expect(r.stdout.hasPrefix("## kcheck preflight · k8s-node01\n\n**FAILED**"), "\(r.stdout.prefix(200))")
        let n = Profile.guideNode.rules.count, running = notApplicableBeforeInstalling(Profile.guideNode)
        #expect(r.stdout.contains("| \(n) | \(n - 4 - running) | 4 | 0 | 0 | 0 | \(running) |"), "\(r.stdout)")
        #expect(r.stdout.contains("| fail | `service.firewalld` firewalld is stopped and disabled | high |"))
    }

    @Test func htmlIsSelfContainedAndEscaped() throws {
        let dir = try TemporaryDirectory()
        let r = try kcheck("preflight", "--root", Repo.fixture("services-wrong"), "--format", "html", "--output", dir.path + "/r.html")
        #expect(r.status == 1)
        let html = try String(contentsOfFile: dir.path + "/r.html", encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("class=\"verdict failed\""))
        // (Rule texts may name a URL, such as etcd's http://127.0.0.1:2379, as text: nothing links it.)
        #expect(!html.contains("href=\"http") && !html.contains("url(") && !html.contains("<script") && !html.contains("src="), "the page fetches nothing")
        let xml = try run("/usr/bin/xmllint", ["--html", "--noout", dir.path + "/r.html"])
        #expect(xml.status == 0 && xml.stderr.isEmpty, "\(xml.stderr)")
        // Hostile strings are escaped: a rule whose actual value carries markup.
        let certs = try kcheck("certs", "--root", Repo.fixture("centos7-prepared"), "--format", "html")
        #expect(certs.stdout.contains("Certificates by expiry"))
    }

    @Test func reportRendersAndMergesSavedReports() throws {
        let dir = try TemporaryDirectory()
        for tree in ["services-wrong", "debian12"] {
            _ = try kcheck("preflight", "--root", Repo.fixture(tree), "--format", "json", "--output", dir.path + "/\(tree).json")
        }
        let one = try kcheck("report", dir.path + "/services-wrong.json", "--format", "junit")
        let valid = try validateJUnit(one.stdout)
        #expect(one.status == 1 && valid.status == 0)
        let direct = try kcheck("preflight", "--root", Repo.fixture("services-wrong"), "--format", "junit")
        #expect(one.stdout.components(separatedBy: "<testcase").count == direct.stdout.components(separatedBy: "<testcase").count)
        let merged = try kcheck("report", dir.path + "/services-wrong.json", dir.path + "/debian12.json", "--format", "html")
        #expect(merged.stdout.contains("Every node, every rule") && merged.stdout.contains("<th>k8s-node01</th><th>k8s-node02</th>"), "\(merged.stdout.prefix(300))")
        let json = try kcheck("report", dir.path + "/services-wrong.json", dir.path + "/debian12.json", "--format", "json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((object["nodes"] as? [[String: Any]])?.count == 2)
        try "{\"format\": \"kcheck-report\", \"results\": [{\"id\": 3}]}\n".write(toFile: dir.path + "/bad.json", atomically: false, encoding: .utf8)
        let bad = try kcheck("report", dir.path + "/bad.json")
        #expect(bad.status == 2 && bad.stderr.contains("bad.json:1:"), "\(bad.stderr)")
    }
}

/// The HTML report in a real browser: headless Chromium (Debian's) renders the one-node and the
/// cluster pages to screenshots, logging no error, and fetching nothing (it is run with the
/// network off, so a page that needed anything outside itself would show it).
@Suite("The HTML report in headless Chromium")
struct BrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: chromium != nil, "needs chromium"))
    func rendersWithoutErrors() throws {
        let dir = try TemporaryDirectory()
        _ = try kcheck("preflight", "--root", Repo.fixture("services-wrong"), "--format", "html", "--output", dir.path + "/node.html")
        _ = try kcheck("report", Repo.root + "/reports/examples/cluster-snapshots.json", "--format", "html", "--output", dir.path + "/cluster.html")
        for page in ["node", "cluster"] {
            let shot = dir.path + "/\(page).png"
            // No network namespace: nothing could be fetched even if the page asked.
            let r = try run("/usr/bin/unshare", [
                "-n", "--", Self.chromium!, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--window-size=1200,1600", "--screenshot=\(shot)", "--enable-logging=stderr", "--v=0",
                "--user-data-dir=\(dir.path)/profile-\(page)", "file://\(dir.path)/\(page).html",
            ])
            #expect(r.status == 0, "\(r.stderr)")
            let png = try Data(contentsOf: URL(fileURLWithPath: shot))
            #expect(png.count > 20_000 && png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "\(page): \(png.count) bytes")
            // Chromium's own notice when a loaded machine is slow to give it a font is no page error.
            let consoleErrors = r.stderr.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") || $0.contains("net::ERR") }
                .filter { !$0.contains("Slow network is detected") }
            #expect(consoleErrors.isEmpty, "\(page): \(consoleErrors)")
        }
    }

    /// Issue 15: readable at 1280 px without sideways scrolling — a node with long messages and
    /// certificates' details, a cluster of three, and the certificate timeline — measured by
    /// Chromium itself (the page's scrollWidth, with a script added to the copy measured).
    @Test(.enabled(if: chromium != nil, "needs chromium"))
    func fitsA1280PixelWindow() throws {
        let dir = try TemporaryDirectory()
        _ = try kcheck("preflight", "--root", Repo.fixture("centos7-minimal"), "--format", "html", "--output", dir.path + "/node.html", "--verbose")
        _ = try kcheck("preflight", "--snapshots", Repo.root + "/fixtures/clusters/disagree", "--format", "html", "--output", dir.path + "/cluster.html")
        _ = try kcheck("certs", "--root", Repo.fixture("pki-wrong"), "--format", "html", "--output", dir.path + "/certs.html")
        for page in ["node", "cluster", "certs"] {
            let html = try String(contentsOfFile: dir.path + "/\(page).html", encoding: .utf8)
            #expect(html.count > 2000, "\(page): \(html.prefix(200))")
            let measured = html.replacingOccurrences(
                of: "</body>", with: "<script>document.title='width='+document.documentElement.scrollWidth</script></body>")
            try dir.write("\(page)-measured.html", measured)
            let r = try run("/usr/bin/unshare", [
                "-n", "--", Self.chromium!, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--window-size=1280,900", "--dump-dom", "--user-data-dir=\(dir.path)/profile-w-\(page)", "file://\(dir.path)/\(page)-measured.html",
            ])
            let title = r.stdout.components(separatedBy: "<title>width=").dropFirst().first?.prefix { $0.isNumber }
            let width = title.flatMap { Int($0) }
            #expect(width != nil && width! <= 1280, "\(page): scrollWidth \(width.map(String.init) ?? "not measured: \(r.stderr.suffix(300))")")
        }
    }
}

/// `kcheck audit --hosts`: every node over a real sshd, timestamped cluster reports, the changes
/// since the previous audit per node, and one Prometheus file for them all.
@Suite("kcheck audit over a cluster of real sshd", .serialized)
struct ClusterAuditTests {
    @Test(.enabled(if: TestSSHCluster.available && AuditTests.hasPromtool, "needs openssh-server, openssh-client, unshare(1) and promtool"))
    func driftOnOneNodeIsReportedForThatNode() throws {
        let one = try copyOfFixture("centos7-prepared"), two = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime((one, two)) {} }
        let cluster = try TestSSHCluster([
            .init(alias: "node1", address: "127.0.0.2", tree: one.root), .init(alias: "node2", address: "127.0.0.3", tree: two.root),
        ])
        defer { withExtendedLifetime(cluster) {} }
        let out = try TemporaryDirectory()
        let reports = out.path + "/reports", prom = out.path + "/kcheck.prom"
        let args = ["audit", "--hosts", "node1,node2", "--ssh-config", cluster.config, "--reports-dir", reports, "--prometheus", prom]
        let first = try kcheck(args)
        #expect(first.stdout.contains("node1: First audit") && first.stdout.contains("cluster: First audit"), "\(first.stdout)\(first.stderr)")
        // Drift on node2 only: swap comes back into use.
        _ = try one.dir.write("node/proc/sys/vm/swappiness", "0\n")
        _ = try two.dir.write("node/proc/sys/vm/swappiness", "60\n")
        let second = try kcheck(args + ["--quiet"])
        #expect(second.stdout.contains("node2: Changes since"), "\(second.stdout)\(second.stderr)")
        #expect(second.stdout.contains("newly failing: sysctl.vm.swappiness") && second.stdout.contains("drift:         sysctl.vm.swappiness: running 0; after reboot 0 (/etc/sysctl.d/kubernetes.conf:8) → running 60"), "\(second.stdout)")
        #expect(second.stdout.contains("node1: No change since"), "\(second.stdout)")
        // The clocks' spread is measured anew each run; only the sysctl that now differs drifts.
        #expect(!second.stdout.contains("drift:         cluster.clocks-agree") && second.stdout.contains("drift:         cluster.sysctl-agree"), "\(second.stdout)")
        let json = try String(contentsOfFile: reports + "/latest.json", encoding: .utf8)
        let third = try kcheck(args + ["--quiet", "--notify-on", "change"])
        #expect(third.stdout.isEmpty, "nothing changed, so a cron job stays quiet: \(third.stdout)")
        let root = try JSONDocument.parse(json)
        #expect(root["format"]?.string == "kcheck-cluster-report")
        let nodes = root["nodes"]?.array ?? []
        #expect(nodes.count == 2)
        let node2 = nodes.first { $0["host"]?.string == "node2" }
        #expect(node2?["report"]?["changes"]?["newly_failing"]?.array?.compactMap(\.string) == ["sysctl.vm.swappiness"], "\(json.prefix(400))")
        let node1 = nodes.first { $0["host"]?.string == "node1" }
        #expect(node1?["report"]?["changes"]?["newly_failing"]?.array?.isEmpty == true)
        let schema = try validateReportFile(reports + "/latest.json", schema: Repo.clusterReportSchema)
        #expect(schema.stdout.contains("valid"), "\(schema.stderr)")
        #expect(try validateJUnit(String(contentsOfFile: reports + "/latest.xml", encoding: .utf8)).status == 0)
        let metrics = try String(contentsOfFile: prom, encoding: .utf8)
        let check = try run("/usr/bin/promtool", ["check", "metrics"], input: metrics)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(metrics.contains("kcheck_rule_status{node=\"node2\",rule=\"sysctl.vm.swappiness\",severity=") && metrics.contains("status=\"fail\"} 1"))
        #expect(metrics.contains("kcheck_results{node=\"cluster\",status=\"pass\"}") && metrics.contains("kcheck_last_run_passed{node=\"node1\"}"))
        // Two audits, both kept.
        let kept = try FileManager.default.contentsOfDirectory(atPath: reports).filter { $0.hasPrefix("kcheck-audit-") && $0.hasSuffix(".json") }
        #expect(kept.count == 3)
    }
}
