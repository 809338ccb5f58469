#if canImport(Glibc)
import Glibc
#endif

/// Writes under a root directory ("/" for the live node, DIR for a node tree) that never follow a
/// symlink: every directory on the way is opened with `O_NOFOLLOW | O_DIRECTORY` from the one
/// before it, so a symlink anywhere on the path (planted before the run or swapped in during it)
/// makes the write fail with the path named, instead of landing outside the node or the tree.
/// Files are replaced atomically (a temporary file in the same directory, fsync, rename, fsync of
/// the directory), keeping the old file's mode, owner and group.
public struct SafeWriter: Sendable {
    public let root: String
    /// Whether each write first removes the temporaries a killed run left beside its target, and
    /// syncs. A tree written fresh (a snapshot: whole, or thrown away) has none to sweep and needs
    /// no sync per file: writing n files in one directory stays linear.
    public let sweepsStaleTemporaries: Bool

    public init(root: String, fresh: Bool = false) {
        self.root = root
        self.sweepsStaleTemporaries = !fresh
    }

    /// What is at a path, for the journal: a file's bytes and attributes, a symlink's target, a
    /// directory, or nothing.
    public enum Entry: Equatable, Sendable {
        case file(bytes: [UInt8], mode: UInt32, uid: UInt32, gid: UInt32)
        case symlink(target: String)
        case directory(mode: UInt32)
        case absent
    }

