import KCheckNative

/// The outcome of reading a file on a node.
public enum FileRead: Equatable, Sendable {
    case content([UInt8])
    case missing
    /// The file exists but could not be read (permission, too large, not a regular file).
    case unreadable(String)
}

/// The outcome of mapping a large file on a node.
public enum FileMapping {
    case mapped(MappedFile)
    case missing
    case unreadable(String)
}

/// A file's SHA-256 on a node, or why there is none.
public enum FileDigest: Equatable, Sendable {
    case digest(String)
    case missing
    case unreadable(String)
}

/// A fact that is not a file may be unavailable on a node (no systemd, no clock state recorded).
public enum Fact<Value: Sendable>: Sendable {
    case available(Value)
    case unavailable(String)

    /// The value, where there is one.
    public var value: Value? {
        if case .available(let value) = self { return value }
        return nil
    }
}

/// The active state systemd reports for each queried unit (ActiveState: active, inactive, failed…).
public typealias UnitActiveStates = [String: String]

/// Everything kcheck reads of a node goes through this protocol: the live node, a node tree
/// (`--root DIR`), or a snapshot gathered over SSH (a tree). Rules never know which.
public protocol Node: AnyObject {
    /// "live", or "tree:DIR".
    var source: String { get }

    /// Reads a file at its path on the node, at most `limit` bytes.
    func read(_ path: String, limit: Int) -> FileRead
    /// Maps a large file instead of copying it (dpkg's status file), at most `limit` bytes.
    func map(_ path: String, limit: Int) -> FileMapping
    /// lstat of a path on the node (its parents resolved, the final component not followed).
    func status(_ path: String) -> Result<FileStatus, SystemError>
    /// stat of a path on the node, following symlinks (inside the node).
    func resolvedStatus(_ path: String) -> Result<FileStatus, SystemError>
    /// The names in a directory on the node, sorted bytewise.
    func list(_ path: String) -> Result<[String], SystemError>
    /// The target of a symlink on the node, as written.
    func readLink(_ path: String) -> Result<String, SystemError>

    /// systemd's ActiveState of each unit, asked once for all of them.
    func unitActiveStates(_ units: [String]) -> Fact<UnitActiveStates>
    /// The kernel clock's synchronisation state.
    func clockState() -> Fact<KernelClockState>
    /// Installed package names, where the node's package database is not a file kcheck parses
    /// itself (dpkg's status file is read directly on every node).
    func packageNames() -> Fact<Set<String>>
    /// The node's IPv4 interface addresses.
    func interfaceAddresses() -> Fact<[InterfaceAddress]>
    /// The packet filter's chains (legacy iptables and nf_tables), with their policies and rule counts.
    func firewallChains() -> Fact<[FirewallChain]>
    /// What a binary's own bytes say of its version (never by running it): which of `needles` its
    /// string data holds, and the Go toolchain that built it. A snapshot holds this, not the binary.
    func binaryVersion(_ path: String, needles: [String]) -> BinaryFact
    /// SHA-256 of a file as it is on the node, where this node holds a redacted copy (a snapshot
    /// never holds secrets); nil where the bytes read are the node's own.
    func originalDigest(_ path: String) -> String?
    /// Whether this node is a snapshot, whose private keys are stand-ins (their public halves):
    /// only then are stand-ins read as keys.
    var holdsStandIns: Bool { get }
}

/// A binary as `Node.binaryVersion` reads it.
public enum BinaryFact: Equatable, Sendable {
    case missing
    case scanned(BinaryFingerprint)
    case unavailable(String)
}

/// What a binary's bytes say of its version.
public struct BinaryFingerprint: Equatable, Sendable {
    /// "elf64", "elf32" or "notELF".
    public let format: String
    /// The Go toolchain that built it ("go1.13.5"), from its build information.
    public let goVersion: String?
    /// Each needle asked, and whether the binary's string data holds it.
    public let needles: [String: Bool]

    public init(format: String, goVersion: String?, needles: [String: Bool]) {
        self.format = format
        self.goVersion = goVersion
        self.needles = needles
    }

