/// A reader for TOML 1.0 as containerd reads its config.toml (BurntSushi/toml, pelletier/go-toml),
/// without Foundation. It makes the same tree as kcheck's YAML reader (`YAMLNode`), so that the
/// rules that look keys up in a component's YAML configuration look them up in a TOML file the
/// same way:
///
/// - the document is a mapping (marked 1:1); each key is a plain scalar at the key's line and
///   column (each part of a dotted key at its own); a table is a mapping marked where its header's
///   `[` is (a table made by a dotted key: at that key); an array of tables is a sequence of
///   mappings; an array is a sequence and an inline table a mapping, marked at `[` and `{`;
/// - a basic string is a double-quoted scalar, a literal string single-quoted, a multi-line string
///   of either kind literal (its escapes decoded, CRLF read as LF, the newline after the opening
///   quotes trimmed);
/// - integers, floats, booleans and date-times are plain scalars: an integer in decimal (hex,
///   octal and binary converted, underscores and `+` dropped, `-0` is `0`), a float as written
///   without its underscores, `true` or `false`, a date-time as written.
///
/// It refuses, each with its line and column (1-based, columns in characters), what TOML 1.0
/// forbids: a key or table defined twice, a table defined again by dotted keys or a header, a
/// `[[table]]` added to an array value, an inline table extended, a value used as a table, control
/// characters in strings and comments, invalid escapes and surrogates, malformed numbers (leading
/// zeros, `1__0`, an integer past 64 bits), malformed dates and times, unclosed strings, arrays and
/// inline tables. A byte order mark at the start is ignored.
///
/// Bounded (docs/bounds.md): at most `maximumBytes` of input (more is an error at line 0), values
/// nested at most `maximumDepth` levels below the root, at most `maximumEntries` keys and array
/// items in all; past a bound it is an error at the place that crossed it. Linear in its input:
/// each table keeps a dictionary beside its ordered keys while it is built.
public enum TOML {
    /// The largest input read: 1 MiB.
    public static let maximumBytes = 1 << 20
    /// How many levels below the root a value may sit (each part of a key, each array or inline
    /// table, an array of tables and its element count one each).
    public static let maximumDepth = 32
    /// How many keys (each table and value a key names) and array items a document may hold.
    public static let maximumEntries = 100_000

    /// Reads `text`, a TOML document from `file` (named in errors), into the tree the YAML reader
    /// makes. The root is always a mapping, empty for an empty document.
    public static func parse(_ text: String, file: String) throws(SourceError) -> YAMLNode {
        guard text.utf8.count <= maximumBytes else {
            throw SourceError(file: file, line: 0, column: 0, message: "is larger than \(maximumBytes) bytes: past kcheck's bound for a TOML file")
        }
        var reader = TOMLReader(text: text, file: file)
        return try reader.document()
    }
}

struct TOMLReader {
    // MARK: - The tree while it is built

    /// A table while the document is read: its keys in order, with a dictionary to find them.
    private final class Table {
        enum State {
            /// Made by a header as the parent of the table it names (`a` in `[a.b]`): a header may
            /// still define it once, dotted keys may still add to it.
            case implicit
            /// Defined by its header, or an element of an array of tables.
            case header
            /// Made by dotted keys in the section (or inline table) numbered here; only dotted
            /// keys in that same section may add to it.
            case dotted(Int)
        }

        var state: State
        var mark: YAMLMark
        let level: Int
        var entries: [(name: String, keyMark: YAMLMark, entry: Entry)] = []
        var index: [String: Int] = [:]

        init(state: State, mark: YAMLMark, level: Int) {
            self.state = state
            self.mark = mark
            self.level = level
        }

        func find(_ name: String) -> (keyMark: YAMLMark, entry: Entry)? {
            guard let k = index[name] else { return nil }
            return (entries[k].keyMark, entries[k].entry)
        }

        func add(_ name: String, _ keyMark: YAMLMark, _ entry: Entry) {
            index[name] = entries.count
            entries.append((name, keyMark, entry))
        }
    }

    private final class TableArray {
        var elements: [Table]
        let mark: YAMLMark
        init(first: Table, mark: YAMLMark) {
            elements = [first]
            self.mark = mark
        }
    }

    /// What a value is, for the words of an error.
    private enum Kind { case scalar, array, inlineTable }

    private enum Entry {
        /// A value, finished when it was read (an inline table or array can never be added to).
        case value(YAMLNode, Kind)
        case table(Table)
        case tables(TableArray)
    }

    private struct KeyPart {
        let name: String
        let mark: YAMLMark
    }

    // MARK: - Input and position

