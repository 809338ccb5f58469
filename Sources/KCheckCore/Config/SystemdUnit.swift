/// A systemd unit file read as systemd reads it (systemd.syntax(7)): sections, `Key=value`
/// assignments, `#`/`;` comment lines, a backslash at the end of a line joining the next one with a
/// space (comment lines inside such a value are dropped). Lines systemd would ignore with a
/// warning are kept out, not errors: a unit is judged as systemd runs it.
public struct SystemdUnit: Sendable {
    public struct Assignment: Sendable, Equatable {
        public let section: String
        public let key: String
        public let value: String
        /// The file and the line the assignment starts on.
        public let location: SourceLocation
    }

    public let assignments: [Assignment]

    /// Larger is not a unit file.
    public static let readLimit = 1 << 20

    public static func parse(_ bytes: [UInt8], path: String) -> SystemdUnit {
        var assignments: [Assignment] = []
        var section = ""
        var pending: (key: String, value: String, line: Int)?
        let lines = numberedLines(bytes)
        for (number, raw) in lines {
            var line = Substring(raw)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if var current = pending {
                // Inside a continued value: comment lines are skipped, others appended.
                if trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
                if line.hasSuffix("\\") {
                    current.value += " " + line.dropLast()
                    pending = current
                } else {
                    assignments.append(Assignment(section: section, key: current.key, value: (current.value + " " + line).trimmed.string, location: SourceLocation(file: path, line: current.line)))
                    pending = nil
                }
                continue
            }
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            if trimmed.hasPrefix("[") {
                if let close = trimmed.firstIndex(of: "]") { section = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close]) }
                continue
            }
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            let key = trimmed[..<equals].trimmed.string
            var value = trimmed[trimmed.index(after: equals)...].drop { $0 == " " || $0 == "\t" }
            if value.hasSuffix("\\") {
                value = value.dropLast()
                pending = (key, String(value), number)
                continue
            }
            assignments.append(Assignment(section: section, key: key, value: value.trimmed.string, location: SourceLocation(file: path, line: number)))
        }
        // A continuation at the end of the file ends the value there.
        if let current = pending {
            assignments.append(Assignment(section: section, key: current.key, value: current.value.trimmed.string, location: SourceLocation(file: path, line: current.line)))
        }
        return SystemdUnit(assignments: assignments)
    }
}

extension Substring {
    var string: String { String(self) }
}

extension String {
    var string: String { self }
}

/// A command line as systemd splits `ExecStart=` (systemd.service(5), "Command lines"): words
/// separated by whitespace, double and single quotes removed, C escapes decoded; the prefixes
/// `@ - : + !` of the first word dropped.
public enum ExecCommand {
    /// At most this many words: past it is not a command line kcheck judges.
    public static let maxWords = 65_536

    public static func split(_ value: String) throws(SyntaxError) -> [String] {
        var words: [String] = []
        var current: [Unicode.Scalar] = []
        var inWord = false
        var quote: Unicode.Scalar?
        var scalars = Array(value.unicodeScalars)
        var i = 0
        // Prefixes of the first word.
        while i < scalars.count, scalars[i] == " " || scalars[i] == "\t" { i += 1 }
        while i < scalars.count, "@-:+!".unicodeScalars.contains(scalars[i]) { i += 1 }
        func column() -> Int { i + 1 }
        while i < scalars.count {
            let c = scalars[i]
            if let q = quote {
                if c == q {
                    quote = nil
                } else if c == "\\" && q == "\"" {
                    i += 1
                    guard i < scalars.count else { throw SyntaxError(line: 1, column: column(), message: "a backslash at the end of the command line") }
                    current.append(escape(scalars[i]))
                } else {
                    current.append(c)
                }
                i += 1
                continue
            }
            switch c {
            case " ", "\t", "\n":
                if inWord {
                    words.append(String(String.UnicodeScalarView(current)))
                    guard words.count <= maxWords else { throw SyntaxError(line: 1, column: column(), message: "more than \(maxWords) words: past kcheck's bound") }
                    current = []
                    inWord = false
                }
            case "\"", "'":
                quote = c
                inWord = true
            case "\\":
                i += 1
                guard i < scalars.count else { throw SyntaxError(line: 1, column: column(), message: "a backslash at the end of the command line") }
                current.append(escape(scalars[i]))
                inWord = true
            default:
                current.append(c)
                inWord = true
            }
            i += 1
        }
        if quote != nil { throw SyntaxError(line: 1, column: scalars.count + 1, message: "an unterminated quote") }
        if inWord { words.append(String(String.UnicodeScalarView(current))) }
        scalars.removeAll()
        return words
    }

    static func escape(_ c: Unicode.Scalar) -> Unicode.Scalar {
        switch c {
        case "n": "\n"
        case "t": "\t"
        case "r": "\r"
        case "a": "\u{07}"
        case "b": "\u{08}"
        case "f": "\u{0C}"
        case "v": "\u{0B}"
        case "s": " "
        default: c
        }
    }
}

