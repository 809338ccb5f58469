import COpenSSL

/// New SSH host keys, made in this process with OpenSSL, as `ssh-keygen -t TYPE -N ''` makes
/// them: the private key in OpenSSH's own format (`openssh-key-v1`, unencrypted, which sshd and
/// ssh-keygen read for every key type) and the public key as one `TYPE BASE64 COMMENT` line.
/// Nothing is run: a node tree gets its keys the same way as the live node, and no program of
/// the node is executed. The private key exists only in the returned bytes.
public enum SSHHostKey {
    public enum KeyType: Equatable, Sendable {
        case rsa(bits: Int32)
        /// NIST P-256, P-384 or P-521.
        case ecdsa(bits: Int)
        case ed25519

        /// The key type of a host key's public line ("ssh-ed25519 AAAA… root@host"), with the size
        /// the new key gets: RSA keys get ssh-keygen's 3072 bits (never fewer than before).
        public init?(publicLine: String, rsaBits: Int32 = 3072) {
            let name = publicLine.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
            switch name {
            case "ssh-rsa": self = .rsa(bits: rsaBits)
            case "ecdsa-sha2-nistp256": self = .ecdsa(bits: 256)
            case "ecdsa-sha2-nistp384": self = .ecdsa(bits: 384)
            case "ecdsa-sha2-nistp521": self = .ecdsa(bits: 521)
            case "ssh-ed25519": self = .ed25519
            default: return nil
            }
        }

        /// The name in the key's wire format.
        public var wireName: String {
            switch self {
            case .rsa: "ssh-rsa"
            case .ecdsa(let bits): "ecdsa-sha2-nistp\(bits)"
            case .ed25519: "ssh-ed25519"
            }
        }

        /// ssh-keygen's `-t` name.
        public var keygenName: String {
            switch self {
            case .rsa: "rsa"
            case .ecdsa: "ecdsa"
            case .ed25519: "ed25519"
            }
        }
    }

    public struct Made: Sendable {
        /// `-----BEGIN OPENSSH PRIVATE KEY-----`…, for a file of mode 0600.
        public let privateKey: [UInt8]
        /// "TYPE BASE64 COMMENT\n".
        public let publicLine: [UInt8]
    }

    public static func make(_ type: KeyType, comment: String) throws(OpenSSLError) -> Made {
        let key = try generate(type)
        defer { EVP_PKEY_free(key) }
        var publicBlob = SSHBuffer()
        var privateFields = SSHBuffer()
        publicBlob.string(type.wireName)
        privateFields.string(type.wireName)
        switch type {
        case .rsa:
            let n = try bignum(key, "n"), e = try bignum(key, "e"), d = try bignum(key, "d")
            let p = try bignum(key, "rsa-factor1"), q = try bignum(key, "rsa-factor2"), iqmp = try bignum(key, "rsa-coefficient1")
            publicBlob.mpint(e)
            publicBlob.mpint(n)
            for value in [n, e, d, iqmp, p, q] { privateFields.mpint(value) }
        case .ecdsa(let bits):
            let curve = "nistp\(bits)"
            let point = try octets(key, "encoded-pub-key")
            let d = try bignum(key, "priv")
            publicBlob.string(curve)
            publicBlob.bytes(point)
            privateFields.string(curve)
            privateFields.bytes(point)
            privateFields.mpint(d)
        case .ed25519:
            var length = 32
            var pub = [UInt8](repeating: 0, count: 32), seed = [UInt8](repeating: 0, count: 32)
            guard EVP_PKEY_get_raw_public_key(key, &pub, &length) == 1, length == 32 else { throw OpenSSLError.lastError(operation: "EVP_PKEY_get_raw_public_key") }
            length = 32
            guard EVP_PKEY_get_raw_private_key(key, &seed, &length) == 1, length == 32 else { throw OpenSSLError.lastError(operation: "EVP_PKEY_get_raw_private_key") }
            defer { for i in seed.indices { seed[i] = 0 } }
            publicBlob.bytes(pub)
            privateFields.bytes(pub)
            // OpenSSH keeps the 32-byte seed followed by the public key.
            privateFields.bytes(seed + pub)
        }
        privateFields.string(comment)

        // openssh-key-v1: the magic, cipher "none", kdf "none", one key; then the private section:
        // a random check number twice, the key, the comment, and padding 1, 2, 3… to 8 bytes.
        var check = [UInt8](repeating: 0, count: 4)
        guard RAND_bytes(&check, 4) == 1 else { throw OpenSSLError.lastError(operation: "RAND_bytes") }
        var section = SSHBuffer()
        section.raw(check)
        section.raw(check)
        section.raw(privateFields.data)
        var pad: UInt8 = 1
        while section.data.count % 8 != 0 {
            section.data.append(pad)
            pad += 1
        }
        var file = SSHBuffer()
        file.raw(Array("openssh-key-v1".utf8) + [0])
        file.string("none")
        file.string("none")
        file.string("")
        file.uint32(1)
        file.bytes(publicBlob.data)
        file.bytes(section.data)
        let body = Base64.encode(file.data)
        var pem = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        var start = body.startIndex
        while start < body.endIndex {
            let end = body.index(start, offsetBy: 70, limitedBy: body.endIndex) ?? body.endIndex
            pem += body[start..<end] + "\n"
            start = end
        }
        pem += "-----END OPENSSH PRIVATE KEY-----\n"
        // Wipe the copies this function made of the key.
        for i in privateFields.data.indices { privateFields.data[i] = 0 }
        for i in section.data.indices { section.data[i] = 0 }
        for i in file.data.indices { file.data[i] = 0 }
        return Made(privateKey: Array(pem.utf8), publicLine: Array("\(type.wireName) \(Base64.encode(publicBlob.data)) \(comment)\n".utf8))
    }

