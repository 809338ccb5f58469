/// A value assigned in a bash file.
public enum ShellValue: Equatable, Sendable {
    case scalar(String)
    case array([String])

    var isArray: Bool {
        if case .array = self { return true }
        return false
    }

    var itemCount: Int {
        switch self {
        case .scalar: 1
        case .array(let items): items.count
        }
    }

    /// Bytes held (a scalar's, or every item's).
    var byteCount: Int {
        switch self {
        case .scalar(let s): s.utf8.count
        case .array(let items): items.reduce(0) { $0 + $1.utf8.count }
        }
    }

    /// `+=(items)`, in place: the array is released from `self` before it grows, so it is not copied.
    mutating func append(items more: [String]) {
        guard case .array(var a) = self else {
            self = .array([scalar] + more)
            return
        }
        self = .scalar("")
        a.append(contentsOf: more)
        self = .array(a)
    }

    /// `+=text` on a scalar (bash appends to an array's first element), in place.
    mutating func append(text more: String) {
        switch self {
        case .scalar(var t):
            self = .scalar("")
            t += more
            self = .scalar(t)
        case .array(var a):
            self = .scalar("")
            if a.isEmpty { a = [more] } else { a[0] += more }
            self = .array(a)
        }
    }

    /// The value as `$NAME` gives it: a scalar, or an array's first element.
    public var scalar: String {
        switch self {
        case .scalar(let s): s
        case .array(let items): items.first ?? ""
        }
    }

    public var items: [String] {
        switch self {
        case .scalar(let s): [s]
        case .array(let items): items
        }
    }
}

/// One assignment in a bash file, as parsed (never executed).
public struct ShellAssignment: Equatable, Sendable {
    public let name: String
    public let value: ShellValue
    /// The value holds a command substitution (`$(…)` or backticks): it is computed each time the
    /// file is sourced, and kcheck never runs it. Its text stands in the value as written.
    public let computed: Bool
    /// Variables referenced but not assigned earlier in the file (their text is kept as written).
    public let unresolved: [String]
    public let exported: Bool
    public let line: Int
    public let column: Int
    /// The value's source text, as written after `=`.
    public let source: String
}

/// A bash file read as source: assignments (plain, `export`, `declare`/`readonly`/`local`), quoting,
/// escapes, arrays across lines, `$VAR`/`${VAR}` references to earlier assignments. Nothing is
/// ever executed: command substitutions are recorded, not run. Other commands are skipped (their
/// words still have to be well-formed).
public struct ShellFile: Sendable {
    /// Every assignment, in order.
    public let assignments: [ShellAssignment]
    /// Lines holding a command other than an assignment (`source`, `echo`, `if` …).
    public let commandLines: [Int]

    /// The last assignment of each name.
    public var variables: [String: ShellAssignment] {
        var result: [String: ShellAssignment] = [:]
        for a in assignments { result[a.name] = a }
        return result
    }

    public subscript(name: String) -> ShellAssignment? { assignments.last { $0.name == name } }

    public static func parse(_ text: String) throws(SyntaxError) -> ShellFile {
        var parser = ShellParser(Array(text.unicodeScalars))
        return try parser.parseFile()
    }
}

struct ShellParser {
    /// Bounds on what a file can make kcheck hold (docs/bounds.md): a value longer than this many
    /// bytes (`A=$A$A` doubling) ...
    static let maxValueBytes = 1 << 20
    /// ... an array with more items ...
    static let maxArrayItems = 100_000
    /// ... and, over all assignments together, more bytes and items held than this (500,000 lines
    /// of `A+=(x)` would otherwise hold 500,000 growing copies) end the parse with an error at the
    /// line that crossed the bound.
    static let maxHeld = 16 << 20

    let s: [Unicode.Scalar]
    var i = 0
    var held = 0
    var line = 1
    var lineStart = 0
    var assignments: [ShellAssignment] = []
    var commandLines: [Int] = []
    var known: [String: ShellValue] = [:]
    /// Where each name was last assigned in `assignments`.
    var lastRecord: [String: Int] = [:]
    /// Values being extended by `+=`, held here alone until the file ends (or the name is set anew).
    var growing: [String: ShellValue] = [:]

    init(_ scalars: [Unicode.Scalar]) { s = scalars }

    var column: Int { i - lineStart + 1 }
    var atEnd: Bool { i >= s.count }
    var current: Unicode.Scalar? { i < s.count ? s[i] : nil }

