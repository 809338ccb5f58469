import KCheckNative

/// The PKI rules (DOCUMENTED-STATE 17–21). OpenSSL is touched only when a certificate file exists.
extension Evaluator {
    /// The first certificate in a file: nil when the file is missing; a file that holds none is a
    /// failed check, an unreadable one could-not-check.
    func certificate(at path: String, expected: String) throws(OutcomeError) -> X509Certificate? {
        let contents: X509Certificate.FileContents
        switch facts.certificateFile(path) {
        case .missing: return nil
        case .unreadable(let why): throw OutcomeError(outcome: unavailable(expected, why))
        case .content(let c): contents = c
        }
        for entry in contents.certificates {
            switch entry {
            case .certificate(let c): return c
            case .error(let line, let message):
                throw OutcomeError(outcome: Outcome(
                    status: .fail, expected: expected, actual: "\(path): \(message)", message: "\(path) holds no readable certificate",
                    evidence: line > 0 ? [SourceLocation(file: path, line: line)] : []))
            }
        }
        throw OutcomeError(outcome: Outcome(status: .fail, expected: expected, actual: "\(path) holds no certificate", message: "\(path) holds no certificate"))
    }

    func caCertificate(_ check: CACheck) throws(OutcomeError) -> Outcome {
        let expected = "a CA certificate (CA:TRUE, keyCertSign), RSA >= 2048 or EC >= 256, valid now\(check.csr.map { ", subject as \($0) asks" } ?? "")"
        guard let ca = try certificate(at: check.certificate, expected: expected) else {
            return Outcome(
                status: .fail, expected: expected, actual: "no \(check.certificate)",
                message: "The cluster's root CA is not at \(check.certificate) (it is made once on the first node and copied to every node)")
        }
        let info = ca.info
        var problems: [String] = []
        if info.isCA != true { problems.append("basic constraints do not say CA:TRUE") }
        if let ku = info.keyUsage, !ku.contains("keyCertSign") { problems.append("key usage lacks keyCertSign (\(ku.joined(separator: ", ")))") }
        if info.keyAlgorithm == "RSA" && info.keyBits < 2048 { problems.append("RSA key of \(info.keyBits) bits") }
        if info.keyAlgorithm == "EC" && info.keyBits < 256 { problems.append("EC key of \(info.keyBits) bits") }
        let now = facts.now
        if info.notBefore > now { problems.append("not valid until \(CertificateJudge.date(info.notBefore)) (is the clock behind?)") }
        if info.notAfter <= now { problems.append("expired on \(CertificateJudge.date(info.notAfter))") }
        var evidence: [SourceLocation] = []
        if let csrPath = check.csr, let text = try readText(csrPath, expected: expected) {
            // A ca-csr.json that is not a JSON object (binary, cut short) says nothing of the
            // subject: the rule cannot be judged, and says where.
            let root: JSONNode
            do throws(SyntaxError) {
                root = try JSONDocument.parse(text)
            } catch {
                return unavailable(expected, "\(csrPath):\(error.line):\(error.column): \(error.message)")
            }
            guard case .object = root.value else { return unavailable(expected, "\(csrPath):\(root.line): not a JSON object") }
            var wanted: [(String, String, JSONNode)] = []
            if let cn = root["CN"], let value = cn.string { wanted.append(("CN", value, cn)) }
            if let names = root["names"]?.array?.first {
                for key in ["C", "ST", "L", "O", "OU"] {
                    if let node = names[key], let value = node.string { wanted.append((key, value, node)) }
                }
            }
            for (key, value, node) in wanted where !info.subject.contains(NameAttribute(key: key, value: value)) {
                let has = info.subject.filter { $0.key == key }.map { "\(key)=\($0.value)" }
                problems.append("subject \(has.isEmpty ? "has no \(key)" : "has \(has.joined(separator: ", "))"); \(csrPath) asks \(key)=\(value)")
                evidence.append(SourceLocation(file: csrPath, line: node.line))
            }
        }
        let actual = "\(CertificateJudge.subjectText(info.subject)); \(info.isCA == true ? "CA" : "not a CA"); \(info.keyAlgorithm) \(info.keyBits); valid until \(CertificateJudge.date(info.notAfter))"
        return Outcome(
            status: problems.isEmpty ? .pass : .fail, expected: expected, actual: problems.isEmpty ? actual : problems.joined(separator: "; "),
            message: problems.first ?? "", evidence: evidence)
    }

