import KCheckNative

/// A certificate found on a node: the file, its place in the file, and what it says.
public struct FoundCertificate: Sendable {
    public let path: String
    /// 1-based position in its file (a bundle holds several).
    public let index: Int
    public let inBundle: Bool
    public let info: CertificateInfo
    /// The label of the scanned certificate whose key verifies this one's signature (not for a
    /// self-signed one), found while scanning.
    public fileprivate(set) var verifiedIssuer: String?
    /// The path, with `#n` for a certificate of a bundle.
    public var label: String { inBundle ? "\(path)#\(index)" : path }
}

/// The certificates and private keys under some paths of a node, and the files that could not be
/// read. Private keys are kept only as their public halves.
public struct CertificateInventory: Sendable {
    public var certificates: [FoundCertificate] = []
    /// CA certificates from outside the paths scanned (the cluster's CA, when a directory without
    /// it is scanned): issuers to verify against, not results of their own.
    public private(set) var outsideIssuers: [FoundCertificate] = []
    /// Certificates that may have issued others (CA:TRUE, or no basic constraints), by subject,
    /// with their OpenSSL objects. A leaf's OpenSSL object is freed as soon as its issuer is
    /// verified: 10,000 leaves would otherwise hold ~10 KB each until the end of the scan.
    private var issuers: [[NameAttribute]: [(label: String, certificate: X509Certificate)]] = [:]
    /// Certificates whose issuer has not been verified yet (index into `certificates`).
    private var unverified: [(index: Int, certificate: X509Certificate)] = []
    public var keys: [(path: String, publicKey: [UInt8])] = []
    public var problems: [(path: String, line: Int, message: String)] = []
    /// Files looked at.
    public var files = 0

    /// The guide's certificate directories.
    public static let defaultPaths = ["/etc/kubernetes/cert", "/etc/etcd/cert"]
    /// Where the guide keeps the cluster's CA on every node.
    public static let clusterCA = "/etc/kubernetes/cert/ca.pem"

    /// Extensions a file must be a certificate or key with; other files in a directory that are
    /// neither PEM nor DER (ca-config.json, ca.csr's JSON) are passed over.
    static let certificateExtensions = [".pem", ".crt", ".cer", ".der", ".key"]

    /// Scans files and directories (recursively, to a depth of 8) on `node`. A path named here that
    /// is missing is a problem; a missing default directory is not (`required: false`).
    /// Files in `parsed` were read and parsed already (by path on the node). `progress` hears,
    /// after each batch of files, how many of how many were read (`kcheck certs` on a terminal).
    public static func scan(
        _ paths: [String], on node: Node, required: Bool = true, parsed: [String: X509Certificate.FileContents] = [:],
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) -> CertificateInventory {
        var inventory = CertificateInventory()
        var found: [(path: String, named: Bool)] = []
        for path in paths {
            switch node.resolvedStatus(path) {
            case .success(let st) where st.kind == .directory: inventory.walk(directory: path, on: node, depth: 0, into: &found)
            case .success: found.append((path, true))
            case .failure(let error):
                if required || !error.isNotFound { inventory.problems.append((path, 0, error.description)) }
            }
        }
        // Files are read here, in order, and parsed on every core a batch at a time: OpenSSL 3
        // spends most of a certificate's parse decoding its public key. A batch bounds how many
        // parsed certificates wait for their issuer at once.
        var start = 0
        while start < found.count {
            let batch = found[start..<min(start + 512, found.count)]
            start = batch.endIndex
            // Each file of the batch, in order: parsed already, read now (an index into `contents`),
            // or a problem recorded.
            var contents: [[UInt8]] = []
            var slots: [(path: String, named: Bool, parsed: X509Certificate.FileContents?, index: Int?)] = []
            for file in batch {
                if let done = parsed[file.path] {
                    slots.append((file.path, file.named, done, nil))
                    continue
                }
                switch node.read(file.path, limit: defaultReadLimit) {
                case .content(let bytes):
                    slots.append((file.path, file.named, nil, contents.count))
                    contents.append(bytes)
                case .missing: inventory.problems.append((file.path, 0, "no such file"))
                case .unreadable(let why): inventory.problems.append((file.path, 0, why))
                }
            }
            let standIns = node.holdsStandIns
            let results = Parallel.map(contents) { X509Certificate.read(file: $0, standIns: standIns) }
            for slot in slots {
                guard let contents = slot.parsed ?? slot.index.map({ results[$0] }) else { continue }
                inventory.add(contents, of: slot.path, named: slot.named)
            }
            // Verified a batch at a time: a verified leaf's parsed certificate is not kept waiting
            // (those whose CA comes later are tried again after the next batch).
            inventory.verifyIssuers()
            progress?(start, found.count)
        }
        return inventory
    }

