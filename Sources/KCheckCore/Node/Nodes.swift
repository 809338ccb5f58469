import KCheckNative

/// A node whose files are read through `RootedFiles`: the live node at "/", a tree at DIR.
protocol FileBackedNode: Node {
    var files: RootedFiles { get }
}

extension FileBackedNode {
    public func read(_ path: String, limit: Int) -> FileRead { files.read(path, limit: limit) }
    public func map(_ path: String, limit: Int) -> FileMapping { files.map(path, limit: limit) }
    public func status(_ path: String) -> Result<FileStatus, SystemError> { files.status(path, follow: false) }
    public func resolvedStatus(_ path: String) -> Result<FileStatus, SystemError> { files.status(path, follow: true) }
    public func list(_ path: String) -> Result<[String], SystemError> { files.list(path) }
    public func readLink(_ path: String) -> Result<String, SystemError> { files.readLink(path) }
}

/// The machine kcheck runs on.
public final class LiveNode: FileBackedNode {
    public let source = "live"
    let files = RootedFiles(root: "/")

    /// Whether asking sock_diag loads no module: a query makes the kernel load inet_diag and
    /// tcp_diag where they are modules not loaded yet (the test bed's guest did), and kcheck
    /// changes nothing on a node it checks. Loaded already, built in, or a kernel without
    /// modules: sock_diag; otherwise the files. Found out once, when a TCP table is first read.
    static let socketDiagLoadsNothing: Bool = {
        if case .success = Posix.stat("/sys/module/tcp_diag") { return true }
        if case .failure(let error) = Posix.stat("/proc/modules"), error.isNotFound { return true }
        guard case .success(let release) = Posix.readFile("/proc/sys/kernel/osrelease", limit: 256, followSymlinks: false),
            case .success(let builtin) = Posix.readFile(
                "/lib/modules/\(String(decoding: release, as: UTF8.self).trimmed)/modules.builtin", limit: 4 << 20, followSymlinks: true)
        else { return false }
        return String(decoding: builtin, as: UTF8.self).split(separator: "\n").contains { $0.hasSuffix("/tcp_diag.ko") }
    }()

    public init() {}

    /// Files, but /proc/net/tcp and tcp6 from the kernel's sock_diag where that loads no module:
    /// their listening sockets (all any rule or the fixer reads of them), as those files show
    /// them, without the walk of the established hash that reading the files costs
    /// (`SocketDiag`). Where sock_diag would load a module or is refused, the files themselves.
    public func read(_ path: String, limit: Int) -> FileRead {
        if (path == "/proc/net/tcp" || path == "/proc/net/tcp6") && Self.socketDiagLoadsNothing {
            let ipv6 = path.hasSuffix("6")
            if case .success(let listeners) = SocketDiag.tcpListeners(ipv6: ipv6) {
                // No IPv6 in this kernel: the file is missing too.
                if ipv6 && listeners.isEmpty, case .failure(let e) = Posix.stat(path), e.isNotFound { return .missing }
                let text = SocketDiag.procNetTCP(listeners, ipv6: ipv6)
                return text.count > limit ? .unreadable("\(path): larger than \(limit) bytes") : .content(text)
            }
        }
        return files.read(path, limit: limit)
    }

    /// One `systemctl show` for every unit, and only when systemd is PID 1 (as sd_booted judges).
    public func unitActiveStates(_ units: [String]) -> Fact<UnitActiveStates> {
        guard case .success(let st) = Posix.lstat("/run/systemd/system"), st.kind == .directory else {
            return .unavailable("systemd is not running")
        }
        if units.isEmpty { return .available([:]) }
        let argv = ["systemctl", "show", "--property=ActiveState", "--"] + units
        switch Posix.run(argv) {
        case .failure(let error): return .unavailable("systemctl: \(error)")
        case .success(let output):
            guard output.status == 0 else { return .unavailable("systemctl show exited with status \(output.status)") }
            return .available(Self.parseShow(output.standardOutput, units: units))
        }
    }

    /// `systemctl show` prints one block per unit, in argument order, separated by blank lines.
    static func parseShow(_ bytes: [UInt8], units: [String]) -> UnitActiveStates {
        var states: UnitActiveStates = [:]
        let blocks = String(decoding: bytes, as: UTF8.self).split(separator: "\n\n", omittingEmptySubsequences: false)
        for (unit, block) in zip(units, blocks) {
            for line in block.split(separator: "\n") where line.hasPrefix("ActiveState=") {
                states[unit] = String(line.dropFirst("ActiveState=".count))
            }
        }
        return states
    }

    public func clockState() -> Fact<KernelClockState> {
        switch KernelClockState.read() {
        case .success(let state): return .available(state)
        case .failure(let error): return .unavailable(error.description)
        }
    }

