#if canImport(Glibc)
import Glibc
#endif
import COpenSSL

/// One attribute of a distinguished name: its short name (CN, C, ST, L, O, OU, …) and value.
public struct NameAttribute: Sendable, Equatable, Hashable {
    public let key: String
    public let value: String
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// What kcheck reads from a certificate. Plain values: nothing here points into OpenSSL.
public struct CertificateInfo: Sendable, Equatable {
    public let subject: [NameAttribute]
    public let issuer: [NameAttribute]
    /// The serial number, uppercase hex as OpenSSL prints it.
    public let serial: String
    /// Validity, seconds since the epoch (exact for GeneralizedTime after 2049 too).
    public let notBefore: Int64
    public let notAfter: Int64
    /// "RSA", "EC", "ED25519", "ED448", "DSA" or OpenSSL's short name for another.
    public let keyAlgorithm: String
    public let keyBits: Int
    /// The named curve of an EC key ("prime256v1", "secp384r1").
    public let curve: String?
    /// Basic constraints: nil when the extension is absent.
    public let isCA: Bool?
    /// The path length constraint, when one is set.
    public let pathLength: Int?
    /// Key usage names (digitalSignature, keyEncipherment, keyCertSign, …); nil when absent.
    public let keyUsage: [String]?
    /// Extended key usage names (serverAuth, clientAuth, …); nil when absent.
    public let extendedKeyUsage: [String]?
    public let dnsNames: [String]
    /// IP address SANs in text form (IPv4 dotted, IPv6 RFC 5952).
    public let ipAddresses: [String]
    /// SHA-256 of the DER certificate, uppercase hex pairs joined by ":" (as `openssl x509 -fingerprint`).
    public let sha256Fingerprint: String
    /// The DER SubjectPublicKeyInfo: compared with a private key's public half to match them.
    public let publicKey: [UInt8]
    /// Whether the signature verifies with the certificate's own key (a self-signed certificate).
    public let selfSigned: Bool
}

/// A parsed certificate. The OpenSSL object lives exactly as long as this value.
public final class X509Certificate: @unchecked Sendable {
    private let x509: OpaquePointer
    public let info: CertificateInfo

    private init(taking x509: OpaquePointer) throws(OpenSSLError) {
        self.x509 = x509
        do {
            info = try Self.read(x509)
        } catch {
            X509_free(x509)
            throw error
        }
    }

    deinit { X509_free(x509) }

    /// Whether `issuer` issued this certificate: its subject is this one's issuer, its key usage
    /// allows signing certificates, and its key verifies this certificate's signature.
    public func isIssued(by issuer: X509Certificate) -> Bool {
        guard X509_check_issued(issuer.x509, x509) == X509_V_OK else {
            ERR_clear_error()
            return false
        }
        guard let key = X509_get0_pubkey(issuer.x509) else {
            ERR_clear_error()
            return false
        }
        let ok = X509_verify(x509, key) == 1
        ERR_clear_error()
        return ok
    }

    // MARK: - Parsing

    /// One entry of a file: a certificate, or why a block could not be read (with its line).
    public enum Entry: Sendable {
        case certificate(X509Certificate)
        case error(line: Int, message: String)
    }

    /// What a file holds. PEM files may hold several certificates, keys and requests; a DER file
    /// holds one certificate.
    public struct FileContents: Sendable {
        public var certificates: [Entry] = []
        /// The DER public keys of the private keys in the file (never the keys themselves).
        public var privateKeys: [Result<[UInt8], OpenSSLError>] = []
        /// PEM blocks of other kinds ("CERTIFICATE REQUEST", …), by label.
        public var otherBlocks: [String] = []
        /// Neither PEM nor a DER certificate.
        public var unrecognised = false
    }

