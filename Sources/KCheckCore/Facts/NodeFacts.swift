import KCheckNative

/// Facts derived from a node, each computed at most once per run.
final class NodeFacts {
    let node: Node
    /// Units the profile asks about, queried in one go the first time any is needed.
    private let wantedUnits: [String]

    /// Packages the profile asks about: the only names worth keeping from a package database.
    private let wantedPackages: Set<String>?

    init(node: Node, wantedUnits: [String], wantedPackages: Set<String>? = nil) {
        self.node = node
        self.wantedUnits = wantedUnits
        self.wantedPackages = wantedPackages
    }

    // MARK: distribution

    private(set) lazy var osRelease: [String: String]? = {
        for path in ["/etc/os-release", "/usr/lib/os-release"] {
            switch node.read(path, limit: 64 << 10) {
            case .content(let bytes): return Self.parseOSRelease(bytes)
            case .missing: continue
            case .unreadable(let why):
                osReleaseProblem = "cannot tell the distribution: \(path) cannot be read: \(why)"
                return nil
            }
        }
        return nil
    }()

    /// Why os-release could not be read, where it is there but unreadable (not a file, too large).
    private(set) var osReleaseProblem: String?

    static func parseOSRelease(_ bytes: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for (_, line) in numberedLines(bytes) {
            let text = line.trimmed
            guard !text.hasPrefix("#"), let equals = text.firstIndex(of: "=") else { continue }
            var value = text[text.index(after: equals)...]
            if let q = value.first, q == "\"" || q == "'", value.count >= 2, value.last == q {
                value = value.dropFirst().dropLast()
            }
            fields[String(text[..<equals])] = String(value)
        }
        return fields
    }

    /// The distribution family, from ID and ID_LIKE.
    private(set) lazy var family: Fact<DistroFamily> = {
        guard let os = osRelease else { return .unavailable(osReleaseProblem ?? "cannot tell the distribution: no /etc/os-release") }
        let ids = ([os["ID"] ?? ""] + (os["ID_LIKE"] ?? "").fields.map(String.init)).map { $0.lowercased() }
        for id in ids {
            switch id {
            case "rhel", "centos", "fedora", "rocky", "almalinux", "ol", "amzn": return .available(.rhel)
            case "debian", "ubuntu": return .available(.debian)
            default: continue
            }
        }
        return .unavailable("unsupported distribution \(os["ID"] ?? "?") (kcheck knows RHEL/CentOS and Debian/Ubuntu families)")
    }()

    var distributionName: String {
        osRelease?["PRETTY_NAME"] ?? osRelease?["ID"] ?? "unknown"
    }

    // MARK: kernel

    private(set) lazy var kernelRelease: Fact<String> = {
        switch node.read("/proc/sys/kernel/osrelease", limit: 4096) {
        case .content(let bytes): return .available(String(String(decoding: bytes, as: UTF8.self).trimmed))
        case .missing: return .unavailable("/proc/sys/kernel/osrelease is missing")
        case .unreadable(let why): return .unavailable(why)
        }
    }()

    var kernelVersion: Fact<KernelVersion> {
        switch kernelRelease {
        case .unavailable(let why): return .unavailable(why)
        case .available(let release):
            guard let version = KernelVersion(parsing: release) else {
                return .unavailable("cannot parse kernel release \(release)")
            }
            return .available(version)
        }
    }

    private(set) lazy var hostname: String = knownHostname ?? "unknown"

