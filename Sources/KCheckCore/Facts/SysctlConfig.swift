/// One `key = value` line of a sysctl configuration file.
public struct SysctlAssignment: Equatable, Sendable {
    public let key: String
    /// The value as systemd-sysctl and `sysctl -p` take it: everything after the first `=`, trimmed.
    public let value: String
    public let location: SourceLocation
}

/// The sysctl configuration: what systemd-sysctl applies at boot, and what `sysctl --system`
/// applies when run by hand.
///
/// The two differ. systemd-sysctl reads only the sysctl.d directories, every file name once (an
/// earlier directory shadows a later one), in lexical order of the names; it reads
/// /etc/sysctl.conf only through the /etc/sysctl.d/99-sysctl.conf link that Debian and RHEL ship,
/// in that link's place among the other names. `sysctl --system` (procps) reads the same files
/// and then /etc/sysctl.conf once more, last. On a node that boots without systemd, the init
/// system's own script runs `sysctl --system`, so the two orders are the same there.
public struct SysctlConfig: Sendable {
    /// The directories searched, highest precedence first: a file name in an earlier directory
    /// shadows the same name in a later one.
    public static let directories = [
        "/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d",
    ]
    /// Read last by `sysctl --system`; by systemd-sysctl only through a sysctl.d link to it.
    public static let legacyFile = "/etc/sysctl.conf"

    /// Who applies the files at boot.
    public enum BootOrder: Sendable, Equatable {
        /// systemd-sysctl: the sysctl.d files only, /etc/sysctl.conf through its link.
        case systemdSysctl
        /// The init system's script runs `sysctl --system`: /etc/sysctl.conf last.
        case sysctlSystem
    }

    /// One name of the sysctl.d set: where it is, and the file its lines are named by (the file
    /// a link such as 99-sysctl.conf -> ../sysctl.conf leads to).
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let path: String
        public let source: String
    }

    public let bootOrder: BootOrder
    /// The sysctl.d set in lexical order of names.
    public let entries: [Entry]
    /// Every assignment in the order applied at boot: the last one for a key wins.
    public let assignments: [SysctlAssignment]
    /// Every assignment in the order `sysctl --system` applies them now.
    public let systemAssignments: [SysctlAssignment]
    /// Files that could not be read: the effective configuration is then unknown.
    public let problems: [String]
    /// Lines that are not assignments.
    public let malformed: [SourceLocation]
    /// Each file's assignments, by the name its lines carry.
    public let bySource: [String: [SysctlAssignment]]

    /// Systemd writes keys with either separator; the canonical form uses dots.
    public static func normalize(_ key: Substring) -> String {
        key.contains("/") ? String(key.map { $0 == "/" ? "." : $0 }) : String(key)
    }

    /// The proc path of a key.
    public static func procPath(_ key: String) -> String {
        "/proc/sys/" + String(key.map { $0 == "." ? "/" : $0 })
    }

    /// The file a sysctl.d entry's lines come from: a symlink's target (relative to its
    /// directory), else the entry itself.
    static func source(of path: String, on node: Node) -> String {
        guard case .success(let target) = node.readLink(path) else { return path }
        let directory = path[..<(path.lastIndex(of: "/") ?? path.startIndex)]
        var parts: [Substring] = target.hasPrefix("/") ? [] : directory.split(separator: "/")
        for part in target.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    static func load(from node: Node, bootOrder: BootOrder) -> SysctlConfig {
        var chosen: [String: String] = [:]
        var problems: [String] = []
        for directory in node.distinctDirectories(directories) {
            switch node.list(directory) {
            case .success(let names):
                for name in names where name.hasSuffix(".conf") && chosen[name] == nil {
                    chosen[name] = directory + "/" + name
                }
            case .failure(let error) where error.isNotFound: continue
            case .failure(let error): problems.append(error.description)
            }
        }
        let entries = chosen.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { name in
            Entry(name: name, path: chosen[name]!, source: source(of: chosen[name]!, on: node))
        }
        var parsed: [String: [SysctlAssignment]] = [:]
        var malformed: [SourceLocation] = []
        func lines(_ entryPath: String, _ source: String) -> [SysctlAssignment]? {
            if let done = parsed[source] { return done }
            switch node.read(entryPath, limit: defaultReadLimit) {
            case .missing: return nil
            case .unreadable(let why):
                problems.append(why)
                return nil
            case .content(let bytes):
                var list: [SysctlAssignment] = []
                parse(bytes, file: source, into: &list, malformed: &malformed)
                parsed[source] = list
                return list
            }
        }
        var boot: [SysctlAssignment] = []
        for entry in entries {
            if let list = lines(entry.path, entry.source) { boot += list }
        }
        var system = boot
        if let legacy = lines(legacyFile, legacyFile) {
            system += legacy
            if bootOrder == .sysctlSystem { boot = system }
        }
        return SysctlConfig(
            bootOrder: bootOrder, entries: entries, assignments: boot, systemAssignments: system,
            problems: problems, malformed: malformed, bySource: parsed)
    }

    static func parse(_ bytes: [UInt8], file: String, into assignments: inout [SysctlAssignment], malformed: inout [SourceLocation]) {
        for (number, text) in numberedLines(bytes) {
            var line = text.trimmed
            guard let first = line.first, first != "#", first != ";" else { continue }
            if first == "-" { line.removeFirst() }
            guard let equals = line.firstIndex(of: "=") else {
                malformed.append(SourceLocation(file: file, line: number))
                continue
            }
            let key = line[..<equals].trimmed
            guard !key.isEmpty else {
                malformed.append(SourceLocation(file: file, line: number))
                continue
            }
            let value = line[line.index(after: equals)...].trimmed
            assignments.append(
                SysctlAssignment(key: normalize(key), value: String(value), location: SourceLocation(file: file, line: number)))
        }
    }

    /// The assignment that decides a key's value after a reboot, if any.
    public func effective(_ key: String) -> SysctlAssignment? { assignments.last { $0.key == key } }

    /// The assignment that `sysctl --system` would leave in force if run now.
    public func effectiveNow(_ key: String) -> SysctlAssignment? { systemAssignments.last { $0.key == key } }

    /// /etc/sysctl.conf's own assignments.
    public var legacyAssignments: [SysctlAssignment] { bySource[Self.legacyFile] ?? [] }

    /// Every key's assignments, in application order.
    static func index(_ assignments: [SysctlAssignment]) -> [String: [SysctlAssignment]] {
        var index: [String: [SysctlAssignment]] = [:]
        for a in assignments { index[a.key, default: []].append(a) }
        return index
    }

    /// Every assignment of a key, in application order.
    public func occurrences(_ key: String) -> [SysctlAssignment] { assignments.filter { $0.key == key } }

    /// Assignments that swallow `key=` inside their value: two settings on one line, of which
    /// sysctl sets only the first (with the whole rest of the line as its value).
    public func swallowed(_ key: String) -> [SysctlAssignment] {
        assignments.filter { a in
            a.value.fields.contains { field in
                field.hasPrefix(key) && field.dropFirst(key.count).trimmed.first == "="
            } || a.value.fields.contains { $0 == Substring(key) }
        }
    }
}