    func caKey(_ check: CACheck) throws(OutcomeError) -> Outcome {
        let expected = "\(check.key) matches \(check.certificate), mode 0600 or stricter, owned by root"
        let contents: X509Certificate.FileContents
        switch facts.certificateFile(check.key) {
        case .missing:
            // Nothing to chmod: the key is copied from where the CA was made (or made with it).
            let copy = "copy ca-key.pem from the first node, where the CA was made, to \(check.key) (mode 0600, owner root); on the first node, make the CA first (pki.ca-certificate: `kcheck fix` makes both)"
            return Outcome(status: .fail, expected: expected, actual: "no \(check.key)", message: "The CA's private key is not at \(check.key)", advice: copy)
        case .unreadable(let why): return unavailable(expected, why)
        case .content(let c): contents = c
        }
        var problems: [String] = []
        var commands: [String] = []
        switch facts.node.resolvedStatus(check.key) {
        case .success(let st):
            if st.mode & 0o077 != 0 {
                problems.append("mode 0\(String(st.mode & 0o7777, radix: 8)): group or others may read the CA key")
                commands.append("chmod 0600 \(check.key)")
            }
            if st.uid != 0 {
                problems.append("owned by uid \(st.uid), not root")
                commands.append("chown root:root \(check.key)")
            }
        case .failure(let error): return unavailable(expected, error.description)
        }
        // Only the key's public half is kept; nothing of the private key reaches a message.
        let keys = contents.privateKeys
        guard let first = keys.first else {
            return Outcome(status: .fail, expected: expected, actual: "\(check.key) holds no private key", message: "\(check.key) holds no private key")
        }
        switch first {
        case .failure(let error): problems.append("cannot read the key: \(error.reason)")
        case .success(let publicKey):
            if let ca = try certificate(at: check.certificate, expected: expected) {
                if ca.info.publicKey != publicKey {
                    problems.append("it does not match \(check.certificate): a CA certificate and key from different runs")
                    commands.append("copy ca.pem and ca-key.pem together from the first node, where the CA was made")
                }
            } else {
                problems.append("there is no \(check.certificate) to match it with")
            }
        }
        return Outcome(
            status: problems.isEmpty ? .pass : .fail, expected: expected,
            actual: problems.isEmpty ? "matches, mode 0600 or stricter, root" : problems.joined(separator: "; "), message: problems.first ?? "",
            advice: commands.isEmpty ? nil : commands.joined(separator: "; "))
    }

    func fileLintClean(_ check: FileLintCheck) throws(OutcomeError) -> Outcome {
        let expected = "\(check.path) passes `kcheck lint --kind \(check.kind.rawValue)`"
        let bytes: [UInt8]
        switch facts.node.read(check.path, limit: defaultReadLimit) {
        case .missing: return Outcome(status: .fail, expected: expected, actual: "no \(check.path)", message: "\(check.path) is missing")
        case .unreadable(let why): return unavailable(expected, why)
        case .content(let b): bytes = b
        }
        let findings = Linter.lint(path: check.path, bytes: bytes, kind: check.kind, node: facts.node, inventory: inventory, profile: Profile(name: "", rules: []))
        guard !findings.isEmpty else { return Outcome(status: .pass, expected: expected, actual: "no findings", message: "") }
        let worst: Status = findings.contains { $0.status == .fail } ? .fail : .warn
        return Outcome(
            status: worst, expected: expected, actual: findings.map { "\($0.location): \($0.message)" }.joined(separator: "; "),
            message: findings[0].message, evidence: findings.map(\.location))
    }

