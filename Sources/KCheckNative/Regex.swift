import CPCRE2

/// A pattern PCRE2 refused, with its message and the byte offset in the pattern where it stopped.
public struct RegexError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public let offset: Int
    public var description: String { "\(message) at offset \(offset)" }

    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }
}

/// A compiled PCRE2 pattern (UTF-8, multiline), JIT-compiled where the platform supports it.
///
/// Offsets are UTF-8 byte offsets into the subject, never `Character` counts.
public final class Regex: @unchecked Sendable {
    // The compiled code is immutable after init and PCRE2 allows sharing it across threads;
    // match data is made per match, so the class is safe to share.
    private let code: OpaquePointer
    public let pattern: String
    public let isJITCompiled: Bool

    public init(_ pattern: String) throws(RegexError) {
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        let options = UInt32(PCRE2_UTF) | UInt32(PCRE2_MULTILINE) | UInt32(PCRE2_MATCH_INVALID_UTF)
        let compiled = pattern.withCString { cPattern in
            cPattern.withMemoryRebound(to: UInt8.self, capacity: pattern.utf8.count + 1) { p in
                pcre2_compile_8(p, (pattern.utf8.count), options, &errorCode, &errorOffset, nil)
            }
        }
        guard let compiled else {
            throw RegexError(message: Regex.message(for: errorCode), offset: Int(errorOffset))
        }
        self.code = compiled
        self.pattern = pattern
        // A JIT failure (an architecture without JIT, or JIT memory denied) leaves the
        // interpreter, which gives the same answers more slowly.
        self.isJITCompiled = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE)) == 0
    }

    deinit { pcre2_code_free_8(code) }

    static func message(for errorCode: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBufferPointer {
            pcre2_get_error_message_8(errorCode, $0.baseAddress, ($0.count))
        }
        guard n > 0 else { return "PCRE2 error \(errorCode)" }
        return String(decoding: buffer[0..<Int(n)], as: UTF8.self)
    }

    /// The byte range of the first match in `subject` at or after `start`, or nil.
    /// Errors other than "no match" (match limits hit) are thrown with PCRE2's message.
    public func firstMatch(in subject: [UInt8], from start: Int = 0) throws(RegexError) -> Range<Int>? {
        guard let matchData = pcre2_match_data_create_from_pattern_8(code, nil) else {
            throw RegexError(message: "out of memory for match data", offset: 0)
        }
        defer { pcre2_match_data_free_8(matchData) }
        let rc = subject.withUnsafeBufferPointer { buffer -> Int32 in
            // An empty array may have no base address; PCRE2 wants a valid pointer even for length 0.
            let empty: [UInt8] = [0]
            return empty.withUnsafeBufferPointer { fallback in
                pcre2_match_8(
                    code, buffer.baseAddress ?? fallback.baseAddress, (buffer.count),
                    (start), 0, matchData, nil)
            }
        }
        if rc == PCRE2_ERROR_NOMATCH { return nil }
        guard rc >= 0 else { throw RegexError(message: Regex.message(for: rc), offset: start) }
        guard let ovector = pcre2_get_ovector_pointer_8(matchData) else { return nil }
        return Int(ovector[0])..<Int(ovector[1])
    }

    /// Whether the pattern matches anywhere in `subject`.
    public func matches(_ subject: String) throws(RegexError) -> Bool {
        try firstMatch(in: Array(subject.utf8)) != nil
    }
}

extension Regex {
    /// The PCRE2 library's version text, e.g. "10.42 2022-12-11".
    public static var libraryVersion: String {
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { pcre2_config_8(UInt32(PCRE2_CONFIG_VERSION), $0.baseAddress) }
        guard n > 1 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }
}
