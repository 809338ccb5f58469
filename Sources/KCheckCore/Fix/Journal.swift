import KCheckNative

/// What was on a node before `kcheck fix` changed it: enough to put it back. Each record is
/// written (and synced) before the change it covers is made.
public enum JournalRecord: Equatable, Sendable {
    /// A path as it was: a file's bytes (kept in the run's `files/` directory), a symlink, a
    /// directory, or nothing.
    case path(String, SafeWriter.Entry)
    /// A kernel interface file's old content (/proc/sys, /sys/fs/selinux/enforce), written back
    /// in place.
    case runtime(String, [UInt8])
    /// A module kcheck loaded (undo unloads it).
    case moduleLoaded(String)
    /// Swap devices that were active (undo turns them on again).
    case swapDevices([String])
    /// A unit's state before: enabled (by its unit files) and running.
    case service(unit: String, enabled: Bool, running: Bool?)
    /// The hardware clock kept local time (undo writes it back in local time).
    case rtcWasLocal
    /// A unit was reloaded to serve the files the run wrote (undo reloads it after restoring them).
    case reloaded(String)
    /// A packet-filter chain, with the policy it had (undo sets it again).
    case chainPolicy(FirewallChain)
    /// Packages kcheck asked the package manager to install.
    case packagesInstalled(PackageManager, [String])
    /// Before the installation: every package it will unpack (dependencies too) and its state
    /// then, so that undo puts back the package set even if the run stopped mid-install.
    case packagesPlanned(PackageManager, [PlannedPackage])
    /// After the installation: the packages that were not installed before it.
    case packagesAdded(PackageManager, [String])
    /// An action finished (its 1-based number in the plan).
    case done(Int, String)
}

/// A package an installation will unpack, and its state before.
public struct PlannedPackage: Equatable, Sendable {
    public let name: String
    public let prior: PackagePrior

    public init(name: String, prior: PackagePrior) {
        self.name = name
        self.prior = prior
    }
}

/// A run's journal: `/var/lib/kcheck/runs/ID/` on the node (under --root for a tree), mode 0700,
/// with `journal` (one record a line) and `files/N` (original bytes). The journal file is replaced
/// atomically at every record, so it is always whole.
public final class Journal {
    public static let directory = "/var/lib/kcheck/runs"
    public static let lockPath = "/var/lib/kcheck/lock"

    public let id: String
    let writer: SafeWriter
    public private(set) var records: [JournalRecord] = []
    /// Paths whose saved copy (`files/N`) is gone: they cannot be restored; the rest of the run can.
    public private(set) var missing: [String] = []
    private var blobs = 0
    /// Lines of the header: when, where, what.
    private let header: [String]

    public var path: String { Self.directory + "/" + id }

    init(id: String, writer: SafeWriter, header: [String]) {
        self.id = id
        self.writer = writer
        self.header = header
    }

    /// Starts a run's journal on the node.
    public static func create(id: String, writer: SafeWriter, command: String) -> Result<Journal, SafeWriter.Failure> {
        let journal = Journal(id: id, writer: writer, header: ["kcheck-journal 1", "command " + Self.escape(command)])
        if case .failure(let f) = writer.makeDirectory(Self.directory, mode: 0o700) { return .failure(f) }
        if case .failure(let f) = writer.makeDirectory(journal.path, mode: 0o700) { return .failure(f) }
        if case .failure(let f) = writer.makeDirectory(journal.path + "/files", mode: 0o700) { return .failure(f) }
        return journal.save().map { journal }
    }

    /// Appends a record and makes it durable before returning.
    func record(_ record: JournalRecord) -> Result<Void, SafeWriter.Failure> {
        records.append(record)
        let saved = save()
        // What could not be written is not in the journal: the change it covers is not made.
        if case .failure = saved { records.removeLast() }
        return saved
    }