    /// 16 random bytes as systemd makes a machine-id: a version 4 UUID's bits, written as 32
    /// lowercase hex digits (sd_id128_randomize).
    public static func machineID() throws(OpenSSLError) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&bytes, 16) == 1 else { throw OpenSSLError.lastError(operation: "RAND_bytes") }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 0x0F)]] }, as: UTF8.self)
    }

    private static func generate(_ type: KeyType) throws(OpenSSLError) -> OpaquePointer {
        let algorithm: String
        switch type {
        case .rsa: algorithm = "RSA"
        case .ecdsa: algorithm = "EC"
        case .ed25519: algorithm = "ED25519"
        }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil) else { throw OpenSSLError.lastError(operation: "EVP_PKEY_CTX_new_from_name") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw OpenSSLError.lastError(operation: "EVP_PKEY_keygen_init") }
        switch type {
        case .rsa(let bits):
            guard EVP_PKEY_CTX_set_rsa_keygen_bits(context, bits) == 1 else { throw OpenSSLError.lastError(operation: "RSA key size") }
        case .ecdsa(let bits):
            let nid: Int32 = bits == 256 ? NID_X9_62_prime256v1 : bits == 384 ? NID_secp384r1 : NID_secp521r1
            guard EVP_PKEY_CTX_set_ec_paramgen_curve_nid(context, nid) == 1 else { throw OpenSSLError.lastError(operation: "EC curve") }
        case .ed25519: break
        }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(context, &key) == 1, let key else { throw OpenSSLError.lastError(operation: "EVP_PKEY_generate") }
        return key
    }

    /// A big-number parameter of the key, as unsigned big-endian bytes.
    private static func bignum(_ key: OpaquePointer, _ name: String) throws(OpenSSLError) -> [UInt8] {
        var bn: OpaquePointer?
        guard EVP_PKEY_get_bn_param(key, name, &bn) == 1, let bn else { throw OpenSSLError.lastError(operation: "key parameter \(name)") }
        defer { BN_clear_free(bn) }
        let count = Int((BN_num_bits(bn) + 7) / 8)
        var out = [UInt8](repeating: 0, count: count)
        guard BN_bn2bin(bn, &out) == Int32(count) else { throw OpenSSLError.lastError(operation: "BN_bn2bin") }
        return out
    }

    private static func octets(_ key: OpaquePointer, _ name: String) throws(OpenSSLError) -> [UInt8] {
        var length = 0
        guard EVP_PKEY_get_octet_string_param(key, name, nil, 0, &length) == 1, length > 0, length <= 256 else {
            throw OpenSSLError.lastError(operation: "key parameter \(name)")
        }
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_get_octet_string_param(key, name, &out, length, &length) == 1 else { throw OpenSSLError.lastError(operation: "key parameter \(name)") }
        return Array(out.prefix(length))
    }
}

/// SSH's wire encoding (RFC 4251): uint32 lengths, strings, mpints.
struct SSHBuffer {
    var data: [UInt8] = []

    mutating func uint32(_ value: UInt32) { data += [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)] }
    mutating func raw(_ bytes: [UInt8]) { data += bytes }
    mutating func bytes(_ bytes: [UInt8]) {
        uint32(UInt32(bytes.count))
        data += bytes
    }
    mutating func string(_ text: String) { bytes(Array(text.utf8)) }
    /// A non-negative integer from its big-endian bytes: leading zeros dropped, a zero byte put
    /// in front when the top bit is set (two's complement).
    mutating func mpint(_ magnitude: [UInt8]) {
        var value = Array(magnitude.drop { $0 == 0 })
        if let first = value.first, first & 0x80 != 0 { value.insert(0, at: 0) }
        bytes(value)
    }
}
