import KCheckNative

/// What the engine read of a node, recorded: every file, directory and symlink a run looked at
/// (files with their bytes, secrets redacted), and every fact that is not a file. Written out
/// it is a node tree (docs/node-tree.md) that `--root` judges exactly as the node was judged:
/// a snapshot. It is also what a node sends back over SSH (`encoded()`), so that one decoder
/// (`decode`), bounded and strict, is all that reads what crosses the connection.
public struct Recording: Sendable {
    public enum Entry: Equatable, Sendable {
        case file([UInt8])
        case directory
        case symlink(String)
    }

    public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
        public init(_ message: String) { self.message = message }
    }

    /// Node paths (absolute, resolved: no symlink on the way) to what is there.
    public var entries: [String: Entry] = [:]
    /// Everything else: systemd, units, the clock, packages, addresses, owners, unreadable files,
    /// digests of redacted files.
    public var facts = FactsFile()

    public init() {}

    public static let formatVersion = 1
    /// What a recording may hold: more is not a node's configuration.
    public static let maxEntries = 200_000
    public static let maxBytes = 512 << 20
    public static let maxPerDirectory = 20_000

    // MARK: - The wire format

    /// `kcheck-recording 1`, then frames (`Frames`): `facts` (the facts file's text), then one
    /// `dir`, `file` or `link` frame per entry, the path first and NUL-terminated.
    public func encoded() -> [UInt8] {
        var out = Array("kcheck-recording \(Self.formatVersion)\n".utf8)
        Frames.append("facts", Array(facts.rendered().utf8), to: &out)
        for (path, entry) in entries.sorted(by: { $0.key < $1.key }) {
            switch entry {
            case .directory: Frames.append("dir", Array(path.utf8), to: &out)
            case .file(let bytes): Frames.append("file", Array(path.utf8) + [0] + bytes, to: &out)
            case .symlink(let target): Frames.append("link", Array(path.utf8) + [0] + Array(target.utf8), to: &out)
            }
        }
        return out
    }

    /// Reads an encoded recorded. Everything in it is checked: paths absolute without `..` or
    /// NUL, outside `/.kcheck`, sizes and counts bounded; the facts parsed as a facts file.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(Problem) -> Recording {
        let header = Array("kcheck-recording \(formatVersion)\n".utf8)
        guard bytes.starts(with: header) else {
            throw Problem("not a kcheck recording (it begins `\(Frames.printable(bytes.prefix(40)))`)")
        }
        guard bytes.count <= maxBytes else { throw Problem("the recording is larger than \(maxBytes >> 20) MiB") }
        var recording = Recording()
        var sawFacts = false
        var perDirectory: [Substring: Int] = [:]
        for frame in try Frames.decode(bytes.dropFirst(header.count)) {
            switch frame.name {
            case "facts":
                guard !sawFacts else { throw Problem("two facts frames") }
                sawFacts = true
                do throws(SourceError) {
                    recording.facts = try FactsFile.parse(Array(frame.payload))
                } catch {
                    throw Problem("the recorded facts: \(error)")
                }
            case "dir", "file", "link":
                let nul = frame.payload.firstIndex(of: 0)
                let pathBytes = nul.map { frame.payload[frame.payload.startIndex..<$0] } ?? frame.payload
                let path = try checkedPath(pathBytes)
                let rest = nul.map { frame.payload[($0 + 1)...] } ?? []
                guard recording.entries[path] == nil else { throw Problem("\(path) is recorded twice") }
                let parent = path[..<(path.lastIndex(of: "/") ?? path.startIndex)]
                perDirectory[parent, default: 0] += 1
                guard perDirectory[parent, default: 0] <= maxPerDirectory else {
                    throw Problem("more than \(maxPerDirectory) entries in \(parent.isEmpty ? "/" : String(parent)): not what a profile reads")
                }
                switch frame.name {
                case "dir": recording.entries[path] = .directory
                case "file":
                    guard nul != nil else { throw Problem("the file frame of \(path) has no content part") }
                    recording.entries[path] = .file(Array(rest))
                default:
                    guard nul != nil, !rest.isEmpty, !rest.contains(0) else { throw Problem("the symlink \(path) has no target") }
                    recording.entries[path] = .symlink(String(decoding: rest, as: UTF8.self))
                }
                guard recording.entries.count <= maxEntries else { throw Problem("more than \(maxEntries) entries") }
            default:
                throw Problem("unknown frame `\(frame.name)` in a recording")
            }
        }
        guard sawFacts else { throw Problem("the recording has no facts frame") }
        return recording
    }

    /// An absolute node path without `..`, `.`, NUL or empty components, outside `/.kcheck`.
    static func checkedPath(_ bytes: ArraySlice<UInt8>) throws(Problem) -> String {
        guard bytes.first == UInt8(ascii: "/"), bytes.count <= 4096, !bytes.contains(0) else {
            throw Problem("refusing the path `\(Frames.printable(bytes.prefix(80)))` in a recording")
        }
        let path = String(decoding: bytes, as: UTF8.self)
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        // At most 64 components: no profile reads deeper, and 3,000 nested directories are more
        // than many tools can remove.
        guard !parts.isEmpty, parts.count <= 64, !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }), parts.first != ".kcheck" else {
            throw Problem("refusing the path `\(Frames.printable(bytes.prefix(80)))` in a recording")
        }
        return path
    }

    // MARK: - As a node tree

    /// Writes the recording as a node tree under `directory` (which exists and is empty):
    /// directories, then files, then symlinks (last, so no later write can pass through one),
    /// then `.kcheck/facts`. Every write goes through `SafeWriter`.
    /// Writes the recording as the node tree `output` whole or not at all: into a temporary
    /// directory beside it, renamed into place when complete (over `output` if that is an empty
    /// directory), removed on failure. A half-written snapshot is never left to pass for a node.
    public func write(to output: String) throws(Problem) {
        var parent = output
        while parent.count > 1, parent.hasSuffix("/") { parent.removeLast() }
        let directory = parent.lastIndex(of: "/").map { parent[..<$0].isEmpty ? "/" : String(parent[..<$0]) } ?? "."
        // `-o a/b` where a does not exist yet: made, as mkdir -p would.
        if directory.hasPrefix("/"), case .failure(let error) = Posix.makeDirectories(directory) {
            throw Problem("cannot make \(directory): \(error)")
        }
        let temporary: String
        switch Posix.makeTemporaryDirectory(prefix: ".kcheck-snapshot", in: directory) {
        case .success(let path): temporary = path
        case .failure(let error): throw Problem("cannot make a temporary directory in \(directory): \(error)")
        }
        SignalCleanup.install()
        SignalCleanup.register(temporary)
        defer { SignalCleanup.unregister(temporary) }
        do throws(Problem) {
            try write(into: temporary)
            if case .failure(let error) = Posix.renamePath(temporary, to: parent) { throw Problem("\(error)") }
        } catch {
            Posix.removeTree(temporary)
            throw error
        }
    }

    public func write(into directory: String) throws(Problem) {
        let writer = SafeWriter(root: directory, fresh: true)
        let sorted = entries.sorted { $0.key < $1.key }
        func check(_ result: Result<Void, SafeWriter.Failure>) throws(Problem) {
            if case .failure(let failure) = result { throw Problem("\(failure)") }
        }
        for case (let path, .directory) in sorted { try check(writer.makeDirectory(path, mode: 0o755)) }
        for case (let path, .file(let bytes)) in sorted { try check(writer.writeFile(path, bytes, mode: 0o644)) }
        for case (let path, .symlink(let target)) in sorted { try check(writer.writeSymlink(path, target: target)) }
        try check(writer.writeFile(FactsFile.path, Array(facts.rendered().utf8), mode: 0o644))
    }
}