    /// The CA certificates in `path` on `node` (the cluster's CA at /etc/kubernetes/cert/ca.pem)
    /// as issuers for the certificates scanned, unless the scan holds that file already; a file
    /// that is missing or holds no CA is passed over (it is not what was asked to be checked).
    public mutating func addIssuers(from path: String, on node: Node) {
        guard !certificates.contains(where: { $0.path == path }), case .content(let bytes) = node.read(path, limit: defaultReadLimit) else { return }
        let contents = X509Certificate.read(file: bytes, standIns: node.holdsStandIns)
        for (i, entry) in contents.certificates.enumerated() {
            guard case .certificate(let c) = entry, c.info.isCA == true else { continue }
            let found = FoundCertificate(path: path, index: i + 1, inBundle: contents.certificates.count > 1, info: c.info)
            outsideIssuers.append(found)
            issuers[c.info.subject, default: []].append((found.label, c))
        }
        verifyIssuers()
    }

    /// Verifies each certificate whose issuer is not verified yet against the scanned (and
    /// outside) CA certificates with its issuer's name, on every core: a signature check is most
    /// of a certificate's cost once parsed (10,000 leaves of one CA: 10,000 RSA verifications).
    mutating func verifyIssuers() {
        let pending = unverified.map { item in (item, issuers[certificates[item.index].info.issuer] ?? []) }.filter { !$0.1.isEmpty }
        guard !pending.isEmpty else { return }
        let labels = certificates.map(\.label)
        let verified = Parallel.map(pending.map { SendablePending(index: $0.0.index, certificate: $0.0.certificate, candidates: $0.1) }) { p in
            p.candidates.first { $0.label != labels[p.index] && p.certificate.isIssued(by: $0.certificate) }?.label
        }
        var done: Set<Int> = []
        for (p, label) in zip(pending, verified) {
            guard let label else { continue }
            certificates[p.0.index].verifiedIssuer = label
            done.insert(p.0.index)
        }
        unverified.removeAll { done.contains($0.index) }
    }

    private mutating func walk(directory: String, on node: Node, depth: Int, into found: inout [(path: String, named: Bool)]) {
        guard depth < 8 else {
            problems.append((directory, 0, "directories nested deeper than 8 levels are not scanned"))
            return
        }
        let names: [String]
        switch node.list(directory) {
        case .success(let n): names = n
        case .failure(let error):
            problems.append((directory, 0, error.description))
            return
        }
        for name in names {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            // A symlink to a directory is not descended into (as `find` without -L): `ln -s . loop`
            // would otherwise make the walk exponential. A symlink to a file is read.
            if case .success(let link) = node.status(path), link.kind == .symlink, case .success(let target) = node.resolvedStatus(path),
                target.kind == .directory
            {
                problems.append((path, 0, "a symlink to a directory: not scanned (name the directory itself)"))
                continue
            }
            switch node.resolvedStatus(path) {
            case .success(let st) where st.kind == .directory: walk(directory: path, on: node, depth: depth + 1, into: &found)
            case .success(let st) where st.kind == .regular: found.append((path, false))
            case .success: continue
            case .failure(let error): problems.append((path, 0, error.description))
            }
        }
    }

    private mutating func add(_ contents: X509Certificate.FileContents, of path: String, named: Bool) {
        files += 1
        if contents.unrecognised {
            if named || Self.certificateExtensions.contains(where: { path.hasSuffix($0) }) {
                problems.append((path, 0, "neither a PEM file nor a DER certificate"))
            }
            return
        }
        let count = contents.certificates.count
        for (i, entry) in contents.certificates.enumerated() {
            switch entry {
            case .certificate(let c): add(FoundCertificate(path: path, index: i + 1, inBundle: count > 1, info: c.info), c)
            case .error(let line, let message): problems.append((path, line, message))
            }
        }
        for key in contents.privateKeys {
            switch key {
            case .success(let publicKey): keys.append((path, publicKey))
            case .failure(let error): problems.append((path, 0, error.description))
            }
        }
    }
}