/// A component's command-line flags, as Go's flag packages read them (pflag and flag): `--name=value`,
/// `--name value`, a lone `--name` (true); one dash or two; the last occurrence wins.
public struct ComponentFlags: Sendable, Equatable {
    public let executable: String
    public let flags: [(name: String, value: String)]

    public static func == (a: ComponentFlags, b: ComponentFlags) -> Bool {
        a.executable == b.executable && a.flags.map(\.name) == b.flags.map(\.name) && a.flags.map(\.value) == b.flags.map(\.value)
    }

    public init(argv: [String]) {
        executable = argv.first ?? ""
        var flags: [(String, String)] = []
        var i = 1
        while i < argv.count {
            let word = argv[i]
            i += 1
            guard word.hasPrefix("-"), word != "-", word != "--" else { continue }
            let body = word.drop { $0 == "-" }
            if let equals = body.firstIndex(of: "=") {
                flags.append((String(body[..<equals]), String(body[body.index(after: equals)...])))
            } else if i < argv.count, !argv[i].hasPrefix("-") {
                flags.append((String(body), argv[i]))
                i += 1
            } else {
                flags.append((String(body), "true"))
            }
        }
        self.flags = flags
    }

    /// The flag's value (the last one given); nil when absent.
    public func value(_ name: String) -> String? { flags.last { $0.name == name }?.value }
}

extension NodeFacts {
    /// A systemd unit as systemd loads it: its file (in the unit directories' order) and its
    /// drop-ins (NAME.d/*.conf, by file name), assignments in that order; nil when no unit
    /// directory has it. A
    /// unit path that is there but is no file (a FIFO, a device, a directory) or cannot be read is
    /// an error with its reason, never "not installed".
    func loadUnit(_ name: String) -> Result<(path: String, assignments: [SystemdUnit.Assignment])?, SourceError> {
        let directories = node.distinctDirectories(UnitFiles.systemDirectories)
        var main: String?
        for directory in directories {
            let path = directory + "/" + name
            switch node.resolvedStatus(path) {
            case .success(let st) where st.kind == .regular:
                main = path
            case .success(let st) where st.kind == .other:
                // systemd's mask is a link to /dev/null, a character device: the unit is masked, not installed.
                if case .success(let target) = node.readLink(path), target == "/dev/null" { return .success(nil) }
                return .failure(SourceError(file: path, line: 0, column: 0, message: "is not a regular file (a FIFO, socket or device)"))
            case .success:
                return .failure(SourceError(file: path, line: 0, column: 0, message: "is a directory, not a unit file"))
            case .failure(let error) where !error.isNotFound:
                return .failure(SourceError(file: path, line: 0, column: 0, message: error.description))
            case .failure:
                continue
            }
            break
        }
        guard let main else { return .success(nil) }
        var files = [main]
        var dropIns: [String: String] = [:]
        for directory in directories {
            guard case .success(let names) = node.list(directory + "/" + name + ".d") else { continue }
            for file in names where file.hasSuffix(".conf") && dropIns[file] == nil { dropIns[file] = directory + "/" + name + ".d/" + file }
        }
        files += dropIns.keys.sorted().map { dropIns[$0]! }
        var assignments: [SystemdUnit.Assignment] = []
        for file in files {
            switch node.read(file, limit: SystemdUnit.readLimit) {
            case .content(let bytes): assignments += SystemdUnit.parse(bytes, path: file).assignments
            case .missing: continue
            case .unreadable(let why): return .failure(SourceError(file: file, line: 0, column: 0, message: why))
            }
        }
        return .success((main, assignments))
    }

    /// The command a service runs: its last ExecStart= after any empty one (a reset), split as
    /// systemd splits it.
    func execStart(_ unit: String) -> Result<(argv: [String], location: SourceLocation)?, SourceError> {
        if let known = execStarts[unit] { return known }
        let result = loadExecStart(unit)
        execStarts[unit] = result
        return result
    }

    private func loadExecStart(_ unit: String) -> Result<(argv: [String], location: SourceLocation)?, SourceError> {
        let loaded: (path: String, assignments: [SystemdUnit.Assignment])
        switch loadUnit(unit) {
        case .success(nil): return .success(nil)
        case .success(let found?): loaded = found
        case .failure(let error): return .failure(error)
        }
        var chosen: SystemdUnit.Assignment?
        for a in loaded.assignments where a.section == "Service" && a.key == "ExecStart" { chosen = a.value.isEmpty ? nil : a }
        guard let chosen else { return .failure(SourceError(file: loaded.path, line: 0, column: 0, message: "no ExecStart= in [Service]")) }
        do throws(SyntaxError) {
            return .success((try ExecCommand.split(chosen.value), chosen.location))
        } catch {
            return .failure(SourceError(file: chosen.location.file, line: chosen.location.line, column: error.column, message: "ExecStart: \(error.message)"))
        }
    }
}