/// A node that records what is read of it: it answers every question from the node it wraps and
/// keeps what it answered, so that the profile run on it leaves behind exactly what the rules
/// needed (`recording`). Symlinks on the way to a path are recorded with it, so the tree resolves
/// the path as the node did. Private keys and the inventory's secrets are redacted (`Redaction`).
public final class RecordingNode: Node {
    let inner: Node
    private var recorded = Recording()
    /// Paths whose resolution is recorded already.
    private var resolvedParents: [String: String] = [:]
    /// The inventory's secret values, found in environment.sh as it was read.
    private var secrets: [Redaction.Secret] = []

    /// What was read, with every secret value scrubbed from every file (wherever a run found it
    /// written), each scrubbed file's own digest kept, and the mark of a snapshot.
    public var recording: Recording {
        var result = recorded
        result.facts.recorded = true
        // The apiserver's encryption keys, whatever they are (a key other than ENCRYPTION_KEY
        // too): each `secret:` value of an encryption configuration becomes its stand-in, the same
        // one ENCRYPTION_KEY's value gets, so comparing them gives the node's verdict.
        for (path, entry) in result.entries {
            guard case .file(let bytes) = entry, let clean = Redaction.scrubEncryptionKeys(bytes) else { continue }
            result.entries[path] = .file(clean)
            if result.facts.digests[path] == nil, let digest = try? OpenSSL.sha256Hex(bytes) { result.facts.digests[path] = digest }
        }
        guard !secrets.isEmpty else { return result }
        for (path, entry) in result.entries {
            guard case .file(let bytes) = entry else { continue }
            switch Redaction.scrub(bytes, secrets, inventory: path == Inventory.nodePath) {
            case .unchanged: continue
            case .scrubbed(let clean):
                result.entries[path] = .file(clean)
                if result.facts.digests[path] == nil, let digest = try? OpenSSL.sha256Hex(bytes) { result.facts.digests[path] = digest }
            case .withheld(let why):
                result.entries[path] = .file([])
                result.facts.unreadable[path] = why
            }
        }
        return result
    }