    /// RPM's database is not a file format kcheck reads; one `rpm -qa` answers for all packages.
    public func packageNames() -> Fact<Set<String>> {
        switch Posix.run(["rpm", "-qa", "--queryformat", "%{NAME}\n"]) {
        case .failure(let error): return .unavailable("no dpkg status file, and rpm: \(error)")
        case .success(let output):
            guard output.status == 0 else { return .unavailable("rpm -qa exited with status \(output.status)") }
            let names = String(decoding: output.standardOutput, as: UTF8.self).split(separator: "\n").map(String.init)
            return .available(Set(names))
        }
    }
}

extension LiveNode {
    public func interfaceAddresses() -> Fact<[InterfaceAddress]> {
        switch Posix.interfaceAddresses() {
        case .success(let list): return .available(list)
        case .failure(let error): return .unavailable(error.description)
        }
    }

    /// The packet filter through the kernel's own interfaces: the legacy tables
    /// /proc/net/ip_tables_names lists, and nf_tables where it is in the kernel already. Nothing
    /// is asked that would make the kernel load a module.
    public func firewallChains() -> Fact<[FirewallChain]> {
        func reason(_ error: SystemError) -> String {
            error.isPermissionDenied
                ? "reading the packet filter needs CAP_NET_ADMIN (run kcheck as root): \(error)" : error.description
        }
        var chains: [FirewallChain] = []
        switch files.read("/proc/net/ip_tables_names", limit: 64 << 10) {
        case .missing: break  // ip_tables is not loaded: no legacy table exists
        case .unreadable(let why): return .unavailable("/proc/net/ip_tables_names: \(why)")
        case .content(let bytes):
            for name in String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init).sorted() {
                switch PacketFilter.legacyTable(name) {
                case .failure(let error): return .unavailable(reason(error))
                case .success(let table):
                    do throws(FirewallParseError) {
                        chains += try FirewallChains.legacy(table)
                    } catch {
                        return .unavailable(error.message)
                    }
                }
            }
        }
        guard nftablesInKernel() else { return .available(chains) }
        switch (PacketFilter.nftablesDump(PacketFilter.getChain), PacketFilter.nftablesDump(PacketFilter.getRule)) {
        case (.failure(let error), _), (_, .failure(let error)):
            // No nf_tables in this kernel at all (EPROTONOSUPPORT, EOPNOTSUPP): only legacy tables.
            if error.isUnsupported { return .available(chains) }
            return .unavailable(reason(error))
        case (.success(let chainMessages), .success(let ruleMessages)):
            do throws(FirewallParseError) {
                return .available(chains + (try FirewallChains.nftables(chains: chainMessages, rules: ruleMessages)))
            } catch {
                return .unavailable(error.message)
            }
        }
    }

    /// nf_tables is loaded (/sys/module/nf_tables), built into the running kernel
    /// (modules.builtin), or the kernel has no module directory to load it from: only then is it
    /// asked, since asking would load the module.
    func nftablesInKernel() -> Bool {
        if case .success = files.status("/sys/module/nf_tables", follow: false) { return true }
        guard case .content(let release) = files.read("/proc/sys/kernel/osrelease", limit: 4096) else { return false }
        let directory = "/lib/modules/" + String(decoding: release, as: UTF8.self).trimmed
        if case .content(let builtin) = files.read(directory + "/modules.builtin", limit: 4 << 20) {
            return String(decoding: builtin, as: UTF8.self).split(separator: "\n").contains { $0.hasSuffix("/nf_tables.ko") }
        }
        if case .failure(let error) = files.status(directory, follow: true), error.isNotFound { return true }
        return false
    }
}

/// A node tree: the node's files at their own paths under a directory, and its other facts in
/// `.kcheck/facts` (see `FactsFile`). A snapshot of a remote node is a tree too.
public final class TreeNode: FileBackedNode {
    public let root: String
    public let source: String
    let files: RootedFiles
    private var factsCache: Result<FactsFile, FactsFileProblem>?

    struct FactsFileProblem: Error { let reason: String }

    /// `source` names where the tree came from in reports (default "tree:ROOT").
    public init(root: String, source: String? = nil) {
        self.root = root
        self.source = source ?? "tree:\(root)"
        self.files = RootedFiles(root: root)
    }

    /// The tree's facts file, parsed once. A tree without one has no non-file facts.
    func facts() -> Result<FactsFile, FactsFileProblem> {
        if let factsCache { return factsCache }
        let result: Result<FactsFile, FactsFileProblem>
        switch files.read(FactsFile.path, limit: defaultReadLimit) {
        case .missing: result = .failure(FactsFileProblem(reason: "the node tree has no \(FactsFile.path)"))
        case .unreadable(let why): result = .failure(FactsFileProblem(reason: why))
        case .content(let bytes):
            do throws(SourceError) {
                result = .success(try FactsFile.parse(bytes))
            } catch {
                result = .failure(FactsFileProblem(reason: error.description))
            }
        }
        factsCache = result
        return result
    }

    /// A file the recorded node could not read reads as it did there.
    public func read(_ path: String, limit: Int) -> FileRead {
        if case .success(let facts) = facts(), let why = facts.unreadable[path] { return .unreadable(why) }
        return files.read(path, limit: limit)
    }

