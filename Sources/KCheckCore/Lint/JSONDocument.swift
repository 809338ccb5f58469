/// A parsed JSON value that remembers where it stood, so findings can name file:line.
public indirect enum JSONValue: Equatable, Sendable {
    case object([(key: String, value: JSONNode)])
    case array([JSONNode])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.array(let x), .array(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.bool(let x), .bool(let y)): x == y
        case (.null, .null): true
        default: false
        }
    }
}

public struct JSONNode: Equatable, Sendable {
    public let value: JSONValue
    public let line: Int
    public let column: Int

    public subscript(key: String) -> JSONNode? {
        guard case .object(let members) = value else { return nil }
        return members.last { $0.key == key }?.value
    }

    public var string: String? {
        if case .string(let s) = value { return s }
        return nil
    }

    public var int: Int? {
        if case .number(let n) = value { return Int(n) }  // the literal as written: nil for 1e400, 2.5 or 20 digits
        return nil
    }

    public var array: [JSONNode]? {
        if case .array(let a) = value { return a }
        return nil
    }
}

/// A strict JSON (RFC 8259) parser over Unicode scalars, with line and column positions.
public enum JSONDocument {
    public static func parse(_ text: String) throws(SyntaxError) -> JSONNode {
        var p = JSONParser(Array(text.unicodeScalars))
        p.skipSpace()
        let value = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == p.s.count else { throw p.error("unexpected text after the JSON value") }
        return value
    }
}

struct JSONParser {
    let s: [Unicode.Scalar]
    var i = 0
    var line = 1
    var lineStart = 0

    init(_ s: [Unicode.Scalar]) { self.s = s }

    func error(_ message: String) -> SyntaxError {
        SyntaxError(line: line, column: i - lineStart + 1, message: message)
    }

    mutating func skipSpace() {
        while i < s.count, s[i] == " " || s[i] == "\t" || s[i] == "\n" || s[i] == "\r" {
            if s[i] == "\n" {
                line += 1
                lineStart = i + 1
            }
            i += 1
        }
    }

    mutating func expect(_ c: Unicode.Scalar) throws(SyntaxError) {
        guard i < s.count, s[i] == c else {
            throw error(i < s.count ? "expected `\(c)`, found `\(s[i])`" : "expected `\(c)`, found the end of the file")
        }
        i += 1
    }

    mutating func value(depth: Int) throws(SyntaxError) -> JSONNode {
        guard depth < 256 else { throw error("nested too deeply") }
        let (l, c) = (line, i - lineStart + 1)
        guard i < s.count else { throw error("expected a value, found the end of the file") }
        let v: JSONValue
        switch s[i] {
        case "{":
            i += 1
            var members: [(key: String, value: JSONNode)] = []
            skipSpace()
            if i < s.count, s[i] == "}" {
                i += 1
            } else {
                while true {
                    skipSpace()
                    guard i < s.count, s[i] == "\"" else { throw error("expected a key in quotes") }
                    let key = try string()
                    skipSpace()
                    try expect(":")
                    skipSpace()
                    members.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    if i < s.count, s[i] == "," {
                        i += 1
                        continue
                    }
                    try expect("}")
                    break
                }
            }
            v = .object(members)
        case "[":
            i += 1
            var items: [JSONNode] = []
            skipSpace()
            if i < s.count, s[i] == "]" {
                i += 1
            } else {
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    if i < s.count, s[i] == "," {
                        i += 1
                        continue
                    }
                    try expect("]")
                    break
                }
            }
            v = .array(items)
        case "\"":
            v = .string(try string())
        case "t", "f", "n":
            for (word, result) in [("true", JSONValue.bool(true)), ("false", .bool(false)), ("null", .null)] {
                let w = Array(word.unicodeScalars)
                if i + w.count <= s.count, Array(s[i..<(i + w.count)]) == w {
                    i += w.count
                    return JSONNode(value: result, line: l, column: c)
                }
            }
            throw error("unknown word (expected true, false or null)")
        default:
            v = .number(try number())
        }
        return JSONNode(value: v, line: l, column: c)
    }

    mutating func string() throws(SyntaxError) -> String {
        i += 1
        var out = ""
        while true {
            guard i < s.count else { throw error("unterminated string") }
            let c = s[i]
            if c == "\"" {
                i += 1
                return out
            }
            if c.value < 0x20 { throw error("control character in a string (escape it)") }
            if c == "\\" {
                i += 1
                guard i < s.count else { throw error("unterminated string") }
                switch s[i] {
                case "\"": out += "\""
                case "\\": out += "\\"
                case "/": out += "/"
                case "b": out += "\u{08}"
                case "f": out += "\u{0C}"
                case "n": out += "\n"
                case "r": out += "\r"
                case "t": out += "\t"
                case "u":
                    guard i + 4 < s.count, let code = UInt32(String(String.UnicodeScalarView(s[(i + 1)...(i + 4)])), radix: 16) else {
                        throw error("bad \\u escape")
                    }
                    out.unicodeScalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                    i += 4
                default: throw error("bad escape `\\\(s[i])`")
                }
                i += 1
            } else {
                out.unicodeScalars.append(c)
                i += 1
            }
        }
    }

    mutating func number() throws(SyntaxError) -> String {
        let start = i
        if i < s.count, s[i] == "-" { i += 1 }
        var digits = 0
        while i < s.count, ("0"..."9").contains(s[i]) {
            i += 1
            digits += 1
        }
        guard digits > 0 else {
            i = start
            throw error("expected a value")
        }
        if i < s.count, s[i] == "." {
            i += 1
            while i < s.count, ("0"..."9").contains(s[i]) { i += 1 }
        }
        if i < s.count, s[i] == "e" || s[i] == "E" {
            i += 1
            if i < s.count, s[i] == "+" || s[i] == "-" { i += 1 }
            while i < s.count, ("0"..."9").contains(s[i]) { i += 1 }
        }
        return String(String.UnicodeScalarView(s[start..<i]))
    }
}