    /// The binary at `path` mapped (never copied) and scanned: ELF string sections, Go build info.
    static func scan(_ mapping: FileMapping, needles: [String]) -> BinaryFact {
        switch mapping {
        case .missing: return .missing
        case .unreadable(let why): return .unavailable(why)
        case .mapped(let file):
            switch BinaryScan.scan(file, needles: needles) {
            case .failure(let error): return .unavailable("not an executable kcheck can read: \(error)")
            case .success(let scan):
                let found = Set(scan.found)
                return .scanned(
                    BinaryFingerprint(
                        format: scan.format.rawValue, goVersion: scan.goVersion,
                        needles: Dictionary(needles.map { ($0, found.contains($0)) }, uniquingKeysWith: { a, _ in a })))
            }
        }
    }
}

extension Node {
    /// Binaries are mapped, not read: the largest (kube-apiserver, 160 MB) stay out of memory.
    public func binaryVersion(_ path: String, needles: [String]) -> BinaryFact {
        BinaryFingerprint.scan(map(path, limit: 1 << 30), needles: needles)
    }

    public func originalDigest(_ path: String) -> String? { nil }
    public var holdsStandIns: Bool { false }

    /// SHA-256 (hex) of a file as it is on the node: its recorded digest where the bytes here
    /// are a redacted copy. What comparing nodes uses, so a snapshot compares as its node does.
    public func fileDigest(_ path: String) -> FileDigest {
        if let digest = originalDigest(path) { return .digest(digest) }
        switch read(path, limit: defaultReadLimit) {
        case .missing: return .missing
        case .unreadable(let why): return .unreadable(why)
        case .content(let bytes): return (try? OpenSSL.sha256Hex(bytes)).map { .digest($0) } ?? .unreadable("SHA-256 failed")
        }
    }

    /// The directories of a search path that are not the same directory twice: on a merged-/usr
    /// system (/lib a link to usr/lib, as on Debian 12 and CentOS 7) "/lib/X" is "/usr/lib/X",
    /// already searched.
    func distinctDirectories(_ directories: [String]) -> [String] {
        guard case .success(let target) = readLink("/lib"), target == "usr/lib" || target == "/usr/lib" else { return directories }
        return directories.filter { !($0.hasPrefix("/lib/") && directories.contains("/usr" + $0)) }
    }
}

/// Path resolution as the kernel does it, component by component, over any way of looking at
/// a component: `..` stops at the top, an absolute symlink target restarts at the top, at most
/// 40 symlinks. Shared by the files of a node (`RootedFiles`) and the recording of a node.
enum PathWalk {
    enum Step {
        case plain
        case directory
        case symlink(String)
        /// Not there: the rest is appended unresolved.
        case stop
        case failure(SystemError)
    }

    static func resolve(_ path: String, followFinal: Bool, _ step: ([String]) -> Step) -> Result<[String], SystemError> {
        var resolved: [String] = []
        var pending = Array(path.split(separator: "/").map(String.init).reversed())
        var hops = 0
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                if !resolved.isEmpty { resolved.removeLast() }
                continue
            }
            resolved.append(component)
            if pending.isEmpty && !followFinal { break }
            switch step(resolved) {
            case .plain, .directory: continue
            case .stop: return .success(resolved + pending.reversed())
            case .failure(let error): return .failure(error)
            case .symlink(let target):
                hops += 1
                if hops > 40 { return .failure(SystemError("resolve", path, code: 40 /* ELOOP */)) }
                resolved.removeLast()
                if target.hasPrefix("/") { resolved.removeAll() }
                pending.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
            }
        }
        return .success(resolved)
    }
}

/// The default bound for reading a configuration file: larger is not a configuration file.
public let defaultReadLimit = 4 << 20

/// File access to a node whose files sit under `root` ("/" for the live node). Symlinks are
/// resolved component by component, and an absolute target restarts at `root`, so nothing
/// resolves outside the tree, and ".." stops at its top.
public final class RootedFiles {
    public let root: String
    private var plainDirectories: Set<String> = []

    public init(root: String) {
        var trimmed = root
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.root = trimmed
    }

    /// The host path of a node path: DIR + path.
    func hostPath(_ components: ArraySlice<String>) -> String {
        let inner = "/" + components.joined(separator: "/")
        return root == "/" ? inner : root + inner
    }