    public init(_ inner: Node) { self.inner = inner }

    public var source: String { inner.source }

    // MARK: files

    public func read(_ path: String, limit: Int) -> FileRead {
        let result = inner.read(path, limit: limit)
        switch result {
        case .content(let bytes): recordContent(path, bytes)
        case .missing: _ = resolve(path, followFinal: true)
        case .unreadable(let why): recordUnreadable(path, why)
        }
        return result
    }

    public func map(_ path: String, limit: Int) -> FileMapping {
        let result = inner.map(path, limit: limit)
        switch result {
        case .mapped(let file): recordContent(path, file.bytes(0..<file.count))
        case .missing: _ = resolve(path, followFinal: true)
        case .unreadable(let why): recordUnreadable(path, why)
        }
        return result
    }

    public func status(_ path: String) -> Result<FileStatus, SystemError> {
        let result = inner.status(path)
        if case .success(let st) = result, let resolved = resolve(path, followFinal: false) { recordKind(st, asked: path, at: resolved) }
        return result
    }

    public func resolvedStatus(_ path: String) -> Result<FileStatus, SystemError> {
        let result = inner.resolvedStatus(path)
        if case .success(let st) = result, let resolved = resolve(path, followFinal: true) { recordKind(st, asked: path, at: resolved) }
        return result
    }

    public func list(_ path: String) -> Result<[String], SystemError> {
        let result = inner.list(path)
        if case .success(let names) = result, let resolved = resolve(path, followFinal: true) {
            if recorded.entries[resolved] == nil { recorded.entries[resolved] = .directory }
            for name in names {
                let child = (path.hasSuffix("/") ? path : path + "/") + name
                if case .success(let st) = inner.status(child) { recordKind(st, asked: nil, at: (resolved == "/" ? "" : resolved) + "/" + name) }
            }
        }
        return result
    }

    public func readLink(_ path: String) -> Result<String, SystemError> {
        let result = inner.readLink(path)
        if case .success(let target) = result, let resolved = resolve(path, followFinal: false) {
            recorded.entries[resolved] = .symlink(target)
        }
        return result
    }

    // MARK: facts

    public func unitActiveStates(_ units: [String]) -> Fact<UnitActiveStates> {
        let result = inner.unitActiveStates(units)
        switch result {
        case .available(let states):
            recorded.facts.systemdRunning = true
            for unit in units { recorded.facts.units[unit] = states[unit] ?? "inactive" }
        case .unavailable(let why):
            if why == "systemd is not running" { recorded.facts.systemdRunning = false } else { recorded.facts.unavailable["units"] = why }
        }
        return result
    }

    public func clockState() -> Fact<KernelClockState> {
        let result = inner.clockState()
        switch result {
        case .available(let state):
            recorded.facts.clock = KernelClockStateRecord(
                maxErrorMicroseconds: state.maxErrorMicroseconds, estimatedErrorMicroseconds: state.estimatedErrorMicroseconds, status: state.status)
        case .unavailable(let why): recorded.facts.unavailable["clock"] = why
        }
        return result
    }

