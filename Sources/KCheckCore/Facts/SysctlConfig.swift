/// One `key = value` line of a sysctl configuration file.
public struct SysctlAssignment: Equatable, Sendable {
    public let key: String
    /// The value as systemd-sysctl and `sysctl -p` take it: everything after the first `=`, trimmed.
    public let value: String
    public let location: SourceLocation
}

/// The sysctl configuration that will be applied at boot, in the order systemd-sysctl and
/// `sysctl --system` apply it.
public struct SysctlConfig: Sendable {
    /// The directories searched, highest precedence first: a file name in an earlier directory
    /// shadows the same name in a later one.
    public static let directories = [
        "/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d",
    ]
    /// Read after every sysctl.d file.
    public static let legacyFile = "/etc/sysctl.conf"

    /// Files in application order.
    public let files: [String]
    /// Every assignment, in application order: the last one for a key wins.
    public let assignments: [SysctlAssignment]
    /// Files that could not be read: the effective configuration is then unknown.
    public let problems: [String]
    /// Lines that are not assignments.
    public let malformed: [SourceLocation]

    /// Systemd writes keys with either separator; the canonical form uses dots.
    public static func normalize(_ key: Substring) -> String {
        key.contains("/") ? String(key.map { $0 == "/" ? "." : $0 }) : String(key)
    }

    /// The proc path of a key.
    public static func procPath(_ key: String) -> String {
        "/proc/sys/" + String(key.map { $0 == "." ? "/" : $0 })
    }

    static func load(from node: Node) -> SysctlConfig {
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
        var files = chosen.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { chosen[$0]! }
        files.append(legacyFile)
        var assignments: [SysctlAssignment] = []
        var malformed: [SourceLocation] = []
        var present: [String] = []
        for file in files {
            switch node.read(file, limit: defaultReadLimit) {
            case .missing: continue
            case .unreadable(let why): problems.append(why)
            case .content(let bytes):
                present.append(file)
                parse(bytes, file: file, into: &assignments, malformed: &malformed)
            }
        }
        return SysctlConfig(files: present, assignments: assignments, problems: problems, malformed: malformed)
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