    func certificates(_ check: CertificatesCheck) -> Outcome {
        let expected = Check.certificates(check).summary
        let inventory = facts.certificates(check.paths)
        guard !inventory.certificates.isEmpty || !inventory.problems.isEmpty else {
            return Outcome(status: .skip, expected: expected, actual: "no certificates", message: "no certificates under \(check.paths.joined(separator: ", ")) yet")
        }
        let judged = CertificateJudge(now: facts.now, warnDays: check.warnDays, failDays: check.failDays).judge(inventory)
        var failures: [String] = [], warnings: [String] = []
        for j in judged {
            for f in j.findings where f.aspect == check.aspect {
                if f.failing { failures.append("\(j.found.label): \(f.text)") } else { warnings.append("\(j.found.label): \(f.text)") }
            }
        }
        let problems = inventory.problems.map { "\($0.path)\($0.line > 0 ? ":\($0.line)" : ""): \($0.message)" }
        if !failures.isEmpty {
            return Outcome(status: .fail, expected: expected, actual: boundedList(failures + warnings), message: failures[0])
        }
        if !problems.isEmpty {
            return Outcome(status: .error, expected: expected, actual: boundedList(problems), message: "could not check: \(problems[0])")
        }
        if !warnings.isEmpty { return Outcome(status: .warn, expected: expected, actual: boundedList(warnings), message: warnings[0]) }
        return Outcome(status: .pass, expected: expected, actual: "\(judged.count) certificate\(judged.count == 1 ? "" : "s"), none with a finding", message: "")
    }

    func certificateSANs(_ check: SANCheck) throws(OutcomeError) -> Outcome {
        let expected = Check.certificateSANs(check).summary
        guard let inventory else {
            return Outcome(status: .skip, expected: expected, actual: "no inventory", message: "no inventory (pass --env FILE)")
        }
        guard let cert = try certificate(at: check.path, expected: expected) else {
            if check.required { return Outcome(status: .fail, expected: expected, actual: "no \(check.path)", message: "\(check.path) is missing") }
            return Outcome(status: .skip, expected: expected, actual: "no \(check.path)", message: "no \(check.path) yet")
        }
        var wanted: [(value: String, from: String)] = []
        var unset: [String] = []
        for item in check.cover {
            let expansions = Self.expand(item, inventory)
            if expansions.isEmpty { unset.append(item) }
            wanted += expansions
        }
        let info = cert.info
        let missing = wanted.filter { w in
            IPv4(w.value) != nil || w.value.contains(":") ? !info.ipAddresses.contains(w.value) : !info.dnsNames.contains { $0.lowercased() == w.value.lowercased() }
        }
        let sans = info.dnsNames + info.ipAddresses
        var problems = missing.map { w in
            let dotted = info.dnsNames.contains { $0.lowercased() == w.value.lowercased() + "." }
            return (w.from == w.value ? w.value : "\(w.value) (\(w.from))")
                + (dotted ? " — the certificate has it only with a trailing dot, another name to a hostname check (the guide's mistake L1)" : "")
        }
        if !unset.isEmpty { problems.append("the inventory does not set \(unset.joined(separator: ", "))") }
        guard problems.isEmpty else {
            return Outcome(
                status: unset.isEmpty ? .fail : .error, expected: expected, actual: "SANs: \(sans.joined(separator: ", "))",
                message: "\(check.path)'s SANs lack \(problems.joined(separator: ", "))")
        }
        return Outcome(status: .pass, expected: expected, actual: "SANs: \(sans.joined(separator: ", "))", message: "")
    }

    /// `$NAME` or `${NAME}` in `item` replaced by the inventory's NAME (one result per item of an
    /// array); empty when a variable is unset.
    static func expand(_ item: String, _ inventory: Inventory) -> [(value: String, from: String)] {
        guard let dollar = item.firstIndex(of: "$") else { return [(item, item)] }
        var rest = item[item.index(after: dollar)...]
        let braced = rest.first == "{"
        if braced { rest = rest.dropFirst() }
        let name = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
        var after = rest.dropFirst(name.count)
        if braced {
            guard after.first == "}" else { return [] }
            after = after.dropFirst()
        }
        guard !name.isEmpty, let assignment = inventory[name] else { return [] }
        let items = assignment.value.items
        return items.enumerated().flatMap { index, value in
            expand(String(item[..<dollar]) + value + String(after), inventory).map { expanded in
                (expanded.value, items.count > 1 ? "\(name)[\(index)]" : name)
            }
        }
    }
}

