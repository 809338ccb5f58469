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
        value = value &* 10 &+ Int64(ch - 48)
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
    for c in text {
        if let replacement = table[c] { out += replacement } else { out.append(c) }
    }
    return out
}