extension CertificateInventory {
    /// Records a certificate (as a possible issuer too, when it may be a CA); its issuer is
    /// verified once the scan has every certificate (`verifyIssuers`).
    fileprivate mutating func add(_ found: FoundCertificate, _ certificate: X509Certificate) {
        let info = found.info
        certificates.append(found)
        if info.isCA != false { issuers[info.subject, default: []].append((found.label, certificate)) }
        if info.selfSigned && info.subject == info.issuer { return }
        unverified.append((certificates.count - 1, certificate))
    }
}

/// What a certificate's file name says it is for, in the guide's naming (cfssl's `NAME.pem` and
/// `NAME-key.pem`).
public enum CertificateRole: String, Sendable {
    case authority = "CA"
    case server = "server"
    case client = "client"
    case peer = "server and client"
    case unknown = "any"

    public static func of(path: String) -> CertificateRole {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        let base = file.split(separator: ".").first.map(String.init) ?? file
        switch base {
        case "ca": return .authority
        case "etcd", "kubernetes", "kube-apiserver", "kubelet": return .peer
        case "admin", "kube-proxy", "flanneld", "metrics-server", "aggregator-proxy", "proxy-client",
            "kube-controller-manager", "kube-scheduler", "calico", "cilium":
            return .client
        default: return .unknown
        }
    }

    var requiredExtendedKeyUsage: [String] {
        switch self {
        case .server: ["serverAuth"]
        case .client: ["clientAuth"]
        case .peer: ["serverAuth", "clientAuth"]
        case .authority, .unknown: []
        }
    }
}

/// What `kcheck certs` shows of a certificate besides its verdict.
public struct CertificateDetails: Sendable, Equatable {
    public let info: CertificateInfo
    public let role: CertificateRole
    public let daysLeft: Int
    /// The file of the certificate that issued it (itself for a self-signed CA), when found.
    public let issuerFile: String?
    /// The file of the private key that matches it, when one was found.
    public let keyFile: String?
}

/// Judges every certificate of an inventory against the others: validity, issuer, usage, key,
/// duplicate subjects.
public struct CertificateJudge {
    public var now: Int64
    public var warnDays: Int
    public var failDays: Int

    public init(now: Int64, warnDays: Int = 30, failDays: Int = 7) {
        self.now = now
        self.warnDays = warnDays
        self.failDays = failDays
    }

    public static func subjectText(_ attributes: [NameAttribute]) -> String {
        attributes.isEmpty ? "(empty)" : attributes.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
    }