    /// Reads the certificates and private keys in `bytes` (PEM or DER). The stand-ins a snapshot
    /// writes for private keys are read as keys only when `standIns` (a snapshot, never a node).
    public static func read(file bytes: [UInt8], standIns: Bool = false) -> FileContents {
        var contents = FileContents()
        let blocks = PEMBlock.split(bytes)
        if blocks.isEmpty {
            guard bytes.first == 0x30 else {
                contents.unrecognised = true
                return contents
            }
            contents.certificates.append(parseDER(bytes))
            return contents
        }
        for block in blocks {
            if let problem = block.problem {
                contents.certificates.append(.error(line: block.line, message: problem))
                continue
            }
            switch block.label {
            case "CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE":
                contents.certificates.append(parsePEM(block))
            case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
                contents.privateKeys.append(publicKeyOfPrivateKey(block))
            case redactedLabel where standIns:
                // A snapshot's stand-in for a private key: its public half, which is all kcheck reads of it.
                contents.privateKeys.append(pemData(block).map { .success($0) } ?? .failure(OpenSSLError(operation: "private key at line \(block.line)", reason: "malformed")))
            case withheldLabel where standIns:
                contents.certificates.append(.error(line: 0, message: pemData(block).map { String(decoding: $0, as: UTF8.self) } ?? "unreadable"))
            case unreadableLabel where standIns:
                let reason = pemData(block).map { String(decoding: $0, as: UTF8.self) } ?? "malformed"
                contents.privateKeys.append(.failure(OpenSSLError(operation: "private key at line \(block.line)", reason: reason)))
            default:
                contents.otherBlocks.append(block.label)
            }
        }
        return contents
    }

    private static func parsePEM(_ block: PEMBlock) -> Entry {
        withMemoryBIO(block.bytes) { bio -> Entry in
            let reader = block.label == "TRUSTED CERTIFICATE" ? PEM_read_bio_X509_AUX : PEM_read_bio_X509
            guard let x509 = reader(bio, nil, nil, nil) else {
                return .error(line: block.line, message: "unreadable certificate: \(OpenSSLError.lastError(operation: "PEM_read_bio_X509").reason)")
            }
            do throws(OpenSSLError) { return .certificate(try X509Certificate(taking: x509)) } catch { return .error(line: block.line, message: error.description) }
        }
    }

    private static func parseDER(_ bytes: [UInt8]) -> Entry {
        bytes.withUnsafeBufferPointer { buffer -> Entry in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let x509 = d2i_X509(nil, &cursor, buffer.count) else {
                return .error(line: 0, message: "neither PEM nor a DER certificate: \(OpenSSLError.lastError(operation: "d2i_X509").reason)")
            }
            do throws(OpenSSLError) { return .certificate(try X509Certificate(taking: x509)) } catch { return .error(line: 0, message: error.description) }
        }
    }

    static let redactedLabel = "KCHECK REDACTED PRIVATE KEY"
    static let unreadableLabel = "KCHECK UNREADABLE PRIVATE KEY"

    /// The file with every PEM private key replaced by a stand-in holding only what kcheck reads
    /// of it: its public half (or why it could not be read), at the same line, the lines after it
    /// where they were. nil when the file holds no private key. What a snapshot keeps of a key.
    public static func redactingPrivateKeys(_ bytes: [UInt8]) -> [UInt8]? {
        let blocks = PEMBlock.split(bytes)
        let keys = blocks.filter {
            $0.problem == nil && ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"].contains($0.label)
        }
        let otherKeys = blocks.contains { block in block.label.hasSuffix("PRIVATE KEY") && !keys.contains(where: { $0.line == block.line }) }
            || Bytes.find(Array("PRIVATE KEY-----".utf8), in: bytes, range: 0..<bytes.count) != nil && keys.isEmpty
        guard !keys.isEmpty || otherKeys else { return nil }
        var lines: [[UInt8]?] = []
        Lines.forEach(in: bytes) { lines.append(Array(bytes[$0])) }
        for key in keys {
            let count = key.bytes.reduce(0) { $0 + ($1 == 10 ? 1 : 0) } + (key.bytes.last == 10 ? 0 : 1)
            let first = key.line - 1
            // A block that cannot be placed: nothing of the file is kept.
            guard first >= 0, first + count <= lines.count else { return [] }
            let (label, body): (String, [UInt8]) =
                switch publicKeyOfPrivateKey(key) {
                case .success(let der): (redactedLabel, der)
                case .failure(let error): (unreadableLabel, Array(error.reason.utf8))
                }
            var replacement = ["-----BEGIN \(label)-----"]
            let encoded = Array(Base64.encode(body).utf8)
            for start in stride(from: 0, to: encoded.count, by: 64) {
                replacement.append(String(decoding: encoded[start..<min(start + 64, encoded.count)], as: UTF8.self))
            }
            replacement.append("-----END \(label)-----")
            // Blank lines keep what follows the key at its line.
            while replacement.count < count { replacement.append("") }
            for offset in 0..<count { lines[first + offset] = nil }
            lines[first] = Array(replacement.joined(separator: "\n").utf8)
        }
        var result: [UInt8] = []
        for line in blankingKeyBodies(lines.compactMap({ $0 })) { result += line + [10] }
        if bytes.last != 10, !result.isEmpty { result.removeLast() }
        return result
    }

