import Foundation
import KCheckCore
import KCheckNative
import Testing

@Suite("Node trees: paths resolve inside the tree")
struct NodeTreeTests {
    @Test func absoluteSymlinkResolvesInsideTheTree() throws {
        let tree = try TemporaryDirectory()
        try tree.write("srv/real-hosts", "10.0.0.1 inside\n")
        // Outside the tree, /srv/real-hosts does not exist (or is something else): the link must
        // resolve to the tree's own file.
        try tree.symlink("etc/hosts", to: "/srv/real-hosts")
        let node = TreeNode(root: tree.path)
        #expect(node.read("/etc/hosts", limit: 1024) == .content(Array("10.0.0.1 inside\n".utf8)))
    }

    @Test func absoluteSymlinkToAHostFileDoesNotEscape() throws {
        let tree = try TemporaryDirectory()
        try tree.symlink("etc/users", to: "/etc/passwd")
        let node = TreeNode(root: tree.path)
        // /etc/passwd exists on the host, but not in the tree.
        #expect(FileManager.default.fileExists(atPath: "/etc/passwd"))
        #expect(node.read("/etc/users", limit: 1 << 20) == .missing)
        try tree.write("etc/passwd", "root:x:0:0:tree:/root:/bin/sh\n")
        #expect(node.read("/etc/users", limit: 1 << 20) == .content(Array("root:x:0:0:tree:/root:/bin/sh\n".utf8)))
    }

    @Test func dotDotStopsAtTheTop() throws {
        let tree = try TemporaryDirectory()
        try tree.write("etc/os-release", "ID=inside\n")
        try tree.symlink("etc/escape", to: "../../../../../../etc/os-release")
        let node = TreeNode(root: tree.path)
        #expect(node.read("/etc/escape", limit: 1024) == .content(Array("ID=inside\n".utf8)))
        #expect(node.read("/../../../etc/os-release", limit: 1024) == .content(Array("ID=inside\n".utf8)))
    }

    @Test func relativeSymlinksAndDirectoryLinksResolve() throws {
        let tree = try TemporaryDirectory()
        try tree.write("usr/lib/os-release", "ID=debian\n")
        try tree.symlink("lib", to: "usr/lib")
        try tree.symlink("etc/os-release", to: "../lib/os-release")
        let node = TreeNode(root: tree.path)
        #expect(node.read("/etc/os-release", limit: 1024) == .content(Array("ID=debian\n".utf8)))
        #expect(try node.list("/lib").get() == ["os-release"])
    }

    @Test func symlinkLoopIsAnErrorNotAHang() throws {
        let tree = try TemporaryDirectory()
        try tree.symlink("etc/a", to: "/etc/b")
        try tree.symlink("etc/b", to: "/etc/a")
        let node = TreeNode(root: tree.path)
        guard case .unreadable(let why) = node.read("/etc/a", limit: 1024) else {
            Issue.record("a symlink loop read as something")
            return
        }
        #expect(why.contains("/etc/a"))
    }

    @Test func oversizedFileIsUnreadableWithTheLimit() throws {
        let tree = try TemporaryDirectory()
        try tree.mkdir("etc")
        // A sparse file of 5 GiB: no disk used, but far over any read limit.
        let fd = open(tree.path + "/etc/fstab", O_CREAT | O_WRONLY, 0o644)
        #expect(fd >= 0)
        #expect(ftruncate(fd, 5 << 30) == 0)
        close(fd)
        let node = TreeNode(root: tree.path)
        #expect(node.read("/etc/fstab", limit: defaultReadLimit) == .unreadable("/etc/fstab is larger than \(defaultReadLimit) bytes"))
        // The rule that reads it reports could-not-check, and the run goes on.
        let rule = try #require(Repo.profile.rule(id: "swap.fstab"))
        let result = Evaluator(node: node, rules: [rule]).evaluate(rule)
        #expect(result.status == .error)
        #expect(result.message.contains("larger than"))
    }

