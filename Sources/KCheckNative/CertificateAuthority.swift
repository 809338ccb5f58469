import COpenSSL

/// Makes a root CA as the guide's `cfssl gencert -initca ca-csr.json` does (DOCUMENTED-STATE
/// 17-19): an RSA key, a self-signed certificate with the CSR's subject, CA:TRUE and the key
/// usages certSign and cRLSign (both critical), a subject key identifier, a random serial, and the
/// CSR's expiry (876000h runs past 2049: GeneralizedTime). The key exists only in the returned
/// PEM bytes, which the caller writes to a file of mode 0600; nothing of it is logged.
public enum CertificateAuthority {
    public struct Made: Sendable {
        public let certificatePEM: [UInt8]
        /// PKCS#1 "RSA PRIVATE KEY", as cfssljson writes ca-key.pem.
        public let keyPEM: [UInt8]
    }

    /// With `existingKeyPEM`, the certificate is made for that key (a CA whose making was cut
    /// short after its key was written), and the key's bytes are returned as they are.
    public static func make(subject: [NameAttribute], validSeconds: Int64, keyBits: Int32 = 2048, existingKeyPEM: [UInt8]? = nil) throws(OpenSSLError) -> Made {
        // X509_time_adj_ex takes days as a C int: beyond that (or not positive) is no validity.
        guard validSeconds > 0, validSeconds / 86_400 < Int64(Int32.max) else {
            throw OpenSSLError(operation: "make the CA", reason: "a validity of \(validSeconds) s is out of range")
        }
        let key: OpaquePointer
        if let existingKeyPEM { key = try readKey(existingKeyPEM) } else { key = try generateKey(bits: keyBits) }
        defer { EVP_PKEY_free(key) }
        guard let x509 = X509_new() else { throw OpenSSLError.lastError(operation: "X509_new") }
        defer { X509_free(x509) }
        guard X509_set_version(x509, 2) == 1 else { throw OpenSSLError.lastError(operation: "X509_set_version") }
        try setRandomSerial(x509)
        guard let name = X509_NAME_new() else { throw OpenSSLError.lastError(operation: "X509_NAME_new") }
        defer { X509_NAME_free(name) }
        for attribute in subject {
            guard X509_NAME_add_entry_by_txt(name, attribute.key, MBSTRING_UTF8, attribute.value, -1, -1, 0) == 1 else {
                throw OpenSSLError.lastError(operation: "subject \(attribute.key)")
            }
        }
        guard X509_set_subject_name(x509, name) == 1, X509_set_issuer_name(x509, name) == 1 else {
            throw OpenSSLError.lastError(operation: "X509_set_subject_name")
        }
        // validSeconds split into days and seconds: X509_time_adj_ex takes both, and picks
        // GeneralizedTime for dates from 2050 on.
        guard X509_gmtime_adj(X509_getm_notBefore(x509), 0) != nil,
            X509_time_adj_ex(X509_getm_notAfter(x509), Int32(validSeconds / 86_400), Int(validSeconds % 86_400), nil) != nil
        else { throw OpenSSLError.lastError(operation: "validity") }
        guard X509_set_pubkey(x509, key) == 1 else { throw OpenSSLError.lastError(operation: "X509_set_pubkey") }
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, x509, x509, nil, nil, 0)
        for (nid, value) in [
            (NID_basic_constraints, "critical,CA:TRUE"), (NID_key_usage, "critical,keyCertSign,cRLSign"),
            (NID_subject_key_identifier, "hash"),
        ] {
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else { throw OpenSSLError.lastError(operation: "extension \(value)") }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(x509, ext, -1) == 1 else { throw OpenSSLError.lastError(operation: "X509_add_ext") }
        }
        guard X509_sign(x509, key, EVP_sha256()) > 0 else { throw OpenSSLError.lastError(operation: "X509_sign") }
        let certificate = try pem("PEM_write_bio_X509") { PEM_write_bio_X509($0, x509) }
        if let existingKeyPEM { return Made(certificatePEM: certificate, keyPEM: existingKeyPEM) }
        let keyPEM = try pem("PEM_write_bio_PrivateKey_traditional") { PEM_write_bio_PrivateKey_traditional($0, key, nil, nil, 0, nil, nil) }
        return Made(certificatePEM: certificate, keyPEM: keyPEM)
    }

    /// A PEM private key (never a passphrase prompt: a key that wants one is an error).
    private static func readKey(_ pem: [UInt8]) throws(OpenSSLError) -> OpaquePointer {
        guard pem.count <= 1 << 20, let bio = pem.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
            throw OpenSSLError(operation: "read the CA key", reason: "not a PEM key of at most 1 MiB")
        }
        defer { BIO_free(bio) }
        guard let key = kcheck_read_private_key(bio) else {
            throw OpenSSLError.lastError(operation: "read the CA key")
        }
        return key
    }

    private static func generateKey(bits: Int32) throws(OpenSSLError) -> OpaquePointer {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else { throw OpenSSLError.lastError(operation: "EVP_PKEY_CTX_new_from_name") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_CTX_set_rsa_keygen_bits(context, bits) == 1 else {
            throw OpenSSLError.lastError(operation: "EVP_PKEY_keygen_init")
        }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(context, &key) == 1, let key else { throw OpenSSLError.lastError(operation: "EVP_PKEY_generate") }
        return key
    }

    /// A positive 159-bit random serial, as cfssl uses 20-byte serials.
    private static func setRandomSerial(_ x509: OpaquePointer) throws(OpenSSLError) {
        guard let bn = BN_new() else { throw OpenSSLError.lastError(operation: "BN_new") }
        defer { BN_free(bn) }
        guard BN_rand(bn, 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 else { throw OpenSSLError.lastError(operation: "BN_rand") }
        guard let serial = BN_to_ASN1_INTEGER(bn, nil) else { throw OpenSSLError.lastError(operation: "BN_to_ASN1_INTEGER") }
        defer { ASN1_INTEGER_free(serial) }
        guard X509_set_serialNumber(x509, serial) == 1 else { throw OpenSSLError.lastError(operation: "X509_set_serialNumber") }
    }

    /// What a PEM writer writes into a memory BIO.
    private static func pem(_ operation: String, _ write: (OpaquePointer) -> Int32) throws(OpenSSLError) -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSLError.lastError(operation: "BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw OpenSSLError.lastError(operation: operation) }
        var data: UnsafeMutablePointer<CChar>?
        let length = kcheck_bio_get_mem_data(bio, &data)
        guard length > 0, let data else { throw OpenSSLError.lastError(operation: operation) }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }
}
