#if canImport(Glibc)
import Glibc
#endif
import KCheckCore
import KCheckNative
import KCheckProfile
import KCheckRuleLoader

/// One libFuzzer target per parser of untrusted bytes (docs/fuzzing.md). `run` feeds the bytes to
/// the parser and throws the result away: a thrown error or an error finding is a correct answer;
/// only a crash, a leak or a hang is a bug. The fuzz package (`fuzz/`) drives these with
/// libFuzzer; `FuzzCorpusTests` replays the committed corpora (`fuzz/corpus/<target>/`) on every
/// `swift test`. Not a dependency of the kcheck executable.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// environment.sh: the shell parser (`Inventory.parse`), its linter, the snapshot's redaction.
    case shell
    /// A sysctl.d file: the parser, the linter, the node's whole set with the file in its place.
    case sysctl
    /// /etc/hosts, linted against an inventory.
    case hosts
    /// /etc/fstab.
    case fstab
    /// A systemd unit file ([Install]: Alias=, WantedBy=…) judged by a service rule; the same
    /// bytes as a component's unit (ExecStart as systemd splits it) judged by the running rules.
    case units
    /// A node tree's `.kcheck/facts`.
    case facts
    /// The JSON reader, and the CA files (ca-config.json, ca-csr.json) read with it.
    case json
    /// A rule file: kcheck's own YAML reader and the rule decoder.
    case yaml
    /// A saved JSON report (`kcheck report`).
    case report
    /// PEM certificates and private keys (and a snapshot's stand-ins).
    case pem
    /// A DER certificate (or a binary key a snapshot withholds).
    case der
    /// A recording as a node sends it back (`Recording.decode`, `Frames`).
    case recording
    /// A node's answer over SSH (`RemoteAnswer.decode`).
    case remote
    /// A request as a node reads it (`RemoteRequest.decode`).
    case request
    /// A run's journal (`Journal.load`) and the undo plan made from it.
    case journal
    /// /proc/net/tcp and tcp6 (`ProcNetTCP`), judged by the profile's ports rule; the same bytes
    /// as /proc/net/ip_vs (`IPVSTable`).
    case sockets
    /// The packet filter as the kernel hands it over: a legacy table (`FirewallChains.legacy`) or
    /// nf_tables' chain and rule messages (`FirewallChains.nftables`).
    case firewall
    /// grub's files: the bytes as grub.cfg, grubenv, a BLS entry and /etc/default/grub, judged
    /// by the rules that read them (the default entry's kernel, the modules the booting kernel needs).
    case grub
    /// containerd's config.toml: the TOML reader (`TOML.parse`), its tree walked to the end and
    /// searched as a rule looks a key up in it.
    case toml
    /// A binary's bytes (`BinaryScan`): ELF headers and sections, Go build information in both
    /// forms, the needle search the versions.* rules use.
    case binary
    /// root's login files as path.login-shell reads them (`LoginPath`): the bytes as /etc/profile,
    /// a profile.d script, ~/.bash_profile and the .bashrc it sources, and /etc/passwd.
    case profile
    /// A waivers file (`Waivers.parse`) against the profile's rule ids, and each waiver it holds
    /// applied to a report of every rule failing, before and after its expiry.
    case waivers

    /// Feeds `bytes` to this target's parser.
    public static func run(_ target: FuzzTarget, _ bytes: [UInt8]) {
        switch target {
        case .shell: shell(bytes)
        case .sysctl: sysctl(bytes)
        case .hosts: hosts(bytes)
        case .fstab: fstab(bytes)
        case .units: units(bytes)
        case .facts: facts(bytes)
        case .json: json(bytes)
        case .yaml: yaml(bytes)
        case .report: report(bytes)
        case .pem: pem(bytes)
        case .der: der(bytes)
        case .recording: recording(bytes)
        case .remote: remote(bytes)
        case .request: request(bytes)
        case .journal: journal(bytes)
        case .sockets: sockets(bytes)
        case .firewall: firewall(bytes)
        case .grub: grub(bytes)
        case .toml: toml(bytes)
        case .binary: BinaryScan.fuzz(bytes)
        case .profile: profile(bytes)
        case .waivers: waivers(bytes)
        }
    }

    // MARK: - The targets

    static func shell(_ bytes: [UInt8]) {
        if let inventory = try? Inventory.parse(bytes, path: Inventory.nodePath) {
            _ = EnvironmentLinter.lint(inventory)
            _ = inventory.nodeIPs
            _ = inventory.nodeNames
            _ = inventory.iface
        }
        _ = EnvironmentLinter.lint(bytes, path: Inventory.nodePath)
        let secrets = Redaction.secrets(in: bytes)
        _ = Redaction.scrub(bytes, secrets, inventory: true)
        _ = Linter.detect(path: "/tmp/fuzz", bytes: bytes)
    }

    static func sysctl(_ bytes: [UInt8]) {
        let path = "/etc/sysctl.d/99-fuzz.conf"
        _ = SysctlLinter.lint(path: path, bytes: bytes, node: nil, profile: Profile.guideNode)
        // With the node's whole set: a vendor default before it, a legacy sysctl.conf after it.
        let node = MemoryNode()
        node.file("/usr/lib/sysctl.d/50-default.conf", "net.ipv4.ip_forward = 0\nkernel.pid_max = 4194304\n")
        node.file(path, bytes)
        node.file("/etc/sysctl.conf", "vm.swappiness = 0\n")
        _ = SysctlLinter.lint(path: path, bytes: bytes, node: node, profile: Profile.guideNode)
        _ = Linter.detect(path: "/tmp/fuzz", bytes: bytes)
    }

    static func hosts(_ bytes: [UInt8]) {
        let file = HostsFile.parse(bytes, path: "/etc/hosts")
        _ = file.findings(inventory: nil)
        _ = file.findings(inventory: inventory)
        _ = file.addresses(of: "k8s-01")
        _ = Linter.detect(path: "/tmp/fuzz", bytes: bytes)
    }

    static func sockets(_ bytes: [UInt8]) {
        _ = try? ProcNetTCP.listening(bytes, ipv6: false)
        _ = try? ProcNetTCP.listening(bytes, ipv6: true)
        _ = try? IPVSTable.parse(bytes)
        let node = MemoryNode()
        node.file("/proc/net/tcp", bytes)
        node.file("/proc/net/tcp6", bytes)
        let rules = Profile.guideNode.rules.filter { if case .portsFree = $0.check { true } else { false } }
        _ = Evaluator(node: node, rules: rules).evaluate(rules)
    }

    /// The packet filter's kernel bytes. First byte even: a legacy table (byte 1 the valid hooks,
    /// bytes 2–21 five hook entries and five underflows as 16-bit offsets, the rest the entries).
    /// Odd: nf_tables messages, each a kind byte (even: a chain, odd: a rule), a 16-bit length
    /// and the message.
    static func firewall(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        if first & 1 == 0 {
            guard bytes.count >= 22 else { return }
            let words = (0..<10).map { UInt32(bytes[2 + 2 * $0]) | UInt32(bytes[3 + 2 * $0]) << 8 }
            _ = try? FirewallChains.legacy(
                name: "filter", validHooks: UInt32(bytes[1]), hookEntry: Array(words[0..<5]), underflow: Array(words[5..<10]),
                entries: Array(bytes[22...]))
            return
        }
        var chains: [[UInt8]] = [], rules: [[UInt8]] = []
        var at = 1
        while at + 3 <= bytes.count {
            let length = Int(bytes[at + 1]) | Int(bytes[at + 2]) << 8
            let end = min(bytes.count, at + 3 + length)
            if bytes[at] & 1 == 0 { chains.append(Array(bytes[(at + 3)..<end])) } else { rules.append(Array(bytes[(at + 3)..<end])) }
            at = end
        }
        _ = try? FirewallChains.nftables(chains: chains, rules: rules)
    }

    static let grubRules: [Rule] = Profile.guideNode.rules.filter { rule in
        switch rule.check {
        case .bootKernelMinimum, .kernelModule: true
        default: false
        }
    }

    static func grub(_ bytes: [UInt8]) {
        for (config, env, release) in [("/boot/grub2/grub.cfg", "/boot/grub2/grubenv", "CentOS Linux"), ("/boot/grub/grub.cfg", "/boot/grub/grubenv", "Debian GNU/Linux")] {
            let node = MemoryNode()
            node.file("/etc/os-release", "NAME=\"\(release)\"\nID=\(release.hasPrefix("Debian") ? "debian" : "centos")\n")
            node.file("/proc/sys/kernel/osrelease", "4.4.218-1.el7.elrepo.x86_64\n")
            node.file(config, bytes)
            node.file(env, bytes)
            node.file("/etc/default/grub", bytes)
            node.file("/etc/sysconfig/kernel", bytes)
            node.file("/boot/loader/entries/fuzz.conf", bytes)
            node.file("/boot/vmlinuz-3.10.0-1160.el7.x86_64", "")
            _ = Evaluator(node: node, rules: grubRules).evaluate(grubRules)
        }
    }

    static let loginRules: [Rule] = Profile.guideNode.rules.filter { if case .loginPath = $0.check { true } else { false } }

    static func profile(_ bytes: [UInt8]) {
        let node = MemoryNode()
        node.file("/etc/passwd", bytes)
        node.file("/etc/profile", bytes)
        node.file("/etc/profile.d/fuzz.sh", bytes)
        node.file("/root/.bash_profile", bytes)
        node.file("/root/.bashrc", bytes)
        node.file("/opt/k8s/bin/kubectl", "")
        node.file("/usr/bin/kubectl", "")
        _ = Evaluator(node: node, rules: loginRules).evaluate(loginRules)
        if case .success(let path) = LoginPath.read(node) { _ = path.text }
    }

    static func waivers(_ bytes: [UInt8]) {
        let profile = Profile.guideNode
        let known = Set(profile.rules.map(\.id) + profile.clusterRules.map(\.id))
        guard let waivers = try? Waivers.parse(String(decoding: bytes, as: UTF8.self), file: "/etc/kcheck/waivers.yaml", knownRules: known), !waivers.isEmpty
        else { return }
        let entries = profile.rules.prefix(24).map { rule in
            Report.Entry(rule: rule, result: RuleResult(ruleID: rule.id, status: .fail, expected: "x", actual: "y", message: "z"))
        }
        let report = Report(
            toolVersion: "0", command: "preflight", profile: profile.name, node: NodeIdentity(name: "k8s-node01", source: "live", distribution: "", kernel: ""),
            startedAt: (0, 0), durationSeconds: 0, entries: entries, policy: .default)
        for now in [Int64(0), waivers.map(\.expiresAt).max()!] {
            let applied = Waivers.apply(waivers, to: report, names: ["k8s-node01"], now: now)
            _ = JSONReporter.render(applied, options: RenderOptions())
            _ = TextReporter.render(applied, options: RenderOptions())
        }
    }

    static func toml(_ bytes: [UInt8]) {
        guard let tree = try? TOML.parse(String(decoding: bytes, as: UTF8.self), file: "/etc/containerd/config.toml") else { return }
        var pending = [tree]
        var characters = 0
        while let node = pending.popLast() {
            switch node {
            case .scalar(let scalar): characters += scalar.string.utf8.count + scalar.mark.column
            case .sequence(let items, _): pending += items
            case .mapping(let pairs, _): for pair in pairs { pending += [pair.key, pair.value] }
            }
        }
        var node: YAMLNode? = tree
        for key in ["plugins", "io.containerd.grpc.v1.cri", "cni", "bin_dir"] {
            node = node?.mapping?.first { $0.key.scalar?.string == key }?.value
        }
        _ = (characters, node?.scalar?.string)
    }

    static func fstab(_ bytes: [UInt8]) {
        _ = Fstab.activeSwap(bytes)
        _ = Fstab.findings(bytes, path: "/etc/fstab")
        _ = Linter.detect(path: "/tmp/fuzz", bytes: bytes)
    }

    /// The bytes are `fuzz.service` in /usr/lib/systemd/system; /etc/systemd/system holds a
    /// multi-user.target.wants with an alias of it, so that [Install] decides enabled or not.
    static func units(_ bytes: [UInt8]) {
        let node = MemoryNode()
        node.file("/usr/lib/systemd/system/fuzz.service", bytes)
        node.directory("/etc/systemd/system/multi-user.target.wants")
        node.link("/etc/systemd/system/multi-user.target.wants/fuzz-alias.service", "/usr/lib/systemd/system/fuzz.service")
        node.activeStates = ["fuzz.service": "active"]
        let evaluator = Evaluator(node: node, rules: unitRules)
        _ = evaluator.evaluate(unitRules)
        for assignment in SystemdUnit.parse(bytes, path: "/fuzz.service").assignments where assignment.key == "ExecStart" {
            if let argv = try? ExecCommand.split(assignment.value) { _ = ComponentFlags(argv: argv).value("config") }
        }
        // As kube-apiserver's and kubelet's units, with kubelet's configuration file the same bytes.
        let components = MemoryNode()
        components.file("/etc/systemd/system/kube-apiserver.service", bytes)
        components.file("/etc/systemd/system/kubelet.service", bytes)
        components.file("/etc/kubernetes/kubelet-config.yaml", bytes)
        _ = Evaluator(node: components, rules: runningRules).evaluate(runningRules)
        // As kube-nginx's configuration (nginx's directive syntax), with an inventory to compare.
        let nginx = MemoryNode()
        nginx.file("/etc/systemd/system/kube-nginx.service", "[Service]\nExecStart=/opt/k8s/kube-nginx/sbin/kube-nginx -c /opt/k8s/kube-nginx/conf/kube-nginx.conf\n")
        nginx.file("/opt/k8s/kube-nginx/conf/kube-nginx.conf", bytes)
        let inventory = try? Inventory.parse(Array("NODE_IPS=(192.168.7.200 192.168.7.201)\n".utf8), path: Inventory.nodePath)
        _ = Evaluator(node: nginx, rules: runningRules, inventory: inventory).evaluate(runningRules)
    }

    static let runningRules = Profile.guideNode.rules.filter { $0.phase == .running }

    static func facts(_ bytes: [UInt8]) {
        guard let facts = try? FactsFile.parse(bytes) else { return }
        _ = facts.rendered()
    }

    static func json(_ bytes: [UInt8]) {
        _ = try? JSONDocument.parse(String(decoding: bytes, as: UTF8.self))
        _ = CAFileLinter.lint(bytes, path: "/opt/k8s/work/ca-config.json", kind: .caConfig)
        _ = CAFileLinter.lint(bytes, path: "/opt/k8s/work/ca-csr.json", kind: .caCSR)
    }

    static func yaml(_ bytes: [UInt8]) {
        _ = try? RuleLoader.loadProfile(files: [(path: "rules/fuzz.yaml", bytes: bytes)], name: "fuzz")
        // The same bytes as the apiserver's encryption configuration: judged, and scrubbed as a
        // snapshot scrubs it.
        _ = Redaction.scrubEncryptionKeys(bytes)
        let node = MemoryNode()
        node.file("/etc/kubernetes/encryption-config.yaml", bytes)
        node.file("/etc/systemd/system/kube-apiserver.service", "[Service]\nExecStart=/opt/k8s/bin/kube-apiserver --encryption-provider-config=/etc/kubernetes/encryption-config.yaml\n")
        _ = Evaluator(node: node, rules: encryptionRules).evaluate(encryptionRules)
    }

    static let encryptionRules: [Rule] = Profile.guideNode.rules.filter { if case .encryptionConfig = $0.check { true } else { false } }

    static func report(_ bytes: [UInt8]) {
        _ = try? ReportReader.read(String(decoding: bytes, as: UTF8.self), file: "fuzz.json")
    }

    static func pem(_ bytes: [UInt8]) {
        let contents = X509Certificate.read(file: bytes)
        // Each certificate against the others (at most a few: a pair is an OpenSSL verify).
        let certificates = contents.certificates.prefix(4).compactMap { entry -> X509Certificate? in
            if case .certificate(let certificate) = entry { return certificate }
            return nil
        }
        for a in certificates { for b in certificates { _ = a.isIssued(by: b) } }
        _ = X509Certificate.read(file: bytes, standIns: true)
        _ = X509Certificate.redactingPrivateKeys(bytes)
    }

    static func der(_ bytes: [UInt8]) {
        _ = X509Certificate.read(file: bytes)
        _ = X509Certificate.withholdingBinaryKey(bytes)
    }

    static func recording(_ bytes: [UInt8]) {
        guard let recording = try? Recording.decode(bytes[...]) else { return }
        _ = recording.encoded()
    }

    static func remote(_ bytes: [UInt8]) {
        _ = try? RemoteAnswer.decode(bytes)
    }

    static func request(_ bytes: [UInt8]) {
        _ = try? RemoteRequest.decode(bytes)
    }

    /// The bytes are the journal of run `fuzz` in a scratch tree that holds saved files
    /// `files/1` … `files/32`; the journal is read back and an undo plan made of it.
    static func journal(_ bytes: [UInt8]) {
        guard let root = JournalTree.root else { return }
        let writer = SafeWriter(root: root, fresh: true)
        guard case .success = writer.writeFile(JournalTree.journal, bytes, mode: 0o600) else { return }
        guard case .success(let journal) = Journal.load(id: JournalTree.id, writer: writer) else { return }
        _ = journal.outcomeCounts
        _ = journal.command
        _ = Remediator(node: TreeNode(root: root)).undoPlan(journal).describe()
    }

    // MARK: - Fixed inputs

    static let inventory: Inventory? = try? Inventory.parse(
        Array(
            """
            #!/usr/bin/bash
            export NODE_IPS=(172.27.137.240 172.27.137.239 172.27.137.238)
            export NODE_NAMES=(k8s-01 k8s-02 k8s-03)
            export IFACE="eth0"

            """.utf8), path: Inventory.nodePath)

    static let unitRules: [Rule] = [
        Rule(
            id: "fuzz.enabled", title: "fuzz runs and is enabled", severity: .high, guide: [], rationale: "", remediation: "",
            check: .service(ServiceCheck(unit: DistroName("fuzz"), running: true, enabled: true)), tests: []),
        Rule(
            id: "fuzz.alias", title: "the alias is disabled", severity: .high, guide: [], rationale: "", remediation: "",
            check: .service(ServiceCheck(unit: DistroName("fuzz-alias"), running: nil, enabled: false)), tests: []),
    ]
}