    @Test func binaryJunkIsReadWithoutCrashing() throws {
        let tree = try TemporaryDirectory()
        try tree.mkdir("etc/selinux")
        var junk: [UInt8] = []
        var x: UInt32 = 2463534242
        for _ in 0..<65536 {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            junk.append(UInt8(truncatingIfNeeded: x))
        }
        #expect(FileManagerWrite.bytes(junk, to: tree.path + "/etc/selinux/config"))
        #expect(FileManagerWrite.bytes(junk, to: tree.path + "/etc/fstab"))
        let node = TreeNode(root: tree.path)
        let report = Engine.run(profile: Repo.profile, on: node)
        let selinux = try #require(report.entries.first { $0.subject.id == "selinux.config-disabled" })
        #expect(selinux.result.status == .fail)
        #expect(selinux.result.actual == "no SELINUX= line")
    }

    @Test func aDirectoryWhereAFileShouldBeIsUnreadable() throws {
        let tree = try TemporaryDirectory()
        try tree.mkdir("proc/swaps")
        let node = TreeNode(root: tree.path)
        #expect(node.read("/proc/swaps", limit: 1024) == .unreadable("/proc/swaps is not a regular file"))
    }

    @Test func anEmptyTreeIsAllCouldNotCheckOrFail() throws {
        let tree = try TemporaryDirectory()
        let report = Engine.run(profile: Repo.profile, on: TreeNode(root: tree.path))
        #expect(report.failed)
        // What passes is only what is right by absence: no service to stop, no swap line or unit,
        // no adjtime (the RTC is then UTC), no proxy.
        let byAbsence: Set = ["service.firewalld", "service.postfix", "time.rtc-utc", "swap.fstab", "swap.sources", "proxy.no-proxy"]
        let passed = Set(report.entries.filter { $0.result.status == .pass }.map(\.subject.id))
        #expect(passed.isSubset(of: byAbsence), "an empty tree passed: \(passed.subtracting(byAbsence).sorted())")
    }
}

@Suite("Facts file (.kcheck/facts)")
struct FactsFileTests {
    @Test func roundTrips() throws {
        var facts = FactsFile()
        facts.systemdRunning = true
        facts.units = ["chronyd.service": "active", "firewalld.service": "inactive"]
        facts.clock = KernelClockStateRecord(maxErrorMicroseconds: 1500, status: 8193)
        facts.packages = ["chrony", "jq"]
        let parsed = try FactsFile.parse(Array(facts.rendered().utf8))
        #expect(parsed == facts)
    }

    @Test func errorsNameLineAndColumn() {
        let text = "format 1\nsystemd running\nunit chronyd.service\n"
        #expect(throws: SourceError(file: FactsFile.path, line: 3, column: 21, message: "expected `unit NAME ACTIVE_STATE`")) {
            try FactsFile.parse(Array(text.utf8))
        }
        #expect(throws: SourceError(file: FactsFile.path, line: 2, column: 1, message: "unknown fact `sytemd` (known: format, systemd, unit, clock, package, address, chain, chains, binary, owner, unreadable, unavailable, digest, clock_offset, ssh_probe, recorded)")) {
            try FactsFile.parse(Array("format 1\nsytemd running\n".utf8))
        }
        #expect(throws: SourceError(file: FactsFile.path, line: 2, column: 7, message: "expected NAME=INTEGER, found `maxerror_us=lots`")) {
            try FactsFile.parse(Array("format 1\nclock maxerror_us=lots status=0\n".utf8))
        }
    }

    @Test func aBrokenFactsFileMakesServiceRulesCouldNotCheck() throws {
        let tree = try TemporaryDirectory()
        try tree.write(".kcheck/facts", "format 1\nsystemd sideways\n")
        try tree.write("etc/os-release", "ID=debian\n")
        try tree.write("usr/lib/systemd/system/chrony.service", "[Install]\nWantedBy=multi-user.target\n")
        let rule = try #require(Repo.profile.rule(id: "service.chronyd"))
        let result = Evaluator(node: TreeNode(root: tree.path), rules: [rule]).evaluate(rule)
        // Not enabled is known from the unit files even so: that is a failure, with the reason
        // the running state is unknown.
        #expect(result.status == .fail)
        #expect(result.message.contains("/.kcheck/facts:2:9: error: expected `running` or `absent`"), "\(result.message)")
    }
}