    public static func date(_ seconds: Int64) -> String {
        let c = Posix.utcCalendar(seconds)
        func pad(_ n: Int, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(n).count)) + String(n) }
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2)) \(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)) UTC"
    }

    /// Something wrong (or about to be) with a certificate, and which aspect it concerns.
    public struct Finding: Sendable, Equatable {
        public let aspect: CertificatesCheck.Aspect
        public let failing: Bool
        public let text: String
    }

    /// A certificate with what was found about it.
    public struct Judged: Sendable {
        public let found: FoundCertificate
        public let details: CertificateDetails
        public let findings: [Finding]
    }

    /// Judges every certificate of the inventory against the others.
    public func judge(_ inventory: CertificateInventory) -> [Judged] {
        let all = inventory.certificates
        var bySubject: [[NameAttribute]: [FoundCertificate]] = [:]
        for c in all + inventory.outsideIssuers { bySubject[c.info.subject, default: []].append(c) }
        var keysByPublicKey: [[UInt8]: String] = [:]
        for key in inventory.keys where keysByPublicKey[key.publicKey] == nil { keysByPublicKey[key.publicKey] = key.path }
        let keyPaths = Set(inventory.keys.map(\.path))
        return all.map { c in
            let info = c.info
            var findings: [Finding] = []
            func fail(_ aspect: CertificatesCheck.Aspect, _ text: String) { findings.append(Finding(aspect: aspect, failing: true, text: text)) }
            func warn(_ aspect: CertificatesCheck.Aspect, _ text: String) { findings.append(Finding(aspect: aspect, failing: false, text: text)) }
            let role = CertificateRole.of(path: c.path)
            let daysLeft = Int((info.notAfter - now) / 86_400)

            if info.notBefore > now {
                fail(.validity, "not valid until \(Self.date(info.notBefore)): the node's clock may be behind, or the certificate was made on a clock ahead")
            } else if info.notAfter <= now {
                fail(.validity, "expired on \(Self.date(info.notAfter)) (\(-daysLeft) days ago)")
            } else if daysLeft < failDays {
                fail(.validity, "expires in \(daysLeft) days (on \(Self.date(info.notAfter)); fail under \(failDays))")
            } else if daysLeft < warnDays {
                warn(.validity, "expires in \(daysLeft) days (on \(Self.date(info.notAfter)); warn under \(warnDays))")
            }

            var issuerFile: String?
            if info.selfSigned && info.subject == info.issuer {
                issuerFile = c.label
                if info.isCA != true && role != .unknown { warn(.issuer, "self-signed, but not a CA") }
            } else {
                let named = (bySubject[info.issuer] ?? []).filter { $0.info.isCA != false && $0.label != c.label }
                if let verified = c.verifiedIssuer, let issuer = named.first(where: { $0.label == verified }) {
                    issuerFile = issuer.label
                    // More than a day: the guide gives the CA and its leaves the same 876000h,
                    // so every leaf outlives its CA by the moments between their signing.
                    if info.notAfter > issuer.info.notAfter + 86_400 {
                        warn(.issuer, "outlives its CA \(issuer.label) (CA valid until \(Self.date(issuer.info.notAfter)))")
                    }
                } else if named.isEmpty {
                    warn(.issuer, "its issuer (\(Self.subjectText(info.issuer))) is not among the certificates scanned; not verified")
                } else {
                    fail(.issuer, "does not verify to \(named.map(\.label).joined(separator: ", ")), which has its issuer's name: signed by another CA")
                }
            }

            switch info.keyAlgorithm {
            case "RSA" where info.keyBits < 2048: fail(.key, "RSA key of \(info.keyBits) bits (at least 2048)")
            case "EC" where info.keyBits < 256: fail(.key, "EC key of \(info.keyBits) bits (at least 256)")
            default: break
            }
            if role == .authority || info.isCA == true {
                if info.isCA != true { fail(.usage, "not a CA (basic constraints CA:TRUE missing)") }
                if let ku = info.keyUsage, !ku.contains("keyCertSign") { fail(.usage, "a CA without keyCertSign in its key usage") }
            }
            if let eku = info.extendedKeyUsage {
                let missing = role.requiredExtendedKeyUsage.filter { !eku.contains($0) && !eku.contains("anyExtendedKeyUsage") }
                if !missing.isEmpty {
                    fail(.usage, "a \(role.rawValue) certificate without \(missing.joined(separator: " and ")) (extended key usage: \(eku.isEmpty ? "none" : eku.joined(separator: ", ")))")
                }
            }

            let keyFile = keysByPublicKey[info.publicKey]
            if let expected = Self.keyPath(for: c.path), keyPaths.contains(expected), keyFile != expected {
                fail(.key, "\(expected) does not match this certificate\(keyFile.map { " (\($0) does)" } ?? "")")
            }

            // kubelet's own certificates (client and serving, and each rotation: kubelet-client-*.pem,
            // kubelet-server-*.pem) all name system:node:NAME by design.
            func kubelets(_ path: String) -> Bool {
                let file = path.split(separator: "/").last ?? ""
                return file.hasPrefix("kubelet-client-") || file.hasPrefix("kubelet-server-")
            }
            let twins = (bySubject[info.subject] ?? []).filter {
                $0.label != c.label && $0.info.sha256Fingerprint != info.sha256Fingerprint && !(kubelets(c.path) && kubelets($0.path))
            }
            if !twins.isEmpty {
                fail(.uniqueSubject, "same subject as \(twins.map(\.label).joined(separator: ", ")): \(Self.subjectText(info.subject))")
            }
            let details = CertificateDetails(info: info, role: role, daysLeft: daysLeft, issuerFile: issuerFile, keyFile: keyFile)
            return Judged(found: c, details: details, findings: findings)
        }
    }

    /// One entry per certificate and per unreadable file.
    public func entries(_ inventory: CertificateInventory) -> [Report.Entry] {
        var entries: [Report.Entry] = []
        for judged in judge(inventory) {
            let c = judged.found, info = c.info, role = judged.details.role
            let failures = judged.findings.filter(\.failing).map(\.text), warnings = judged.findings.filter { !$0.failing }.map(\.text)
            let status: Status = !failures.isEmpty ? .fail : !warnings.isEmpty ? .warn : .pass
            let cn = info.subject.first { $0.key == "CN" }?.value ?? Self.subjectText(info.subject)
            let subject = Report.Subject(
                id: c.label, title: "\(cn) (\(role == .unknown ? "certificate" : role.rawValue))",
                severity: role == .authority || info.isCA == true ? .critical : .high, guide: [17, 18, 19, 20, 21],
                remediation: Self.remediation(role: role, path: c.path))
            let problems = failures + warnings
            let actual = problems.isEmpty ? "valid until \(Self.date(info.notAfter)) (\(judged.details.daysLeft) days)" : problems.joined(separator: "; ")
            let result = RuleResult(
                ruleID: c.label, status: status,
                expected: "valid for at least \(warnDays) days, issued by a CA among the scanned certificates, usages fit a \(role.rawValue) certificate, its key matches",
                actual: actual, message: problems.first ?? "")
            entries.append(Report.Entry(subject: subject, result: result, certificate: judged.details))
        }
        for problem in inventory.problems {
            let id = problem.line > 0 ? "\(problem.path):\(problem.line)" : problem.path
            let subject = Report.Subject(id: id, title: "unreadable certificate file", severity: .high, guide: [], remediation: "")
            entries.append(
                Report.Entry(
                    subject: subject,
                    result: RuleResult(
                        ruleID: id, status: .error, expected: "a certificate or key in PEM or DER", actual: problem.message, message: problem.message,
                        evidence: problem.line > 0 ? [SourceLocation(file: problem.path, line: problem.line)] : [])))
        }
        return entries
    }

    /// cfssl's key file for a certificate: NAME.pem → NAME-key.pem.
    static func keyPath(for path: String) -> String? {
        guard path.hasSuffix(".pem"), !path.hasSuffix("-key.pem") else { return nil }
        return String(path.dropLast(4)) + "-key.pem"
    }

    static func remediation(role: CertificateRole, path: String) -> String {
        switch role {
        case .authority:
            "Make the CA as the guide does: `cfssl gencert -initca ca-csr.json | cfssljson -bare ca` (or `openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 36500 -subj '/C=CN/ST=BeiJing/L=BeiJing/O=k8s/OU=opsnull/CN=kubernetes-ca' -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign'`), then re-issue every certificate it signed."
        default:
            "Re-issue it from the cluster's CA with its own subject: `cfssl gencert -ca=/etc/kubernetes/cert/ca.pem -ca-key=/etc/kubernetes/cert/ca-key.pem -config=/etc/kubernetes/cert/ca-config.json -profile=kubernetes NAME-csr.json | cfssljson -bare NAME`; check it with `openssl x509 -in \(path) -noout -text`."
        }
    }

    /// The report of `kcheck certs`.
    public func report(
        _ inventory: CertificateInventory, node: NodeIdentity, policy: FailurePolicy, started: (seconds: Int64, nanoseconds: Int64),
        duration: Double
    ) -> Report {
        Report(
            toolVersion: Engine.version, command: "certs", profile: "certificates", node: node, startedAt: started, durationSeconds: duration,
            entries: entries(inventory), policy: policy)
    }
}

/// A certificate waiting for its issuer's verification, with the CA certificates named as its
/// issuer (handed to the threads that verify).
private struct SendablePending: @unchecked Sendable {
    let index: Int
    let certificate: X509Certificate
    let candidates: [(label: String, certificate: X509Certificate)]
}