/// The scratch tree of the journal target: made once per process, removed at exit.
enum JournalTree {
    static let id = "fuzz"
    static let run = Journal.directory + "/" + id
    static let journal = run + "/journal"
    /// The saved files a journal may name (`files/1` … `files/32`).
    static let blobs = 32

    static let root: String? = {
        var template = Array("/tmp/kcheck-fuzz-journal-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { return nil }
        let root = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let writer = SafeWriter(root: root, fresh: true)
        for directory in ["/var", "/var/lib", "/var/lib/kcheck", Journal.directory, run, run + "/files"] {
            guard case .success = writer.makeDirectory(directory, mode: 0o700) else { return nil }
        }
        for n in 1...blobs { _ = writer.writeFile(run + "/files/\(n)", Array("net.ipv4.ip_forward = \(n % 2)\n".utf8), mode: 0o600) }
        scratch = root
        atexit {
            guard let root = JournalTree.scratch else { return }
            let writer = SafeWriter(root: root, fresh: true)
            _ = writer.remove(JournalTree.journal)
            for n in 1...JournalTree.blobs { _ = writer.remove(JournalTree.run + "/files/\(n)") }
            for directory in [JournalTree.run + "/files", JournalTree.run, Journal.directory, "/var/lib/kcheck", "/var/lib", "/var"] {
                _ = writer.remove(directory, directory: true)
            }
            rmdir(root)
        }
        return root
    }()

    nonisolated(unsafe) static var scratch: String?
}

/// A node held in memory: files, directories and symlinks, and the active state of units.
/// `status` answers "not there" for every path (what the targets reach only lists, reads and
/// reads links).
final class MemoryNode: Node {
    let source = "fuzz"
    private var files: [String: [UInt8]] = [:]
    private var directories: [String: Set<String>] = ["/": []]
    private var links: [String: String] = [:]
    var activeStates: [String: String] = [:]