@Suite("Sysctl configuration as systemd-sysctl applies it")
struct SysctlConfigTests {
    func effective(_ files: [String: String], _ key: String) throws -> (String, String)? {
        let tree = try TemporaryDirectory()
        for (path, text) in files { try tree.write(path, text) }
        let rule = Rule(
            id: "t", title: "t", severity: .low, guide: [], rationale: "", remediation: "",
            check: .sysctl(SysctlCheck(key: key, value: "1")), tests: [])
        try tree.write("proc/sys/" + key.replacingOccurrences(of: ".", with: "/"), "1\n")
        let result = Evaluator(node: TreeNode(root: tree.path), rules: [rule]).evaluate(rule)
        return (result.status.rawValue, result.actual)
    }

    @Test func etcShadowsTheSameNameInUsrLib() throws {
        let r = try effective(["usr/lib/sysctl.d/50-x.conf": "vm.a = 0\n", "etc/sysctl.d/50-x.conf": "vm.a = 1\n"], "vm.a")
        #expect(r?.0 == "pass")
        #expect(r?.1 == "running 1; after reboot 1 (/etc/sysctl.d/50-x.conf:1)")
    }

    @Test func runShadowsUsrLibButNotEtc() throws {
        let r = try effective(
            ["usr/lib/sysctl.d/50-x.conf": "vm.a = 1\n", "run/sysctl.d/50-x.conf": "vm.a = 0\n"], "vm.a")
        #expect(r?.1 == "running 1; after reboot 0 (/run/sysctl.d/50-x.conf:1)")
    }

    @Test func filesApplyInLexicalOrderOfNamesAcrossDirectories() throws {
        let r = try effective(
            ["etc/sysctl.d/10-a.conf": "vm.a = 0\n", "usr/lib/sysctl.d/20-b.conf": "vm.a = 1\n"], "vm.a")
        #expect(r?.1 == "running 1; after reboot 1 (/usr/lib/sysctl.d/20-b.conf:1)")
    }

    /// Without systemd the init script runs `sysctl --system`: /etc/sysctl.conf last.
    @Test func sysctlConfIsLastWithoutSystemd() throws {
        let r = try effective(["etc/sysctl.d/zz.conf": "vm.a = 1\n", "etc/sysctl.conf": "vm.a=0\n", ".kcheck/facts": "format 1\nsystemd absent\n"], "vm.a")
        #expect(r?.1 == "running 1; after reboot 0 (/etc/sysctl.conf:1)")
    }

    /// A tree of a node booted with systemd, with `files`; `check` judged on it.
    func systemdTree(_ files: [String: String]) throws -> TemporaryDirectory {
        let tree = try TemporaryDirectory()
        try tree.write(".kcheck/facts", "format 1\nsystemd running\n")
        for (path, text) in files { try tree.write(path, text) }
        return tree
    }

    func judge(_ check: SysctlCheck, on tree: TemporaryDirectory) -> RuleResult {
        let rule = Rule(id: "t", title: "t", severity: .low, guide: [], rationale: "", remediation: "", check: .sysctl(check), tests: [])
        return Evaluator(node: TreeNode(root: tree.path), rules: [rule]).evaluate(rule)
    }

    /// systemd-sysctl reads /etc/sysctl.conf only through the 99-sysctl.conf link, in that
    /// name's place: zz-local.conf, after it, wins at boot, while `sysctl --system` would apply
    /// sysctl.conf last (issue 11, item 10: kcheck predicted 10 and a boot gave 0).
    @Test func systemdSysctlReadsSysctlConfThroughItsLinkInItsPlace() throws {
        let tree = try systemdTree([
            "etc/sysctl.conf": "vm.swappiness = 10\n", "etc/sysctl.d/zz-local.conf": "vm.swappiness = 0\n", "proc/sys/vm/swappiness": "0\n",
        ])
        try tree.symlink("etc/sysctl.d/99-sysctl.conf", to: "../sysctl.conf")
        let check = SysctlCheck(key: "vm.swappiness", value: "0", kernelDefault: "60")
        let result = judge(check, on: tree)
        #expect(result.actual == "running 0; after reboot 0 (/etc/sysctl.d/zz-local.conf:1)")
        #expect(result.status == .warn)
        #expect(result.message.contains("`sysctl --system` run now would leave 10 (/etc/sysctl.conf:1, which it reads last)"))
        guard case .sysctl(let o)? = result.observation else { Issue.record("no observation"); return }
        #expect(o.afterReboot == .set("0", SourceLocation(file: "/etc/sysctl.d/zz-local.conf", line: 1)))
        #expect(o.applyNow?.value == "10")
        // Without the link, systemd-sysctl never reads /etc/sysctl.conf.
        try FileManager.default.removeItem(atPath: tree.path + "/etc/sysctl.d/99-sysctl.conf")
        try tree.write("etc/sysctl.d/zz-local.conf", "# nothing\n")
        let unlinked = judge(check, on: tree)
        #expect(unlinked.actual == "running 0; after reboot 60 (kernel default)")
        #expect(unlinked.status == .fail)
    }