extension Evaluator {
    /// Item 49: a component's certificate carries the subject its CSR asks. The apiserver's
    /// Node and RBAC authorizers grant by CN and O (system:kube-controller-manager, system:nodes):
    /// a certificate with another name authenticates, then is denied everything.
    func certificateSubject(_ check: CertificateSubjectCheck) throws(OutcomeError) -> Outcome {
        let expected = "CN=\(check.commonName), O=\(check.organization)"
        guard try componentFlags(check.unit, expected: expected) != nil else { return notInstalled(check.unit, expected) }
        var wanted: [String] = []
        for text in [check.commonName, check.organization] {
            switch resolve(text) {
            case .success(let value): wanted.append(value)
            case .failure(.noInventory): return Outcome(status: .skip, expected: expected, actual: "no inventory", message: Self.noInventory)
            case .failure(let problem): return unavailable(expected, problem.message)
            }
        }
        let expectedHere = "CN=\(wanted[0]), O=\(wanted[1])"
        guard let cert = try certificate(at: check.path, expected: expectedHere) else {
            return Outcome(status: .skip, expected: expectedHere, actual: "no \(check.path)", message: "no \(check.path) yet")
        }
        let subject = cert.info.subject
        let cn = subject.filter { $0.key == "CN" }.map(\.value), o = subject.filter { $0.key == "O" }.map(\.value)
        let actual = "CN=\(cn.joined(separator: "+")), O=\(o.isEmpty ? "none" : o.joined(separator: "+"))"
        var wrong: [String] = []
        if cn != [wanted[0]] { wrong.append("its CN is \(cn.isEmpty ? "missing" : cn.joined(separator: " and ")), not \(wanted[0])") }
        if !o.contains(wanted[1]) { wrong.append("its O is \(o.isEmpty ? "missing" : o.joined(separator: " and ")), not \(wanted[1])") }
        guard !wrong.isEmpty else { return Outcome(status: .pass, expected: expectedHere, actual: actual, message: "") }
        return Outcome(
            status: .fail, expected: expectedHere, actual: actual,
            message: "\(check.path): \(wrong.joined(separator: "; ")). Kubernetes tells components apart by these names (RBAC users and groups, the aggregator's allowed names, etcd's clients): with others a component authenticates and is then refused. Re-issue it from the guide's CSR (CN \(wanted[0]), O \(wanted[1])) with the cluster's CA.")
    }
}