    func file(_ path: String, _ bytes: [UInt8]) {
        files[path] = bytes
        enter(path)
    }

    func file(_ path: String, _ text: String) { file(path, Array(text.utf8)) }

    func directory(_ path: String) {
        if directories[path] == nil { directories[path] = [] }
        enter(path)
    }

    func link(_ path: String, _ target: String) {
        links[path] = target
        enter(path)
    }

    /// Enters `path` in its parent directory, making the parents.
    private func enter(_ path: String) {
        guard path != "/", let slash = path.lastIndex(of: "/") else { return }
        let parent = slash == path.startIndex ? "/" : String(path[..<slash])
        directory(parent)
        directories[parent, default: []].insert(String(path[path.index(after: slash)...]))
    }

    private func notFound(_ operation: String, _ path: String) -> SystemError { SystemError(operation, path, code: ENOENT) }

    func read(_ path: String, limit: Int) -> FileRead {
        if let bytes = files[path] { return bytes.count > limit ? .unreadable("larger than \(limit) bytes") : .content(bytes) }
        if let target = links[path] {
            let resolved = target.hasPrefix("/") ? target : String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) + "/" + target
            if let bytes = files[resolved] { return .content(bytes) }
        }
        return directories[path] != nil ? .unreadable("is a directory") : .missing
    }

    func map(_ path: String, limit: Int) -> FileMapping { .missing }
    func status(_ path: String) -> Result<FileStatus, SystemError> { .failure(notFound("lstat", path)) }
    func resolvedStatus(_ path: String) -> Result<FileStatus, SystemError> { .failure(notFound("stat", path)) }

    func list(_ path: String) -> Result<[String], SystemError> {
        guard let names = directories[path] else { return .failure(notFound("opendir", path)) }
        return .success(names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    func readLink(_ path: String) -> Result<String, SystemError> {
        guard let target = links[path] else { return .failure(notFound("readlink", path)) }
        return .success(target)
    }

    func unitActiveStates(_ units: [String]) -> Fact<UnitActiveStates> {
        var states: UnitActiveStates = [:]
        for unit in units { states[unit] = activeStates[unit] ?? "inactive" }
        return .available(states)
    }

    func clockState() -> Fact<KernelClockState> { .unavailable("not recorded") }
    func packageNames() -> Fact<Set<String>> { .unavailable("not recorded") }
    func interfaceAddresses() -> Fact<[InterfaceAddress]> { .unavailable("not recorded") }
    func firewallChains() -> Fact<[FirewallChain]> { .unavailable("not recorded") }
}
