import COpenSSL

/// The OpenSSL library kcheck runs with. Certificates get their own wrapper; this is the wiring.
public enum OpenSSL {
    /// The runtime library's version text, e.g. "OpenSSL 3.0.19 27 Jan 2026".
    public static var versionText: String {
        guard let text = OpenSSL_version(OPENSSL_VERSION) else { return "OpenSSL (unknown version)" }
        return String(cString: text)
    }

    /// The SHA-256 digest of `bytes`, as lowercase hex.
    public static func sha256Hex(_ bytes: [UInt8]) throws(OpenSSLError) -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { raw in
            digest.withUnsafeMutableBufferPointer { out in
                EVP_Digest(raw.baseAddress, raw.count, out.baseAddress, &length, EVP_sha256(), nil)
            }
        }
        guard ok == 1 else { throw OpenSSLError.lastError(operation: "EVP_Digest") }
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in digest[0..<Int(length)] {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0xf)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// An OpenSSL failure with the library's own error text.
public struct OpenSSLError: Error, Equatable, Sendable, CustomStringConvertible {
    public let operation: String
    public let reason: String
    public var description: String { "\(operation): \(reason)" }

    static func lastError(operation: String) -> OpenSSLError {
        let code = ERR_get_error()
        guard code != 0 else { return OpenSSLError(operation: operation, reason: "failed") }
        var buffer = [CChar](repeating: 0, count: 256)
        buffer.withUnsafeMutableBufferPointer { ERR_error_string_n(code, $0.baseAddress, $0.count) }
        ERR_clear_error()
        return OpenSSLError(operation: operation, reason: cText(buffer))
    }
}

/// The PCRE2 library version kcheck runs with.
public enum PCRE2Info {
    public static var versionText: String { "PCRE2 " + Regex.libraryVersion }
}