extension Evaluator {
    /// Items 36, 43 and 49: an installed component's TLS files. Each certificate is there (a flag's
    /// file missing keeps the component from starting), issued by the cluster CA, current, and its
    /// key is its own; each CA flag's file holds the cluster CA. Never a key's bytes in a message.
    func componentTLS(_ check: ComponentTLSCheck) throws(OutcomeError) -> Outcome {
        let expected = "\(check.pairs.count) certificate\(check.pairs.count == 1 ? "" : "s") issued by \(check.issuer), current, each with its own key"
        guard let (flags, location) = try componentFlags(check.unit, expected: expected) else { return notInstalled(check.unit, expected) }
        guard let ca = try certificate(at: check.issuer, expected: expected) else {
            return Outcome(status: .fail, expected: expected, actual: "no \(check.issuer)", message: "The cluster CA \(check.issuer) is missing: nothing can be checked against it.")
        }
        var failures: [String] = [], warnings: [String] = [], seen: [String] = []
        var noted = false
        func path(_ ref: ComponentFileRef) -> String? {
            switch ref {
            case .flag(let name):
                guard let value = flags.value(name), value.hasPrefix("/") else {
                    failures.append("\(check.unit) is given no \(ref) (\(location))")
                    return nil
                }
                return value
            case .path(let p): return p
            }
        }
        for pair in check.pairs {
            guard let certPath = path(pair.certificate) else { continue }
            let cert: X509Certificate
            switch facts.certificateFile(certPath) {
            case .missing:
                if case .flag = pair.certificate {
                    failures.append("\(certPath) (\(pair.certificate)) is missing: \(check.unit) fails to start")
                } else if check.absent == .fail {
                    failures.append("\(certPath) is missing")
                } else {
                    warnings.append("\(certPath) is not there yet")
                    noted = true
                }
                continue
            case .unreadable(let why): throw OutcomeError(outcome: unavailable(expected, why))
            case .content(let contents):
                guard case .certificate(let c)? = contents.certificates.first else {
                    failures.append("\(certPath) holds no readable certificate")
                    continue
                }
                cert = c
                // The key: its own file, or the certificate's (kubelet's *-current.pem).
                var keys: [Result<[UInt8], OpenSSLError>]? = contents.privateKeys
                var keyPath = certPath
                if let keyRef = pair.key {
                    guard let p = path(keyRef) else { continue }
                    keyPath = p
                    switch facts.certificateFile(p) {
                    case .missing:
                        failures.append("\(p) (\(keyRef)) is missing")
                        keys = nil
                    case .unreadable(let why): throw OutcomeError(outcome: unavailable(expected, why))
                    case .content(let k): keys = k.privateKeys
                    }
                }
                if let keys {
                    if case .success(let publicKey)? = keys.first {
                        if publicKey != cert.info.publicKey { failures.append("\(keyPath) is not the key of \(certPath): TLS with them fails") }
                    } else {
                        failures.append("\(keyPath) holds no readable private key for \(certPath)")
                    }
                }
            }
            seen.append(certPath)
            if !cert.isIssued(by: ca) {
                failures.append("\(certPath) is not issued by the cluster CA \(check.issuer) (its issuer: \(CertificateJudge.subjectText(cert.info.issuer)))")
            }
            let now = facts.now, info = cert.info
            let daysLeft = Int((info.notAfter - now) / 86_400)
            if info.notBefore > now {
                failures.append("\(certPath) is not valid until \(CertificateJudge.date(info.notBefore)) (is the clock behind?)")
            } else if info.notAfter <= now {
                failures.append("\(certPath) expired on \(CertificateJudge.date(info.notAfter))")
                noted = true
            } else if daysLeft < check.warnDays {
                warnings.append("\(certPath) expires in \(daysLeft) days (on \(CertificateJudge.date(info.notAfter)))")
                noted = true
            }
        }
        for name in check.authorities {
            guard let p = path(.flag(name)) else { continue }
            switch facts.certificateFile(p) {
            case .missing: failures.append("\(p) (--\(name)) is missing: \(check.unit) fails to start")
            case .unreadable(let why): throw OutcomeError(outcome: unavailable(expected, why))
            case .content(let contents):
                let held = contents.certificates.compactMap { if case .certificate(let c) = $0 { c.info.sha256Fingerprint } else { nil } }
                if !held.contains(ca.info.sha256Fingerprint) {
                    failures.append("\(p) (--\(name)) does not hold the cluster CA \(check.issuer): \(check.unit) trusts another CA there")
                }
            }
        }
        let note = noted ? check.note.map { " " + $0 } ?? "" : ""
        let actual = seen.isEmpty ? "no certificate read" : seen.joined(separator: ", ")
        if !failures.isEmpty {
            return Outcome(status: .fail, expected: expected, actual: actual, message: boundedList(failures) + "." + note, evidence: [location])
        }
        if !warnings.isEmpty {
            return Outcome(status: .warn, expected: expected, actual: actual, message: boundedList(warnings) + "." + note, evidence: [location])
        }
        return Outcome(status: .pass, expected: expected, actual: actual, message: "", evidence: [location])
    }
}