    func peek(_ offset: Int = 1) -> Unicode.Scalar? { i + offset < s.count ? s[i + offset] : nil }

    mutating func advance() {
        if s[i] == "\n" {
            line += 1
            lineStart = i + 1
        }
        i += 1
    }

    func error(_ message: String, line: Int? = nil, column: Int? = nil) -> SyntaxError {
        SyntaxError(line: line ?? self.line, column: column ?? self.column, message: message)
    }

    /// A bound kcheck keeps on what a file can make it hold was crossed.
    func bound(_ what: String, line: Int, column: Int) -> SyntaxError {
        error("\(what): past kcheck's bound, so this file is not read further (docs/bounds.md)", line: line, column: column)
    }

    static func isNameStart(_ c: Unicode.Scalar) -> Bool { c == "_" || (c.isASCII && c.properties.isAlphabetic) }
    static func isNameChar(_ c: Unicode.Scalar) -> Bool { isNameStart(c) || ("0"..."9").contains(c) }
    static func isBlank(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\r" }
    static func endsWord(_ c: Unicode.Scalar) -> Bool {
        isBlank(c) || c == "\n" || c == ";" || c == "&" || c == "|" || c == "(" || c == ")" || c == "<" || c == ">"
    }

    mutating func skipBlanks() {
        while let c = current {
            if Self.isBlank(c) { advance() }
            else if c == "\\" && peek() == "\n" { advance(); advance() }
            else { break }
        }
    }

    mutating func skipComment() {
        while let c = current, c != "\n" { advance() }
    }

    mutating func parseFile() throws(SyntaxError) -> ShellFile {
        while !atEnd {
            skipBlanks()
            guard let c = current else { break }
            if c == "\n" || c == ";" { advance(); continue }
            if c == "#" { skipComment(); continue }
            try parseStatement()
        }
        for (name, value) in growing {
            guard let k = lastRecord[name] else { continue }
            let r = assignments[k]
            assignments[k] = ShellAssignment(
                name: r.name, value: value, computed: r.computed, unresolved: r.unresolved, exported: r.exported,
                line: r.line, column: r.column, source: r.source)
        }
        return ShellFile(assignments: assignments, commandLines: commandLines)
    }

    /// A name followed by `=` or `+=` at the current position, if there is one.
    func assignmentName() -> (name: String, length: Int, append: Bool)? {
        guard let c = current, Self.isNameStart(c) else { return nil }
        var j = i
        while j < s.count, Self.isNameChar(s[j]) { j += 1 }
        let name = String(String.UnicodeScalarView(s[i..<j]))
        if j < s.count, s[j] == "=" { return (name, j - i + 1, false) }
        if j + 1 < s.count, s[j] == "+", s[j + 1] == "=" { return (name, j - i + 2, true) }
        return nil
    }

    mutating func parseStatement() throws(SyntaxError) {
        let statementLine = line
        var exported = false
        var sawCommand = false
        // Declaration builtins that take assignments.
        if let word = peekWord(), ["export", "declare", "typeset", "readonly", "local"].contains(word) {
            exported = word == "export"
            for _ in 0..<word.unicodeScalars.count { advance() }
            skipBlanks()
            while current == "-" {  // options such as -x, -a, -r
                if let word = peekWord(), word.contains("x") { exported = true }
                _ = try parseWord()
                skipBlanks()
            }
        }
        while let c = current, c != "\n", c != ";", c != "#" || sawCommand {
            if c == "&" || c == "|" || c == "<" || c == ">" {
                sawCommand = true
                advance()
                skipBlanks()
                continue
            }
            if !sawCommand, let (name, length, append) = assignmentName() {
                let startLine = line, startColumn = column
                for _ in 0..<length { advance() }
                let valueStart = i
                var value: ShellValue
                var computed = false
                var unresolved: [String] = []
                if current == "(" {
                    advance()
                    var items: [String] = []
                    while true {
                        while let c = current, Self.isBlank(c) || c == "\n" { advance() }
                        guard let c = current else {
                            throw error("unterminated array: `(` at \(startLine):\(startColumn) has no `)`", line: startLine, column: startColumn)
                        }
                        if c == ")" { advance(); break }
                        if c == "#" { skipComment(); continue }
                        if Self.endsWord(c) {
                            // bash: "syntax error near unexpected token"
                            throw error("unexpected `\(c)` inside the array that starts at \(startLine):\(startColumn)")
                        }
                        let word = try parseWord()
                        items.append(word.text)
                        if items.count > Self.maxArrayItems {
                            throw bound("the array \(name) has more than \(Self.maxArrayItems) items", line: startLine, column: startColumn)
                        }
                        computed = computed || word.computed
                        unresolved += word.unresolved
                    }
                    value = .array(items)
                } else {
                    let word = try parseWord()
                    value = .scalar(word.text)
                    computed = word.computed
                    unresolved = word.unresolved
                }
                // What this line adds to the values held (an append: only what it appends).
                switch value {
                case .scalar(let text): held += text.utf8.count + 1
                case .array(let items): held += items.reduce(items.count) { $0 + $1.utf8.count }
                }
                if append, known[name] != nil || growing[name] != nil {
                    // Extended in place, so that 100,000 `A+=(x)` lines stay linear: the growing
                    // value lives only in `growing` (no record or lookup table holds it, which would
                    // force a copy per line) and is put into the name's last record at the end.
                    if growing[name] == nil {
                        growing[name] = known[name]!
                        known[name] = .scalar("")
                    }
                    // Asked through accessors, never bound: a copy of the value held during the
                    // append would make it copy the whole array.
                    if growing[name]!.isArray, case .array(let b) = value {
                        guard growing[name]!.itemCount + b.count <= Self.maxArrayItems else {
                            throw bound("the array \(name) has more than \(Self.maxArrayItems) items", line: startLine, column: startColumn)
                        }
                        growing[name]!.append(items: b)
                    } else {
                        let added = value.scalar
                        guard growing[name]!.byteCount + added.utf8.count <= Self.maxValueBytes else {
                            throw bound("the value of \(name) is longer than \(Self.maxValueBytes >> 20) MiB", line: startLine, column: startColumn)
                        }
                        growing[name]!.append(text: added)
                    }
                    value = .scalar("")  // the record's value comes from `growing` at the end
                } else {
                    growing[name] = nil
                }
                known[name] = value
                lastRecord[name] = assignments.count
                let source = String(String.UnicodeScalarView(s[valueStart..<i]))
                assignments.append(
                    ShellAssignment(
                        name: name, value: value, computed: computed, unresolved: unresolved, exported: exported,
                        line: startLine, column: startColumn, source: source))
            } else {
                sawCommand = true
                if c == "(" || c == ")" { advance() } else { _ = try parseWord() }
            }
            skipBlanks()
        }
        if sawCommand { commandLines.append(statementLine) }
    }

    func peekWord() -> String? {
        var j = i
        while j < s.count, !Self.endsWord(s[j]), s[j] != "=" { j += 1 }
        guard j > i, j >= s.count || Self.endsWord(s[j]) else { return nil }
        return String(String.UnicodeScalarView(s[i..<j]))
    }

    struct Word {
        var text = ""
        var computed = false
        var unresolved: [String] = []
    }

    /// One shell word: unquoted text, quotes, escapes and expansions, up to a metacharacter.
    mutating func parseWord() throws(SyntaxError) -> Word {
        var word = Word()
        while let c = current, !Self.endsWord(c) {
            switch c {
            case "\\":
                advance()
                guard let next = current else { break }
                if next != "\n" { word.text.unicodeScalars.append(next) }
                advance()
            case "'":
                let (l, col) = (line, column)
                advance()
                while let q = current, q != "'" {
                    word.text.unicodeScalars.append(q)
                    advance()
                }
                guard current == "'" else { throw error("unterminated single quote", line: l, column: col) }
                advance()
            case "\"":
                let (l, col) = (line, column)
                advance()
                while let q = current, q != "\"" {
                    if q == "\\" {
                        advance()
                        guard let next = current else { break }
                        if next == "$" || next == "`" || next == "\"" || next == "\\" {
                            word.text.unicodeScalars.append(next)
                        } else if next != "\n" {
                            word.text.unicodeScalars.append("\\")
                            word.text.unicodeScalars.append(next)
                        }
                        advance()
                    } else if q == "$" || q == "`" {
                        try parseExpansion(into: &word)
                    } else {
                        word.text.unicodeScalars.append(q)
                        advance()
                    }
                }
                guard current == "\"" else { throw error("unterminated double quote", line: l, column: col) }
                advance()
            case "$", "`":
                try parseExpansion(into: &word)
            default:
                word.text.unicodeScalars.append(c)
                advance()
            }
        }
        return word
    }

    /// `$NAME`, `${…}`, `$(…)`, `$((…))` or a backquoted command, at the current position.
    mutating func parseExpansion(into word: inout Word) throws(SyntaxError) {
        let (l, col) = (line, column)
        let start = i
        if current == "`" {
            advance()
            while let c = current, c != "`" {
                if c == "\\" { advance() }
                if !atEnd { advance() }
            }
            guard current == "`" else { throw error("unterminated backquoted command substitution", line: l, column: col) }
            advance()
            word.computed = true
            word.text += String(String.UnicodeScalarView(s[start..<i]))
            return
        }
        advance()  // $
        guard let c = current else {
            word.text += "$"
            return
        }
        if c == "(" {
            try skipBalanced(open: "(", close: ")", what: "command substitution `$(`", line: l, column: col)
            word.computed = true
            word.text += String(String.UnicodeScalarView(s[start..<i]))
        } else if c == "{" {
            advance()
            let nameStart = i
            while let d = current, d != "}" {
                if d == "\n" { break }
                advance()
            }
            guard current == "}" else { throw error("unterminated `${`", line: l, column: col) }
            let inner = String(String.UnicodeScalarView(s[nameStart..<i]))
            advance()
            word.text += expand(inner, source: String(String.UnicodeScalarView(s[start..<i])), into: &word)
            try checkLength(word, line: l, column: col)
        } else if Self.isNameStart(c) {
            let nameStart = i
            while let d = current, Self.isNameChar(d) { advance() }
            let name = String(String.UnicodeScalarView(s[nameStart..<i]))
            word.text += expand(name, source: "$" + name, into: &word)
            try checkLength(word, line: l, column: col)
        } else {
            // $1, $?, $$ and a lone $: positional and special parameters are left as written.
            if c.properties.numericType != nil || "?$!#*@-".unicodeScalars.contains(c) { advance() }
            word.text += String(String.UnicodeScalarView(s[start..<i]))
        }
    }

    func checkLength(_ word: Word, line: Int, column: Int) throws(SyntaxError) {
        if word.text.utf8.count > Self.maxValueBytes {
            throw bound("expanding this makes a value longer than \(Self.maxValueBytes >> 20) MiB", line: line, column: column)
        }
    }

    /// The value of `NAME`, `NAME[i]`, `NAME[@]` from earlier assignments; otherwise the text as
    /// written, with the name recorded as unresolved.
    func expand(_ inner: String, source: String, into word: inout Word) -> String {
        var name = inner
        var index: String?
        if let open = inner.firstIndex(of: "["), inner.hasSuffix("]") {
            name = String(inner[..<open])
            index = String(inner[inner.index(after: open)..<inner.index(before: inner.endIndex)])
        }
        guard name.unicodeScalars.allSatisfy(Self.isNameChar), let value = growing[name] ?? known[name] else {
            word.unresolved.append(name)
            return source
        }
        // A secret never travels into another variable (IFACE="$ENCRYPTION_KEY" would put the
        // key into every report that names the interface).
        if Redaction.secretNames.contains(name) { return "[redacted \(name)]" }
        switch index {
        case nil: return value.scalar
        case "@"?, "*"?: return value.items.joined(separator: " ")
        case let n?:
            guard let k = Int(n), k >= 0, k < value.items.count else { return "" }
            return value.items[k]
        }
    }

    mutating func skipBalanced(open: Unicode.Scalar, close: Unicode.Scalar, what: String, line l: Int, column col: Int)
        throws(SyntaxError)
    {
        var depth = 0
        while let c = current {
            if c == "\\" {
                advance()
                if !atEnd { advance() }
                continue
            }
            if c == "'" {
                advance()
                while let q = current, q != "'" { advance() }
                if !atEnd { advance() }
                continue
            }
            if c == "\"" {
                advance()
                while let q = current, q != "\"" {
                    if q == "\\" { advance() }
                    if !atEnd { advance() }
                }
                if !atEnd { advance() }
                continue
            }
            if c == open { depth += 1 }
            if c == close {
                depth -= 1
                if depth == 0 {
                    advance()
                    return
                }
            }
            advance()
        }
        throw error("unterminated \(what)", line: l, column: col)
    }
}