    /// The hostname, where the node tells it (the kernel's, else /etc/hostname).
    private(set) lazy var knownHostname: String? = {
        for path in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
            if case .content(let bytes) = node.read(path, limit: 4096) {
                let name = String(String(decoding: bytes, as: UTF8.self).trimmed)
                if !name.isEmpty { return name }
            }
        }
        return nil
    }()

    // MARK: sysctl

    private(set) lazy var sysctlConfig: SysctlConfig = SysctlConfig.load(from: node, bootOrder: sysctlBootOrder)

    /// systemd-sysctl applies the files at boot where systemd is the init system; elsewhere the
    /// init system's script runs `sysctl --system`.
    var sysctlBootOrder: SysctlConfig.BootOrder {
        if case .available = node.unitActiveStates([]) { return .systemdSysctl }
        return .sysctlSystem
    }

    // MARK: modules

    /// Modules listed for loading at boot (modules-load.d, and Debian's /etc/modules).
    private(set) lazy var bootModules: (names: [String: SourceLocation], problems: [String]) = {
        var chosen: [String: String] = [:]
        var problems: [String] = []
        for directory in node.distinctDirectories(["/etc/modules-load.d", "/run/modules-load.d", "/usr/local/lib/modules-load.d", "/usr/lib/modules-load.d", "/lib/modules-load.d"]) {
            switch node.list(directory) {
            case .success(let names):
                for name in names where name.hasSuffix(".conf") && chosen[name] == nil { chosen[name] = directory + "/" + name }
            case .failure(let error) where error.isNotFound: continue
            case .failure(let error): problems.append(error.description)
            }
        }
        var files = chosen.keys.sorted().map { chosen[$0]! }
        files.append("/etc/modules")
        var names: [String: SourceLocation] = [:]
        for file in files {
            switch node.read(file, limit: defaultReadLimit) {
            case .missing: continue
            case .unreadable(let why): problems.append(why)
            case .content(let bytes):
                for (number, line) in numberedLines(bytes) {
                    let text = line.trimmed
                    guard let first = text.first, first != "#", first != ";" else { continue }
                    if let module = text.fields.first {
                        let key = String(module).replacingDashes
                        if names[key] == nil { names[key] = SourceLocation(file: file, line: number) }
                    }
                }
            }
        }
        return (names, problems)
    }()

    /// Whether a module is built into the running kernel (modules.builtin).
    func isBuiltIn(_ module: String) -> Bool {
        guard case .available(let release) = kernelRelease,
            case .content(let bytes) = node.read("/lib/modules/\(release)/modules.builtin", limit: 8 << 20)
        else { return false }
        let needle = "/\(module).ko"
        return numberedLines(bytes).contains { $0.text.replacingDashes.hasSuffix(needle) }
    }

    /// Whether a module is there when systemd-sysctl runs at boot: listed in modules-load.d (or
    /// /etc/modules), or built into the kernel.
    func loadedAtBoot(_ module: String) -> Bool {
        bootModules.names[module.replacingDashes] != nil || isBuiltIn(module)
    }

    func isLoaded(_ module: String) -> Bool {
        if case .success = node.status("/sys/module/\(module)") { return true }
        return false
    }

    // MARK: services

    private var activeStatesCache: Fact<UnitActiveStates>?

    func activeState(of unit: String) -> Fact<String> {
        if activeStatesCache == nil {
            var units = wantedUnits
            if !units.contains(unit) { units.append(unit) }
            activeStatesCache = node.unitActiveStates(units)
        }
        switch activeStatesCache! {
        case .unavailable(let why): return .unavailable(why)
        case .available(let states):
            if let state = states[unit] { return .available(state) }
            // Asked for a unit outside the profile's set: query it alone.
            switch node.unitActiveStates([unit]) {
            case .available(let more): return .available(more[unit] ?? "inactive")
            case .unavailable(let why): return .unavailable(why)
            }
        }
    }

    private(set) lazy var unitFiles = UnitFiles(node: node)
    /// Each service's command, loaded once (a component's rules all read its unit).
    var execStarts: [String: Result<(argv: [String], location: SourceLocation)?, SourceError>] = [:]

    // MARK: certificates

    /// The time validity is judged against, read once per run.
    private(set) lazy var now: Int64 = Posix.wallClock().seconds

    private var certificateInventories: [[String]: CertificateInventory] = [:]
    private var certificateFiles: [String: X509Certificate.FileContents] = [:]

    /// The certificates and keys under `paths`, scanned once per run for each set of paths; files
    /// already parsed for another rule (ca.pem, ca-key.pem) are not parsed again.
    func certificates(_ paths: [String]) -> CertificateInventory {
        if let cached = certificateInventories[paths] { return cached }
        let scanned = CertificateInventory.scan(paths, on: node, required: false, parsed: certificateFiles)
        certificateInventories[paths] = scanned
        return scanned
    }

    /// What a file holds of certificates and keys, parsed once per run.
    enum CertificateFile {
        case content(X509Certificate.FileContents)
        case missing
        case unreadable(String)
    }

    func certificateFile(_ path: String) -> CertificateFile {
        if let cached = certificateFiles[path] { return .content(cached) }
        switch node.read(path, limit: defaultReadLimit) {
        case .missing: return .missing
        case .unreadable(let why): return .unreadable(why)
        case .content(let bytes):
            let contents = X509Certificate.read(file: bytes, standIns: node.holdsStandIns)
            certificateFiles[path] = contents
            return .content(contents)
        }
    }

    // MARK: packages

    private(set) lazy var installedPackages: Fact<Set<String>> = {
        switch node.map("/var/lib/dpkg/status", limit: 256 << 20) {
        case .mapped(let file):
            // CRLF line ends are read as LF: a copy without the CRs (rare).
            if file.contains(13) { return .available(Self.parseDpkgStatus(LineArray(file.bytes(0..<file.count).filter { $0 != 13 }), wanted: wantedPackages)) }
            return .available(Self.parseDpkgStatus(file, wanted: wantedPackages))
        case .unreadable(let why): return .unavailable(why)
        case .missing: return node.packageNames()
        }
    }()

    /// Packages whose Status is "install ok installed" in dpkg's status file. The file is large
    /// (hundreds of KiB), so it is read in one pass from line start to line start with memchr, and
    /// only the names in `wanted` (all, when nil) become strings. A record ends at a blank line, or
    /// where a second Package field begins; fields may come in any order; continuation lines
    /// (starting with a space) are not fields; CRLF line ends are read as LF.
    static func parseDpkgStatus(_ bytes: some LineBytes, wanted: Set<String>? = nil) -> Set<String> {
        let wantedBytes = wanted.map { Set($0.map { Array($0.utf8) }) }
        let wantedLengths = wantedBytes.map { Set($0.map(\.count)) }
        let package = Array("Package:".utf8), status = Array("Status:".utf8), installed = Array(" installed".utf8)
        func starts(_ line: Range<Int>, with prefix: [UInt8]) -> Bool {
            line.count >= prefix.count && bytes.matches(prefix, at: line.lowerBound)
        }
        /// A field's value: after its name, spaces and tabs trimmed.
        func value(_ line: Range<Int>, after prefix: [UInt8]) -> Range<Int> {
            var lo = line.lowerBound + prefix.count, hi = line.upperBound
            while lo < hi, bytes[lo] == 32 || bytes[lo] == 9 { lo += 1 }
            while hi > lo, bytes[hi - 1] == 32 || bytes[hi - 1] == 9 { hi -= 1 }
            return lo..<hi
        }
        var result: Set<String> = []
        var name: Range<Int>?
        var state: Range<Int>?
        func finish() {
            defer { (name, state) = (nil, nil) }
            guard let name, let state, state.count >= installed.count, bytes.matches(installed, at: state.upperBound - installed.count) else {
                return
            }
            if let wantedLengths, !wantedLengths.contains(name.count) { return }
            let nameBytes = bytes.bytes(name)
            if let wantedBytes, !wantedBytes.contains(nameBytes) { return }
            result.insert(String(decoding: nameBytes, as: UTF8.self))
        }
        bytes.forEachLine { line in
            guard let first = line.first.map({ bytes[$0] }) else { return finish() }
            if first == 0x50, starts(line, with: package) {  // "P"
                if name != nil { finish() }  // a second record without a blank line before it
                name = value(line, after: package)
            } else if first == 0x53, starts(line, with: status) {  // "S"
                state = value(line, after: status)
            }
        }
        finish()
        return result
    }

    // MARK: clock

    private(set) lazy var clock: Fact<KernelClockState> = node.clockState()
    /// The packet filter's chains, read once for every firewall rule.
    private(set) lazy var firewall: Fact<[FirewallChain]> = node.firewallChains()

    /// The node's listening sockets, once read (Sockets.swift).
    var listeningSocketsCache: Result<[ListeningSocket], SyntaxErrorIn>?
    /// The socket inodes whose owners were looked up, and the owners found (Sockets.swift).
    var socketOwnersCache: (asked: Set<UInt64>, owners: [UInt64: SocketOwner])?
}

extension String {
    /// Module names treat - and _ alike.
    var replacingDashes: String { String(map { $0 == "-" ? "_" : $0 }) }
}

extension NodeFacts {
    /// The distribution's package manager: apt on Debian; dnf where it is installed, else yum.
    var packageManager: PackageManager? {
        guard case .available(let family) = family else { return nil }
        switch family {
        case .debian: return .apt
        case .rhel:
            if case .success = node.status("/usr/bin/dnf") { return .dnf }
            return .yum
        }
    }
}
