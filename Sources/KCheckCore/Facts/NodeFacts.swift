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
            if case .content(let bytes) = node.read(path, limit: 64 << 10) { return Self.parseOSRelease(bytes) }
        }
        return nil
    }()

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
        guard let os = osRelease else { return .unavailable("cannot tell the distribution: no /etc/os-release") }
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

    private(set) lazy var hostname: String = {
        for path in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
            if case .content(let bytes) = node.read(path, limit: 4096) {
                let name = String(String(decoding: bytes, as: UTF8.self).trimmed)
                if !name.isEmpty { return name }
            }
        }
        return "unknown"
    }()

    // MARK: sysctl

    private(set) lazy var sysctlConfig: SysctlConfig = SysctlConfig.load(from: node)

    // MARK: modules

    /// Modules listed for loading at boot (modules-load.d, and Debian's /etc/modules).
    private(set) lazy var bootModules: (names: [String: SourceLocation], problems: [String]) = {
        var chosen: [String: String] = [:]
        var problems: [String] = []
        for directory in ["/etc/modules-load.d", "/run/modules-load.d", "/usr/local/lib/modules-load.d", "/usr/lib/modules-load.d", "/lib/modules-load.d"] {
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
            let contents = X509Certificate.read(file: bytes)
            certificateFiles[path] = contents
            return .content(contents)
        }
    }

    // MARK: packages

    private(set) lazy var installedPackages: Fact<Set<String>> = {
        switch node.read("/var/lib/dpkg/status", limit: 256 << 20) {
        case .content(let bytes): return .available(Self.parseDpkgStatus(bytes, wanted: wantedPackages))
        case .unreadable(let why): return .unavailable(why)
        case .missing: return node.packageNames()
        }
    }()

    /// Packages whose Status is "install ok installed" in dpkg's status file. The file is large
    /// (hundreds of KiB), so it is scanned as bytes, record by record with memmem, and only the
    /// names in `wanted` (all, when nil) become strings. A record ends at a blank line, or where a
    /// second Package field begins; fields may come in any order; CRLF line ends are read as LF.
    static func parseDpkgStatus(_ input: [UInt8], wanted: Set<String>? = nil) -> Set<String> {
        let bytes = Bytes.find([13], in: input, range: 0..<input.count) == nil ? input : input.filter { $0 != 13 }
        let wantedBytes = wanted.map { Set($0.map { Array($0.utf8) }) }
        let wantedLengths = wantedBytes.map { Set($0.map(\.count)) }
        let package = Array("Package:".utf8), packageLine = Array("\nPackage:".utf8)
        let status = Array("Status:".utf8), statusLine = Array("\nStatus:".utf8)
        let installed = Array(" installed".utf8)
        /// Where field `name` starts in `r` (which starts at a line start): after its colon.
        func find(_ name: [UInt8], _ line: [UInt8], in r: Range<Int>) -> Int? {
            if r.count >= name.count, bytes[r.lowerBound..<(r.lowerBound + name.count)].elementsEqual(name) {
                return r.lowerBound + name.count
            }
            return Bytes.find(line, in: bytes, range: r).map { $0 + line.count }
        }
        /// The value from `at` to the end of its line, spaces and tabs trimmed.
        func value(from at: Int, in r: Range<Int>) -> Range<Int> {
            var lo = at, hi = at
            while hi < r.upperBound, bytes[hi] != 0x0A { hi += 1 }
            while lo < hi, bytes[lo] == 32 || bytes[lo] == 9 { lo += 1 }
            while hi > lo, bytes[hi - 1] == 32 || bytes[hi - 1] == 9 { hi -= 1 }
            return lo..<hi
        }
        var result: Set<String> = []
        var start = 0
        while start < bytes.count {
            while start < bytes.count, bytes[start] == 0x0A { start += 1 }
            guard start < bytes.count else { break }
            var end = Bytes.find([0x0A, 0x0A], in: bytes, range: start..<bytes.count).map { $0 + 1 } ?? bytes.count
            let name = find(package, packageLine, in: start..<end).map { value(from: $0, in: start..<end) }
            if let name, let next = Bytes.find(packageLine, in: bytes, range: name.upperBound..<end) {
                end = next + 1  // a second record without a blank line before it
            }
            let record = start..<end
            start = end
            guard let name, let field = find(status, statusLine, in: record) else { continue }
            let state = value(from: field, in: record)
            guard state.count >= installed.count, bytes[(state.upperBound - installed.count)..<state.upperBound].elementsEqual(installed) else {
                continue
            }
            if let wantedBytes, let wantedLengths {
                guard wantedLengths.contains(name.count), wantedBytes.contains(Array(bytes[name])) else { continue }
            }
            result.insert(String(decoding: bytes[name], as: UTF8.self))
        }
        return result
    }

    // MARK: clock

    private(set) lazy var clock: Fact<KernelClockState> = node.clockState()
}

extension String {
    /// Module names treat - and _ alike.
    var replacingDashes: String { String(map { $0 == "-" ? "_" : $0 }) }
}
