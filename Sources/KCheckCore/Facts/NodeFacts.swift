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

    // MARK: packages

    private(set) lazy var installedPackages: Fact<Set<String>> = {
        switch node.read("/var/lib/dpkg/status", limit: 256 << 20) {
        case .content(let bytes): return .available(Self.parseDpkgStatus(bytes, wanted: wantedPackages))
        case .unreadable(let why): return .unavailable(why)
        case .missing: return node.packageNames()
        }
    }()

    /// Packages whose Status is "install ok installed" in dpkg's status file. The file is large
    /// (hundreds of KiB), so it is scanned as bytes, and only the names in `wanted` (all, when
    /// nil) become strings.
    static func parseDpkgStatus(_ bytes: [UInt8], wanted: Set<String>? = nil) -> Set<String> {
        let wantedBytes = wanted.map { Set($0.map { Array($0.utf8) }) }
        let wantedLengths = wantedBytes.map { Set($0.map(\.count)) }
        let newline = UInt8(ascii: "\n")
        let package = Array("Package:".utf8)
        let status = Array("Status:".utf8)
        let installed = Array(" installed".utf8)
        var result: Set<String> = []
        var name: Range<Int>?
        var ok = false
        func startsWith(_ prefix: [UInt8], _ line: Range<Int>) -> Bool {
            line.count >= prefix.count && bytes[line.lowerBound..<(line.lowerBound + prefix.count)].elementsEqual(prefix)
        }
        func trimmed(_ r: Range<Int>) -> Range<Int> {
            var lo = r.lowerBound, hi = r.upperBound
            while lo < hi, bytes[lo] == 32 || bytes[lo] == 9 { lo += 1 }
            while hi > lo, bytes[hi - 1] == 32 || bytes[hi - 1] == 9 || bytes[hi - 1] == 13 { hi -= 1 }
            return lo..<hi
        }
        func flush() {
            if let name, ok {
                if let wantedBytes, let wantedLengths {
                    if wantedLengths.contains(name.count), wantedBytes.contains(Array(bytes[name])) {
                        result.insert(String(decoding: bytes[name], as: UTF8.self))
                    }
                } else {
                    result.insert(String(decoding: bytes[name], as: UTF8.self))
                }
            }
            name = nil
            ok = false
        }
        Lines.forEach(in: bytes) { line in
            if trimmed(line).isEmpty {
                flush()
            } else if startsWith(package, line) {
                name = trimmed((line.lowerBound + package.count)..<line.upperBound)
            } else if startsWith(status, line) {
                let value = trimmed((line.lowerBound + status.count)..<line.upperBound)
                ok = value.count >= installed.count && bytes[(value.upperBound - installed.count)..<value.upperBound].elementsEqual(installed)
            }
        }
        flush()
        return result
    }

    // MARK: clock

    private(set) lazy var clock: Fact<KernelClockState> = node.clockState()
}

extension String {
    /// Module names treat - and _ alike.
    var replacingDashes: String { String(map { $0 == "-" ? "_" : $0 }) }
}