    /// Every line inside a block whose BEGIN names a private key (any kind: DSA, OpenSSH, a
    /// truncated block, one whose END does not match) is emptied; the BEGIN and END lines stay,
    /// so what kcheck says of the block (its label, where it is wrong) stays too.
    static func blankingKeyBodies(_ lines: [[UInt8]]) -> [[UInt8]] {
        let begin = Array("-----BEGIN ".utf8), end = Array("-----END ".utf8), privateKey = Array("PRIVATE KEY".utf8)
        let standIns = [Array(redactedLabel.utf8), Array(unreadableLabel.utf8)]
        var inside = false
        return lines.map { line in
            let trimmed = Array(line.drop { $0 == 32 || $0 == 9 })
            if trimmed.starts(with: begin) {
                inside = Bytes.find(privateKey, in: trimmed, range: 0..<trimmed.count) != nil
                    && !standIns.contains { Bytes.find($0, in: trimmed, range: 0..<trimmed.count) != nil }
                return line
            }
            if trimmed.starts(with: end) {
                inside = false
                return line
            }
            return inside ? [] : line
        }
    }

    static let withheldLabel = "KCHECK WITHHELD BINARY"

    /// A file that may hold a private key in a form kcheck cannot redact in place (binary DER, or
    /// PKCS#12, that is not a certificate) replaced by a stand-in that holds only what kcheck said
    /// of it (why it is not a certificate); nil for any other file.
    public static func withholdingBinaryKey(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.first == 0x30, bytes.contains(0) || !bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        guard PEMBlock.split(bytes).isEmpty else { return nil }
        let said: String
        switch read(file: bytes).certificates.first {
        case .certificate?: return nil
        case .error(_, let message)?: said = message
        case nil: said = "unreadable"
        }
        var out = "-----BEGIN \(withheldLabel)-----\n"
        let encoded = Array(Base64.encode(Array(said.utf8)).utf8)
        for start in stride(from: 0, to: encoded.count, by: 64) { out += String(decoding: encoded[start..<min(start + 64, encoded.count)], as: UTF8.self) + "\n" }
        return Array((out + "-----END \(withheldLabel)-----\n").utf8)
    }

    /// The decoded body of a PEM block.
    private static func pemData(_ block: PEMBlock) -> [UInt8]? {
        withPEMBody(block) { data, length in Array(UnsafeBufferPointer(start: data, count: length)) }
    }

    /// Decodes a PEM block's body and hands it to `body`; nil when it does not decode.
    private static func withPEMBody<R>(_ block: PEMBlock, _ body: (UnsafeMutablePointer<UInt8>, Int) -> R?) -> R? {
        withMemoryBIO(block.bytes) { bio -> R? in
            var name: UnsafeMutablePointer<CChar>?, header: UnsafeMutablePointer<CChar>?, data: UnsafeMutablePointer<UInt8>?
            var length = 0
            guard PEM_read_bio(bio, &name, &header, &data, &length) == 1, let data else {
                ERR_clear_error()
                return nil
            }
            defer { kcheck_pem_free(name, header, data, length) }
            return body(data, length)
        }
    }

    /// The DER public key of a PEM private key. The private key is freed before this returns and
    /// nothing of it is kept, printed or put in an error.
    private static func publicKeyOfPrivateKey(_ block: PEMBlock) -> Result<[UInt8], OpenSSLError> {
        if block.label == "PRIVATE KEY" || block.label == "RSA PRIVATE KEY", let fast = rsaPublicKey(block) { return .success(fast) }
        return withMemoryBIO(block.bytes) { bio -> Result<[UInt8], OpenSSLError> in
            guard let key = kcheck_read_private_key(bio) else {
                ERR_clear_error()
                let why = block.label == "ENCRYPTED PRIVATE KEY" ? "encrypted (kcheck never asks for a passphrase)" : "malformed"
                return .failure(OpenSSLError(operation: "private key at line \(block.line)", reason: why))
            }
            defer { EVP_PKEY_free(key) }
            do throws(OpenSSLError) { return .success(try publicKeyDER(key)) } catch { return .failure(error) }
        }
    }