    /// A key nothing sets is not lost at reboot when it holds the kernel's default.
    @Test func kernelDefaultHoldsWhereNoFileSetsTheKey() throws {
        let tree = try systemdTree([
            "proc/sys/kernel/osrelease": "5.10.0\n", "proc/sys/vm/panic_on_oom": "0\n", "proc/sys/fs/inotify/max_user_watches": "8192\n",
        ])
        func evaluate(_ check: SysctlCheck) -> RuleResult { judge(check, on: tree) }
        let panic = evaluate(SysctlCheck(key: "vm.panic_on_oom", value: "0", kernelDefault: "0"))
        #expect(panic.status == .pass)
        #expect(panic.actual == "running 0; after reboot 0 (kernel default)")
        // Running 1 with the default 0: a boot restores 0, so the running value alone fails.
        try tree.write("proc/sys/vm/panic_on_oom", "1\n")
        #expect(evaluate(SysctlCheck(key: "vm.panic_on_oom", value: "0", kernelDefault: "0")).status == .fail)
        // A default that holds only on older kernels: known on 5.10, unknown on 5.11.
        let watches = SysctlCheck(key: "fs.inotify.max_user_watches", value: "8192", kernelDefault: "8192", defaultBefore: KernelVersion([5, 11]))
        #expect(evaluate(watches).status == .pass)
        try tree.write("proc/sys/kernel/osrelease", "6.1.0-27-amd64\n")
        let newer = evaluate(watches)
        #expect(newer.status == .fail)
        #expect(newer.message.contains("its default depends on the machine"))
    }

    /// A module's key holds after a reboot only if the module is loaded at boot (issue 11, item
    /// 1: nf_conntrack loaded by firewalld, after systemd-sysctl, and firewalld then disabled).
    @Test func aModulesKeyIsAbsentAfterRebootUnlessTheModuleLoadsAtBoot() throws {
        let tree = try systemdTree([
            "etc/sysctl.d/kubernetes.conf": "net.netfilter.nf_conntrack_max = 2310720\n",
            "proc/sys/net/netfilter/nf_conntrack_max": "2310720\n", "sys/module/nf_conntrack/initstate": "live\n",
        ])
        let check = SysctlCheck(key: "net.netfilter.nf_conntrack_max", value: "2310720", module: "nf_conntrack")
        let before = judge(check, on: tree)
        #expect(before.status == .warn)
        guard case .sysctl(let o)? = before.observation else { Issue.record("no observation"); return }
        #expect(o.afterReboot == .absent(module: "nf_conntrack"))
        try tree.write("etc/modules-load.d/conntrack.conf", "nf_conntrack\n")
        let after = judge(check, on: tree)
        #expect(after.status == .pass)
        #expect(after.actual == "running 2310720; after reboot 2310720 (/etc/sysctl.d/kubernetes.conf:1)")
    }

    @Test func onlyConfFilesCountAndSlashKeysAreNormalised() throws {
        let r = try effective(
            ["etc/sysctl.d/50.conf": "vm/a = 1\n", "etc/sysctl.d/60.conf.rpmsave": "vm.a = 0\n"], "vm.a")
        #expect(r?.1 == "running 1; after reboot 1 (/etc/sysctl.d/50.conf:1)")
    }