    /// Why a write was refused or failed.
    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }

        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }

    /// Called in the middle of every file write (after half the bytes are in the temporary
    /// file): the fault-injection tests stop the process there.
    nonisolated(unsafe) public static var midWriteHook: (() -> Void)?

    // MARK: - Directories

    /// Opens the directory that holds `path` (a node path), refusing symlinks on the way. With
    /// `create`, missing directories are made (mode 0755).
    func openParent(_ path: String, create: Bool) -> Result<(fd: Int32, name: String), Failure> {
        var components = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let name = components.popLast(), !components.contains(".."), name != "..", name != "." else {
            return .failure(Failure(path: path, reason: "not a plain absolute path"))
        }
        var fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Failure(path: path, reason: "cannot open the root \(root): \(Self.reason(errno))")) }
        var walked = ""
        for component in components where component != "." {
            walked += "/" + component
            var next = openat(fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 && errno == ENOENT && create {
                if mkdirat(fd, component, 0o755) != 0 && errno != EEXIST {
                    let code = errno
                    close(fd)
                    return .failure(Failure(path: path, reason: "cannot make \(walked): \(Self.reason(code))"))
                }
                next = openat(fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            let code = errno
            close(fd)
            guard next >= 0 else {
                if code == ELOOP || code == ENOTDIR {
                    return .failure(Failure(path: path, reason: "\(walked) is a symlink or not a directory; kcheck never writes through a symlink"))
                }
                return .failure(Failure(path: path, reason: "cannot open \(walked): \(Self.reason(code))"))
            }
            fd = next
        }
        return .success((fd, name))
    }

    static func reason(_ code: Int32) -> String { String(cString: strerror(code)) }

    // MARK: - Reading what is there

    /// What is at `path` now, read without following a symlink anywhere on the path.
    public func entry(_ path: String, limit: Int = 64 << 20) -> Result<Entry, Failure> {
        let parent: (fd: Int32, name: String)
        switch openParent(path, create: false) {
        case .success(let p): parent = p
        case .failure(let failure):
            // A missing directory on the way: nothing is there.
            if failure.reason.hasSuffix(Self.reason(ENOENT)) { return .success(.absent) }
            return .failure(failure)
        }
        defer { close(parent.fd) }
        var st = stat()
        if fstatat(parent.fd, parent.name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
            if errno == ENOENT { return .success(.absent) }
            return .failure(Failure(path: path, reason: Self.reason(errno)))
        }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return .success(.directory(mode: UInt32(st.st_mode & 0o7777)))
        case S_IFLNK:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = buffer.withUnsafeMutableBufferPointer { readlinkat(parent.fd, parent.name, $0.baseAddress!, $0.count - 1) }
            guard n >= 0 else { return .failure(Failure(path: path, reason: Self.reason(errno))) }
            return .success(.symlink(target: String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        case S_IFREG:
            let fd = openat(parent.fd, parent.name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { return .failure(Failure(path: path, reason: Self.reason(errno))) }
            defer { close(fd) }
            // What was opened, not what was there a moment before: a FIFO put in its place is refused.
            var opened = stat()
            guard fstat(fd, &opened) == 0, opened.st_mode & S_IFMT == S_IFREG else {
                return .failure(Failure(path: path, reason: "is not a regular file"))
            }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    return .failure(Failure(path: path, reason: Self.reason(errno)))
                }
                if n == 0 { break }
                bytes.append(contentsOf: chunk[0..<n])
                if bytes.count > limit { return .failure(Failure(path: path, reason: "larger than \(limit) bytes")) }
            }
            return .success(.file(bytes: bytes, mode: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid))
        default:
            return .failure(Failure(path: path, reason: "not a regular file, directory or symlink"))
        }
    }

    // MARK: - Writing

    /// Replaces (or creates) the file at `path` atomically. An existing file keeps its mode, owner
    /// and group; a new one gets `mode` and root's ownership. A symlink, directory or device at
    /// `path` is refused.
    public func writeFile(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o644, owner: (uid: UInt32, gid: UInt32)? = nil)
        -> Result<Void, Failure>
    {
        let parent: (fd: Int32, name: String)
        switch openParent(path, create: true) {
        case .success(let p): parent = p
        case .failure(let failure): return .failure(failure)
        }
        defer { close(parent.fd) }
        var keepMode = mode
        var keepOwner = owner
        var st = stat()
        if fstatat(parent.fd, parent.name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
            switch st.st_mode & S_IFMT {
            case S_IFREG:
                keepMode = UInt32(st.st_mode & 0o7777)
                keepOwner = (st.st_uid, st.st_gid)
            case S_IFLNK: return .failure(Failure(path: path, reason: "is a symlink; kcheck never writes through a symlink"))
            default: return .failure(Failure(path: path, reason: "is not a regular file"))
            }
        } else if errno != ENOENT {
            return .failure(Failure(path: path, reason: Self.reason(errno)))
        }
        return replace(parent: parent, path: path) { fd, temporary in
            let half = bytes.count / 2
            if case .failure(let error) = Posix.writeAll(fd: fd, Array(bytes[0..<half])) {
                return .failure(Failure(path: temporary, reason: Self.reason(error.code)))
            }
            Self.midWriteHook?()
            if case .failure(let error) = Posix.writeAll(fd: fd, Array(bytes[half...])) {
                return .failure(Failure(path: temporary, reason: Self.reason(error.code)))
            }
            guard fchmod(fd, mode_t(keepMode)) == 0 else { return .failure(Failure(path: temporary, reason: "chmod: \(Self.reason(errno))")) }
            if let o = keepOwner, fchown(fd, o.uid, o.gid) != 0 {
                return .failure(Failure(path: temporary, reason: "chown: \(Self.reason(errno))"))
            }
            // A fresh tree (a snapshot) is written whole or thrown away: no fsync per file.
            guard !sweepsStaleTemporaries || fsync(fd) == 0 else { return .failure(Failure(path: temporary, reason: "fsync: \(Self.reason(errno))")) }
            return .success(())
        }
    }

    /// Puts a file back as it was (undo): its bytes, mode, owner and group exactly, whatever is
    /// at the path now (a file kcheck wrote, or a symlink; never followed).
    public func restoreFile(_ path: String, _ bytes: [UInt8], mode: UInt32, owner: (uid: UInt32, gid: UInt32)) -> Result<Void, Failure> {
        let parent: (fd: Int32, name: String)
        switch openParent(path, create: true) {
        case .success(let p): parent = p
        case .failure(let failure): return .failure(failure)
        }
        defer { close(parent.fd) }
        return replace(parent: parent, path: path) { fd, temporary in
            if case .failure(let error) = Posix.writeAll(fd: fd, bytes) { return .failure(Failure(path: temporary, reason: Self.reason(error.code))) }
            guard fchown(fd, owner.uid, owner.gid) == 0 else { return .failure(Failure(path: temporary, reason: "chown: \(Self.reason(errno))")) }
            guard fchmod(fd, mode_t(mode)) == 0 else { return .failure(Failure(path: temporary, reason: "chmod: \(Self.reason(errno))")) }
            guard fsync(fd) == 0 else { return .failure(Failure(path: temporary, reason: "fsync: \(Self.reason(errno))")) }
            return .success(())
        }
    }

    /// Replaces whatever is at `path` with a symlink to `target`, atomically (a new link renamed
    /// over it). A directory at `path` is refused.
    public func writeSymlink(_ path: String, target: String) -> Result<Void, Failure> {
        let parent: (fd: Int32, name: String)
        switch openParent(path, create: true) {
        case .success(let p): parent = p
        case .failure(let failure): return .failure(failure)
        }
        defer { close(parent.fd) }
        var st = stat()
        if fstatat(parent.fd, parent.name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFDIR {
            return .failure(Failure(path: path, reason: "is a directory"))
        }
        for attempt in 0..<100 {
            let temporary = ".\(parent.name).kcheck-\(getpid())-\(attempt)"
            if symlinkat(target, parent.fd, temporary) != 0 {
                if errno == EEXIST { continue }
                return .failure(Failure(path: path, reason: "symlink: \(Self.reason(errno))"))
            }
            guard renameat(parent.fd, temporary, parent.fd, parent.name) == 0 else {
                let code = errno
                unlinkat(parent.fd, temporary, 0)
                return .failure(Failure(path: path, reason: "rename: \(Self.reason(code))"))
            }
            guard fsync(parent.fd) == 0 else { return .failure(Failure(path: path, reason: "fsync: \(Self.reason(errno))")) }
            return .success(())
        }
        return .failure(Failure(path: path, reason: "cannot make a temporary name"))
    }

    /// Makes a directory (and missing parents), never through a symlink.
    public func makeDirectory(_ path: String, mode: UInt32 = 0o755) -> Result<Void, Failure> {
        switch openParent(path, create: true) {
        case .failure(let failure): return .failure(failure)
        case .success(let parent):
            defer { close(parent.fd) }
            if mkdirat(parent.fd, parent.name, mode_t(mode)) != 0 {
                if errno != EEXIST { return .failure(Failure(path: path, reason: Self.reason(errno))) }
                var st = stat()
                guard fstatat(parent.fd, parent.name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFDIR else {
                    return .failure(Failure(path: path, reason: "exists and is not a directory"))
                }
                return .success(())
            }
            _ = fchmodat(parent.fd, parent.name, mode_t(mode), 0)
            _ = fsync(parent.fd)
            return .success(())
        }
    }

    /// Removes a file or symlink (or an empty directory with `directory`); nothing there is fine.
    public func remove(_ path: String, directory: Bool = false) -> Result<Void, Failure> {
        switch openParent(path, create: false) {
        case .failure(let failure):
            if failure.reason.hasSuffix(Self.reason(ENOENT)) { return .success(()) }
            return .failure(failure)
        case .success(let parent):
            defer { close(parent.fd) }
            if directory {
                // A killed run's temporary files would keep the directory from being removed.
                let fd = openat(parent.fd, parent.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if fd >= 0 {
                    removeStaleTemporaries(in: fd, for: nil)
                    close(fd)
                }
            }
            if unlinkat(parent.fd, parent.name, directory ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT {
                return .failure(Failure(path: path, reason: Self.reason(errno)))
            }
            _ = fsync(parent.fd)
            return .success(())
        }
    }

    /// Writes bytes into an existing file in place, as a kernel interface wants (/proc/sys,
    /// /sys/fs/selinux/enforce): no temporary file, no rename.
    public func writeInPlace(_ path: String, _ bytes: [UInt8]) -> Result<Void, Failure> {
        switch openParent(path, create: false) {
        case .failure(let failure): return .failure(failure)
        case .success(let parent):
            defer { close(parent.fd) }
            // Never blocks on a FIFO (O_NONBLOCK: opening one with no reader fails at once) and
            // never writes into anything but a regular file (a device, a socket).
            let fd = openat(parent.fd, parent.name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { return .failure(Failure(path: path, reason: Self.reason(errno))) }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
                return .failure(Failure(path: path, reason: "is not a regular file"))
            }
            _ = ftruncate(fd, 0)
            if case .failure(let error) = Posix.writeAll(fd: fd, bytes) { return .failure(Failure(path: path, reason: Self.reason(error.code))) }
            return .success(())
        }
    }

    /// Removes the temporary files killed runs left in a directory (".NAME.kcheck-PID-N" of
    /// another process): a journal's own rewrites, for instance, whose run will never finish them.
    public func removeStaleTemporaries(inDirectory path: String) {
        guard case .success(let parent) = openParent(path + "/.kcheck-sweep", create: false) else { return }
        defer { close(parent.fd) }
        removeStaleTemporaries(in: parent.fd, for: nil)
    }

    /// Removes temporary files a killed run left beside `name` (".NAME.kcheck-PID-N"): the
    /// target itself was never touched by them, and no later run would finish them.
    private func removeStaleTemporaries(_ parent: (fd: Int32, name: String)) {
        removeStaleTemporaries(in: parent.fd, for: parent.name)
    }

    /// Removes killed runs' temporary files in a directory: those beside `name`, or all of them.
    private func removeStaleTemporaries(in directory: Int32, for target: String?) {
        let copy = dup(directory)
        guard copy >= 0, let dir = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            return
        }
        defer { closedir(dir) }
        let mine = "-\(getpid())-"
        var stale: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            // ".TARGET.kcheck-PID-N"
            let bytes = Array(name.utf8), marker = Array(".kcheck-".utf8)
            guard bytes.first == 0x2E, bytes.count > marker.count + 1,
                let at = (1...(bytes.count - marker.count)).reversed().first(where: { Array(bytes[$0..<($0 + marker.count)]) == marker })
            else { continue }
            if let target, Array(bytes[1..<at]) != Array(target.utf8) { continue }
            let rest = String(decoding: bytes[(at + marker.count - 1)...], as: UTF8.self)
            if !rest.hasPrefix(mine) { stale.append(name) }
        }
        for name in stale { unlinkat(directory, name, 0) }
    }

    private func replace(
        parent: (fd: Int32, name: String), path: String, contents: (Int32, String) -> Result<Void, Failure>
    ) -> Result<Void, Failure> {
        if sweepsStaleTemporaries { removeStaleTemporaries(parent) }
        var fd: Int32 = -1
        var temporary = ""
        for attempt in 0..<100 {
            temporary = ".\(parent.name).kcheck-\(getpid())-\(attempt)"
            fd = openat(parent.fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { return .failure(Failure(path: path, reason: "cannot create a temporary file beside it: \(Self.reason(errno))")) }
        var renamed = false
        defer {
            close(fd)
            if !renamed { unlinkat(parent.fd, temporary, 0) }
        }
        if case .failure(let failure) = contents(fd, temporary) { return .failure(Failure(path: path, reason: failure.reason)) }
        guard renameat(parent.fd, temporary, parent.fd, parent.name) == 0 else {
            return .failure(Failure(path: path, reason: "rename: \(Self.reason(errno))"))
        }
        renamed = true
        guard !sweepsStaleTemporaries || fsync(parent.fd) == 0 else { return .failure(Failure(path: path, reason: "fsync of its directory: \(Self.reason(errno))")) }
        return .success(())
    }
}

/// An exclusive lock on a file, held until released or the process ends (flock).
public final class FileLock {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    /// Takes the lock without waiting; nil with the reason when another process holds it.
    /// `path` is a node path under the writer's root; its directory is made (0700) if missing.
    public static func acquire(_ writer: SafeWriter, path: String) -> Result<FileLock, SafeWriter.Failure> {
        let parent: (fd: Int32, name: String)
        switch writer.openParent(path, create: true) {
        case .success(let p): parent = p
        case .failure(let failure): return .failure(failure)
        }
        defer { close(parent.fd) }
        let fd = openat(parent.fd, parent.name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return .failure(SafeWriter.Failure(path: path, reason: SafeWriter.reason(errno))) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            defer { close(fd) }
            if code == EWOULDBLOCK { return .failure(SafeWriter.Failure(path: path, reason: "it is held by \(holder(fd))")) }
            return .failure(SafeWriter.Failure(path: path, reason: SafeWriter.reason(code)))
        }
        // Who holds it, for whoever finds it taken: this process and its command.
        var st = stat()
        if fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG {
            let words = CommandLine.arguments.map { $0.split(separator: "/").last.map(String.init) ?? $0 }.prefix(8).joined(separator: " ")
            _ = ftruncate(fd, 0)
            _ = Posix.writeAll(fd: fd, Array("pid \(getpid()) started \(Posix.runID().prefix(16)): \(words)\n".utf8))
        }
        return .success(FileLock(fd: fd))
    }

    /// What the lock file says of its holder (a kcheck of this version writes it on taking the
    /// lock), checked against the process table.
    private static func holder(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 512, 0) }
        let text = n > 0 ? String(decoding: buffer.prefix(n).prefix { $0 != 10 }, as: UTF8.self) : ""
        let fields = text.split(separator: " ")
        guard fields.count >= 2, fields[0] == "pid", let pid = Int32(fields[1]), pid > 0 else {
            return "another process (an older kcheck, or one that wrote no name)"
        }
        let alive = kill(pid, 0) == 0 || errno == EPERM
        return alive ? "process \(text.dropFirst(4))" : "another process (the lock file names pid \(pid), which is gone)"
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

extension Posix {
    /// Ends the process at once with SIGKILL (the fault-injection tests' stop).
    public static func killSelf() -> Never {
        kill(getpid(), SIGKILL)
        exit(137)
    }

    /// A fresh run id: UTC time to the second and the process id ("20261129T230912Z-4242").
    public static func runID() -> String {
        let now = wallClock()
        let c = utcCalendar(now.seconds)
        func pad(_ n: Int, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(n).count)) + String(n) }
        return "\(pad(c.year, 4))\(pad(c.month, 2))\(pad(c.day, 2))T\(pad(c.hour, 2))\(pad(c.minute, 2))\(pad(c.second, 2))Z-\(getpid())"
    }
}