    public func packageNames() -> Fact<Set<String>> {
        let result = inner.packageNames()
        switch result {
        case .available(let names): recorded.facts.packages = names
        case .unavailable(let why): recorded.facts.unavailable["packages"] = why
        }
        return result
    }

    public func interfaceAddresses() -> Fact<[InterfaceAddress]> {
        let result = inner.interfaceAddresses()
        switch result {
        case .available(let list): recorded.facts.addresses = list
        case .unavailable(let why): recorded.facts.unavailable["addresses"] = why
        }
        return result
    }

    /// What the binary said, recorded as a fact (the binary itself is never copied).
    public func binaryVersion(_ path: String, needles: [String]) -> BinaryFact {
        let result = inner.binaryVersion(path, needles: needles)
        switch result {
        case .missing: _ = resolve(path, followFinal: true)
        case .unavailable: recorded.facts.binaries[path] = result
        case .scanned(let f):
            // Several rules may ask the same binary for different needles: the union is kept.
            if case .scanned(let before)? = recorded.facts.binaries[path] {
                recorded.facts.binaries[path] = .scanned(
                    BinaryFingerprint(format: f.format, goVersion: f.goVersion, needles: before.needles.merging(f.needles) { _, new in new }))
            } else {
                recorded.facts.binaries[path] = result
            }
        }
        return result
    }

    public func firewallChains() -> Fact<[FirewallChain]> {
        let result = inner.firewallChains()
        switch result {
        case .available(let chains): recorded.facts.firewall = chains
        case .unavailable(let why): recorded.facts.unavailable["firewall"] = why
        }
        return result
    }

    public func originalDigest(_ path: String) -> String? { inner.originalDigest(path) }
    public var holdsStandIns: Bool { inner.holdsStandIns }

    // MARK: recording

    private func recordContent(_ path: String, _ bytes: [UInt8]) {
        guard let resolved = resolve(path, followFinal: true) else { return }
        // environment.sh, and root's shell files (which export the same values, or their own).
        if Redaction.secretSources.contains(path) || Redaction.secretSources.contains(resolved) {
            for secret in Redaction.secrets(in: bytes) where !secrets.contains(secret) { secrets.append(secret) }
        }
        if let standIn = X509Certificate.withholdingBinaryKey(bytes) {
            // Binary (DER, PKCS#12) that is not a certificate may be a key: never copied; what
            // kcheck said of it stands in.
            recorded.entries[resolved] = .file(standIn)
            if let digest = inner.originalDigest(path) ?? (try? OpenSSL.sha256Hex(bytes)) { recorded.facts.digests[path] = digest }
            return
        }
        if let redacted = X509Certificate.redactingPrivateKeys(bytes) {
            recorded.entries[resolved] = .file(redacted)
            let digest = inner.originalDigest(path) ?? (try? OpenSSL.sha256Hex(bytes))
            if let digest { recorded.facts.digests[path] = digest }
        } else {
            recorded.entries[resolved] = .file(bytes)
            if let digest = inner.originalDigest(path) { recorded.facts.digests[path] = digest }
        }
    }

    private func recordUnreadable(_ path: String, _ why: String) {
        // The tree keeps an empty stand-in where the node had something, so listing and stat
        // see it; its facts say it could not be read, and why.
        if let resolved = resolve(path, followFinal: true), recorded.entries[resolved] == nil,
            case .success(let st) = inner.resolvedStatus(path)
        {
            recordKind(st, asked: path, at: resolved)
        }
        recorded.facts.unreadable[path] = why
    }

    /// What `status` found at a path: the same kind of entry in the tree, its permission bits and
    /// owner in the facts (a checkout of a tree cannot keep them).
    private func recordKind(_ st: FileStatus, asked: String?, at resolved: String) {
        switch st.kind {
        case .directory:
            if recorded.entries[resolved] == nil { recorded.entries[resolved] = .directory }
        case .regular:
            // Its bytes only when a rule read them; an empty stand-in otherwise.
            if recorded.entries[resolved] == nil { recorded.entries[resolved] = .file([]) }
        case .symlink:
            if case .success(let target) = inner.readLink(asked ?? resolved) { recorded.entries[resolved] = .symlink(target) }
        case .other:
            return
        }
        for path in Set([asked, resolved].compactMap { $0 }) {
            recorded.facts.owners[path] = FileOwner(permissions: st.mode & 0o7777, uid: st.uid, gid: st.gid)
        }
    }

