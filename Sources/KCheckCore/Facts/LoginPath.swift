/// Root's PATH as its login shell leaves it (DOCUMENTED-STATE item 4, judged as a person who logs
/// in as root gets it): the files bash reads as a login shell, in its order, read (never run) for
/// what they do to PATH.
///
/// bash as a login shell reads /etc/profile, then the first of ~/.bash_profile, ~/.bash_login and
/// ~/.profile; sh (dash) reads /etc/profile and ~/.profile. A line that sources another file (`.`
/// or `source` with a literal path, `~` or `$HOME`) is followed there (/etc/profile.d/*.sh where
/// a loop names that directory, root's .bashrc where .bash_profile sources it, /etc/bashrc or
/// /etc/bash.bashrc from there). What changes PATH: `PATH=…` and `export PATH=…` (with `$PATH`,
/// `${PATH}`, `$HOME` and `~` expanded), CentOS's `pathmunge DIR [after]`, and the initial value
/// from /etc/environment (pam_env) or sshd's default. Conditions are not evaluated, except a test
/// of root's identity (`id -u`, `$EUID`, `$UID` against 0), of which the root branch is taken
/// (Debian's /etc/profile sets root's PATH there). Other lines are ignored: a PATH made by a
/// command the files run cannot be known without running them, and kcheck never runs them.
public struct LoginPath: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public let directory: String
        /// Where it was put on PATH (nil: the initial value).
        public let location: SourceLocation?
    }

    public let entries: [Entry]
    /// The files read, in order.
    public let files: [String]
    /// root's shell, from /etc/passwd.
    public let shell: String
    /// The file of root's own the shell read (~/.bash_profile, ~/.profile…), if any.
    public let personal: String?

    /// sshd's and login's PATH for root when nothing else sets it.
    static let initial = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    static let maxDepth = 8
    static let maxFiles = 200

    public var text: String { entries.map(\.directory).joined(separator: ":") }

    /// Reads the files of `node`; nil when root has no shell that reads them (nologin).
    public static func read(_ node: Node) -> Result<LoginPath, LoginPathProblem> {
        var shell = "/bin/bash"
        var home = "/root"
        if case .content(let bytes) = node.read("/etc/passwd", limit: 4 << 20) {
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("root:") {
                let fields = line.split(separator: ":", omittingEmptySubsequences: false)
                if fields.count >= 7 {
                    home = fields[5].isEmpty ? "/" : String(fields[5])
                    shell = String(fields[6].trimmed)
                }
                break
            }
        }
        let name = shell.split(separator: "/").last.map(String.init) ?? shell
        guard ["bash", "sh", "dash"].contains(name) else { return .failure(.shell(shell)) }
        var reader = Reader(node: node, home: home)
        if case .content(let bytes) = node.read("/etc/environment", limit: 1 << 20) {
            for (n, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let t = String(line.trimmed)
                guard t.hasPrefix("PATH=") else { continue }
                reader.set(Reader.unquote(String(t.dropFirst(5))), at: SourceLocation(file: "/etc/environment", line: n + 1))
            }
        }
        reader.source("/etc/profile", depth: 0)
        let personal = name == "bash" ? [".bash_profile", ".bash_login", ".profile"] : [".profile"]
        for file in personal.map({ home == "/" ? "/" + $0 : home + "/" + $0 }) {
            guard case .success = node.status(file) else { continue }
            reader.source(file, depth: 0)
            reader.personal = file
            break
        }
        if let problem = reader.problem { return .failure(problem) }
        return .success(LoginPath(entries: reader.path, files: reader.files, shell: shell, personal: reader.personal))
    }

    struct Reader {
        let node: Node
        let home: String
        var path: [Entry] = LoginPath.initial.split(separator: ":").map { Entry(directory: String($0), location: nil) }
        var files: [String] = []
        var problem: LoginPathProblem?
        var personal: String?
        /// Plain assignments seen so far (`PYENV_ROOT="$HOME/.pyenv"`), expanded in later PATH values.
        var variables: [String: String] = [:]

        init(node: Node, home: String) {
            self.node = node
            self.home = home
        }

        static func unquote(_ text: String) -> String {
            var t = text
            if t.count >= 2, let f = t.first, (f == "\"" || f == "'"), t.last == f { t = String(t.dropFirst().dropLast()) }
            return t
        }

        /// `value` with $PATH/${PATH} as the current PATH, $HOME/~ as root's home.
        mutating func set(_ value: String, at location: SourceLocation) {
            var out: [Entry] = []
            for part in value.split(separator: ":", omittingEmptySubsequences: false) {
                let p = String(part)
                if p == "$PATH" || p == "${PATH}" {
                    out += path
                } else {
                    let dir = expand(p)
                    // An empty entry is the current directory to the shell; kept as ".".
                    out.append(Entry(directory: dir.isEmpty ? "." : dir, location: location))
                }
            }
            // The shell keeps duplicates, and looks up the first.
            path = out
        }

        func expand(_ text: String) -> String {
            var t = text
            if t == "~" || t.hasPrefix("~/") { t = home + t.dropFirst() }
            guard t.contains("$") else { return t }
            // Each $NAME or ${NAME} in turn (the longest name, as the shell reads it): HOME, or a
            // variable an earlier line set; anything else stays as written. Linear in the text.
            var out = ""
            var rest = Substring(t)
            while let dollar = rest.firstIndex(of: "$") {
                out += rest[..<dollar]
                var after = rest[rest.index(after: dollar)...]
                let braced = after.first == "{"
                if braced { after = after.dropFirst() }
                let name = after.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                var end = name.endIndex
                if braced {
                    guard end < after.endIndex, after[end] == "}" else {
                        out += "$"
                        rest = rest[rest.index(after: dollar)...]
                        continue
                    }
                    end = after.index(after: end)
                }
                if let value = name == "HOME" ? home : variables[String(name)], !name.isEmpty {
                    out += value
                } else {
                    out += rest[dollar..<end]
                }
                rest = after[end...]
            }
            return out + rest
        }

        mutating func pathmunge(_ dir: String, after: Bool, at location: SourceLocation) {
            guard !path.contains(where: { $0.directory == dir }) else { return }
            let entry = Entry(directory: dir, location: location)
            if after { path.append(entry) } else { path.insert(entry, at: 0) }
        }

        mutating func source(_ file: String, depth: Int) {
            // Each file once: a profile.d script that loops over profile.d again (or a file that
            // sources itself) is not read again (bash would recurse until it gave up).
            guard depth <= LoginPath.maxDepth, files.count < LoginPath.maxFiles, !files.contains(file) else { return }
            let bytes: [UInt8]
            switch node.read(file, limit: 1 << 20) {
            case .content(let b): bytes = b
            case .missing: return
            case .unreadable(let why):
                problem = problem ?? .unreadable(file, why)
                return
            }
            files.append(file)
            // Branches of a test of root's identity: the root branch is taken.
            enum Branch { case root, other }
            var branches: [Branch?] = []
            // A function's body (CentOS's pathmunge assigns PATH there) runs only when called.
            var inFunction = false
            for (n, raw) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                var line = String(raw.trimmed)
                if inFunction {
                    if line == "}" { inFunction = false }
                    continue
                }
                if line.hasPrefix("#") { continue }
                let head = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
                if let h = head.first, h == "function" || h.hasSuffix("()") || (head.count > 1 && head[1].hasPrefix("()")) {
                    if !line.hasSuffix("}") { inFunction = true }
                    continue
                }
                if line.hasSuffix(";") { line = String(line.dropLast().trimmed) }
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ";" }).map(String.init)
                guard let first = words.first else { continue }
                let location = SourceLocation(file: file, line: n + 1)
                switch first {
                case "if":
                    let rootTest = (line.contains("id -u") || line.contains("$EUID") || line.contains("$UID") || line.contains("${EUID}"))
                        && (line.contains(" 0") || line.contains("\"0\""))
                    let negated = line.contains("-ne") || line.contains("!=")
                    branches.append(rootTest ? (negated ? .other : .root) : nil)
                    continue
                case "else", "elif":
                    if let last = branches.last, let b = last { branches[branches.count - 1] = b == .root ? .other : .root }
                    continue
                case "fi":
                    if !branches.isEmpty { branches.removeLast() }
                    continue
                default: break
                }
                // Inside the branch a non-root user takes: not root's.
                if branches.contains(where: { $0 == .other }) { continue }
                var statement = words
                if statement.first == "then" || statement.first == "do" { statement.removeFirst() }
                guard let verb = statement.first else { continue }
                if verb == "export" || verb == "readonly" || verb == "declare" {
                    statement.removeFirst()
                    while let flag = statement.first, flag.hasPrefix("-") { statement.removeFirst() }
                }
                if let assignment = statement.first, let eq = assignment.firstIndex(of: "="), !assignment.hasPrefix("PATH="),
                    assignment[..<eq].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !assignment[..<eq].isEmpty,
                    let found = line.firstRange(of: assignment[...eq])
                {
                    let name = String(assignment[..<eq])
                    let value = Self.value(String(line[found.upperBound...]))
                    // A value made by a command cannot be known without running it: left unexpanded.
                    if !value.contains("`") && !value.contains("$(") { variables[name] = expand(value) } else { variables[name] = nil }
                    continue
                }
                if let assignment = statement.first, assignment.hasPrefix("PATH=") {
                    // The whole value up to the end of the statement, quotes removed.
                    guard let found = line.firstRange(of: "PATH=") else { continue }
                    let after = line[found.upperBound...]
                    let value = Self.value(String(after))
                    set(value, at: location)
                    continue
                }
                switch verb {
                case "pathmunge" where statement.count >= 2:
                    pathmunge(expand(Self.unquote(statement[1])), after: statement.count >= 3 && statement[2] == "after", at: location)
                case ".", "source":
                    guard statement.count >= 2 else { continue }
                    let target = expand(Self.unquote(statement[1]))
                    if target.hasPrefix("/"), !target.contains("$"), !target.contains("*") { source(target, depth: depth + 1) }
                default:
                    // `for i in /etc/profile.d/*.sh` (then `. "$i"` in the loop): each file, sorted.
                    if words.contains(where: { $0.hasPrefix("/etc/profile.d/*") }) || (verb == "for" && line.contains("/etc/profile.d")) {
                        guard case .success(let names) = node.list("/etc/profile.d") else { continue }
                        for name in names.sorted() where name.hasSuffix(".sh") { source("/etc/profile.d/" + name, depth: depth + 1) }
                    }
                }
            }
        }

        /// A shell word's value: quoted ("…", '…') or bare, up to the first unquoted blank or `;`.
        static func value(_ text: String) -> String {
            var out = ""
            var quote: Character?
            for c in text {
                if let q = quote {
                    if c == q { quote = nil } else { out.append(c) }
                } else if c == "\"" || c == "'" {
                    quote = c
                } else if c == " " || c == "\t" || c == ";" {
                    break
                } else {
                    out.append(c)
                }
            }
            return out
        }
    }
}

public enum LoginPathProblem: Error, Equatable, Sendable {
    /// root's shell reads none of these files (nologin, zsh, fish).
    case shell(String)
    case unreadable(String, String)

    var message: String {
        switch self {
        case .shell(let shell): "root's login shell is \(shell), which kcheck does not read the files of (bash and sh: /etc/profile, ~/.bash_profile, ~/.profile)"
        case .unreadable(let file, let why): "\(file) cannot be read: \(why)"
        }
    }
}

extension StringProtocol {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return String(self) }
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