    private let b: [UInt8]
    private let file: String
    private var i = 0
    private var line = 1
    private var lineStart = 0
    /// The column of `columnIndex` on the line starting at `columnLineStart`: marks are asked for
    /// in order, so counting characters from there keeps a long line linear.
    private var columnLineStart = 0
    private var columnIndex = 0
    private var columnValue = 1

    private var entries = 0
    private var sections = 0

    init(text: String, file: String) {
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        // CRLF reads as LF (a line's columns do not change); a CR alone stays, and is refused.
        if bytes.contains(0x0D) {
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            for (k, c) in bytes.enumerated() where !(c == 0x0D && k + 1 < bytes.count && bytes[k + 1] == 0x0A) {
                out.append(c)
            }
            bytes = out
        }
        b = bytes
        self.file = file
    }

    private func at(_ k: Int = 0) -> UInt8? { i + k < b.count ? b[i + k] : nil }

    private func atChar(_ k: Int, _ ascii: Unicode.Scalar) -> Bool { at(k) == UInt8(ascii: ascii) }

    /// The current place, counted on from the last place asked for on this line.
    private mutating func here() -> YAMLMark {
        if columnLineStart != lineStart || columnIndex > i {
            columnLineStart = lineStart
            columnIndex = lineStart
            columnValue = 1
        }
        while columnIndex < i {
            if b[columnIndex] & 0xC0 != 0x80 { columnValue += 1 }
            columnIndex += 1
        }
        return YAMLMark(line: line, column: columnValue)
    }

    /// Steps over the `\n` at `i`.
    private mutating func newline() {
        i += 1
        line += 1
        lineStart = i
    }

    private mutating func skipSpaces() { while let c = at(), c == 0x20 || c == 0x09 { i += 1 } }

    private mutating func fail(_ message: String, at mark: YAMLMark? = nil) -> SourceError {
        let m = mark ?? here()
        return SourceError(file: file, line: m.line, column: m.column, message: "invalid TOML: \(message)")
    }

    private static func isControl(_ c: UInt8) -> Bool { (c < 0x20 && c != 0x09) || c == 0x7F }

    private static func isBare(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
    }

    private static func isDigit(_ c: UInt8?) -> Bool { c.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }

    private static func hex(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x30...0x39: UInt32(c - 0x30)
        case 0x41...0x46: UInt32(c - 0x41 + 10)
        case 0x61...0x66: UInt32(c - 0x61 + 10)
        default: nil
        }
    }

    private static func hexByte(_ c: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [digits[Int(c >> 4)], digits[Int(c & 15)]], as: UTF8.self)
    }

    /// A character as an error shows it: printable ASCII as itself, anything else as U+XXXX.
    private func shown(_ c: UInt8) -> String {
        if c > 0x20 && c < 0x7F { return "`" + String(UnicodeScalar(c)) + "`" }
        if c == 0x20 { return "a space" }
        if c < 0x80 { return "U+00" + Self.hexByte(c) }
        // The whole character that starts here.
        var end = i + 1
        while end < b.count, b[end] & 0xC0 == 0x80 { end += 1 }
        let scalar = String(decoding: b[i..<end], as: UTF8.self).unicodeScalars.first?.value ?? 0xFFFD
        let digits = String(scalar, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// A key path as an error shows it: bare parts as written, others quoted, long ones cut.
    private static func display(_ parts: ArraySlice<KeyPart>) -> String {
        var out = ""
        for (k, part) in parts.enumerated() {
            if k > 0 { out += "." }
            if !part.name.isEmpty, part.name.utf8.allSatisfy(isBare) {
                out += part.name
            } else {
                out += "\""
                for scalar in part.name.unicodeScalars {
                    switch scalar {
                    case "\"": out += "\\\""
                    case "\\": out += "\\\\"
                    default:
                        if scalar.value < 0x20 || scalar.value == 0x7F {
                            out += "\\u00" + hexByte(UInt8(scalar.value))
                        } else {
                            out.unicodeScalars.append(scalar)
                        }
                    }
                }
                out += "\""
            }
            if out.utf8.count > 120 { break }
        }
        if out.count > 100 { out = String(out.prefix(97)) + "…" }
        return out
    }

    private static func display(_ parts: [KeyPart], through k: Int) -> String { display(parts[0...k]) }

    // MARK: - Bounds

    private mutating func checkLevel(_ level: Int, at mark: YAMLMark) throws(SourceError) {
        if level > TOML.maximumDepth {
            throw fail("nested deeper than \(TOML.maximumDepth) levels: past kcheck's bound", at: mark)
        }
    }

    private mutating func countEntry(at mark: YAMLMark) throws(SourceError) {
        entries += 1
        if entries > TOML.maximumEntries {
            throw fail("more than \(TOML.maximumEntries) keys and array items: past kcheck's bound", at: mark)
        }
    }

    // MARK: - Document

    mutating func document() throws(SourceError) -> YAMLNode {
        let root = Table(state: .header, mark: YAMLMark(line: 1, column: 1), level: 0)
        var current = root
        var section = 0
        while true {
            skipSpaces()
            guard let c = at() else { break }
            switch c {
            case 0x0A:
                newline()
            case UInt8(ascii: "#"):
                try comment()
            case UInt8(ascii: "["):
                current = try header(root)
                sections += 1
                section = sections
                try endOfLine(after: "the table header")
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                try keyValue(into: current, section: section)
                try endOfLine(after: "a value")
            default:
                guard Self.isBare(c) else {
                    if Self.isControl(c) { throw fail("a control character (\(shown(c))) is not allowed here") }
                    throw fail("\(shown(c)) cannot start a line: expected a key, a [table] header or a comment")
                }
                try keyValue(into: current, section: section)
                try endOfLine(after: "a value")
            }
        }
        return Self.node(root)
    }

    /// The finished tree of a table.
    private static func node(_ table: Table) -> YAMLNode {
        var pairs: [(key: YAMLNode, value: YAMLNode)] = []
        pairs.reserveCapacity(table.entries.count)
        for (name, keyMark, entry) in table.entries {
            let key = YAMLNode.scalar(YAMLScalar(string: name, style: .plain, mark: keyMark))
            switch entry {
            case .value(let value, _): pairs.append((key, value))
            case .table(let sub): pairs.append((key, node(sub)))
            case .tables(let array): pairs.append((key, .sequence(array.elements.map(node), array.mark)))
            }
        }
        return .mapping(pairs, table.mark)
    }

    /// A `#` comment, up to (not over) the end of its line.
    private mutating func comment() throws(SourceError) {
        i += 1
        while let c = at(), c != 0x0A {
            if Self.isControl(c) { throw fail("a control character (\(shown(c))) is not allowed in a comment") }
            i += 1
        }
    }

    /// After a header or a key's value: spaces and a comment, then the end of the line.
    private mutating func endOfLine(after what: String) throws(SourceError) {
        skipSpaces()
        if atChar(0, "#") { try comment() }
        guard let c = at(), c != 0x0A else { return }
        if Self.isControl(c) { throw fail("a control character (\(shown(c))) is not allowed here") }
        throw fail("unexpected \(shown(c)) after \(what): each key and header goes on its own line")
    }

    /// Spaces, line ends and comments, as an array allows between its items.
    private mutating func skipBlank() throws(SourceError) {
        while let c = at() {
            if c == 0x20 || c == 0x09 {
                i += 1
            } else if c == 0x0A {
                newline()
            } else if c == UInt8(ascii: "#") {
                try comment()
            } else {
                return
            }
        }
    }

    // MARK: - Keys and tables

    /// A key: one or more parts (bare, "basic" or 'literal') joined by dots, on one line.
    private mutating func key() throws(SourceError) -> [KeyPart] {
        var parts: [KeyPart] = []
        while true {
            skipSpaces()
            let mark = here()
            guard let c = at() else { throw fail("expected a key before the end of the file") }
            let name: String
            switch c {
            case UInt8(ascii: "\""):
                if atChar(1, "\"") && atChar(2, "\"") { throw fail("a multi-line string cannot be a key") }
                name = try basicString()
            case UInt8(ascii: "'"):
                if atChar(1, "'") && atChar(2, "'") { throw fail("a multi-line string cannot be a key") }
                name = try literalString()
            default:
                guard Self.isBare(c) else {
                    if c == 0x0A { throw fail("expected a key before the end of the line") }
                    if Self.isControl(c) { throw fail("a control character (\(shown(c))) is not allowed here") }
                    throw fail("expected a key, found \(shown(c)) (a bare key is letters, digits, `_` and `-`; quote others)")
                }
                let start = i
                while let d = at(), Self.isBare(d) { i += 1 }
                name = String(decoding: b[start..<i], as: UTF8.self)
            }
            parts.append(KeyPart(name: name, mark: mark))
            skipSpaces()
            guard atChar(0, ".") else { return parts }
            i += 1
        }
    }

    /// Why a value cannot be used as a table.
    private mutating func notATable(_ kind: Kind, _ parts: [KeyPart], through k: Int, defined: YAMLMark) -> SourceError {
        let name = Self.display(parts, through: k)
        switch kind {
        case .inlineTable:
            return fail("`\(name)` is an inline table (line \(defined.line)): it cannot be extended", at: parts[k].mark)
        case .array:
            return fail("`\(name)` is an array (line \(defined.line)), not a table", at: parts[k].mark)
        case .scalar:
            return fail("`\(name)` is already a value (line \(defined.line)), not a table", at: parts[k].mark)
        }
    }

    /// `[a.b]` or `[[a.b]]`: the table it defines or adds, which the next key-value lines fill.
    private mutating func header(_ root: Table) throws(SourceError) -> Table {
        let headerMark = here()
        i += 1
        let isArray = atChar(0, "[")
        if isArray { i += 1 }
        let parts = try key()
        guard atChar(0, "]") else {
            if at() == nil || at() == 0x0A { throw fail("the table header is not closed with `\(isArray ? "]]" : "]")` on its line") }
            throw fail("unexpected \(shown(b[i])) in the table header")
        }
        i += 1
        if isArray {
            guard atChar(0, "]") else { throw fail("expected `]]` to close the array-of-tables header") }
            i += 1
        }
        var table = root
        for k in parts.indices.dropLast() {
            let part = parts[k]
            if let found = table.find(part.name) {
                switch found.entry {
                case .table(let sub): table = sub
                case .tables(let array):
                    guard let last = array.elements.last else { throw fail("an empty array of tables", at: part.mark) }
                    table = last
                case .value(_, let kind): throw notATable(kind, parts, through: k, defined: found.keyMark)
                }
            } else {
                try checkLevel(table.level + 1, at: part.mark)
                try countEntry(at: part.mark)
                let sub = Table(state: .implicit, mark: headerMark, level: table.level + 1)
                table.add(part.name, part.mark, .table(sub))
                table = sub
            }
        }
        let k = parts.count - 1
        let part = parts[k]
        let name = Self.display(parts, through: k)
        if let found = table.find(part.name) {
            switch found.entry {
            case .value(_, let kind):
                if isArray, kind == .array {
                    throw fail("`\(name)` is an array (line \(found.keyMark.line)): `[[\(name)]]` cannot add tables to it", at: part.mark)
                }
                throw notATable(kind, parts, through: k, defined: found.keyMark)
            case .table(let sub):
                if isArray { throw fail("`\(name)` is a table (line \(sub.mark.line)), not an array of tables", at: part.mark) }
                switch sub.state {
                case .implicit:
                    sub.state = .header
                    sub.mark = headerMark
                    return sub
                case .header:
                    throw fail("the table `\(name)` is defined twice (first at line \(sub.mark.line))", at: part.mark)
                case .dotted:
                    throw fail("the table `\(name)` is already defined by dotted keys (line \(sub.mark.line))", at: part.mark)
                }
            case .tables(let array):
                guard isArray else {
                    throw fail("`\(name)` is an array of tables (line \(array.mark.line)), not a table", at: part.mark)
                }
                try countEntry(at: part.mark)
                let element = Table(state: .header, mark: headerMark, level: table.level + 2)
                array.elements.append(element)
                return element
            }
        }
        try checkLevel(table.level + (isArray ? 2 : 1), at: part.mark)
        try countEntry(at: part.mark)
        if isArray {
            try countEntry(at: part.mark)
            let element = Table(state: .header, mark: headerMark, level: table.level + 2)
            table.add(part.name, part.mark, .tables(TableArray(first: element, mark: headerMark)))
            return element
        }
        let sub = Table(state: .header, mark: headerMark, level: table.level + 1)
        table.add(part.name, part.mark, .table(sub))
        return sub
    }

    /// `key = value` into `table`, in the section (or inline table) numbered `section`.
    private mutating func keyValue(into table: Table, section: Int) throws(SourceError) {
        let parts = try key()
        guard atChar(0, "=") else {
            if at() == nil || at() == 0x0A { throw fail("expected `=` and a value after the key") }
            throw fail("expected `=` after the key, found \(shown(b[i]))")
        }
        i += 1
        skipSpaces()
        var t = table
        for k in parts.indices.dropLast() {
            let part = parts[k]
            if let found = t.find(part.name) {
                switch found.entry {
                case .table(let sub):
                    switch sub.state {
                    case .implicit:
                        sub.state = .dotted(section)
                    case .dotted(let made) where made == section:
                        break
                    case .dotted:
                        throw fail("the table `\(Self.display(parts, through: k))` was made by dotted keys under another header (line \(sub.mark.line)): dotted keys cannot add to it here", at: part.mark)
                    case .header:
                        throw fail("the table `\(Self.display(parts, through: k))` is defined by its header (line \(sub.mark.line)): dotted keys cannot add to it", at: part.mark)
                    }
                    t = sub
                case .tables(let array):
                    throw fail("`\(Self.display(parts, through: k))` is an array of tables (line \(array.mark.line)): dotted keys cannot add to it", at: part.mark)
                case .value(_, let kind):
                    throw notATable(kind, parts, through: k, defined: found.keyMark)
                }
            } else {
                try checkLevel(t.level + 1, at: part.mark)
                try countEntry(at: part.mark)
                let sub = Table(state: .dotted(section), mark: part.mark, level: t.level + 1)
                t.add(part.name, part.mark, .table(sub))
                t = sub
            }
        }
        let k = parts.count - 1
        let part = parts[k]
        if let found = t.find(part.name) {
            throw fail("the key `\(Self.display(parts, through: k))` is defined twice (first at line \(found.keyMark.line))", at: part.mark)
        }
        try checkLevel(t.level + 1, at: part.mark)
        try countEntry(at: part.mark)
        let (value, kind) = try value(level: t.level + 1)
        t.add(part.name, part.mark, .value(value, kind))
    }

    // MARK: - Values

    /// The value at `i`, which sits `level` levels below the root (already checked).
    private mutating func value(level: Int) throws(SourceError) -> (YAMLNode, Kind) {
        let mark = here()
        guard let c = at(), c != 0x0A else { throw fail("expected a value") }
        switch c {
        case UInt8(ascii: "\""):
            if atChar(1, "\"") && atChar(2, "\"") {
                return (.scalar(YAMLScalar(string: try multilineString(quote: c), style: .literal, mark: mark)), .scalar)
            }
            return (.scalar(YAMLScalar(string: try basicString(), style: .doubleQuoted, mark: mark)), .scalar)
        case UInt8(ascii: "'"):
            if atChar(1, "'") && atChar(2, "'") {
                return (.scalar(YAMLScalar(string: try multilineString(quote: c), style: .literal, mark: mark)), .scalar)
            }
            return (.scalar(YAMLScalar(string: try literalString(), style: .singleQuoted, mark: mark)), .scalar)
        case UInt8(ascii: "["):
            return (try array(level: level), .array)
        case UInt8(ascii: "{"):
            return (try inlineTable(level: level), .inlineTable)
        default:
            return (.scalar(YAMLScalar(string: try bareValue(), style: .plain, mark: mark)), .scalar)
        }
    }

    /// `[ value, value, ]`: across lines, with comments, a trailing comma allowed.
    private mutating func array(level: Int) throws(SourceError) -> YAMLNode {
        let open = here()
        i += 1
        var items: [YAMLNode] = []
        while true {
            try skipBlank()
            guard let c = at() else { throw fail("the array is never closed", at: open) }
            if c == UInt8(ascii: "]") {
                i += 1
                return .sequence(items, open)
            }
            if c == UInt8(ascii: ",") { throw fail(items.isEmpty ? "expected a value before `,`" : "two commas with no value between them") }
            let mark = here()
            try checkLevel(level + 1, at: mark)
            try countEntry(at: mark)
            items.append(try value(level: level + 1).0)
            try skipBlank()
            guard let d = at() else { throw fail("the array is never closed", at: open) }
            if d == UInt8(ascii: ",") {
                i += 1
            } else if d != UInt8(ascii: "]") {
                throw fail("expected `,` or `]` after an item of the array opened at line \(open.line), found \(shown(d))")
            }
        }
    }

    /// `{ key = value, key = value }` on one line (values such as arrays may span lines).
    private mutating func inlineTable(level: Int) throws(SourceError) -> YAMLNode {
        let open = here()
        i += 1
        let table = Table(state: .header, mark: open, level: level)
        sections += 1
        let section = sections
        skipSpaces()
        if atChar(0, "}") {
            i += 1
            return .mapping([], open)
        }
        while true {
            skipSpaces()
            if at() == nil || at() == 0x0A { throw fail("an inline table must close on the line it opens (line \(open.line))") }
            if atChar(0, "}") { throw fail("a trailing comma is not allowed in an inline table") }
            try keyValue(into: table, section: section)
            skipSpaces()
            guard let c = at(), c != 0x0A else { throw fail("an inline table must close on the line it opens (line \(open.line))") }
            if c == UInt8(ascii: "}") {
                i += 1
                return Self.node(table)
            }
            guard c == UInt8(ascii: ",") else { throw fail("expected `,` or `}` in the inline table, found \(shown(c))") }
            i += 1
        }
    }

    // MARK: - Strings

    /// A control character other than a tab, at `i`, in a string: refused.
    private mutating func refuseControl(_ c: UInt8) throws(SourceError) {
        throw fail("a control character (\(shown(c))) is not allowed in a string (write it as an escape)")
    }

    /// `"…"` on one line, its escapes decoded.
    private mutating func basicString() throws(SourceError) -> String {
        let open = here()
        i += 1
        var out: [UInt8] = []
        while true {
            guard let c = at(), c != 0x0A else { throw fail("this string is not closed on its line", at: open) }
            if c == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") {
                try escape(into: &out, multiline: false)
            } else {
                if Self.isControl(c) { try refuseControl(c) }
                out.append(c)
                i += 1
            }
        }
    }

    /// `'…'` on one line, as written.
    private mutating func literalString() throws(SourceError) -> String {
        let open = here()
        i += 1
        let start = i
        while true {
            guard let c = at(), c != 0x0A else { throw fail("this string is not closed on its line", at: open) }
            if c == UInt8(ascii: "'") {
                i += 1
                return String(decoding: b[start..<(i - 1)], as: UTF8.self)
            }
            if Self.isControl(c) { try refuseControl(c) }
            i += 1
        }
    }

    /// `"""…"""` (escapes decoded, a backslash at a line's end joins the lines) or `'''…'''`.
    private mutating func multilineString(quote: UInt8) throws(SourceError) -> String {
        let open = here()
        let basic = quote == UInt8(ascii: "\"")
        i += 3
        if at() == 0x0A { newline() }
        var out: [UInt8] = []
        while true {
            guard let c = at() else { throw fail("this multi-line string is never closed", at: open) }
            if c == quote {
                var run = 0
                while at(run) == quote { run += 1 }
                if run < 3 {
                    out.append(contentsOf: repeatElement(quote, count: run))
                    i += run
                    continue
                }
                if run > 5 {
                    i += 5
                    throw fail("too many quotes: a multi-line string ends at three, with at most two more before them")
                }
                out.append(contentsOf: repeatElement(quote, count: run - 3))
                i += run
                return String(decoding: out, as: UTF8.self)
            }
            if c == 0x0A {
                out.append(c)
                newline()
            } else if basic && c == UInt8(ascii: "\\") {
                try escape(into: &out, multiline: true)
            } else {
                if Self.isControl(c) { try refuseControl(c) }
                out.append(c)
                i += 1
            }
        }
    }

    /// The escape at `i` (a backslash), decoded into `out`.
    private mutating func escape(into out: inout [UInt8], multiline: Bool) throws(SourceError) {
        let mark = here()
        i += 1
        guard let e = at() else { throw fail("a `\\` at the end of the file", at: mark) }
        switch e {
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = e == UInt8(ascii: "u") ? 4 : 8
            var value: UInt32 = 0
            for k in 1...count {
                guard let c = at(k), let digit = Self.hex(c) else {
                    throw fail("`\\\(e == UInt8(ascii: "u") ? "u" : "U")` needs exactly \(count) hex digits", at: mark)
                }
                value = value << 4 | digit
            }
            let written = String(decoding: b[(i - 1)...(i + count)], as: UTF8.self)
            guard let scalar = Unicode.Scalar(value) else {
                throw fail("`\(written)` is not a Unicode scalar value (a surrogate, or past U+10FFFF)", at: mark)
            }
            UTF8.encode(scalar) { out.append($0) }
            i += count
        case 0x20, 0x09, 0x0A:
            guard multiline else { throw invalidEscape(e, at: mark) }
            // A backslash that ends a line: the line end and every space and line end after it go.
            skipSpaces()
            guard at() == 0x0A else {
                throw fail("a `\\` followed by spaces must end its line (or write `\\\\`)", at: mark)
            }
            while let c = at(), c == 0x20 || c == 0x09 || c == 0x0A {
                if c == 0x0A { newline() } else { i += 1 }
            }
            return
        default:
            throw invalidEscape(e, at: mark)
        }
        i += 1
    }

    private mutating func invalidEscape(_ e: UInt8, at mark: YAMLMark) -> SourceError {
        let shownEscape = e > 0x20 && e < 0x7F ? "`\\" + String(UnicodeScalar(e)) + "`" : "`\\` then \(shown(e))"
        return fail("\(shownEscape) is not a valid escape (TOML has \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX)", at: mark)
    }

    // MARK: - Numbers, booleans, dates and times

    private static func isTokenByte(_ c: UInt8) -> Bool {
        isBare(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") || c == UInt8(ascii: ":")
    }

    /// An unquoted value: a boolean, a number or a date-time, as its plain scalar's text.
    private mutating func bareValue() throws(SourceError) -> String {
        let mark = here()
        let start = i
        while let c = at(), Self.isTokenByte(c) { i += 1 }
        // A date, a space, then a time: one local or offset date-time.
        if i - start == 10, atChar(0, " "), Self.isDigit(at(1)), Self.isDigit(at(2)), atChar(3, ":"), Self.isDate(b[start..<i]) {
            i += 1
            while let c = at(), Self.isTokenByte(c) { i += 1 }
        }
        let token = b[start..<i]
        guard let first = token.first else {
            guard let c = at() else { throw fail("expected a value") }
            if Self.isControl(c) { throw fail("a control character (\(shown(c))) is not allowed here") }
            throw fail("expected a value, found \(shown(c))")
        }
        let text = String(decoding: token, as: UTF8.self)
        if text == "true" || text == "false" { return text }
        let shown = text.count > 60 ? String(text.prefix(57)) + "…" : text
        let fileName = file
        func bad(_ why: String) -> SourceError {
            SourceError(file: fileName, line: mark.line, column: mark.column, message: "invalid TOML: `\(shown)` is not a valid \(why)")
        }
        // Dates and times.
        if token.count >= 5, token.prefix(4).allSatisfy({ Self.isDigit($0) }), token[token.startIndex + 4] == UInt8(ascii: "-") {
            guard Self.isDateTime(token) else { throw bad("date or date-time (YYYY-MM-DD, then T or a space and hh:mm:ss, then Z or ±hh:mm)") }
            return text
        }
        if token.count >= 3, Self.isDigit(first), Self.isDigit(token[token.startIndex + 1]), token[token.startIndex + 2] == UInt8(ascii: ":") {
            guard Self.isTime(token[...]) else { throw bad("time (hh:mm:ss with seconds, hours 00–23)") }
            return text
        }
        return try Self.number(token, text: text, bad: bad)
    }

    /// An integer (as its decimal text) or a float (as written, without underscores).
    private static func number(_ token: ArraySlice<UInt8>, text: String, bad: (String) -> SourceError) throws(SourceError) -> String {
        var rest = token
        var negative = false
        var signed = false
        if let s = rest.first, s == UInt8(ascii: "+") || s == UInt8(ascii: "-") {
            negative = s == UInt8(ascii: "-")
            signed = true
            rest = rest.dropFirst()
        }
        if rest.elementsEqual("inf".utf8) || rest.elementsEqual("nan".utf8) { return text }
        guard let first = rest.first, Self.isDigit(first) else {
            throw bad("value (a string needs quotes; numbers, true, false, dates and times do not)")
        }
        // 0x, 0o, 0b.
        let radix: Int? =
            switch rest.count >= 2 && first == UInt8(ascii: "0") ? rest[rest.startIndex + 1] : 0 {
            case UInt8(ascii: "x"): 16
            case UInt8(ascii: "o"): 8
            case UInt8(ascii: "b"): 2
            default: nil
            }
        if let radix {
            if signed { throw bad("integer: a hex, octal or binary integer takes no sign") }
            let digits = rest.dropFirst(2)
            guard isDigitRun(digits, radix: radix) else {
                throw bad("integer: each `_` must sit between two digits, and the digits must be base \(radix)")
            }
            var value: UInt64 = 0
            for c in digits where c != UInt8(ascii: "_") {
                guard let digit = hex(c) else { throw bad("integer") }
                let (times, o1) = value.multipliedReportingOverflow(by: UInt64(radix))
                let (sum, o2) = times.addingReportingOverflow(UInt64(digit))
                guard !o1, !o2, sum <= UInt64(Int64.max) else { throw bad("integer: it does not fit in 64 bits") }
                value = sum
            }
            return String(value)
        }
        // Decimal: an integer part, then a fraction and/or an exponent for a float.
        var end = rest.startIndex
        while end < rest.endIndex, isDigit(rest[end]) || rest[end] == UInt8(ascii: "_") { end += 1 }
        let integer = rest[rest.startIndex..<end]
        guard isDigitRun(integer, radix: 10) else { throw bad("number: each `_` must sit between two digits") }
        if integer.count > 1, first == UInt8(ascii: "0") { throw bad("number: leading zeros are not allowed") }
        if end == rest.endIndex {
            var magnitude: UInt64 = 0
            for c in integer where c != UInt8(ascii: "_") {
                let (times, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times.addingReportingOverflow(UInt64(c - 0x30))
                guard !o1, !o2, sum <= UInt64(Int64.max) + (negative ? 1 : 0) else { throw bad("integer: it does not fit in 64 bits") }
                magnitude = sum
            }
            return negative && magnitude != 0 ? "-" + String(magnitude) : String(magnitude)
        }
        var k = end
        if rest[k] == UInt8(ascii: ".") {
            k += 1
            var fractionEnd = k
            while fractionEnd < rest.endIndex, isDigit(rest[fractionEnd]) || rest[fractionEnd] == UInt8(ascii: "_") { fractionEnd += 1 }
            guard isDigitRun(rest[k..<fractionEnd], radix: 10) else {
                throw bad("float: a `.` needs digits on both sides, and each `_` must sit between two digits")
            }
            k = fractionEnd
        }
        if k < rest.endIndex, rest[k] == UInt8(ascii: "e") || rest[k] == UInt8(ascii: "E") {
            k += 1
            if k < rest.endIndex, rest[k] == UInt8(ascii: "+") || rest[k] == UInt8(ascii: "-") { k += 1 }
            guard isDigitRun(rest[k...], radix: 10) else { throw bad("float: the exponent needs digits, each `_` between two") }
            k = rest.endIndex
        }
        guard k == rest.endIndex else { throw bad("number") }
        return String(decoding: token.lazy.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
    }

    /// Digits of `radix`, at least one, each `_` between two digits.
    private static func isDigitRun(_ s: ArraySlice<UInt8>, radix: Int) -> Bool {
        guard let first = s.first, let last = s.last, first != UInt8(ascii: "_"), last != UInt8(ascii: "_") else { return false }
        var previous: UInt8 = 0
        for c in s {
            if c == UInt8(ascii: "_") {
                if previous == UInt8(ascii: "_") { return false }
            } else {
                guard let digit = hex(c), digit < radix else { return false }
            }
            previous = c
        }
        return true
    }

    private static func twoDigits(_ s: ArraySlice<UInt8>, _ at: Int) -> Int? {
        let k = s.startIndex + at
        guard k + 1 < s.endIndex, isDigit(s[k]), isDigit(s[k + 1]) else { return nil }
        return Int(s[k] - 0x30) * 10 + Int(s[k + 1] - 0x30)
    }

    /// `YYYY-MM-DD`, a real day (February 29 only in leap years).
    private static func isDate(_ s: ArraySlice<UInt8>) -> Bool {
        guard s.count == 10, s.prefix(4).allSatisfy({ isDigit($0) }), s[s.startIndex + 4] == UInt8(ascii: "-"),
            s[s.startIndex + 7] == UInt8(ascii: "-"), let month = twoDigits(s, 5), let day = twoDigits(s, 8)
        else { return false }
        let year = s.prefix(4).reduce(0) { $0 * 10 + Int($1 - 0x30) }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return month >= 1 && month <= 12 && day >= 1 && day <= days[month - 1]
    }

    /// `hh:mm:ss` with an optional fraction (`.` and digits); no offset.
    private static func isTime(_ s: ArraySlice<UInt8>) -> Bool {
        guard s.count >= 8, let hour = twoDigits(s, 0), s[s.startIndex + 2] == UInt8(ascii: ":"), let minute = twoDigits(s, 3),
            s[s.startIndex + 5] == UInt8(ascii: ":"), let second = twoDigits(s, 6), hour <= 23, minute <= 59, second <= 59
        else { return false }
        let fraction = s.dropFirst(8)
        if fraction.isEmpty { return true }
        return fraction.first == UInt8(ascii: ".") && fraction.count > 1 && fraction.dropFirst().allSatisfy { isDigit($0) }
    }

    /// A local date, a local date-time or an offset date-time.
    private static func isDateTime(_ s: ArraySlice<UInt8>) -> Bool {
        guard s.count >= 10, isDate(s.prefix(10)) else { return false }
        if s.count == 10 { return true }
        let delimiter = s[s.startIndex + 10]
        guard delimiter == UInt8(ascii: "T") || delimiter == UInt8(ascii: "t") || delimiter == 0x20 else { return false }
        var time = s.dropFirst(11)
        // The offset: Z, or ±hh:mm after the seconds.
        if let last = time.last, last == UInt8(ascii: "Z") || last == UInt8(ascii: "z") {
            time = time.dropLast()
        } else if time.count >= 14 {
            let offset = time.suffix(6)
            if let sign = offset.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                guard let hour = twoDigits(offset, 1), offset[offset.startIndex + 3] == UInt8(ascii: ":"), let minute = twoDigits(offset, 4),
                    hour <= 23, minute <= 59
                else { return false }
                time = time.dropLast(6)
            }
        }
        return isTime(time)
    }
}