    private func save() -> Result<Void, SafeWriter.Failure> {
        var lines = header
        var blobIndex = 0
        for record in records {
            switch record {
            case .path(let path, let entry):
                switch entry {
                case .absent: lines.append("path \(Self.escape(path)) absent")
                case .directory(let mode): lines.append("path \(Self.escape(path)) directory \(String(mode, radix: 8))")
                case .symlink(let target): lines.append("path \(Self.escape(path)) symlink \(Self.escape(target))")
                case .file(let bytes, let mode, let uid, let gid):
                    blobIndex += 1
                    let blob = "\(self.path)/files/\(blobIndex)"
                    if blobIndex > blobs {
                        if case .failure(let f) = writer.writeFile(blob, bytes, mode: 0o600) { return .failure(f) }
                        blobs = blobIndex
                    }
                    lines.append("path \(Self.escape(path)) file \(String(mode, radix: 8)) \(uid) \(gid) \(blobIndex)")
                }
            case .runtime(let path, let bytes):
                lines.append("runtime \(Self.escape(path)) \(Self.escape(String(decoding: bytes, as: UTF8.self)))")
            case .moduleLoaded(let name): lines.append("module \(Self.escape(name))")
            case .swapDevices(let devices): lines.append((["swap"] + devices.map(Self.escape)).joined(separator: " "))
            case .service(let unit, let enabled, let running):
                lines.append("service \(Self.escape(unit)) \(enabled ? "enabled" : "disabled") \(running.map { $0 ? "running" : "stopped" } ?? "unknown")")
            case .rtcWasLocal: lines.append("rtc local")
            case .reloaded(let unit): lines.append("reload \(Self.escape(unit))")
            case .chainPolicy(let c):
                lines.append(["chain-policy", c.backend.rawValue, c.family, c.table, c.name, c.hook ?? "-", c.policy ?? "-"].map(Self.escape).joined(separator: " "))
            case .packagesInstalled(let manager, let names): lines.append((["packages", manager.rawValue] + names.map(Self.escape)).joined(separator: " "))
            case .packagesPlanned(let manager, let planned):
                lines.append((["packages-planned", manager.rawValue] + planned.map { Self.escape($0.name) + " " + Self.escape($0.prior.journalText) }).joined(separator: " "))
            case .packagesAdded(let manager, let names):
                lines.append((["packages-added", manager.rawValue] + names.map(Self.escape)).joined(separator: " "))
            case .done(let n, let outcome): lines.append("done \(n) \(Self.escape(outcome))")
            }
        }
        return writer.writeFile(path + "/journal", Array((lines.joined(separator: "\n") + "\n").utf8), mode: 0o600)
    }

