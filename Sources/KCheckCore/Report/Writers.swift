/// Builds JSON text with correct escaping. The only way kcheck writes JSON.
struct JSONWriter {
    private(set) var text = ""
    private var needsComma: [Bool] = [false]

    mutating func reserve(_ bytes: Int) { text.reserveCapacity(bytes) }

    /// Ends the document with a newline.
    mutating func end() { text += "\n" }

    private mutating func separate() {
        if needsComma[needsComma.count - 1] { text += "," }
        needsComma[needsComma.count - 1] = true
    }

    private static let indents = (0..<16).map { "\n" + String(repeating: "  ", count: $0) }

    private mutating func newline() {
        let depth = needsComma.count - 1
        text += depth < Self.indents.count ? Self.indents[depth] : "\n" + String(repeating: "  ", count: depth)
    }

    mutating func beginObject(_ key: String? = nil) {
        separate()
        if needsComma.count > 1 { newline() }
        if let key {
            appendQuoted(key)
            text += ": "
        }
        text += "{"
        needsComma.append(false)
    }

    mutating func endObject() {
        let hadItems = needsComma.removeLast()
        if hadItems { newline() }
        text += "}"
    }

    mutating func beginArray(_ key: String) {
        separate()
        newline()
        appendQuoted(key)
        text += ": ["
        needsComma.append(false)
    }

    mutating func endArray() { endObject_(close: "]") }

    private mutating func endObject_(close: String) {
        let hadItems = needsComma.removeLast()
        if hadItems { newline() }
        text += close
    }

    private mutating func key(_ key: String) {
        separate()
        newline()
        appendQuoted(key)
        text += ": "
    }

    mutating func string(_ key: String, _ value: String) {
        self.key(key)
        appendQuoted(value)
    }

    /// Appends a quoted string; most need no escape and are copied whole.
    private mutating func appendQuoted(_ value: String) {
        if Self.isPlain(value) {
            text += "\""
            text += value
            text += "\""
        } else {
            text += Self.quoted(value)
        }
    }

    private static func isPlain(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C && $0 != 0xE2 }
    }

    mutating func number(_ key: String, _ value: Int) {
        self.key(key)
        text += String(value)
    }

    mutating func number(_ key: String, _ value: Double) {
        self.key(key)
        text += value.isFinite ? String(value) : "null"
    }

    mutating func bool(_ key: String, _ value: Bool) {
        self.key(key)
        text += value ? "true" : "false"
    }

    mutating func null(_ key: String) {
        self.key(key)
        text += "null"
    }

    mutating func numbers(_ key: String, _ values: [Int]) {
        self.key(key)
        text += "[" + values.map(String.init).joined(separator: ", ") + "]"
    }

    /// An array of strings as an item of the enclosing array.
    mutating func stringsItem(_ values: [String]) {
        separate()
        newline()
        text += "[" + values.map(Self.quoted).joined(separator: ", ") + "]"
    }

    mutating func strings(_ key: String, _ values: [String]) {
        self.key(key)
        text += "[" + values.map(Self.quoted).joined(separator: ", ") + "]"
    }

    static func quoted(_ value: String) -> String {
        if isPlain(value) { return "\"" + value + "\"" }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Builds XML text with correct escaping; characters XML 1.0 forbids are replaced, never emitted.
struct XMLWriter {
    private(set) var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    private var open: [String] = []

    mutating func begin(_ name: String, _ attributes: [(String, String)] = [], empty: Bool = false) {
        text += String(repeating: "  ", count: open.count) + "<" + name
        for (key, value) in attributes { text += " \(key)=\"\(Self.escaped(value, attribute: true))\"" }
        if empty {
            text += "/>\n"
        } else {
            text += ">\n"
            open.append(name)
        }
    }

    mutating func element(_ name: String, _ attributes: [(String, String)] = [], content: String) {
        text += String(repeating: "  ", count: open.count) + "<" + name
        for (key, value) in attributes { text += " \(key)=\"\(Self.escaped(value, attribute: true))\"" }
        text += ">" + Self.escaped(content, attribute: false) + "</\(name)>\n"
    }

    mutating func end() {
        let name = open.removeLast()
        text += String(repeating: "  ", count: open.count) + "</\(name)>\n"
    }

    static func escaped(_ value: String, attribute: Bool) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where attribute: out += "&quot;"
            case "\n" where attribute: out += "&#10;"
            case "\t" where attribute: out += "&#9;"
            case "\r": out += "&#13;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            case _ where isInvisibleControl(scalar):
                out += visible(String(scalar))  // XML 1.0 forbids most of them: shown as \x1b
            case _ where scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// "2026-11-25T03:58:53.123Z"
func iso8601(_ time: (seconds: Int64, nanoseconds: Int64)) -> String {
    let c = KCheckNativeCalendar.utc(time.seconds)
    func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)).\(pad(Int(time.nanoseconds / 1_000_000), 3))Z"
}

/// A duration in seconds with millisecond precision, as JUnit's time attributes want it.
public func secondsText(_ seconds: Double) -> String {
    let millis = Int((seconds * 1000).rounded())
    let fraction = String(millis % 1000)
    return "\(millis / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
}
