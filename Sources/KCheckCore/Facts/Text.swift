/// Small text helpers for configuration files, free of Foundation.
extension StringProtocol {
    /// The text padded with spaces to `width` characters (never cut).
    public func padded(to width: Int) -> String {
        count >= width ? String(self) : String(self) + String(repeating: " ", count: width - count)
    }

    /// The text without leading and trailing white space (spaces, tabs, CR, LF).
    public var trimmed: Substring {
        var s = Substring(self)
        while let first = s.first, first.isWhitespace { s.removeFirst() }
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return s
    }

    /// Fields separated by runs of white space.
    var fields: [Substring] {
        Substring(self).split(whereSeparator: { $0.isWhitespace })
    }
}

/// Lines of a file with their 1-based numbers.
func numberedLines(_ bytes: [UInt8]) -> [(number: Int, text: String)] {
    var lines: [(Int, String)] = []
    var number = 0
    for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
        number += 1
        lines.append((number, String(decoding: raw, as: UTF8.self)))
    }
    if let last = lines.last, last.1.isEmpty { lines.removeLast() }
    return lines
}

/// The value written by the kernel for a numeric parameter: the leading integer, as the
/// kernel's proc handlers parse it, or nil when the text does not start with one.
func leadingInteger(_ text: Substring) -> Int64? {
    var s = text.trimmed
    var negative = false
    if let first = s.first, first == "-" || first == "+" {
        negative = first == "-"
        s.removeFirst()
    }
    var value: Int64 = 0
    var digits = 0
    for ch in s.utf8 {
        guard ch >= 48 && ch <= 57 else { break }
        // A number past 64 bits is rejected by the kernel (-EINVAL), never wrapped.
        let (times, o1) = value.multipliedReportingOverflow(by: 10)
        let (sum, o2) = times.addingReportingOverflow(Int64(ch - 48))
        if o1 || o2 { return nil }
        value = sum
        digits += 1
    }
    guard digits > 0 else { return nil }
    return negative ? -value : value
}

/// True when every field of the text is an integer.
func isNumeric(_ text: String) -> Bool {
    let f = text.fields
    return !f.isEmpty && f.allSatisfy { field in
        let digits = field.drop(while: { $0 == "-" || $0 == "+" })
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }
}

/// A text file's lines, without their newlines (a final newline ends the last line, it does not
/// start another).
func splitLines(_ bytes: [UInt8]) -> [String] {
    var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    return lines
}

/// `text` with each character that `table` names replaced by its escape: the one piece of code
/// every writer of another language (HTML, Markdown, Prometheus labels) escapes with.
func escaped(_ text: String, _ table: [Character: String]) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for c in visible(text) {
        if let replacement = table[c] { out += replacement } else { out.append(c) }
    }
    return out
}

/// Whether a scalar must not reach a person's terminal or document as itself: C0 controls but tab
/// and newline, DEL, C1 controls, and the bidirectional overrides and isolates (which reorder what
/// is read).
@inline(__always)
func isInvisibleControl(_ scalar: Unicode.Scalar) -> Bool {
    let v = scalar.value
    if v < 0x20 { return v != 0x09 && v != 0x0A }
    if v < 0x7F { return false }
    return v <= 0x9F || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
}

/// Text as people may be shown it: every control character written visibly (`\x1b`, `\r`,
/// `\u{202e}`), so that nothing a node wrote (a hostname, os-release, a file's line) can move the
/// cursor, recolour the terminal or reorder a report. Tab and newline stay; with
/// `singleLine`, newline is written as `\n` too. Text without such characters is returned as is.
public func visible(_ text: String, singleLine: Bool = false) -> String {
    guard text.unicodeScalars.contains(where: { isInvisibleControl($0) || (singleLine && $0 == "\n") }) else { return text }
    var out = String.UnicodeScalarView()
    let hex = Array("0123456789abcdef".unicodeScalars)
    for scalar in text.unicodeScalars {
        guard isInvisibleControl(scalar) || (singleLine && scalar == "\n") else {
            out.append(scalar)
            continue
        }
        let v = scalar.value
        switch scalar {
        case "\r": out.append(contentsOf: "\\r".unicodeScalars)
        case "\n": out.append(contentsOf: "\\n".unicodeScalars)
        case _ where v <= 0xFF:
            out.append(contentsOf: "\\x".unicodeScalars)
            out.append(hex[Int(v >> 4)])
            out.append(hex[Int(v & 15)])
        default:
            out.append(contentsOf: "\\u{".unicodeScalars)
            out.append(contentsOf: String(v, radix: 16).unicodeScalars)
            out.append("}")
        }
    }
    return String(out)
}

/// Items joined for a result's `actual`, at most `limit` of them and then how many more: a tree
/// of 20,000 links must not make a report of megabytes.
func boundedList(_ items: [String], limit: Int = 20, separator: String = "; ") -> String {
    guard items.count > limit else { return items.joined(separator: separator) }
    return items.prefix(limit).joined(separator: separator) + "\(separator)and \(items.count - limit) more"
}

/// "; did you mean `x`?" for the nearest name within a small edit distance, else "".
public func suggestion(_ word: String, _ candidates: [String]) -> String {
    let scored = candidates.map { ($0, editDistance(word, $0)) }.min { $0.1 < $1.1 }
    guard let (best, distance) = scored, distance <= max(2, word.count / 3) else { return "" }
    return "; did you mean `\(best)`?"
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