    @Test func commentsDashPrefixAndWhitespace() throws {
        let r = try effective(["etc/sysctl.d/50.conf": "# vm.a = 0\n; vm.a = 0\n  -vm.a   =   1  \n"], "vm.a")
        #expect(r?.1 == "running 1; after reboot 1 (/etc/sysctl.d/50.conf:3)")
    }

    @Test func theKernelKeepsTheLeadingNumber() throws {
        let r = try effective(["etc/sysctl.d/50.conf": "vm.a=1 vm.b=0\n"], "vm.a")
        #expect(r?.0 == "pass")
        let b = try effective(["etc/sysctl.d/50.conf": "vm.a=1 vm.b=1\n"], "vm.b")
        #expect(b?.0 == "fail")
        #expect(b?.1 == "running 1; after reboot not set in any sysctl file")
    }

    @Test func crlfLinesParse() throws {
        let r = try effective(["etc/sysctl.d/50.conf": "vm.a = 1\r\n"], "vm.a")
        #expect(r?.0 == "pass")
    }
}

@Suite("PCRE2 through KCheckNative")
struct RegexTests {
    @Test func byteOffsetsStayRightOnNonASCII() throws {
        let regex = try Regex("PATH=/opt/k8s/bin")
        let text = "# 添加路径 — ünïcödé\nPATH=/opt/k8s/bin:$PATH\n"
        let bytes = Array(text.utf8)
        let range = try #require(try regex.firstMatch(in: bytes))
        let prefix = "# 添加路径 — ünïcödé\n".utf8.count
        #expect(range == prefix..<(prefix + 17))
        #expect(String(decoding: bytes[range], as: UTF8.self) == "PATH=/opt/k8s/bin")
    }

    @Test func multilineAnchors() throws {
        let regex = try Regex("^export PATH")
        #expect(try regex.matches("a\nexport PATH=/x\n"))
        #expect(try !regex.matches("a # export PATH\n"))
    }

    @Test func invalidUTF8SubjectDoesNotFail() throws {
        let regex = try Regex("abc")
        #expect(try regex.firstMatch(in: [0xff, 0xfe, 0x61, 0x62, 0x63]) == 2..<5)
    }

    @Test func compileErrorsCarryMessageAndOffset() {
        #expect(throws: RegexError(message: "quantifier does not follow a repeatable item", offset: 0)) { try Regex("*x") }
    }

    @Test func jitIsUsed() throws {
        #expect(try Regex("a+b").isJITCompiled)
    }