    /// Resolves a node path to a host path inside the root. With `followFinal` false the last
    /// component is not followed (lstat semantics).
    public func resolve(_ path: String, followFinal: Bool) -> Result<String, SystemError> {
        // At "/" the kernel resolves the parents exactly as we would, and cheaper; a final
        // symlink still needs resolving here, since reads open it with O_NOFOLLOW.
        if root == "/" && !followFinal { return .success(path.hasPrefix("/") ? path : "/" + path) }
        let walked = PathWalk.resolve(path, followFinal: followFinal) { resolved -> PathWalk.Step in
            let candidate = hostPath(resolved[...])
            if plainDirectories.contains(candidate) { return .directory }
            switch Posix.lstat(candidate) {
            // The rest cannot exist either; the caller's own call reports ENOENT.
            case .failure(let error): return error.isNotFound ? .stop : .failure(error)
            case .success(let st):
                switch st.kind {
                case .directory:
                    plainDirectories.insert(candidate)
                    return .directory
                case .symlink:
                    switch Posix.readLink(candidate) {
                    case .success(let target): return .symlink(target)
                    case .failure(let error): return .failure(error)
                    }
                case .regular, .other: return .plain
                }
            }
        }
        return walked.map { hostPath($0[...]) }
    }


    /// As `read`, without copying the file.
    public func map(_ path: String, limit: Int) -> FileMapping {
        switch open(path, { MappedFile.map($0, limit: limit) }) {
        case .success(let file): .mapped(file)
        case .failure(.missing): .missing
        case .failure(.unreadable(let why)): .unreadable(why)
        }
    }

    /// The kernel's tables whose records are short (Posix.readFile's `recordsUnder`).
    static let shortRecordTables: Set<String> = ["/proc/net/tcp", "/proc/net/tcp6", "/proc/net/ip_vs"]

    public func read(_ path: String, limit: Int) -> FileRead {
        let records: Int? = Self.shortRecordTables.contains(path) ? 512 : nil
        let opened: Result<[UInt8], OpenProblem> = open(path) { Posix.readFile($0, limit: limit, recordsUnder: records) }
        switch opened {
        case .success(let bytes): return .content(bytes)
        case .failure(.missing): return .missing
        case .failure(.unreadable(let why)): return .unreadable(why)
        }
    }

    enum OpenProblem: Error {
        case missing
        case unreadable(String)
    }

    /// Resolves the parents, then opens without following the last component; only when it is a
    /// symlink (ELOOP) is it resolved by hand too.
    private func open<T>(_ path: String, _ opener: (String) -> Result<T, Posix.ReadError>) -> Result<T, OpenProblem> {
        var outcome: Result<T, Posix.ReadError>
        switch resolve(path, followFinal: false) {
        case .success(let host): outcome = opener(host)
        case .failure(let error): return .failure(.unreadable(error.description))
        }
        if case .failure(.system(let error)) = outcome, error.code == 40 /* ELOOP */ {
            switch resolve(path, followFinal: true) {
            case .success(let host): outcome = opener(host)
            case .failure(let error): return .failure(.unreadable(error.relative(to: root, path: path).description))
            }
        }
        switch outcome {
        case .success(let value): return .success(value)
        case .failure(.system(let error)) where error.isNotFound: return .failure(.missing)
        case .failure(.system(let error)): return .failure(.unreadable(error.relative(to: root, path: path).description))
        case .failure(.tooLarge(_, let limit)): return .failure(.unreadable("\(path) is larger than \(limit) bytes"))
        case .failure(.notRegular): return .failure(.unreadable("\(path) is not a regular file"))
        }
    }

    public func status(_ path: String, follow: Bool) -> Result<FileStatus, SystemError> {
        // At "/" the kernel follows every symlink exactly as the walk would (nothing can lead
        // out of "/"), in one call instead of an lstat per component.
        if root == "/" { return follow ? Posix.stat(absolute(path)) : Posix.lstat(absolute(path)) }
        return resolve(path, followFinal: follow).flatMap { Posix.lstat($0) }.mapError { $0.relative(to: root, path: path) }
    }

    public func list(_ path: String) -> Result<[String], SystemError> {
        if root == "/" { return Posix.listDirectory(absolute(path)) }
        return resolve(path, followFinal: true).flatMap { Posix.listDirectory($0) }.mapError { $0.relative(to: root, path: path) }
    }

    private func absolute(_ path: String) -> String { path.hasPrefix("/") ? path : "/" + path }

    public func readLink(_ path: String) -> Result<String, SystemError> {
        resolve(path, followFinal: false).flatMap { Posix.readLink($0) }.mapError { $0.relative(to: root, path: path) }
    }
}

extension SystemError {
    /// The same error, naming the node path instead of the host path.
    func relative(to root: String, path: String) -> SystemError {
        root == "/" ? self : SystemError(operation, path, code: code)
    }
}