    /// An RSA key's public half through the legacy RSA code (see kcheck_rsa_public_der); nil
    /// for another kind of key, which the general path reads.
    private static func rsaPublicKey(_ block: PEMBlock) -> [UInt8]? {
        withPEMBody(block) { data, length -> [UInt8]? in
            var out: UnsafeMutablePointer<UInt8>?
            let written = kcheck_rsa_public_der(data, length, block.label == "PRIVATE KEY" ? 1 : 0, &out)
            guard written > 0, let out else { return nil }
            defer { kcheck_openssl_free(out) }
            return Array(UnsafeBufferPointer(start: out, count: Int(written)))
        }
    }

    private static func withMemoryBIO<R>(_ bytes: [UInt8], _ body: (OpaquePointer) -> R) -> R {
        bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
                fatalError("BIO_new_mem_buf failed: out of memory")
            }
            defer { BIO_free(bio) }
            return body(bio)
        }
    }

    private static func publicKeyDER(_ key: OpaquePointer) throws(OpenSSLError) -> [UInt8] {
        try encoded("i2d_PUBKEY") { i2d_PUBKEY(key, $0) }
    }

    /// The certificate's SubjectPublicKeyInfo as it is encoded in the certificate (i2d_PUBKEY
    /// would re-encode it through OpenSSL 3's encoder lookup, which costs more than the rest of
    /// reading a certificate).
    private static func certificatePublicKeyDER(_ x: OpaquePointer) throws(OpenSSLError) -> [UInt8] {
        guard let spki = X509_get_X509_PUBKEY(x) else { throw OpenSSLError.lastError(operation: "X509_get_X509_PUBKEY") }
        return try encoded("i2d_X509_PUBKEY") { i2d_X509_PUBKEY(spki, $0) }
    }

    /// DER from one of OpenSSL's i2d functions: called once for the length, once to write.
    private static func encoded(
        _ operation: String, _ i2d: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32
    ) throws(OpenSSLError) -> [UInt8] {
        let length = i2d(nil)
        guard length > 0 else { throw OpenSSLError.lastError(operation: operation) }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d(&cursor)
        }
        guard written == length else { throw OpenSSLError.lastError(operation: operation) }
        return der
    }

    /// SHA-256, fetched from the provider once: an implicit fetch per certificate is a name lookup
    /// under a lock every time.
    nonisolated(unsafe) private static let sha256: OpaquePointer? = EVP_MD_fetch(nil, "SHA2-256", nil)

    // MARK: - Fields

    private static func read(_ x: OpaquePointer) throws(OpenSSLError) -> CertificateInfo {
        guard let key = X509_get0_pubkey(x) else { throw OpenSSLError.lastError(operation: "X509_get0_pubkey") }
        let baseID = EVP_PKEY_get_base_id(key)
        let algorithm: String
        switch baseID {
        case EVP_PKEY_RSA: algorithm = "RSA"
        case EVP_PKEY_EC: algorithm = "EC"
        case EVP_PKEY_ED25519: algorithm = "ED25519"
        case EVP_PKEY_ED448: algorithm = "ED448"
        case EVP_PKEY_DSA: algorithm = "DSA"
        default: algorithm = OBJ_nid2sn(baseID).map { String(cString: $0) } ?? "unknown"
        }
        var curve: String?
        if baseID == EVP_PKEY_EC {
            var name = [CChar](repeating: 0, count: 80)
            var length = 0
            if name.withUnsafeMutableBufferPointer({ EVP_PKEY_get_group_name(key, $0.baseAddress, $0.count, &length) }) == 1 {
                curve = String(decoding: name[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            } else {
                ERR_clear_error()
            }
        }
        let flags = X509_get_extension_flags(x)
        let isCA: Bool? = flags & UInt32(EXFLAG_BCONS) != 0 ? flags & UInt32(EXFLAG_CA) != 0 : nil
        let pathLength = X509_get_pathlen(x)
        let ku = X509_get_key_usage(x)
        let keyUsage: [String]? = ku == UInt32.max ? nil : Self.keyUsageNames.filter { ku & $0.bit != 0 }.map(\.name)
        let eku = X509_get_extended_key_usage(x)
        let extendedKeyUsage: [String]? = eku == UInt32.max ? nil : Self.extendedKeyUsageNames.filter { eku & $0.bit != 0 }.map(\.name)
        let (dns, ips) = subjectAltNames(x)
        guard let notBefore = X509_get0_notBefore(x), let notAfter = X509_get0_notAfter(x) else {
            throw OpenSSLError(operation: "validity", reason: "missing")
        }
        // The signature check costs a public-key operation: only for a certificate that names
        // itself as its issuer.
        let selfSigned = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0 && X509_verify(x, key) == 1
        ERR_clear_error()
        return CertificateInfo(
            subject: name(X509_get_subject_name(x)), issuer: name(X509_get_issuer_name(x)), serial: try serial(x),
            notBefore: try epoch(notBefore), notAfter: try epoch(notAfter), keyAlgorithm: algorithm,
            keyBits: Int(EVP_PKEY_get_bits(key)), curve: curve, isCA: isCA, pathLength: pathLength >= 0 ? Int(pathLength) : nil,
            keyUsage: keyUsage, extendedKeyUsage: extendedKeyUsage, dnsNames: dns, ipAddresses: ips,
            sha256Fingerprint: try fingerprint(x), publicKey: try certificatePublicKeyDER(x), selfSigned: selfSigned)
    }

    private static let keyUsageNames: [(bit: UInt32, name: String)] = [
        (UInt32(KU_DIGITAL_SIGNATURE), "digitalSignature"), (UInt32(KU_NON_REPUDIATION), "nonRepudiation"),
        (UInt32(KU_KEY_ENCIPHERMENT), "keyEncipherment"), (UInt32(KU_DATA_ENCIPHERMENT), "dataEncipherment"),
        (UInt32(KU_KEY_AGREEMENT), "keyAgreement"), (UInt32(KU_KEY_CERT_SIGN), "keyCertSign"), (UInt32(KU_CRL_SIGN), "cRLSign"),
        (UInt32(KU_ENCIPHER_ONLY), "encipherOnly"), (UInt32(KU_DECIPHER_ONLY), "decipherOnly"),
    ]

    private static let extendedKeyUsageNames: [(bit: UInt32, name: String)] = [
        (UInt32(XKU_SSL_SERVER), "serverAuth"), (UInt32(XKU_SSL_CLIENT), "clientAuth"), (UInt32(XKU_SMIME), "emailProtection"),
        (UInt32(XKU_CODE_SIGN), "codeSigning"), (UInt32(XKU_OCSP_SIGN), "OCSPSigning"), (UInt32(XKU_TIMESTAMP), "timeStamping"),
        (UInt32(XKU_ANYEKU), "anyExtendedKeyUsage"),
    ]

    private static func name(_ name: OpaquePointer?) -> [NameAttribute] {
        guard let name else { return [] }
        var attributes: [NameAttribute] = []
        for i in 0..<X509_NAME_entry_count(name) {
            guard let entry = X509_NAME_get_entry(name, i), let object = X509_NAME_ENTRY_get_object(entry),
                let data = X509_NAME_ENTRY_get_data(entry)
            else { continue }
            let nid = OBJ_obj2nid(object)
            let key = nid == NID_undef ? "?" : OBJ_nid2sn(nid).map { String(cString: $0) } ?? "?"
            var utf8: UnsafeMutablePointer<UInt8>?
            let length = ASN1_STRING_to_UTF8(&utf8, data)
            guard length >= 0, let utf8 else {
                ERR_clear_error()
                continue
            }
            defer { kcheck_openssl_free(utf8) }
            attributes.append(NameAttribute(key: key, value: String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)))
        }
        return attributes
    }

    private static func serial(_ x: OpaquePointer) throws(OpenSSLError) -> String {
        guard let integer = X509_get0_serialNumber(x), let bn = ASN1_INTEGER_to_BN(integer, nil) else {
            throw OpenSSLError.lastError(operation: "serial number")
        }
        defer { BN_free(bn) }
        guard let hex = BN_bn2hex(bn) else { throw OpenSSLError.lastError(operation: "BN_bn2hex") }
        defer { kcheck_openssl_free(hex) }
        return String(cString: hex)
    }

    /// ASN1_TIME (UTCTime or GeneralizedTime) to seconds since the epoch, exactly.
    private static func epoch(_ time: UnsafePointer<ASN1_TIME>) throws(OpenSSLError) -> Int64 {
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { throw OpenSSLError.lastError(operation: "ASN1_TIME_to_tm") }
        return Int64(timegm(&parts))
    }

    private static func fingerprint(_ x: OpaquePointer) throws(OpenSSLError) -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = digest.withUnsafeMutableBufferPointer { X509_digest(x, sha256 ?? EVP_sha256(), $0.baseAddress, &length) }
        guard ok == 1 else { throw OpenSSLError.lastError(operation: "X509_digest") }
        let hex = Array("0123456789ABCDEF".utf8)
        var text: [UInt8] = []
        for (i, byte) in digest[0..<Int(length)].enumerated() {
            if i > 0 { text.append(UInt8(ascii: ":")) }
            text += [hex[Int(byte >> 4)], hex[Int(byte & 0xf)]]
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static func subjectAltNames(_ x: OpaquePointer) -> (dns: [String], ips: [String]) {
        guard let names = kcheck_x509_subject_alt_names(x) else {
            ERR_clear_error()
            return ([], [])
        }
        defer { kcheck_general_names_free(names) }
        var dns: [String] = [], ips: [String] = []
        for i in 0..<kcheck_general_names_count(names) {
            var data: UnsafePointer<UInt8>?
            var length: Int32 = 0
            let type = kcheck_general_name_at(names, i, &data, &length)
            guard let data, length >= 0 else { continue }
            let bytes = Array(UnsafeBufferPointer(start: data, count: Int(length)))
            switch type {
            case GEN_DNS: dns.append(String(decoding: bytes, as: UTF8.self))
            case GEN_IPADD: if let text = ipText(bytes) { ips.append(text) }
            default: break
            }
        }
        return (dns, ips)
    }

    private static func ipText(_ bytes: [UInt8]) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family: Int32
        switch bytes.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return nil
        }
        let ok = bytes.withUnsafeBytes { raw in
            buffer.withUnsafeMutableBufferPointer { inet_ntop(family, raw.baseAddress, $0.baseAddress, socklen_t($0.count)) != nil }
        }
        return ok ? cText(buffer) : nil
    }
}