    /// Resolves a node path as the node does, component by component, recording each directory
    /// and symlink on the way; the resolved path (nil after too many symlinks).
    private func resolve(_ path: String, followFinal: Bool) -> String? {
        let key = (followFinal ? "F" : "L") + path
        if let known = resolvedParents[key] { return known == "/" ? nil : known }
        let walked = PathWalk.resolve(path, followFinal: followFinal) { resolved -> PathWalk.Step in
            let here = "/" + resolved.joined(separator: "/")
            guard case .success(let st) = inner.status(here) else { return .stop }
            switch st.kind {
            case .directory:
                if recorded.entries[here] == nil { recorded.entries[here] = .directory }
                recorded.facts.owners[here] = FileOwner(permissions: st.mode & 0o7777, uid: st.uid, gid: st.gid)
                return .directory
            case .symlink:
                switch inner.readLink(here) {
                case .success(let target):
                    recorded.entries[here] = .symlink(target)
                    return .symlink(target)
                case .failure(let error): return .failure(error)
                }
            case .regular, .other: return .plain
            }
        }
        guard case .success(let resolved) = walked else { return nil }
        let result = "/" + resolved.joined(separator: "/")
        resolvedParents[key] = result
        return result == "/" ? nil : result
    }
}

/// What a snapshot never holds: private key material and the inventory's secret values.
/// Private keys are replaced in place by their public halves (`X509Certificate.redactingPrivateKeys`;
/// binary data that may be a key is not copied at all). The values of ENCRYPTION_KEY and
/// BOOTSTRAP_TOKEN are scrubbed from every recorded file they appear in, character for character:
/// each hex digit becomes a hex digit, each other base64 character another non-hex one, anything
/// else (`=` padding, quotes) stays, all derived from a digest of the value; so lines, columns,
/// lengths, the syntax and every check of the value's shape (32 hex digits, 32 bytes in base64)
/// judge the stand-in as they judged the value. A value the guide published (no secret) and a
/// computed one (`$(head -c 32 /dev/urandom | base64)`) stay. A file where a secret cannot be
/// scrubbed (written over several lines) is withheld, with the reason.
public enum Redaction {
    public struct Secret: Equatable, Sendable {
        let name: String
        let value: [UInt8]
        /// The line environment.sh assigns it on (short values are scrubbed there only).
        let line: Int
    }

    static let secretNames = ["ENCRYPTION_KEY", "BOOTSTRAP_TOKEN"]
    /// The files whose secret assignments are scrubbed from everything a snapshot holds.
    public static let secretSources: Set<String> = [Inventory.nodePath, "/root/.bashrc", "/root/.bash_profile", "/root/.profile", "/etc/profile"]
    /// In a computed value, a literal run this long of key-like characters (base64, hex) may be
    /// the key itself (`"<key>$(true)"`): it is scrubbed as one.
    static let literalInComputed = 16
    /// Shorter values are scrubbed only where they are assigned: replacing every "12" of every
    /// file would change what other rules see.
    static let shortest = 8

    /// The secret values environment.sh assigns (parsed as kcheck reads bash; else by line).
    public static func secrets(in bytes: [UInt8]) -> [Secret] {
        var found: [Secret] = []
        if let inventory = try? Inventory.parse(bytes, path: Inventory.nodePath) {
            for assignment in inventory.shell.assignments where secretNames.contains(assignment.name) {
                let value = assignment.value.scalar
                guard !value.isEmpty, EnvironmentLinter.publishedSecrets[value.lowercased()] == nil else { continue }
                guard assignment.computed else {
                    found.append(Secret(name: assignment.name, value: Array(value.utf8), line: assignment.line))
                    continue
                }
                // Computed around literal text: each long key-like literal run is scrubbed.
                for run in keyLikeRuns(value) where run.count >= literalInComputed {
                    found.append(Secret(name: assignment.name, value: Array(run.utf8), line: assignment.line))
                }
            }
            return found
        }
        // Not parseable: every `NAME=` value, up to the end of its line, unquoted.
        for (index, line) in bytes.split(separator: 10, omittingEmptySubsequences: false).enumerated() {
            for name in secretNames {
                guard let at = Bytes.find(Array((name + "=").utf8), in: Array(line), range: 0..<line.count) else { continue }
                var value = Array(line.dropFirst(at + name.utf8.count + 1))
                while let last = value.last, last == 13 || last == 32 || last == 9 || last == 34 || last == 39 || last == 59 { value.removeLast() }
                while let first = value.first, first == 34 || first == 39 { value.removeFirst() }
                if !value.isEmpty { found.append(Secret(name: name, value: value, line: index + 1)) }
            }
        }
        return found
    }

