import Foundation
import KCheckCore
import KCheckNative
import Testing

/// A PKI made by the openssl command inside a test: a CA with the guide's subject, and leaves with
/// chosen subjects, usages, SANs and dates, in a node tree's /etc/kubernetes/cert.
final class TestPKI {
    let tree: TemporaryDirectory
    let dir: String
    let work: TemporaryDirectory
    static let guideSubject = "/C=CN/ST=BeiJing/L=BeiJing/O=k8s/OU=opsnull/CN=kubernetes-ca"

    init() throws {
        tree = try TemporaryDirectory()
        try tree.mkdir("etc/kubernetes/cert")
        dir = tree.path + "/etc/kubernetes/cert"
        work = try TemporaryDirectory()
    }

    @discardableResult
    func openssl(_ arguments: [String]) throws -> String {
        let r = try run("/usr/bin/openssl", arguments)
        guard r.status == 0 else { throw TestFailure("openssl \(arguments.joined(separator: " ")): \(r.stderr)") }
        return r.stdout
    }

    /// A self-signed CA: `name.pem` and `name-key.pem` in `directory` (default: the cert dir).
    func makeCA(_ name: String = "ca", subject: String = guideSubject, days: Int = 36500, in directory: String? = nil) throws {
        let d = directory ?? dir
        try openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(d)/\(name)-key.pem", "-out", "\(d)/\(name).pem",
            "-days", String(days), "-subj", subject, "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
    }

    /// A leaf signed by CA `ca` (files in `caDirectory`), with `openssl ca` so that dates are exact.
    func makeLeaf(
        _ name: String, cn: String, usages: String = "serverAuth,clientAuth", sans: String? = nil, days: Int = 3650,
        start: String? = nil, end: String? = nil, ca: String = "ca", caDirectory: String? = nil, key: [String] = ["rsa:2048"]
    ) throws {
        let caDir = caDirectory ?? dir
        let w = work.path
        let db = w + "/db-\(name)"
        try FileManager.default.createDirectory(atPath: db, withIntermediateDirectories: true)
        try "".write(toFile: db + "/index.txt", atomically: false, encoding: .utf8)
        let config = """
            [ca]
            default_ca = kcheck
            [kcheck]
            database = \(db)/index.txt
            new_certs_dir = \(db)
            rand_serial = yes
            default_md = sha256
            policy = anything
            unique_subject = no
            copy_extensions = none
            [anything]
            countryName = optional
            stateOrProvinceName = optional
            localityName = optional
            organizationName = optional
            organizationalUnitName = optional
            commonName = supplied
            [leaf]
            basicConstraints = CA:FALSE
            keyUsage = critical,digitalSignature,keyEncipherment
            extendedKeyUsage = \(usages)
            \(sans.map { "subjectAltName = \($0)" } ?? "")
            """
        try config.write(toFile: db + "/ca.cnf", atomically: false, encoding: .utf8)
        try openssl([
            "req", "-newkey"] + key + ["-nodes", "-keyout", "\(dir)/\(name)-key.pem", "-out", "\(db)/\(name).csr",
            "-subj", "/C=CN/ST=BeiJing/L=BeiJing/O=k8s/OU=opsnull/CN=\(cn)",
        ])
        var args = [
            "ca", "-batch", "-notext", "-config", db + "/ca.cnf", "-extensions", "leaf", "-cert", "\(caDir)/\(ca).pem",
            "-keyfile", "\(caDir)/\(ca)-key.pem", "-in", "\(db)/\(name).csr", "-out", "\(dir)/\(name).pem",
        ]
        if let start, let end { args += ["-startdate", start, "-enddate", end] } else { args += ["-days", String(days)] }
        try openssl(args)
    }

    func scan(_ paths: [String] = CertificateInventory.defaultPaths, now: Int64 = Int64(Date().timeIntervalSince1970)) -> [Report.Entry] {
        let inventory = CertificateInventory.scan(paths, on: TreeNode(root: tree.path), required: paths != CertificateInventory.defaultPaths)
        return CertificateJudge(now: now).entries(inventory)
    }

    static func entry(_ entries: [Report.Entry], _ id: String) -> Report.Entry? { entries.first { $0.subject.id == id } }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

@Suite("Certificates, made by openssl in the test")
struct CertificateTests {
    let c = "/etc/kubernetes/cert/"