/// A `-----BEGIN X-----` … `-----END X-----` block of a PEM file, with its first line number.
struct PEMBlock {
    let label: String
    let line: Int
    let bytes: [UInt8]
    /// Why the block is unusable (no END line, a mismatched END).
    let problem: String?

    static func split(_ bytes: [UInt8]) -> [PEMBlock] {
        let begin = Array("-----BEGIN ".utf8), end = Array("-----END ".utf8), dashes = Array("-----".utf8)
        var blocks: [PEMBlock] = []
        var open: (label: String, line: Int, start: Int)?
        var lineNumber = 0
        Lines.forEach(in: bytes) { range in
            lineNumber += 1
            var line = bytes[range]
            while let last = line.last, last == 13 || last == 32 || last == 9 { line = line.dropLast() }
            func label(after prefix: [UInt8]) -> String? {
                guard line.starts(with: prefix), line.count > prefix.count + dashes.count, line.suffix(dashes.count).elementsEqual(dashes) else { return nil }
                return String(decoding: line.dropFirst(prefix.count).dropLast(dashes.count), as: UTF8.self)
            }
            if let name = label(after: begin) {
                if let o = open {
                    blocks.append(PEMBlock(label: o.label, line: o.line, bytes: [], problem: "truncated PEM: BEGIN \(o.label) has no END line before line \(lineNumber)"))
                }
                open = (name, lineNumber, range.lowerBound)
            } else if let name = label(after: end), let o = open {
                let problem = name == o.label ? nil : "PEM block BEGIN \(o.label) ends with END \(name)"
                blocks.append(PEMBlock(label: o.label, line: o.line, bytes: Array(bytes[o.start..<min(range.upperBound + 1, bytes.count)]), problem: problem))
                open = nil
            }
        }
        if let o = open {
            blocks.append(PEMBlock(label: o.label, line: o.line, bytes: [], problem: "truncated PEM: BEGIN \(o.label) has no END line"))
        }
        return blocks
    }
}

/// RFC 4648 base64, for the stand-ins a snapshot writes.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = Int(bytes[i]), b1 = i + 1 < bytes.count ? Int(bytes[i + 1]) : 0, b2 = i + 2 < bytes.count ? Int(bytes[i + 2]) : 0
            out.append(alphabet[b0 >> 2])
            out.append(alphabet[(b0 & 3) << 4 | b1 >> 4])
            out.append(i + 1 < bytes.count ? alphabet[(b1 & 15) << 2 | b2 >> 6] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[b2 & 63] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