    /// An encryption configuration (kind EncryptionConfig or EncryptionConfiguration) with each
    /// `secret:` value replaced by its stand-in; nil for any other file.
    public static func scrubEncryptionKeys(_ bytes: [UInt8]) -> [UInt8]? {
        guard Bytes.find(Array("EncryptionConfig".utf8), in: bytes, range: 0..<bytes.count) != nil else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var changed = false
        for (index, line) in bytes.split(separator: 10, omittingEmptySubsequences: false).enumerated() {
            if index > 0 { out.append(10) }
            var text = Array(line)
            var at = text.firstIndex { $0 != 32 && $0 != 9 && $0 != 45 } ?? text.count  // indentation and a list's "- "
            let key = Array("secret:".utf8)
            if text.count >= at + key.count, Array(text[at..<(at + key.count)]) == key {
                at += key.count
                while at < text.count, text[at] == 32 || text[at] == 9 { at += 1 }
                var end = text.count
                while end > at, text[end - 1] == 32 || text[end - 1] == 13 || text[end - 1] == 9 { end -= 1 }
                if end > at, text[at] == 34 || text[at] == 39, text[end - 1] == text[at], end - at >= 2 { at += 1; end -= 1 }
                if end > at {
                    text.replaceSubrange(at..<end, with: standIn(Array(text[at..<end])))
                    changed = true
                }
            }
            out += text
        }
        return changed ? out : nil
    }

    /// The maximal runs of base64/hex characters in a text.
    static func keyLikeRuns(_ text: String) -> [Substring] {
        text.split { !($0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "/" || $0 == "=")) }
    }

    public enum Scrubbed: Equatable {
        case unchanged
        case scrubbed([UInt8])
        case withheld(String)
    }

    /// `bytes` with every secret value replaced by its stand-in. In environment.sh itself
    /// (`inventory`), a secret still there afterwards (a value written over several lines) makes
    /// the file withheld.
    public static func scrub(_ bytes: [UInt8], _ secrets: [Secret], inventory: Bool) -> Scrubbed {
        var out = bytes
        var changed = false
        for secret in secrets {
            let standIn = standIn(secret.value)
            if secret.value.count >= shortest {
                var from = 0
                while from < out.count, let at = Bytes.find(secret.value, in: out, range: from..<out.count) {
                    out.replaceSubrange(at..<(at + secret.value.count), with: standIn)
                    changed = true
                    from = at + standIn.count
                }
            } else if inventory {
                // Only on its own line.
                var lineStart = 0, line = 1
                while line < secret.line, let newline = out[lineStart...].firstIndex(of: 10) {
                    lineStart = newline + 1
                    line += 1
                }
                let lineEnd = out[lineStart...].firstIndex(of: 10) ?? out.count
                if let eq = Bytes.find(Array((secret.name + "=").utf8), in: out, range: lineStart..<lineEnd),
                    let at = Bytes.find(secret.value, in: out, range: (eq + secret.name.utf8.count + 1)..<lineEnd)
                {
                    out.replaceSubrange(at..<(at + secret.value.count), with: standIn)
                    changed = true
                }
            }
        }
        if inventory {
            let left = Self.secrets(in: out).filter { remaining in secrets.contains { $0.value == remaining.value } }
            if !left.isEmpty {
                return .withheld("it assigns \(left.map(\.name).joined(separator: " and ")) in a way kcheck cannot scrub (over several lines?): a snapshot does not hold it")
            }
        }
        return changed ? .scrubbed(out) : .unchanged
    }

    /// `bytes` for people to read (a plan's diff): every secret value written as
    /// `[redacted NAME]` — values of `shortest` bytes or more wherever they stand, shorter ones
    /// where they are assigned.
    public static func forDisplay(_ bytes: [UInt8], _ secrets: [Secret]) -> [UInt8] {
        var out = bytes
        for secret in secrets where !secret.value.isEmpty {
            let marker = Array("[redacted \(secret.name)]".utf8)
            var from = 0
            while from < out.count, let at = Bytes.find(secret.value, in: out, range: from..<out.count) {
                let lineStart = out[..<at].lastIndex(of: 10).map { $0 + 1 } ?? 0
                let assigned = Bytes.find(Array((secret.name + "=").utf8), in: out, range: lineStart..<at) != nil
                guard secret.value.count >= shortest || assigned else {
                    from = at + 1
                    continue
                }
                out.replaceSubrange(at..<(at + secret.value.count), with: marker)
                from = at + marker.count
            }
        }
        return out
    }

    /// The stand-in of a value: the same length, each character of the same class.
    static func standIn(_ value: [UInt8]) -> [UInt8] {
        let digest = Array(((try? OpenSSL.sha256Hex(Array("kcheck-redacted:".utf8) + value)) ?? String(repeating: "0", count: 64)).utf8)
        let hex = Array("0123456789abcdef".utf8)
        let other = Array("ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ+/".utf8)
        func isHex(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) }
        func isBase64(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 43 || c == 47 }
        return value.enumerated().map { index, c in
            let d = Int(digest[index % digest.count]) &+ index
            if isHex(c) { return hex[d % hex.count] }
            if isBase64(c) { return other[d % other.count] }
            return c
        }
    }
}

