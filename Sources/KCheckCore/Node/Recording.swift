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

    /// Reads an encoded recording. Everything in it is checked: paths absolute without `..` or
    /// NUL, outside `/.kcheck`, sizes and counts bounded; the facts parsed as a facts file.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(Problem) -> Recording {
        let header = Array("kcheck-recording \(formatVersion)\n".utf8)
        guard bytes.starts(with: header) else {
            throw Problem("not a kcheck recording (it begins `\(Frames.printable(bytes.prefix(40)))`)")
        }
        guard bytes.count <= maxBytes else { throw Problem("the recording is larger than \(maxBytes >> 20) MiB") }
        var recording = Recording()
        var sawFacts = false
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
        guard !parts.isEmpty, !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }), parts.first != ".kcheck" else {
            throw Problem("refusing the path `\(Frames.printable(bytes.prefix(80)))` in a recording")
        }
        return path
    }

    // MARK: - As a node tree

    /// Writes the recording as a node tree under `directory` (which exists and is empty):
    /// directories, then files, then symlinks (last, so no later write can pass through one),
    /// then `.kcheck/facts`. Every write goes through `SafeWriter`.
    public func write(into directory: String) throws(Problem) {
        let writer = SafeWriter(root: directory)
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
    public private(set) var recording = Recording()
    /// Paths whose resolution is recorded already.
    private var resolvedParents: [String: String] = [:]

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
            if recording.entries[resolved] == nil { recording.entries[resolved] = .directory }
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
            recording.entries[resolved] = .symlink(target)
        }
        return result
    }

    // MARK: facts

    public func unitActiveStates(_ units: [String]) -> Fact<UnitActiveStates> {
        let result = inner.unitActiveStates(units)
        switch result {
        case .available(let states):
            recording.facts.systemdRunning = true
            for unit in units { recording.facts.units[unit] = states[unit] ?? "inactive" }
        case .unavailable(let why):
            if why == "systemd is not running" { recording.facts.systemdRunning = false } else { recording.facts.unavailable["units"] = why }
        }
        return result
    }

    public func clockState() -> Fact<KernelClockState> {
        let result = inner.clockState()
        switch result {
        case .available(let state):
            recording.facts.clock = KernelClockStateRecord(
                maxErrorMicroseconds: state.maxErrorMicroseconds, estimatedErrorMicroseconds: state.estimatedErrorMicroseconds, status: state.status)
        case .unavailable(let why): recording.facts.unavailable["clock"] = why
        }
        return result
    }

    public func packageNames() -> Fact<Set<String>> {
        let result = inner.packageNames()
        switch result {
        case .available(let names): recording.facts.packages = names
        case .unavailable(let why): recording.facts.unavailable["packages"] = why
        }
        return result
    }

    public func interfaceAddresses() -> Fact<[InterfaceAddress]> {
        let result = inner.interfaceAddresses()
        switch result {
        case .available(let list): recording.facts.addresses = list
        case .unavailable(let why): recording.facts.unavailable["addresses"] = why
        }
        return result
    }

    public func originalDigest(_ path: String) -> String? { inner.originalDigest(path) }

    // MARK: recording

    private func recordContent(_ path: String, _ bytes: [UInt8]) {
        guard let resolved = resolve(path, followFinal: true) else { return }
        if let redacted = Redaction.redact(path: path, bytes) {
            recording.entries[resolved] = .file(redacted)
            let digest = inner.originalDigest(path) ?? (try? OpenSSL.sha256Hex(bytes))
            if let digest { recording.facts.digests[path] = digest }
        } else {
            recording.entries[resolved] = .file(bytes)
        }
    }

    private func recordUnreadable(_ path: String, _ why: String) {
        // The tree keeps an empty stand-in where the node had something, so listing and stat
        // see it; its facts say it could not be read, and why.
        if let resolved = resolve(path, followFinal: true), recording.entries[resolved] == nil,
            case .success(let st) = inner.resolvedStatus(path)
        {
            recordKind(st, asked: path, at: resolved)
        }
        recording.facts.unreadable[path] = why
    }

    /// What `status` found at a path: the same kind of entry in the tree, its permission bits and
    /// owner in the facts (a checkout of a tree cannot keep them).
    private func recordKind(_ st: FileStatus, asked: String?, at resolved: String) {
        switch st.kind {
        case .directory:
            if recording.entries[resolved] == nil { recording.entries[resolved] = .directory }
        case .regular:
            // Its bytes only when a rule read them; an empty stand-in otherwise.
            if recording.entries[resolved] == nil { recording.entries[resolved] = .file([]) }
        case .symlink:
            if case .success(let target) = inner.readLink(asked ?? resolved) { recording.entries[resolved] = .symlink(target) }
        case .other:
            return
        }
        for path in Set([asked, resolved].compactMap { $0 }) where !path.contains(where: \.isWhitespace) {
            recording.facts.owners[path] = FileOwner(permissions: st.mode & 0o7777, uid: st.uid, gid: st.gid)
        }
    }

    /// Resolves a node path as the node does, component by component, recording each directory
    /// and symlink on the way; the resolved path (nil after too many symlinks).
    private func resolve(_ path: String, followFinal: Bool) -> String? {
        let key = (followFinal ? "F" : "L") + path
        if let known = resolvedParents[key] { return known }
        let walked = PathWalk.resolve(path, followFinal: followFinal) { resolved -> PathWalk.Step in
            let here = "/" + resolved.joined(separator: "/")
            guard case .success(let st) = inner.status(here) else { return .stop }
            switch st.kind {
            case .directory:
                if recording.entries[here] == nil { recording.entries[here] = .directory }
                if !here.contains(where: \.isWhitespace) {
                    recording.facts.owners[here] = FileOwner(permissions: st.mode & 0o7777, uid: st.uid, gid: st.gid)
                }
                return .directory
            case .symlink:
                switch inner.readLink(here) {
                case .success(let target):
                    recording.entries[here] = .symlink(target)
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

/// What a snapshot never holds: private key material and the inventory's secret values. Each is
/// replaced by a stand-in that keeps every verdict: a private key by its public half, at the same
/// line; ENCRYPTION_KEY and BOOTSTRAP_TOKEN by a digest of the same shape (32 bytes in base64, 32
/// hex digits) when the value had that shape, by a marker that has not when it had not. A value
/// the guide published (so no secret) and a computed one (`$(head -c 32 /dev/urandom | base64)`)
/// stay as they are. The node's own digest of the file is recorded beside it.
public enum Redaction {
    /// The redacted bytes, or nil when there is nothing to redact.
    public static func redact(path: String, _ bytes: [UInt8]) -> [UInt8]? {
        if path == Inventory.nodePath { return redactInventory(bytes) }
        return X509Certificate.redactingPrivateKeys(bytes)
    }

    static let secretNames = ["ENCRYPTION_KEY", "BOOTSTRAP_TOKEN"]

    static func redactInventory(_ bytes: [UInt8]) -> [UInt8]? {
        var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var changed = false
        guard let inventory = try? Inventory.parse(bytes, path: Inventory.nodePath) else {
            // Not parseable as kcheck reads bash: every assignment to a secret name loses its value.
            for (index, line) in lines.enumerated() {
                for name in secretNames {
                    guard let range = line.firstRange(of: name + "=") else { continue }
                    lines[index] = String(line[..<range.upperBound]) + "redacted"
                    changed = true
                }
            }
            return changed ? Array(lines.joined(separator: "\n").utf8) : nil
        }
        for name in secretNames {
            for assignment in inventory.shell.assignments where assignment.name == name && !assignment.computed {
                let value = assignment.value.scalar
                guard !value.isEmpty, EnvironmentLinter.publishedSecrets[value.lowercased()] == nil,
                    assignment.line >= 1, assignment.line <= lines.count
                else { continue }
                let line = lines[assignment.line - 1]
                let written = line.contains(value) ? value : assignment.source
                guard !written.isEmpty, line.contains(written) else {
                    lines[assignment.line - 1] = name + "=redacted"
                    changed = true
                    continue
                }
                lines[assignment.line - 1] = line.replacing(written, with: standIn(name: name, value: value))
                changed = true
            }
        }
        return changed ? Array(lines.joined(separator: "\n").utf8) : nil
    }

    static func standIn(name: String, value: String) -> String {
        let digest = (try? OpenSSL.sha256Hex(Array(("kcheck-redacted:" + value).utf8))) ?? String(repeating: "0", count: 64)
        switch name {
        case "BOOTSTRAP_TOKEN":
            return value.count == 32 && value.allSatisfy(\.isHexDigit) ? String(digest.prefix(32)) : "redacted-" + digest.prefix(16)
        default:
            guard EnvironmentLinter.base64Length(value) == 32 else { return "redacted-" + digest.prefix(16) }
            var raw: [UInt8] = []
            var index = digest.startIndex
            while index < digest.endIndex {
                let next = digest.index(index, offsetBy: 2)
                raw.append(UInt8(digest[index..<next], radix: 16) ?? 0)
                index = next
            }
            return Base64.encode(raw)
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