    @Test func guideCAandLeavesPassWithEveryFieldAsOpenSSLReadsIt() throws {
        let pki = try TestPKI()
        try pki.makeCA()
        try pki.makeLeaf("etcd", cn: "etcd", sans: "IP:127.0.0.1,IP:192.168.7.200,DNS:etcd.local,IP:fd00::1")
        try pki.makeLeaf("admin", cn: "admin", usages: "clientAuth")
        let entries = pki.scan()
        #expect(entries.count == 3)
        for e in entries { #expect(e.result.status == .pass, "\(e.subject.id): \(e.result.actual)") }

        let ca = try #require(TestPKI.entry(entries, c + "ca.pem")?.certificate)
        #expect(ca.info.subject.map { "\($0.key)=\($0.value)" } == ["C=CN", "ST=BeiJing", "L=BeiJing", "O=k8s", "OU=opsnull", "CN=kubernetes-ca"])
        #expect(ca.info.isCA == true && ca.info.keyUsage == ["keyCertSign", "cRLSign"] && ca.role == .authority)
        #expect(ca.keyFile == c + "ca-key.pem" && ca.issuerFile == c + "ca.pem")
        // 100 years: GeneralizedTime, exact to the second as openssl prints it.
        let enddate = try pki.openssl(["x509", "-in", pki.dir + "/ca.pem", "-noout", "-enddate", "-serial", "-fingerprint", "-sha256"])
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy 'GMT'"
        let notAfterText = try #require(enddate.split(separator: "\n").first { $0.hasPrefix("notAfter=") }).dropFirst(9)
            .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        let notAfter = try #require(formatter.date(from: notAfterText))
        #expect(ca.info.notAfter == Int64(notAfter.timeIntervalSince1970))
        #expect(Posix.utcCalendar(ca.info.notAfter).year >= 2125)
        #expect(enddate.contains("serial=\(ca.info.serial)\n"))
        #expect(enddate.contains("sha256 Fingerprint=\(ca.info.sha256Fingerprint)\n"))

        let etcd = try #require(TestPKI.entry(entries, c + "etcd.pem")?.certificate)
        #expect(etcd.info.ipAddresses == ["127.0.0.1", "192.168.7.200", "fd00::1"])
        #expect(etcd.info.dnsNames == ["etcd.local"])
        #expect(etcd.info.extendedKeyUsage == ["serverAuth", "clientAuth"] && etcd.role == .peer)
        #expect(etcd.info.keyAlgorithm == "RSA" && etcd.info.keyBits == 2048 && etcd.info.isCA == false)
        #expect(etcd.issuerFile == c + "ca.pem" && etcd.keyFile == c + "etcd-key.pem")
    }

    @Test func expiredAndNotYetValidFail() throws {
        let pki = try TestPKI()
        try pki.makeCA()
        try pki.makeLeaf("admin", cn: "admin", usages: "clientAuth", start: "20200101000000Z", end: "20210101000000Z")
        try pki.makeLeaf("kube-proxy", cn: "system:kube-proxy", usages: "clientAuth", start: "20990101000000Z", end: "21000101000000Z")
        let entries = pki.scan()
        let expired = try #require(TestPKI.entry(entries, c + "admin.pem"))
        #expect(expired.result.status == .fail)
        #expect(expired.result.actual.contains("expired on 2021-01-01 00:00:00 UTC"), "\(expired.result.actual)")
        let future = try #require(TestPKI.entry(entries, c + "kube-proxy.pem"))
        #expect(future.result.status == .fail)
        #expect(future.result.actual.contains("not valid until 2099-01-01 00:00:00 UTC"), "\(future.result.actual)")
    }

    @Test func daysLeftWarnsThenFailsAndALeafOutlivingItsCAWarns() throws {
        let pki = try TestPKI()
        try pki.makeCA(days: 100)
        try pki.makeLeaf("admin", cn: "admin", usages: "clientAuth", days: 20)
        try pki.makeLeaf("kube-proxy", cn: "kube-proxy", usages: "clientAuth", days: 3)
        try pki.makeLeaf("etcd", cn: "etcd", days: 200)
        let entries = pki.scan()
        #expect(TestPKI.entry(entries, c + "admin.pem")?.result.status == .warn)
        // 20 days from when openssl signed it: 19 whole days left a moment later (20 within the same second).
        let admin = TestPKI.entry(entries, c + "admin.pem")?.result.actual ?? ""
        #expect(admin.contains("expires in 19 days") || admin.contains("expires in 20 days"), "\(admin)")
        #expect(TestPKI.entry(entries, c + "kube-proxy.pem")?.result.status == .fail)
        let etcd = try #require(TestPKI.entry(entries, c + "etcd.pem"))
        #expect(etcd.result.status == .warn && etcd.result.actual.contains("outlives its CA \(c)ca.pem"), "\(etcd.result.actual)")
    }

    @Test func sameSubjectNamesBothFiles() throws {
        let pki = try TestPKI()
        try pki.makeCA()
        try pki.makeLeaf("admin", cn: "admin", usages: "clientAuth")
        try pki.makeLeaf("flanneld", cn: "admin", usages: "clientAuth")
        let entries = pki.scan()
        #expect(TestPKI.entry(entries, c + "admin.pem")?.result.actual.contains("same subject as \(c)flanneld.pem") == true)
        #expect(TestPKI.entry(entries, c + "flanneld.pem")?.result.actual.contains("same subject as \(c)admin.pem") == true)
    }

    @Test func aLeafOfAnotherCAWithTheSameNameDoesNotVerify() throws {
        let pki = try TestPKI()
        try pki.makeCA()
        let other = try TemporaryDirectory()
        try pki.makeCA(in: other.path)  // same subject, different key
        try pki.makeLeaf("etcd", cn: "etcd", caDirectory: other.path)
        try pki.makeCA("other-ca", subject: "/CN=someone-else", in: other.path)
        try pki.makeLeaf("admin", cn: "admin", usages: "clientAuth", ca: "other-ca", caDirectory: other.path)
        let entries = pki.scan()
        let etcd = try #require(TestPKI.entry(entries, c + "etcd.pem"))
        #expect(etcd.result.status == .fail && etcd.result.actual.contains("does not verify to \(c)ca.pem"), "\(etcd.result.actual)")
        let admin = try #require(TestPKI.entry(entries, c + "admin.pem"))
        #expect(admin.result.status == .warn && admin.result.actual.contains("not among the certificates scanned"))
    }


    /// Files are parsed in batches of 512 on every core, and a leaf's issuer is verified as soon as
    /// both are parsed: 700 leaves scanned before their CA (its file sorts last, two batches later)
    /// and one CA of the same name that signed none of them must still all be judged right.
    @Test func issuersFoundAcrossBatchesWhateverTheOrder() throws {
        let pki = try TestPKI()
        let other = try TemporaryDirectory()
        try pki.makeCA("zz-ca", in: other.path)
        try pki.makeLeaf("etcd", cn: "etcd", ca: "zz-ca", caDirectory: other.path)
        try pki.makeCA("aa-impostor")  // the guide's subject too, another key: sorts first, verifies nothing
        let leaf = try Data(contentsOf: URL(fileURLWithPath: pki.dir + "/etcd.pem"))
        for i in 0..<700 { try leaf.write(to: URL(fileURLWithPath: pki.dir + "/leaf-\(String(format: "%03d", i)).pem")) }
        try FileManager.default.copyItem(atPath: other.path + "/zz-ca.pem", toPath: pki.dir + "/zz-ca.pem")
        let entries = pki.scan()
        let leaves = entries.filter { $0.subject.id.contains("/leaf-") }
        #expect(leaves.count == 700)
        let unverified = leaves.filter { $0.certificate?.issuerFile != c + "zz-ca.pem" || $0.result.status != .pass }
        let unverifiedCount = unverified.count
        #expect(unverifiedCount == 0, "\(unverified.prefix(3).map { "\($0.subject.id): \($0.certificate?.issuerFile ?? "none") \($0.result.actual)" })")
        // Two CAs share the guide's subject: each fails as a duplicate, naming the other.
        #expect(TestPKI.entry(entries, c + "zz-ca.pem")?.result.actual.contains("same subject as \(c)aa-impostor.pem") == true)
    }
    @Test func aKeyBesideTheWrongCertificateFails() throws {
        let pki = try TestPKI()
        try pki.makeCA()
        try pki.makeLeaf("admin", cn: "admin", usages: "clientAuth")
        try pki.makeLeaf("kube-proxy", cn: "kube-proxy", usages: "clientAuth")
        // Swap the keys.
        let fm = FileManager.default
        try fm.moveItem(atPath: pki.dir + "/admin-key.pem", toPath: pki.dir + "/tmp-key.pem")
        try fm.moveItem(atPath: pki.dir + "/kube-proxy-key.pem", toPath: pki.dir + "/admin-key.pem")
        try fm.moveItem(atPath: pki.dir + "/tmp-key.pem", toPath: pki.dir + "/kube-proxy-key.pem")
        let admin = try #require(TestPKI.entry(pki.scan(), c + "admin.pem"))
        #expect(admin.result.status == .fail)
        #expect(admin.result.actual.contains("\(c)admin-key.pem does not match this certificate (\(c)kube-proxy-key.pem does)"), "\(admin.result.actual)")
    }

    @Test func usageMustFitTheRole() throws {
        let pki = try TestPKI()
        try pki.makeCA()
        try pki.makeLeaf("etcd", cn: "etcd", usages: "clientAuth")
        try pki.makeLeaf("admin", cn: "admin", usages: "serverAuth")
        let entries = pki.scan()
        #expect(TestPKI.entry(entries, c + "etcd.pem")?.result.actual.contains("without serverAuth") == true)
        #expect(TestPKI.entry(entries, c + "admin.pem")?.result.actual.contains("a client certificate without clientAuth") == true)
    }

    @Test func badFilesGetAnErrorAndTheScanGoesOn() throws {
        let pki = try TestPKI()
        try pki.makeCA()
        try pki.makeLeaf("etcd", cn: "etcd")
        let etcd = try String(contentsOfFile: pki.dir + "/etcd.pem", encoding: .utf8)
        let ca = try String(contentsOfFile: pki.dir + "/ca.pem", encoding: .utf8)
        try pki.tree.write("etc/kubernetes/cert/garbage.pem", "this is not a certificate\n")
        try pki.tree.write("etc/kubernetes/cert/truncated.pem", String(etcd.prefix(300)))
        try pki.tree.write("etc/kubernetes/cert/bad-base64.pem", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")
        try pki.tree.write("etc/kubernetes/cert/bundle.crt", ca + "\n" + etcd)
        try pki.tree.write("etc/kubernetes/cert/notes.json", "{\"not\": \"a certificate\"}\n")
        try pki.openssl(["x509", "-in", pki.dir + "/etcd.pem", "-outform", "DER", "-out", pki.dir + "/etcd.der"])
        let entries = pki.scan()
        #expect(TestPKI.entry(entries, c + "garbage.pem")?.result.status == .error)
        #expect(TestPKI.entry(entries, c + "garbage.pem")?.result.actual == "neither a PEM file nor a DER certificate")
        #expect(TestPKI.entry(entries, c + "truncated.pem:1")?.result.actual.contains("truncated PEM: BEGIN CERTIFICATE has no END line") == true)
        #expect(TestPKI.entry(entries, c + "bad-base64.pem:1")?.result.status == .error)
        #expect(TestPKI.entry(entries, c + "notes.json") == nil)
        #expect(TestPKI.entry(entries, c + "bundle.crt#1")?.certificate?.info.isCA == true)
        #expect(TestPKI.entry(entries, c + "bundle.crt#2")?.certificate?.info.subject.last?.value == "etcd")
        #expect(TestPKI.entry(entries, c + "etcd.der")?.certificate?.info.ipAddresses == [])
        // The good ones are still judged; identical copies are not "same subject".
        #expect(TestPKI.entry(entries, c + "etcd.pem")?.result.status == .pass)
        #expect(TestPKI.entry(entries, c + "etcd.der")?.result.status == .pass)
    }

    @Test func ecKeysAndWeakRSAKeys() throws {
        let pki = try TestPKI()
        try pki.makeCA()
        try pki.makeLeaf("etcd", cn: "etcd", sans: "IP:127.0.0.1", key: ["ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        try pki.makeLeaf("admin", cn: "admin", usages: "clientAuth", key: ["rsa:1024"])
        let entries = pki.scan()
        let etcd = try #require(TestPKI.entry(entries, c + "etcd.pem"))
        #expect(etcd.result.status == .pass, "\(etcd.result.actual)")
        #expect(etcd.certificate?.info.keyAlgorithm == "EC" && etcd.certificate?.info.keyBits == 256 && etcd.certificate?.info.curve == "prime256v1")
        #expect(etcd.certificate?.keyFile == c + "etcd-key.pem")
        let admin = try #require(TestPKI.entry(entries, c + "admin.pem"))
        #expect(admin.result.status == .fail && admin.result.actual.contains("RSA key of 1024 bits"))
    }

    @Test func cliExitCodesReportsAndNoKeyMaterial() throws {
        let pki = try TestPKI()
        try pki.makeCA()
        try pki.makeLeaf("etcd", cn: "etcd", sans: "IP:127.0.0.1")
        try pki.openssl(["genpkey", "-algorithm", "RSA", "-aes256", "-pass", "pass:secret", "-out", pki.dir + "/locked-key.pem"])
        let pass = try kcheck("certs", "--root", pki.tree.path, "--color", "never", pki.dir.replacingOccurrences(of: pki.tree.path, with: "") + "/etcd.pem", "/etc/kubernetes/cert/ca.pem")
        #expect(pass.status == 0, "\(pass.stdout)\(pass.stderr)")
        let all = try kcheck("certs", "--root", pki.tree.path, "--color", "never")
        #expect(all.status == 1)  // the encrypted key cannot be read: an error, never a prompt
        #expect(all.stdout.contains("encrypted (kcheck never asks for a passphrase)"))
        let json = try kcheck("certs", "--root", pki.tree.path, "--format", "json", "--fail-on", "fail")
        #expect(json.status == 0)
        let validation = try validateReportJSON(json.stdout)
        #expect(validation.status == 0, "\(validation.stderr)")
        let junit = try kcheck("certs", "--root", pki.tree.path, "--format", "junit")
        #expect(try validateJUnit(junit.stdout).status == 0)
        // No line of any key file appears in any output.
        for keyFile in ["ca-key.pem", "etcd-key.pem", "locked-key.pem"] {
            let key = try String(contentsOfFile: pki.dir + "/" + keyFile, encoding: .utf8)
            for line in key.split(separator: "\n") where !line.hasPrefix("-----") {
                for output in [pass.stdout, all.stdout, json.stdout, junit.stdout] { #expect(!output.contains(line)) }
            }
        }
        let missing = try kcheck("certs", "--root", pki.tree.path, "/etc/nope.pem")
        #expect(missing.status == 1 && missing.stdout.contains("/etc/nope.pem"))
        let bad = try kcheck("certs", "--warn-days", "3", "--fail-days", "7")
        #expect(bad.status == 2)
    }
}

/// Symlink loops under the certificate directory (`ln -s . loop`, several of them) end the scan at
/// once with the loops named, instead of walking 8 levels of every combination.
@Suite("Certificate scans and symlink loops")
struct CertificateLoopTests {
    @Test func loopsAreNamedNotWalked() throws {
        let (dir, root) = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(dir) {} }
        for name in ["loop1", "loop2", "loop3", "loop4", "loop5"] {
            try FileManager.default.createSymbolicLink(atPath: root + "/etc/kubernetes/cert/" + name, withDestinationPath: ".")
        }
        let r = try kcheck("certs", "--root", root, "/etc/kubernetes/cert", "--format", "json")
        #expect(r.status == 0 || r.status == 1, "\(r.status) \(r.stderr)")
        #expect(r.stdout.contains("loop3") && r.stdout.contains("a symlink to a directory"), "\(r.stdout.prefix(400))")
        let p = try kcheck("preflight", "--root", root, "--only", "pki.certificates-valid")
        #expect(p.status == 0 || p.status == 1, "\(p.stderr)")
    }
}

/// A ca-csr.json that is binary or not a JSON object says nothing of the CA's subject: the CA rule
/// is an error naming the file and the place, never a pass.
@Suite("A broken ca-csr.json")
struct BrokenCSRTests {
    @Test(arguments: [[UInt8](repeating: 0xFF, count: 64) + [0, 1, 2], Array("5\n".utf8), Array("{\"CN\": \"kubernetes-ca\"".utf8)])
    func theCARuleIsAnErrorNamingTheFile(bytes: [UInt8]) throws {
        let (dir, root) = try copyOfFixture("centos7-prepared")
        defer { withExtendedLifetime(dir) {} }
        FileManager.default.createFile(atPath: root + "/opt/k8s/work/ca-csr.json", contents: Data(bytes))
        let r = try kcheck("preflight", "--root", root, "--only", "pki.ca-certificate", "--format", "json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
        let result = try #require((object["results"] as? [[String: Any]])?.first)
        #expect(result["status"] as? String == "error", "\(result)")
        #expect((result["message"] as? String)?.contains("/opt/k8s/work/ca-csr.json:") == true, "\(result)")
    }
}
