/// Where a YAML node starts: 1-based line and column (columns count characters, not bytes).
public struct YAMLMark: Sendable, Equatable {
    public let line: Int
    public let column: Int
}

/// A scalar and how it was written (the style decides whether `true` or `~` mean a boolean or null).
public struct YAMLScalar: Sendable, Equatable {
    public enum Style: Sendable, Equatable { case plain, singleQuoted, doubleQuoted, literal, folded }
    public let string: String
    public let style: Style
    public let mark: YAMLMark
}

/// One node of a YAML document (a rule file, or a node's own configuration file).
public indirect enum YAMLNode: Sendable {
    case scalar(YAMLScalar)
    case sequence([YAMLNode], YAMLMark)
    case mapping([(key: YAMLNode, value: YAMLNode)], YAMLMark)

    public var mark: YAMLMark {
        switch self {
        case .scalar(let s): s.mark
        case .sequence(_, let m), .mapping(_, let m): m
        }
    }

    public var scalar: YAMLScalar? {
        if case .scalar(let s) = self { return s }
        return nil
    }

    public var sequence: [YAMLNode]? {
        if case .sequence(let items, _) = self { return items }
        return nil
    }

    public var mapping: [(key: YAMLNode, value: YAMLNode)]? {
        if case .mapping(let pairs, _) = self { return pairs }
        return nil
    }

    /// An empty plain scalar, `~` or `null` (YAML's core schema).
    public var isNull: Bool {
        guard let s = scalar, s.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    /// Plain `true` or `false` (core schema; a quoted "true" is a string).
    public var bool: Bool? {
        guard let s = scalar, s.style == .plain else { return nil }
        switch s.string {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }

    /// A plain decimal integer.
    public var int: Int? {
        guard let s = scalar, s.style == .plain else { return nil }
        return Int(s.string)
    }
}

/// A reader for the YAML that rule files are written in, without Foundation, so that `--rules`
/// costs the binary nothing at start (see docs/benchmarks.md).
///
/// It reads YAML 1.2's block and flow collections and every scalar style (plain, single- and
/// double-quoted with all escapes, literal and folded block scalars with chomping and indentation
/// indicators), comments, one optional `---` document. It refuses, each with its line and column,
/// what rule files never need: anchors and aliases, tags, directives, complex (`?`) keys, several
/// documents, duplicate keys, and tabs used as indentation. Tests hold it to Yams' reading of every
/// rule file and of a corpus of tricky documents.
public enum YAML {
    public static func parse(_ text: String, file: String) throws(SourceError) -> YAMLNode? {
        var reader = YAMLReader(text: text, file: file)
        return try reader.document()
    }
}

struct YAMLReader {
    /// How deep collections may nest (rule files nest a few levels): deeper is an error with its
    /// place, never a stack overflow.
    static let maxDepth = 64
    private var depth = 0

    private mutating func enter() throws(SourceError) {
        depth += 1
        if depth > Self.maxDepth { throw fail("nested deeper than \(Self.maxDepth) levels") }
    }
    private var b: [UInt8]
    private var i = 0
    private var line = 1
    private var lineStart = 0
    private let file: String

    init(text: String, file: String) {
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        // CRLF line ends read as LF; a line's columns do not change.
        if bytes.contains(UInt8(ascii: "\r")) {
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            for (k, c) in bytes.enumerated() where !(c == UInt8(ascii: "\r") && k + 1 < bytes.count && bytes[k + 1] == UInt8(ascii: "\n")) {
                out.append(c)
            }
            bytes = out
        }
        b = bytes
        self.file = file
    }

    // MARK: - Position

    private var mark: YAMLMark { YAMLMark(line: line, column: column) }

    /// 1-based, in characters.
    private var column: Int {
        var n = 1
        var k = lineStart
        while k < i {
            if b[k] & 0xC0 != 0x80 { n += 1 }
            k += 1
        }
        return n
    }

    /// 0-based indentation of the current position.
    private var indent: Int { column - 1 }

    private var atEnd: Bool { i >= b.count }

    private func at(_ k: Int = 0) -> UInt8? { i + k < b.count ? b[i + k] : nil }

    private func isBlank(_ c: UInt8?) -> Bool { c == nil || c == 0x20 || c == 0x09 || c == 0x0A }

    private func atChar(_ k: Int, _ ascii: Unicode.Scalar) -> Bool { at(k) == UInt8(ascii: ascii) }

    private var atLineEnd: Bool { atEnd || b[i] == 0x0A }

    private mutating func advance() {
        if b[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        i += 1
    }

    private mutating func advance(_ n: Int) { for _ in 0..<n { advance() } }

    private mutating func skipSpaces() { while let c = at(), c == 0x20 || c == 0x09 { i += 1 } }

    private func fail(_ message: String, at where_: YAMLMark? = nil) -> SourceError {
        let m = where_ ?? mark
        return SourceError(file: file, line: m.line, column: m.column, message: "invalid YAML: \(message)")
    }

    /// Skips spaces, comments and line breaks up to the next content; does nothing when already
    /// there. In block context a tab in a line's indentation is refused; in flow context (inside
    /// [ ] or { }) tabs are separators like spaces.
    private mutating func skipToContent(inFlow: Bool = false) throws(SourceError) {
        while let c = at() {
            if !inFlow, c == 0x09, b[lineStart..<i].allSatisfy({ $0 == 0x20 }) {
                throw fail("a tab in indentation (YAML indents with spaces only)")
            }
            if c == 0x20 || c == 0x09 || c == 0x0A {
                advance()
            } else if c == UInt8(ascii: "#"), i == lineStart || isBlank(b[i - 1]) {
                while !atLineEnd { i += 1 }
            } else {
                break
            }
        }
    }

    /// After a value: only spaces and a comment may follow on its line.
    private mutating func endOfLine(after what: String) throws(SourceError) {
        skipSpaces()
        if atLineEnd || (at() == UInt8(ascii: "#") && isBlank(b[i - 1])) { return }
        if at() == UInt8(ascii: ":") && isBlank(at(1)) {
            throw fail("a mapping value is not allowed here (\(what) cannot be a key)")
        }
        // YAML wants a space before a comment's `#`; libyaml takes `"text"#` as a comment anyway.
        if at() == UInt8(ascii: "#") { throw fail("a `#` right after \(what) is not supported (put a space before a comment)") }
        throw fail("unexpected text after \(what)")
    }

    /// `---` or `...` at the start of a line.
    private var atDocumentMarker: Bool {
        guard i == lineStart, i + 3 <= b.count, isBlank(at(3)) else { return false }
        return (b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: ".")) && b[i + 1] == b[i] && b[i + 2] == b[i]
    }

    // MARK: - Document

    mutating func document() throws(SourceError) -> YAMLNode? {
        try skipToContent()
        if at() == UInt8(ascii: "%") && i == lineStart { throw fail("directives (%YAML, %TAG) are not supported in rule files") }
        var root: YAMLNode?
        if atDocumentMarker && atChar(0, "-") {
            advance(3)
            skipSpaces()
            if !atLineEnd && !(at() == UInt8(ascii: "#")) { root = try blockNode(parent: -1) }
        }
        try skipToContent()
        if root == nil && !atEnd && !atDocumentMarker { root = try blockNode(parent: -1) }
        try skipToContent()
        if atDocumentMarker && atChar(0, ".") {
            advance(3)
            try skipToContent()
        }
        if atEnd { return root }
        if atDocumentMarker { throw fail("a rule file holds one YAML document; found a second one") }
        throw fail("bad indentation: this line does not line up with any enclosing mapping or list")
    }

    // MARK: - Block context

    /// A node at the current position, which is content; `parent` is the enclosing block's
    /// indentation (-1 at the top). An `inline` node starts on its key's line, where neither a
    /// block list nor a nested mapping may start.
    private mutating func blockNode(parent: Int, inline: Bool = false) throws(SourceError) -> YAMLNode {
        try enter()
        defer { depth -= 1 }
        let start = mark
        let n = indent
        guard let c = at() else {
            if inline { throw fail("expected a value") }
            return .scalar(YAMLScalar(string: "", style: .plain, mark: start))
        }
        switch c {
        case UInt8(ascii: "-") where isBlank(at(1)):
            if inline { throw fail("a list cannot start on its key's line; start it on the next line") }
            return try blockSequence(indent: n)
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            let node = try flowNode()
            try endOfLine(after: "a [ ] or { } collection")
            return node
        case UInt8(ascii: "|"), UInt8(ascii: ">"):
            return try blockScalar(parent: parent)
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            let scalar = try quoted()
            skipSpaces()
            if !inline && at() == UInt8(ascii: ":") && isBlank(at(1)) {
                guard scalar.mark.line == line else { throw fail("a key must fit on one line", at: scalar.mark) }
                return try blockMapping(indent: n, firstKey: scalar)
            }
            try endOfLine(after: "a quoted string")
            return .scalar(scalar)
        default:
            try refuseIndicator(c, inFlow: false)
            if lineHasKey() {
                if inline { throw fail("a mapping value is not allowed here (start a nested mapping on the next line)") }
                return try blockMapping(indent: n, firstKey: try plainKey())
            }
            return try plainBlock(parent: parent)
        }
    }

    private func refuseIndicator(_ c: UInt8, inFlow: Bool) throws(SourceError) {
        switch c {
        case UInt8(ascii: "&"): throw fail("anchors (&name) are not supported in rule files")
        case UInt8(ascii: "*"): throw fail("aliases (*name) are not supported in rule files")
        case UInt8(ascii: "!"): throw fail("tags (!tag) are not supported in rule files")
        case UInt8(ascii: "%"): throw fail("`%` cannot start a plain value; quote it")
        case UInt8(ascii: "#"): throw fail("`#` cannot start a plain value; quote it (a comment needs a space before its `#`)")
        case UInt8(ascii: "@"), UInt8(ascii: "`"): throw fail("`\(Character(Unicode.Scalar(c)))` is reserved in YAML and cannot start a plain value; quote it")
        case UInt8(ascii: "?") where isBlank(at(1)) || (inFlow && [UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}")].contains(at(1))):
            throw fail("complex keys (`? key`) are not supported in rule files")
        case UInt8(ascii: ":") where isBlank(at(1)): throw fail("a value without a key")
        case UInt8(ascii: "-") where inFlow && isBlank(at(1)): throw fail("a block list item inside [ ] or { }")
        case UInt8(ascii: "|") where inFlow, UInt8(ascii: ">") where inFlow: throw fail("block scalars (| and >) are not allowed inside [ ] or { }")
        case UInt8(ascii: "|"), UInt8(ascii: ">"):
            throw fail("`\(Character(Unicode.Scalar(c)))` starts a block scalar and cannot start a key or a plain value; quote it")
        case UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: ","): throw fail("unexpected `\(Character(Unicode.Scalar(c)))`")
        default: return
        }
    }

    /// Whether a plain key (`name:` followed by a blank) starts at the current position.
    private func lineHasKey() -> Bool {
        var k = i
        while k < b.count, b[k] != 0x0A {
            if b[k] == UInt8(ascii: "#"), k > i, b[k - 1] == 0x20 || b[k - 1] == 0x09 { return false }
            if b[k] == UInt8(ascii: ":"), k + 1 >= b.count || [0x20, 0x09, 0x0A].contains(b[k + 1]) { return true }
            k += 1
        }
        return false
    }

    private mutating func plainKey() throws(SourceError) -> YAMLScalar {
        let start = mark
        let from = i
        while !(at() == UInt8(ascii: ":") && isBlank(at(1))) { i += 1 }
        var to = i
        while to > from, b[to - 1] == 0x20 || b[to - 1] == 0x09 { to -= 1 }
        return YAMLScalar(string: String(decoding: b[from..<to], as: UTF8.self), style: .plain, mark: start)
    }

    private mutating func key() throws(SourceError) -> YAMLScalar {
        guard let c = at() else { throw fail("expected a key") }
        if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
            let k = try quoted()
            guard k.mark.line == line else { throw fail("a key must fit on one line", at: k.mark) }
            skipSpaces()
            return k
        }
        if c == UInt8(ascii: "-") && isBlank(at(1)) { throw fail("a list item where a key was expected") }
        if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") { throw fail("collections as keys are not supported in rule files") }
        try refuseIndicator(c, inFlow: false)
        guard lineHasKey() else { throw fail("expected `key: value`") }
        return try plainKey()
    }

    private mutating func blockMapping(indent n: Int, firstKey: YAMLScalar) throws(SourceError) -> YAMLNode {
        var pairs: [(key: YAMLNode, value: YAMLNode)] = []
        var seen: [String: YAMLMark] = [:]
        var k: YAMLScalar? = firstKey
        while true {
            let key: YAMLScalar
            if let first = k {
                key = first
                k = nil
            } else {
                key = try self.key()
            }
            if let first = seen[key.string] {
                throw fail("duplicate key `\(key.string)` (first at line \(first.line), column \(first.column))", at: key.mark)
            }
            seen[key.string] = key.mark
            guard at() == UInt8(ascii: ":") else { throw fail("expected `:` after the key") }
            advance()
            let afterColon = mark
            skipSpaces()
            let value: YAMLNode
            if atLineEnd || at() == UInt8(ascii: "#") {
                try skipToContent()
                if atEnd || indent < n || atDocumentMarker {
                    value = .scalar(YAMLScalar(string: "", style: .plain, mark: afterColon))
                } else if indent == n {
                    // A list may sit at its key's own indentation.
                    value = atChar(0, "-") && isBlank(at(1)) ? try blockSequence(indent: n) : .scalar(YAMLScalar(string: "", style: .plain, mark: afterColon))
                } else {
                    value = try blockNode(parent: n)
                }
            } else {
                value = try blockNode(parent: n, inline: true)
            }
            pairs.append((.scalar(key), value))
            try skipToContent()
            if atEnd || indent < n || atDocumentMarker { break }
            if indent > n { throw fail("bad indentation: a mapping's keys must line up (this mapping's keys are at column \(n + 1))") }
        }
        return .mapping(pairs, firstKey.mark)
    }

    private mutating func blockSequence(indent n: Int) throws(SourceError) -> YAMLNode {
        let start = mark
        var items: [YAMLNode] = []
        while true {
            advance()  // the `-`
            let afterDash = mark
            if at() == 0x09 {
                var k = i
                while k < b.count, b[k] == 0x20 || b[k] == 0x09 { k += 1 }
                if k < b.count, b[k] != 0x0A, b[k] != UInt8(ascii: "#") {
                    throw fail("a tab after `-` is not supported in rule files (separate a list item from its `-` with spaces)")
                }
            }
            skipSpaces()
            if atLineEnd || at() == UInt8(ascii: "#") {
                try skipToContent()
                if atEnd || indent <= n || atDocumentMarker {
                    items.append(.scalar(YAMLScalar(string: "", style: .plain, mark: afterDash)))
                } else {
                    items.append(try blockNode(parent: n))
                }
            } else {
                items.append(try blockNode(parent: n))
            }
            try skipToContent()
            if atEnd || indent < n || atDocumentMarker { break }
            if indent > n { throw fail("bad indentation: a list's items must line up (this list's `-` are at column \(n + 1))") }
            guard atChar(0, "-") && isBlank(at(1)) else { break }  // a key of the mapping that holds this list
        }
        return .sequence(items, start)
    }

    /// A plain scalar in block context, folded over its continuation lines (indented deeper than
    /// `parent`).
    private mutating func plainBlock(parent: Int) throws(SourceError) -> YAMLNode {
        let start = mark
        var text = try plainLine(inFlow: false)
        while true {
            // Look ahead: blank lines, then a continuation line indented deeper than the parent.
            let save = (i, line, lineStart)
            var breaks = 0
            while let c = at(), c == 0x20 || c == 0x09 || c == 0x0A {
                if c == 0x0A { breaks += 1 }
                advance()
            }
            if breaks == 0 || atEnd || indent <= parent || at() == UInt8(ascii: "#") || atDocumentMarker {
                (i, line, lineStart) = save
                break
            }
            if lineHasKey() { throw fail("a mapping value is not allowed here (a plain value's continuation line cannot hold `key: value`)") }
            text += breaks == 1 ? " " : String(repeating: "\n", count: breaks - 1)
            text += try plainLine(inFlow: false)
        }
        return .scalar(YAMLScalar(string: text, style: .plain, mark: start))
    }

    /// One line's worth of a plain scalar, stopping before a comment (and, in flow context,
    /// before `,[]{}` and `: `), trailing spaces trimmed.
    private mutating func plainLine(inFlow: Bool) throws(SourceError) -> String {
        let from = i
        var to = i
        while let c = at(), c != 0x0A {
            if c == UInt8(ascii: "#") && i > from && (b[i - 1] == 0x20 || b[i - 1] == 0x09) { break }
            if inFlow {
                if [UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}")].contains(c) { break }
                if c == UInt8(ascii: ":") {
                    if isBlank(at(1)) { break }
                    // As libyaml: `:` then `,?[]{}` is refused; `a:b` is one value.
                    if let d = at(1), [UInt8(ascii: ","), UInt8(ascii: "?"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}")].contains(d) {
                        throw fail("unexpected `:` before `\(Character(Unicode.Scalar(d)))` inside [ ] or { }; write `key: value` or quote the value")
                    }
                }
            } else if c == UInt8(ascii: ":") && isBlank(at(1)) {
                break
            }
            i += 1
            if c != 0x20 && c != 0x09 { to = i }
        }
        return String(decoding: b[from..<to], as: UTF8.self)
    }

    // MARK: - Block scalars

    private mutating func blockScalar(parent: Int) throws(SourceError) -> YAMLNode {
        let start = mark
        let folded = at() == UInt8(ascii: ">")
        i += 1
        var chomp: UInt8?
        var explicit: Int?
        for _ in 0..<2 {
            if let c = at(), c == UInt8(ascii: "+") || c == UInt8(ascii: "-"), chomp == nil {
                chomp = c
                i += 1
            } else if let c = at(), c >= UInt8(ascii: "1") && c <= UInt8(ascii: "9"), explicit == nil {
                explicit = Int(c - UInt8(ascii: "0"))
                i += 1
            }
        }
        try endOfLine(after: "a block scalar's header (`|`, `>`, then optionally `-`, `+` or an indentation digit)")
        while !atLineEnd { i += 1 }  // the header's comment
        guard !atEnd else { return .scalar(YAMLScalar(string: "", style: folded ? .folded : .literal, mark: start)) }
        advance()  // the header's line break

        // The content's indentation: explicit, or that of the first non-empty line.
        let base = max(parent, 0)
        var contentIndent = explicit.map { base + $0 }
        if contentIndent == nil {
            var k = i
            var maxBlank = 0
            while k < b.count {
                var spaces = 0
                while k + spaces < b.count, b[k + spaces] == 0x20 { spaces += 1 }
                if k + spaces >= b.count || b[k + spaces] == 0x0A {
                    maxBlank = max(maxBlank, spaces)
                    k += spaces + 1
                    continue
                }
                if spaces > parent {
                    if spaces < maxBlank { throw fail("a block scalar's leading empty line is indented more than its first line", at: start) }
                    contentIndent = spaces
                }
                break
            }
        }
        var lines: [(text: String, moreIndented: Bool)?] = []  // nil: an empty line
        if let contentIndent {
            while !atEnd {
                let lineBegin = (i, line, lineStart)
                var spaces = 0
                while at() == 0x20 && spaces < contentIndent { i += 1; spaces += 1 }
                if atLineEnd {
                    lines.append(nil)
                    if atEnd { break }
                    advance()
                    continue
                }
                if spaces < contentIndent {
                    // Spaces only, then a line break: still an empty line of the scalar.
                    var k = i
                    while k < b.count, b[k] == 0x20 { k += 1 }
                    if k >= b.count || b[k] == 0x0A {
                        lines.append(nil)
                        i = k
                        if atEnd { break }
                        advance()
                        continue
                    }
                    (i, line, lineStart) = lineBegin
                    break
                }
                let from = i
                while !atLineEnd { i += 1 }
                let text = String(decoding: b[from..<i], as: UTF8.self)
                lines.append((text, text.first == " " || text.first == "\t"))
                if atEnd { break }
                advance()
            }
        }
        guard let last = lines.lastIndex(where: { $0 != nil }) else {
            let keep = chomp == UInt8(ascii: "+") ? String(repeating: "\n", count: lines.count) : ""
            return .scalar(YAMLScalar(string: keep, style: folded ? .folded : .literal, mark: start))
        }
        var body = ""
        if folded {
            var previous: (text: String, moreIndented: Bool)?
            var empties = 0
            for entry in lines[...last] {
                guard let entry else {
                    empties += 1
                    continue
                }
                if let previous {
                    if previous.moreIndented || entry.moreIndented {
                        body += String(repeating: "\n", count: empties + 1)
                    } else {
                        body += empties == 0 ? " " : String(repeating: "\n", count: empties)
                    }
                } else {
                    body += String(repeating: "\n", count: empties)
                }
                body += entry.text
                previous = entry
                empties = 0
            }
        } else {
            body = lines[...last].map { $0?.text ?? "" }.joined(separator: "\n")
        }
        let trailing = lines.count - last - 1
        switch chomp {
        case UInt8(ascii: "-"): break
        case UInt8(ascii: "+"): body += "\n" + String(repeating: "\n", count: trailing)
        default: body += "\n"
        }
        return .scalar(YAMLScalar(string: body, style: folded ? .folded : .literal, mark: start))
    }

    // MARK: - Quoted scalars

    private mutating func quoted() throws(SourceError) -> YAMLScalar {
        let start = mark
        let double = at() == UInt8(ascii: "\"")
        let quote = b[i]
        i += 1
        var out: [UInt8] = []
        while true {
            guard let c = at() else { throw fail("unterminated \(double ? "double" : "single")-quoted string", at: start) }
            if c == quote {
                if !double && at(1) == quote {
                    out.append(quote)
                    i += 2
                    continue
                }
                i += 1
                break
            }
            if c == 0x0A || ((c == 0x20 || c == 0x09) && lineBreakFollowsSpaces()) {
                // Folding: trailing spaces dropped, one line break a space, n+1 breaks n newlines.
                var breaks = 0
                while let d = at(), d == 0x20 || d == 0x09 || d == 0x0A {
                    if d == 0x0A { breaks += 1 }
                    advance()
                }
                if atDocumentMarker { throw fail("a document marker inside a quoted string", at: start) }
                out += breaks == 1 ? [0x20] : [UInt8](repeating: 0x0A, count: breaks - 1)
                continue
            }
            if double && c == UInt8(ascii: "\\") {
                try escape(into: &out)
                continue
            }
            out.append(c)
            i += 1
        }
        return YAMLScalar(string: String(decoding: out, as: UTF8.self), style: double ? .doubleQuoted : .singleQuoted, mark: start)
    }

    private func lineBreakFollowsSpaces() -> Bool {
        var k = i
        while k < b.count, b[k] == 0x20 || b[k] == 0x09 { k += 1 }
        return k < b.count && b[k] == 0x0A
    }

    private mutating func escape(into out: inout [UInt8]) throws(SourceError) {
        let start = mark
        i += 1
        guard let c = at() else { throw fail("unterminated double-quoted string", at: start) }
        if c == 0x0A {
            // An escaped line break: joined without a space, the next line's indentation skipped.
            advance()
            while let d = at(), d == 0x20 || d == 0x09 { i += 1 }
            return
        }
        i += 1
        let simple: [UInt8: [UInt8]] = [
            UInt8(ascii: "0"): [0], UInt8(ascii: "a"): [7], UInt8(ascii: "b"): [8], UInt8(ascii: "t"): [9], 0x09: [9],
            UInt8(ascii: "n"): [10], UInt8(ascii: "v"): [11], UInt8(ascii: "f"): [12], UInt8(ascii: "r"): [13],
            UInt8(ascii: "e"): [27], 0x20: [0x20], UInt8(ascii: "\""): [0x22], UInt8(ascii: "/"): [0x2F],
            UInt8(ascii: "\\"): [0x5C], UInt8(ascii: "N"): [0xC2, 0x85], UInt8(ascii: "_"): [0xC2, 0xA0],
            UInt8(ascii: "L"): [0xE2, 0x80, 0xA8], UInt8(ascii: "P"): [0xE2, 0x80, 0xA9],
        ]
        if let bytes = simple[c] {
            out += bytes
            return
        }
        let digits: Int
        switch c {
        case UInt8(ascii: "x"): digits = 2
        case UInt8(ascii: "u"): digits = 4
        case UInt8(ascii: "U"): digits = 8
        default: throw fail("unknown escape `\\\(Character(Unicode.Scalar(c)))` in a double-quoted string", at: start)
        }
        guard i + digits <= b.count, let value = UInt32(String(decoding: b[i..<i + digits], as: UTF8.self), radix: 16),
            let scalar = Unicode.Scalar(value)
        else { throw fail("`\\\(Character(Unicode.Scalar(c)))` needs \(digits) hexadecimal digits naming a Unicode character", at: start) }
        i += digits
        out += Array(String(Character(scalar)).utf8)
    }

    // MARK: - Flow context

    private mutating func flowNode() throws(SourceError) -> YAMLNode {
        guard let c = at() else { throw fail("expected a value") }
        switch c {
        case UInt8(ascii: "["): return try flowSequence()
        case UInt8(ascii: "{"): return try flowMapping()
        case UInt8(ascii: "'"), UInt8(ascii: "\""): return .scalar(try quoted())
        default:
            try refuseIndicator(c, inFlow: true)
            return .scalar(try flowPlain())
        }
    }

    private mutating func flowPlain() throws(SourceError) -> YAMLScalar {
        let start = mark
        var text = try plainLine(inFlow: true)
        // Continuation lines fold as in block context.
        while atLineEnd && !atEnd {
            let save = (i, line, lineStart)
            var breaks = 0
            while let c = at(), c == 0x20 || c == 0x09 || c == 0x0A {
                if c == 0x0A { breaks += 1 }
                advance()
            }
            guard let c = at(), ![UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "#"), UInt8(ascii: "["), UInt8(ascii: "{")].contains(c),
                !(c == UInt8(ascii: ":") && isBlank(at(1)))
            else {
                (i, line, lineStart) = save
                break
            }
            text += breaks == 1 ? " " : String(repeating: "\n", count: breaks - 1)
            text += try plainLine(inFlow: true)
        }
        return YAMLScalar(string: text, style: .plain, mark: start)
    }

    private mutating func flowSequence() throws(SourceError) -> YAMLNode {
        try enter()
        defer { depth -= 1 }
        let start = mark
        i += 1
        var items: [YAMLNode] = []
        while true {
            try skipToContent(inFlow: true)
            guard let c = at() else { throw fail("unterminated [ (opened at line \(start.line), column \(start.column))", at: start) }
            if c == UInt8(ascii: "]") {
                i += 1
                break
            }
            items.append(try flowNode())
            try skipToContent(inFlow: true)
            guard let d = at() else { throw fail("unterminated [ (opened at line \(start.line), column \(start.column))", at: start) }
            if d == UInt8(ascii: ",") {
                i += 1
            } else if d == UInt8(ascii: "]") {
                i += 1
                break
            } else if d == UInt8(ascii: ":") {
                throw fail("`key: value` inside [ ] is not supported in rule files; write [{key: value}]")
            } else {
                throw fail("expected `,` or `]`")
            }
        }
        return .sequence(items, start)
    }

    private mutating func flowMapping() throws(SourceError) -> YAMLNode {
        try enter()
        defer { depth -= 1 }
        let start = mark
        i += 1
        var pairs: [(key: YAMLNode, value: YAMLNode)] = []
        var seen: [String: YAMLMark] = [:]
        while true {
            try skipToContent(inFlow: true)
            guard let c = at() else { throw fail("unterminated { (opened at line \(start.line), column \(start.column))", at: start) }
            if c == UInt8(ascii: "}") {
                i += 1
                break
            }
            if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") { throw fail("collections as keys are not supported in rule files") }
            let key: YAMLScalar
            if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                key = try quoted()
            } else {
                try refuseIndicator(c, inFlow: true)
                key = try flowPlain()
            }
            if let first = seen[key.string] {
                throw fail("duplicate key `\(key.string)` (first at line \(first.line), column \(first.column))", at: key.mark)
            }
            seen[key.string] = key.mark
            try skipToContent(inFlow: true)
            var value = YAMLNode.scalar(YAMLScalar(string: "", style: .plain, mark: mark))
            if at() == UInt8(ascii: ":") {
                i += 1
                try skipToContent(inFlow: true)
                // An empty value stands where the next token starts, as YAML readers mark it.
                value = .scalar(YAMLScalar(string: "", style: .plain, mark: mark))
                if let d = at(), d != UInt8(ascii: ","), d != UInt8(ascii: "}") {
                    value = try flowNode()
                    try skipToContent(inFlow: true)
                }
            }
            pairs.append((.scalar(key), value))
            guard let d = at() else { throw fail("unterminated { (opened at line \(start.line), column \(start.column))", at: start) }
            if d == UInt8(ascii: ",") {
                i += 1
            } else if d == UInt8(ascii: "}") {
                i += 1
                break
            } else {
                throw fail("expected `,` or `}`")
            }
        }
        return .mapping(pairs, start)
    }
}
