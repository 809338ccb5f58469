import KCheckNative

/// The facts of a node that are not files (is systemd running, which units are active, the
/// clock's state, installed packages), kept in one file inside a node tree: `.kcheck/facts`.
/// The format is documented in docs/node-tree.md; a snapshot of a remote node writes the same.
public struct FactsFile: Equatable, Sendable {
    /// Two facts files are equal when they say the same: their text, which is canonical.
    public static func == (a: FactsFile, b: FactsFile) -> Bool { a.rendered() == b.rendered() }

    public static let path = "/.kcheck/facts"
    public static let formatVersion = 1

    public var systemdRunning: Bool?
    public var units: [String: String] = [:]
    public var clock: KernelClockStateRecord?
    public var packages: Set<String>?
    public var addresses: [InterfaceAddress]?
    /// The packet filter's chains; empty when the node has none (`chains none`).
    public var firewall: [FirewallChain]?
    /// What binaries' bytes said of their versions (`binary` lines): a snapshot holds this
    /// instead of the binaries.
    public var binaries: [String: BinaryFact] = [:]
    /// Permission bits and owner of files, by path: what a checkout of a tree cannot keep.
    public var owners: [String: FileOwner] = [:]
    /// Files that exist on the node but could not be read, with the reason (a recording keeps
    /// the reason, so the snapshot is judged as the node was).
    public var unreadable: [String: String] = [:]
    /// Facts the node could not give, with the reason: `units`, `clock`, `packages`, `addresses`,
    /// `firewall`.
    public var unavailable: [String: String] = [:]
    /// SHA-256 of a file's bytes on the node, where the snapshot holds a redacted copy
    /// (environment.sh's secrets, private keys): what comparing nodes needs of the original.
    public var digests: [String: String] = [:]
    static let factKinds = ["units", "clock", "packages", "addresses", "firewall"]
    /// A node recorded over SSH: its clock minus the recording machine's, and the uncertainty
    /// (half the call), so that saved snapshots can be compared for time too.
    public var clockOffset: (seconds: Double, uncertainty: Double)?
    /// On the inventory's first node: root's SSH to each address, "ok" or ssh's reason (item 3).
    public var sshProbes: [(address: String, result: String)] = []
    /// The tree is a recording (a snapshot): its private keys are stand-ins.
    public var recorded = false

    /// A path in a facts line: bytes that would end or split the line (controls, space, `%`)
    /// as %XX.
    static func escape(_ path: String) -> String {
        var out = ""
        for byte in path.utf8 {
            if byte <= 0x20 || byte == 0x25 || byte == 0x7F {
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            } else {
                out.unicodeScalars.append(contentsOf: String(decoding: [byte], as: UTF8.self).unicodeScalars)
            }
        }
        return String(decoding: Array(out.utf8), as: UTF8.self)
    }

    /// A chain's `chain …` line.
    static func chainLine(_ c: FirewallChain) -> String {
        "chain \(c.backend.rawValue) \(c.family) \(escape(c.table)) \(escape(c.name)) \(c.hook ?? "-") \(c.policy ?? "-") \(c.rules)"
    }