    /// Reads a run's journal back, with its original file bytes.
    public static func load(id: String, writer: SafeWriter) -> Result<Journal, SafeWriter.Failure> {
        let base = directory + "/" + id
        guard id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }), !id.isEmpty else {
            return .failure(SafeWriter.Failure(path: base, reason: "not a run id"))
        }
        let bytes: [UInt8]
        switch writer.entry(base + "/journal") {
        case .success(.file(let b, _, _, _)): bytes = b
        case .success(.absent): return .failure(SafeWriter.Failure(path: base + "/journal", reason: "no such run"))
        case .success(.directory): return .failure(SafeWriter.Failure(path: base + "/journal", reason: "is a directory, not a journal: this run cannot be undone by kcheck"))
        case .success(.symlink): return .failure(SafeWriter.Failure(path: base + "/journal", reason: "is a symlink, not a journal: this run cannot be undone by kcheck"))
        case .failure(let failure): return .failure(SafeWriter.Failure(path: base + "/journal", reason: failure.reason + ": this run cannot be undone by kcheck"))
        }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        guard lines.first == "kcheck-journal 1" else { return .failure(SafeWriter.Failure(path: base + "/journal", reason: "not a kcheck journal")) }
        let journal = Journal(id: id, writer: writer, header: Array(lines.prefix(2)))
        for (n, line) in lines.enumerated().dropFirst(2) {
            let f = line.split(separator: " ").map { unescape(String($0)) }
            func bad() -> Result<Journal, SafeWriter.Failure> {
                .failure(SafeWriter.Failure(path: base + "/journal", reason: "line \(n + 1) is not a journal record"))
            }
            switch (f.first, f.count) {
            case ("path", 3) where f[2] == "absent": journal.records.append(.path(f[1], .absent))
            case ("path", 4) where f[2] == "directory": journal.records.append(.path(f[1], .directory(mode: UInt32(f[3], radix: 8) ?? 0o755)))
            case ("path", 4) where f[2] == "symlink": journal.records.append(.path(f[1], .symlink(target: f[3])))
            case ("path", 7) where f[2] == "file":
                guard let mode = UInt32(f[3], radix: 8), let uid = UInt32(f[4]), let gid = UInt32(f[5]),
                    let index = Int(f[6]), index > 0, String(index) == f[6]
                else { return bad() }
                journal.blobs += 1
                switch writer.entry(base + "/files/" + f[6]) {
                case .success(.file(let original, _, _, _)):
                    journal.records.append(.path(f[1], .file(bytes: original, mode: mode, uid: uid, gid: gid)))
                case .success(.absent):
                    journal.missing.append("\(f[1]): its saved copy \(base)/files/\(f[6]) is missing, so kcheck cannot put it back")
                case .success, .failure:
                    journal.missing.append("\(f[1]): its saved copy \(base)/files/\(f[6]) is not a readable file, so kcheck cannot put it back")
                }
            case ("runtime", 3): journal.records.append(.runtime(f[1], Array(f[2].utf8)))
            case ("module", 2): journal.records.append(.moduleLoaded(f[1]))
            case ("swap", _): journal.records.append(.swapDevices(Array(f.dropFirst())))
            case ("service", 4): journal.records.append(.service(unit: f[1], enabled: f[2] == "enabled", running: f[3] == "unknown" ? nil : f[3] == "running"))
            case ("packages", _) where f.count >= 3 && PackageManager(rawValue: f[1]) != nil:
                journal.records.append(.packagesInstalled(PackageManager(rawValue: f[1])!, Array(f.dropFirst(2))))
            case ("packages-planned", _) where f.count >= 2 && f.count % 2 == 0 && PackageManager(rawValue: f[1]) != nil:
                let pairs = stride(from: 2, to: f.count, by: 2).map { PlannedPackage(name: f[$0], prior: PackagePrior(journalText: f[$0 + 1])) }
                journal.records.append(.packagesPlanned(PackageManager(rawValue: f[1])!, pairs))
            case ("packages-added", _) where f.count >= 2 && PackageManager(rawValue: f[1]) != nil:
                journal.records.append(.packagesAdded(PackageManager(rawValue: f[1])!, Array(f.dropFirst(2))))
            case ("rtc", 2) where f[1] == "local": journal.records.append(.rtcWasLocal)
            case ("reload", 2): journal.records.append(.reloaded(f[1]))
            case ("chain-policy", 7):
                guard let backend = FirewallChain.Backend(rawValue: f[1]), f[6] != "-" else { return bad() }
                journal.records.append(.chainPolicy(FirewallChain(backend: backend, family: f[2], table: f[3], name: f[4], hook: f[5] == "-" ? nil : f[5], policy: f[6], rules: 0)))
            case ("done", 3): journal.records.append(.done(Int(f[1]) ?? 0, f[2]))
            default: return bad()
            }
        }
        return .success(journal)
    }

    /// Removes the journal of a run that changed nothing ("a fix that changes nothing records no
    /// run").
    public static func discard(_ journal: Journal) {
        for n in stride(from: journal.blobs, through: 1, by: -1) { _ = journal.writer.remove(journal.path + "/files/\(n)") }
        _ = journal.writer.remove(journal.path + "/files", directory: true)
        _ = journal.writer.remove(journal.path + "/journal")
        _ = journal.writer.remove(journal.path, directory: true)
    }

    /// Marks a run undone, so that `kcheck undo` without a run id goes to the one before.
    public static func markUndone(_ journal: Journal) {
        _ = journal.writer.writeFile(journal.path + "/undone", Array("undone\n".utf8), mode: 0o600)
    }

    /// How the run's actions ended: changed the node (applied, or applied needing a reboot),
    /// already in place, failed.
    public var outcomeCounts: (changed: Int, inPlace: Int, failed: Int) {
        var counts = (changed: 0, inPlace: 0, failed: 0)
        for case .done(_, let outcome) in records {
            if outcome == ActionOutcome.alreadyInPlace.label {
                counts.inPlace += 1
            } else if outcome.hasPrefix("failed") {
                counts.failed += 1
            } else {
                counts.changed += 1
            }
        }
        return counts
    }

    /// The command line the run was made with.
    public var command: String { header.count > 1 ? Self.unescape(String(header[1].dropFirst("command ".count))) : "" }

    /// Fields are separated by spaces: a space, %, a control character or an empty field is
    /// %-escaped.
    public static func escape(_ text: String) -> String {
        if text.isEmpty { return "%00" }
        var bytes: [UInt8] = []
        for byte in text.utf8 {
            if byte == 0x20 || byte == 0x25 || byte < 0x20 || byte == 0x7F {
                let hex = Array(String(byte, radix: 16, uppercase: true).utf8)
                bytes.append(0x25)
                if hex.count == 1 { bytes.append(0x30) }
                bytes.append(contentsOf: hex)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func unescape(_ field: String) -> String {
        if field == "%00" { return "" }
        guard field.contains("%") else { return field }
        var bytes: [UInt8] = []
        var input = Array(field.utf8)[...]
        while let byte = input.popFirst() {
            if byte == 0x25, input.count >= 2, let value = UInt8(String(decoding: input.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                input = input.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The runs on a node, oldest first, with whether each was undone. A directory without a
    /// journal (a run stopped before its first record) holds nothing to undo and is left out.
    /// The run (not undone) that made the key of a CA whose certificate is still missing: its
    /// journal recorded both files absent before it wrote them, and it was cut short between the
    /// two (or the certificate was removed since). Read as text: no saved copy is needed.
    public static func runThatMadeKey(_ key: String, certificate: String, node: Node) -> String? {
        guard case .success(let names) = node.list(directory) else { return nil }
        let wanted = ["path \(escape(key)) absent", "path \(escape(certificate)) absent"]
        for name in names.sorted().reversed() where !name.hasPrefix(".") {
            if case .success = node.status(directory + "/" + name + "/undone") { continue }
            guard case .content(let bytes) = node.read(directory + "/" + name + "/journal", limit: defaultReadLimit) else { continue }
            let lines = Set(String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init))
            if wanted.allSatisfy(lines.contains) { return name }
        }
        return nil
    }

    /// Removes what killed runs left half-written, before a fix or an undo starts (under the
    /// node's lock, so no other run is writing): in the runs directory (a journal's
    /// `.journal.kcheck-PID-N`), and beside every file a run journaled (`.ca-key.pem.kcheck-PID-N`,
    /// a key half written when the run was killed).
    static func sweep(writer: SafeWriter, node: Node) {
        writer.removeStaleTemporaries(inDirectory: directory)
        guard case .success(let names) = node.list(directory) else { return }
        var touched: Set<String> = []
        for name in names where !name.hasPrefix(".") {
            let run = directory + "/" + name
            writer.removeStaleTemporaries(inDirectory: run)
            writer.removeStaleTemporaries(inDirectory: run + "/files")
            if case .success(let journal) = load(id: name, writer: writer) {
                for record in journal.records {
                    if case .path(let path, _) = record, let slash = path.lastIndex(of: "/") { touched.insert(String(path[..<slash])) }
                }
            }
            // A run killed before its first record: an empty directory no listing shows.
            if case .success(.absent) = writer.entry(run + "/journal"), case .success(let left) = node.list(run + "/files"), left.isEmpty {
                _ = writer.remove(run + "/files", directory: true)
                _ = writer.remove(run, directory: true)
            }
        }
        for directory in touched.sorted() { writer.removeStaleTemporaries(inDirectory: directory.isEmpty ? "/" : directory) }
    }

    public static func runs(writer: SafeWriter, node: Node) -> [(id: String, undone: Bool)] {
        guard case .success(let names) = node.list(directory) else { return [] }
        // Every run with a journal, readable or not: one that is not a file (a FIFO, a directory,
        // too large) is listed, and loading it says why, never "no runs".
        return names.filter { name in
            guard !name.hasPrefix(".") else { return false }
            let journal = directory + "/" + name + "/journal"
            if case .success(.absent) = writer.entry(journal, limit: 0) {
                return false
            }
            if case .success(.directory) = writer.entry(directory + "/" + name, limit: 0) { return true }
            return false
        }.map { name in
            let undone: Bool
            if case .success(.file) = writer.entry(directory + "/" + name + "/undone") { undone = true } else { undone = false }
            return (name, undone)
        }
    }
}