    @Test func opensslIsWired() throws {
        #expect(OpenSSL.versionText.hasPrefix("OpenSSL "))
        #expect(try OpenSSL.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

@Suite("dpkg status")
struct DpkgStatusTests {
    /// dpkg's status file is scanned stanza by stanza: a field may come in any order, a
    /// continuation line is not a field, only "install ok installed" counts, the last stanza may
    /// lack its newline.
    @Test func dpkgStatusStanzas() throws {
        let tree = try TemporaryDirectory()
        try tree.write("etc/os-release", "ID=debian\nVERSION_ID=12\n")
        try tree.write(
            "var/lib/dpkg/status",
            """
            Package: alpha
            Status: install ok installed
            Version: 1

            Status: install ok installed
            Package: beta
            Description: first line
             Package: gamma

            Package: delta
            Status: deinstall ok config-files


            Package: epsilon
            Status:   install ok installed\t
            """)
        let node = TreeNode(root: tree.path)
        func status(_ names: [String]) -> (Status, String) {
            let rule = Rule(
                id: "p", title: "p", severity: .low, guide: [], rationale: "r", remediation: "m",
                check: .packages(names.map { DistroName($0) }), tests: [])
            let result = Engine.run(profile: Profile(name: "t", rules: [rule]), on: node).entries[0].result
            return (result.status, result.message)
        }
        #expect(status(["alpha", "beta", "epsilon"]).0 == .pass)
        #expect(status(["delta"]).0 == .fail)
        #expect(status(["gamma"]).0 == .fail)
        #expect(status(["alpha", "gamma", "delta"]).1.contains("gamma"))
    }

    @Test func onlyInstalledPackagesCount() throws {
        let tree = try TemporaryDirectory()
        try tree.write("etc/os-release", "ID=debian\n")
        try tree.write("var/lib/dpkg/status", """
            Package: jq
            Status: install ok installed
            Version: 1.6

            Package: ipset
            Status: deinstall ok config-files

            Package:   socat  \r
            Status: install ok installed\r
            \r
            Package: half-installed
            Status: install reinstreq half-installed
            Package: chrony
            Status: hold ok installed
            """)
        let rule = Rule(
            id: "p", title: "p", severity: .low, guide: [], rationale: "", remediation: "",
            check: .packages([DistroName("jq"), DistroName("ipset"), DistroName("socat"), DistroName("half-installed"), DistroName("chrony")]), tests: [])
        let result = Evaluator(node: TreeNode(root: tree.path), rules: [rule]).evaluate(rule)
        #expect(result.actual == "missing: ipset half-installed")
    }
}

@Suite("The live node's file access")
struct LiveFilesTests {
    @Test func aFinalSymlinkIsFollowedOnTheLiveNode() throws {
        let dir = try TemporaryDirectory()
        try dir.write("real.conf", "vm.swappiness = 0\n")
        try dir.symlink("99-link.conf", to: "real.conf")
        try dir.symlink("abs-link.conf", to: dir.path + "/real.conf")
        let node = LiveNode()
        #expect(node.read(dir.path + "/99-link.conf", limit: 1024) == .content(Array("vm.swappiness = 0\n".utf8)))
        #expect(node.read(dir.path + "/abs-link.conf", limit: 1024) == .content(Array("vm.swappiness = 0\n".utf8)))
        #expect(node.read(dir.path + "/missing.conf", limit: 1024) == .missing)
    }
}

@Suite("Bounded reads")
struct BoundedReadTests {
    @Test(arguments: [0, 1, 4095, 4096, 4097, 65536, 100_000])
    func filesOfEverySizeReadWhole(size: Int) throws {
        let dir = try TemporaryDirectory()
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(FileManagerWrite.bytes(bytes, to: dir.path + "/f"))
        #expect(try Posix.readFile(dir.path + "/f", limit: 100_000).get() == bytes)
    }

    @Test func oneByteOverTheLimitIsRefused() throws {
        let dir = try TemporaryDirectory()
        #expect(FileManagerWrite.bytes([UInt8](repeating: 7, count: 5001), to: dir.path + "/f"))
        #expect(Posix.readFile(dir.path + "/f", limit: 5000) == .failure(.tooLarge(path: dir.path + "/f", limit: 5000)))
        #expect(try Posix.readFile(dir.path + "/f", limit: 5001).get().count == 5001)
    }

    @Test func procFilesReportingSizeZeroReadWhole() throws {
        let bytes = try Posix.readFile("/proc/self/status", limit: 1 << 20).get()
        #expect(String(decoding: bytes, as: UTF8.self).contains("\nPid:"))
    }
}

/// A service rule's typed observation: the unit, its file's state, whether it runs; what the
/// plan and audit drift are made from.
@Suite("Service observations")
struct ServiceObservationTests {
    @Test func theUnitItsFileAndWhetherItRuns() throws {
        for (tree, id, unitFile, active) in [
            ("centos7-prepared", "service.chronyd", UnitFileState.enabled, "active"),
            ("services-wrong", "service.firewalld", UnitFileState.enabled, "active"),
        ] {
            let node = TreeNode(root: Repo.fixture(tree))
            let report = Engine.run(profile: Repo.profile, on: node, only: [id])
            let result = try #require(report.entries.first?.result)
            guard case .service(let o)? = result.observation else {
                Issue.record("\(tree) \(id): no service observation")
                continue
            }
            #expect(o.unitFile == unitFile && o.active == active, "\(tree) \(id): \(o)")
        }
        // In the JSON report, valid against the schema.
        let json = try kcheck("preflight", "--root", Repo.fixture("services-wrong"), "--only", "service.firewalld", "--format", "json")
        #expect(json.stdout.contains("\"kind\": \"service\"") && json.stdout.contains("\"unit_file\": \"enabled\""), "\(json.stdout)")
        #expect(try validateReportJSON(json.stdout).stdout.contains("valid"))
    }
}