    public func map(_ path: String, limit: Int) -> FileMapping {
        if case .success(let facts) = facts(), let why = facts.unreadable[path] { return .unreadable(why) }
        return files.map(path, limit: limit)
    }

    public func originalDigest(_ path: String) -> String? {
        guard case .success(let facts) = facts() else { return nil }
        return facts.digests[path]
    }

    /// A snapshot's private keys are stand-ins for their public halves.
    public var holdsStandIns: Bool {
        guard case .success(let facts) = facts() else { return false }
        return facts.recorded
    }

    /// What a recording over SSH measured of the node: its clock offset, root's SSH probes.
    public var recordedClockOffset: (seconds: Double, uncertainty: Double)? {
        guard case .success(let facts) = facts() else { return nil }
        return facts.clockOffset
    }

    public var recordedSSHProbes: [(address: String, result: String)]? {
        guard case .success(let facts) = facts(), !facts.sshProbes.isEmpty else { return nil }
        return facts.sshProbes
    }

    /// A fact the recorded node could not give, with its reason.
    private func recordedUnavailable(_ kind: String) -> String? {
        guard case .success(let facts) = facts() else { return nil }
        return facts.unavailable[kind]
    }

    /// lstat in the tree, with the permission bits and owner its facts record for the path.
    public func status(_ path: String) -> Result<FileStatus, SystemError> { owned(path, files.status(path, follow: false)) }
    public func resolvedStatus(_ path: String) -> Result<FileStatus, SystemError> { owned(path, files.status(path, follow: true)) }

    private func owned(_ path: String, _ status: Result<FileStatus, SystemError>) -> Result<FileStatus, SystemError> {
        guard case .success(let st) = status, case .success(let facts) = facts(), let owner = facts.owners[path] else { return status }
        return .success(st.with(permissions: owner.permissions, uid: owner.uid, gid: owner.gid))
    }

    public func unitActiveStates(_ units: [String]) -> Fact<UnitActiveStates> {
        if let why = recordedUnavailable("units") { return .unavailable(why) }
        switch facts() {
        case .failure(let problem): return .unavailable(problem.reason)
        case .success(let facts):
            switch facts.systemdRunning {
            case nil: return .unavailable("\(FactsFile.path) does not record whether systemd is running")
            case false?: return .unavailable("systemd is not running")
            case true?:
                var states: UnitActiveStates = [:]
                // A unit systemd does not know is reported inactive by `systemctl show`.
                for unit in units { states[unit] = facts.units[unit] ?? "inactive" }
                return .available(states)
            }
        }
    }

    public func clockState() -> Fact<KernelClockState> {
        if let why = recordedUnavailable("clock") { return .unavailable(why) }
        switch facts() {
        case .failure(let problem): return .unavailable(problem.reason)
        case .success(let facts):
            guard let clock = facts.clock, let maxError = clock.maxErrorMicroseconds, let status = clock.status else {
                return .unavailable("\(FactsFile.path) records no clock state")
            }
            return .available(
                KernelClockState(
                    maxErrorMicroseconds: maxError, estimatedErrorMicroseconds: clock.estimatedErrorMicroseconds ?? 0, status: status,
                    unsynchronisedFlag: status & KernelClockState.unsyncBit != 0))
        }
    }

    public func packageNames() -> Fact<Set<String>> {
        if let why = recordedUnavailable("packages") { return .unavailable(why) }
        switch facts() {
        case .failure(let problem): return .unavailable(problem.reason)
        case .success(let facts):
            guard let packages = facts.packages else { return .unavailable("\(FactsFile.path) records no packages") }
            return .available(packages)
        }
    }

    public func interfaceAddresses() -> Fact<[InterfaceAddress]> {
        if let why = recordedUnavailable("addresses") { return .unavailable(why) }
        switch facts() {
        case .failure(let problem): return .unavailable(problem.reason)
        case .success(let facts):
            guard let addresses = facts.addresses else { return .unavailable("\(FactsFile.path) records no interface addresses") }
            return .available(addresses)
        }
    }

    /// A snapshot holds what the node's binaries said (`binary` lines), not the binaries; a tree
    /// made by hand may hold the files themselves.
    public func binaryVersion(_ path: String, needles: [String]) -> BinaryFact {
        if case .success(let facts) = facts(), let recorded = facts.binaries[path] {
            guard case .scanned(let f) = recorded else { return recorded }
            let missing = needles.filter { f.needles[$0] == nil }
            guard missing.isEmpty else { return .unavailable("the snapshot did not record whether \(path) holds \(missing.joined(separator: ", "))") }
            return recorded
        }
        return BinaryFingerprint.scan(map(path, limit: 1 << 30), needles: needles)
    }

    public func firewallChains() -> Fact<[FirewallChain]> {
        if let why = recordedUnavailable("firewall") { return .unavailable(why) }
        switch facts() {
        case .failure(let problem): return .unavailable(problem.reason)
        case .success(let facts):
            guard let chains = facts.firewall else { return .unavailable("\(FactsFile.path) records no packet-filter chains (`chain …` lines, or `chains none`)") }
            return .available(chains)
        }
    }
}