    static func unescape(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var rest = Array(text.utf8)[...]
        while let byte = rest.first {
            rest = rest.dropFirst()
            guard byte == 0x25 else {
                bytes.append(byte)
                continue
            }
            guard rest.count >= 2, let value = UInt8(String(decoding: rest.prefix(2), as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
            rest = rest.dropFirst(2)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public init() {}

    public static func parse(_ bytes: [UInt8]) throws(SourceError) -> FactsFile {
        var facts = FactsFile()
        var sawFormat = false
        var lineNumber = 0
        for rawLine in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = String(decoding: rawLine, as: UTF8.self)
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = fields.first, !keyword.hasPrefix("#") else { continue }
            func column(ofField index: Int) -> Int {
                var seen = 0
                var inField = false
                for (offset, ch) in line.enumerated() {
                    let blank = ch == " " || ch == "\t"
                    if !blank && !inField {
                        if seen == index { return offset + 1 }
                        seen += 1
                    }
                    inField = !blank
                }
                return line.count + 1
            }
            func fail(_ field: Int, _ message: String) -> SourceError {
                SourceError(file: path, line: lineNumber, column: column(ofField: field), message: message)
            }
            func expectCount(_ n: Int, _ usage: String) throws(SourceError) {
                if fields.count != n { throw fail(min(fields.count, n), "expected `\(usage)`") }
            }
            switch keyword {
            case "format":
                try expectCount(2, "format 1")
                guard fields[1] == String(formatVersion) else {
                    throw fail(1, "unsupported facts format \(fields[1]) (this kcheck reads format \(formatVersion))")
                }
                sawFormat = true
            case "systemd":
                try expectCount(2, "systemd running|absent")
                switch fields[1] {
                case "running": facts.systemdRunning = true
                case "absent": facts.systemdRunning = false
                default: throw fail(1, "expected `running` or `absent`, found `\(fields[1])`")
                }
            case "unit":
                try expectCount(3, "unit NAME ACTIVE_STATE")
                facts.units[fields[1]] = fields[2]
            case "clock":
                var record = KernelClockStateRecord(maxErrorMicroseconds: nil, status: nil)
                for (index, field) in fields.enumerated().dropFirst() {
                    let pair = field.split(separator: "=", maxSplits: 1).map(String.init)
                    guard pair.count == 2, let value = Int(pair[1]) else {
                        throw fail(index, "expected NAME=INTEGER, found `\(field)`")
                    }
                    switch pair[0] {
                    case "maxerror_us": record.maxErrorMicroseconds = value
                    case "esterror_us": record.estimatedErrorMicroseconds = value
                    case "status":
                        guard let status = Int32(exactly: value) else { throw fail(index, "status \(value) is out of range") }
                        record.status = status
                    default: throw fail(index, "unknown clock field `\(pair[0])` (known: maxerror_us, esterror_us, status)")
                    }
                }
                guard record.maxErrorMicroseconds != nil, record.status != nil else {
                    throw fail(0, "clock needs maxerror_us=N and status=N")
                }
                facts.clock = record
            case "package":
                try expectCount(2, "package NAME")
                facts.packages = facts.packages ?? []  // inserted in place: a union per line copied the set (quadratic)
                facts.packages!.insert(fields[1])
            case "address":
                try expectCount(3, "address INTERFACE A.B.C.D/PREFIX")
                let parts = fields[2].split(separator: "/").map(String.init)
                guard parts.count == 2, IPv4(parts[0]) != nil, let prefix = Int(parts[1]), (0...32).contains(prefix) else {
                    throw fail(2, "expected an IPv4 address with its prefix length, as 192.168.7.200/24, found `\(fields[2])`")
                }
                facts.addresses = facts.addresses ?? []  // appended in place: copying the list per line was quadratic
                facts.addresses!.append(InterfaceAddress(interface: fields[1], address: parts[0], prefix: prefix))
            case "chain":
                try expectCount(8, "chain BACKEND FAMILY TABLE NAME HOOK|- POLICY|- RULES")
                guard let backend = FirewallChain.Backend(rawValue: fields[1]) else {
                    throw fail(1, "expected `legacy` or `nftables`, found `\(fields[1])`")
                }
                guard let table = unescape(fields[3]), let name = unescape(fields[4]) else { throw fail(3, "a bad %XX escape") }
                let hook = fields[5] == "-" ? nil : fields[5], policy = fields[6] == "-" ? nil : fields[6]
                guard (hook == nil) == (policy == nil) else { throw fail(5, "a base chain has both a hook and a policy, a jumped-to chain neither") }
                guard let rules = Int(fields[7]), rules >= 0, rules <= 100_000_000 else { throw fail(7, "expected a number of rules, found `\(fields[7])`") }
                facts.firewall = facts.firewall ?? []  // appended in place, as addresses
                facts.firewall!.append(
                    FirewallChain(backend: backend, family: fields[2], table: table, name: name, hook: hook, policy: policy, rules: rules))
            case "chains":
                try expectCount(2, "chains none")
                guard fields[1] == "none" else { throw fail(1, "expected `none`, found `\(fields[1])`") }
                facts.firewall = facts.firewall ?? []
            case "owner":
                try expectCount(5, "owner PATH MODE UID GID")
                guard fields[1].hasPrefix("/"), let ownerPath = unescape(fields[1]) else { throw fail(1, "expected an absolute path on the node, found `\(fields[1])`") }
                guard let mode = UInt32(fields[2], radix: 8), mode <= 0o7777 else { throw fail(2, "expected octal permission bits, as 0600, found `\(fields[2])`") }
                guard let uid = UInt32(fields[3]) else { throw fail(3, "expected a numeric uid, found `\(fields[3])`") }
                guard let gid = UInt32(fields[4]) else { throw fail(4, "expected a numeric gid, found `\(fields[4])`") }
                facts.owners[ownerPath] = FileOwner(permissions: mode, uid: uid, gid: gid)
            case "binary":
                guard fields.count >= 4 else { throw fail(0, "expected `binary PATH FORMAT GO|- NEEDLE=yes|no…` or `binary PATH unavailable REASON`") }
                guard fields[1].hasPrefix("/"), let binaryPath = unescape(fields[1]) else { throw fail(1, "expected an absolute path on the node, found `\(fields[1])`") }
                if fields[2] == "unavailable" {
                    facts.binaries[binaryPath] = .unavailable(fields[3...].joined(separator: " "))
                    break
                }
                guard ["elf64", "elf32", "notELF"].contains(fields[2]) else { throw fail(2, "expected elf64, elf32, notELF or unavailable, found `\(fields[2])`") }
                var needles: [String: Bool] = [:]
                for (i, field) in fields.enumerated().dropFirst(4) {
                    guard let eq = field.lastIndex(of: "="), let needle = unescape(String(field[..<eq])), ["yes", "no"].contains(field[field.index(after: eq)...]) else {
                        throw fail(i, "expected NEEDLE=yes or NEEDLE=no, found `\(field)`")
                    }
                    needles[needle] = field.hasSuffix("=yes")
                }
                facts.binaries[binaryPath] = .scanned(BinaryFingerprint(format: fields[2], goVersion: fields[3] == "-" ? nil : fields[3], needles: needles))
            case "recorded":
                try expectCount(1, "recorded")
                facts.recorded = true
            case "clock_offset":
                try expectCount(3, "clock_offset SECONDS UNCERTAINTY")
                guard let offset = Double(fields[1]), offset.isFinite, abs(offset) < 1e12 else { throw fail(1, "expected a number of seconds") }
                guard let uncertainty = Double(fields[2]), uncertainty.isFinite, uncertainty >= 0, uncertainty < 1e6 else {
                    throw fail(2, "expected a number of seconds, 0 or more")
                }
                facts.clockOffset = (offset, uncertainty)
            case "ssh_probe":
                guard fields.count >= 3 else { throw fail(min(fields.count, 1), "expected `ssh_probe ADDRESS ok|REASON`") }
                facts.sshProbes.append((fields[1], fields[2...].joined(separator: " ")))
            case "unreadable":
                guard fields.count >= 3, fields[1].hasPrefix("/"), let unreadablePath = unescape(fields[1]) else {
                    throw fail(min(fields.count, 1), "expected `unreadable PATH REASON`")
                }
                facts.unreadable[unreadablePath] = fields[2...].joined(separator: " ")
            case "unavailable":
                guard fields.count >= 3, factKinds.contains(fields[1]) else {
                    throw fail(min(fields.count, 1), "expected `unavailable \(factKinds.joined(separator: "|")) REASON`")
                }
                facts.unavailable[fields[1]] = fields[2...].joined(separator: " ")
            case "digest":
                try expectCount(3, "digest PATH SHA256")
                guard fields[1].hasPrefix("/"), let digestPath = unescape(fields[1]) else { throw fail(1, "expected an absolute path on the node, found `\(fields[1])`") }
                guard fields[2].utf8.count == 64, fields[2].utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
                    throw fail(2, "expected 64 lowercase hex digits")
                }
                facts.digests[digestPath] = fields[2]
            default:
                throw fail(0, "unknown fact `\(keyword)` (known: format, systemd, unit, clock, package, address, chain, chains, binary, owner, unreadable, unavailable, digest, clock_offset, ssh_probe, recorded)")
            }
        }
        if !sawFormat && lineNumber > 0 && !facts.isEmpty {
            throw SourceError(file: path, line: 1, column: 1, message: "missing `format \(formatVersion)` line")
        }
        return facts
    }

    var isEmpty: Bool {
        systemdRunning == nil && units.isEmpty && clock == nil && packages == nil && addresses == nil && firewall == nil && owners.isEmpty
            && binaries.isEmpty
            && unreadable.isEmpty && unavailable.isEmpty && digests.isEmpty && clockOffset == nil && sshProbes.isEmpty && !recorded
    }

    /// The file's text for these facts.
    public func rendered() -> String {
        var lines = ["# kcheck node facts (docs/node-tree.md)", "format \(Self.formatVersion)"]
        if let systemdRunning { lines.append("systemd \(systemdRunning ? "running" : "absent")") }
        for (unit, state) in units.sorted(by: { $0.key < $1.key }) { lines.append("unit \(unit) \(state)") }
        if let clock, let maxError = clock.maxErrorMicroseconds, let status = clock.status {
            let estimated = clock.estimatedErrorMicroseconds.map { " esterror_us=\($0)" } ?? ""
            lines.append("clock maxerror_us=\(maxError)\(estimated) status=\(status)")
        }
        for name in (packages ?? []).sorted() { lines.append("package \(name)") }
        for a in addresses ?? [] { lines.append("address \(a.interface) \(a.address)/\(a.prefix)") }
        if let firewall {
            if firewall.isEmpty { lines.append("chains none") }
            for c in firewall { lines.append(Self.chainLine(c)) }
        }
        func oneLine(_ text: String) -> String { text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ") }
        for (path, fact) in binaries.sorted(by: { $0.key < $1.key }) {
            switch fact {
            case .missing: continue
            case .unavailable(let why): lines.append("binary \(Self.escape(path)) unavailable \(oneLine(why))")
            case .scanned(let f):
                let needles = f.needles.sorted { $0.key < $1.key }.map { "\(Self.escape($0.key))=\($0.value ? "yes" : "no")" }
                lines.append((["binary", Self.escape(path), f.format, f.goVersion.map(Self.escape) ?? "-"] + needles).joined(separator: " "))
            }
        }
        for (path, o) in owners.sorted(by: { $0.key < $1.key }) {
            lines.append("owner \(Self.escape(path)) 0\(String(o.permissions, radix: 8)) \(o.uid) \(o.gid)")
        }
        for (path, why) in unreadable.sorted(by: { $0.key < $1.key }) { lines.append("unreadable \(Self.escape(path)) \(oneLine(why))") }
        for (kind, why) in unavailable.sorted(by: { $0.key < $1.key }) { lines.append("unavailable \(kind) \(oneLine(why))") }
        for (path, digest) in digests.sorted(by: { $0.key < $1.key }) { lines.append("digest \(Self.escape(path)) \(digest)") }
        if recorded { lines.append("recorded") }
        if let clockOffset { lines.append("clock_offset \(clockOffset.seconds) \(clockOffset.uncertainty)") }
        for probe in sshProbes { lines.append("ssh_probe \(probe.address) \(oneLine(probe.result))") }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A file's permission bits and owner, as a facts file records them.
public struct FileOwner: Equatable, Sendable {
    public let permissions: UInt32
    public let uid: UInt32
    public let gid: UInt32

    public init(permissions: UInt32, uid: UInt32, gid: UInt32) {
        self.permissions = permissions
        self.uid = uid
        self.gid = gid
    }
}

/// The clock fields a facts file records.
public struct KernelClockStateRecord: Equatable, Sendable {
    public var maxErrorMicroseconds: Int?
    public var estimatedErrorMicroseconds: Int?
    public var status: Int32?

    public init(maxErrorMicroseconds: Int?, estimatedErrorMicroseconds: Int? = nil, status: Int32?) {
        self.maxErrorMicroseconds = maxErrorMicroseconds
        self.estimatedErrorMicroseconds = estimatedErrorMicroseconds
        self.status = status
    }
}