/// The framing of what kcheck sends to a node and what a node sends back: `NAME LENGTH\n` then
/// LENGTH bytes, then `\n`. Names are short words; lengths are decimal. The decoder never trusts a
/// length: it is bounded, checked against what is left, and a frame that does not end where it
/// says is an error.
public enum Frames {
    public struct Frame: Sendable {
        public let name: String
        public let payload: ArraySlice<UInt8>
    }

    public static func append(_ name: String, _ payload: [UInt8], to out: inout [UInt8]) {
        out += Array("\(name) \(payload.count)\n".utf8)
        out += payload
        out.append(10)
    }

    public static func decode(_ bytes: ArraySlice<UInt8>, maxFrames: Int = 250_000) throws(Recording.Problem) -> [Frame] {
        var frames: [Frame] = []
        var cursor = bytes.startIndex
        while cursor < bytes.endIndex {
            guard frames.count < maxFrames else { throw Recording.Problem("more than \(maxFrames) frames") }
            let headerEnd = bytes[cursor..<min(cursor + 64, bytes.endIndex)].firstIndex(of: 10)
            guard let headerEnd else { throw Recording.Problem("a malformed frame header at byte \(cursor - bytes.startIndex): `\(printable(bytes[cursor...].prefix(40)))`") }
            let header = bytes[cursor..<headerEnd]
            guard let space = header.firstIndex(of: 32), space > cursor,
                header[cursor..<space].allSatisfy({ ($0 >= 97 && $0 <= 122) || $0 == 45 }),
                header[(space + 1)...].count >= 1, header[(space + 1)...].count <= 10,
                header[(space + 1)...].allSatisfy({ $0 >= 48 && $0 <= 57 })
            else {
                throw Recording.Problem("a malformed frame header at byte \(cursor - bytes.startIndex): `\(printable(header.prefix(40)))`")
            }
            var length = 0
            for digit in header[(space + 1)...] { length = length * 10 + Int(digit - 48) }
            let start = headerEnd + 1
            guard length <= bytes.endIndex - start - 1, bytes[start + length] == 10 else {
                throw Recording.Problem("a frame is cut short at byte \(cursor - bytes.startIndex): the connection dropped?")
            }
            frames.append(Frame(name: String(decoding: header[cursor..<space], as: UTF8.self), payload: bytes[start..<(start + length)]))
            cursor = start + length + 1
        }
        return frames
    }

    /// Bytes from elsewhere, fit to quote in a message: control characters as `?`.
    public static func printable(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.map { $0 < 32 || $0 == 127 ? UInt8(ascii: "?") : $0 }, as: UTF8.self)
    }
}
