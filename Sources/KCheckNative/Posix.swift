#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CKernel

/// A failed system call: which operation, on what, and the errno it returned.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let code: Int32

    public init(_ operation: String, _ path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// True when the path (or a component of it) does not exist.
    public var isNotFound: Bool { code == ENOENT || code == ENOTDIR }

    public var description: String {
        let reason = String(cString: strerror(code))
        return path.isEmpty ? "\(operation): \(reason)" : "\(operation) \(path): \(reason)"
    }
}

/// What `lstat` says of a path, without following a final symlink.
public struct FileStatus: Equatable, Sendable {
    public enum Kind: String, Sendable { case regular, directory, symlink, other }
    public let kind: Kind
    public let mode: UInt32
    public let uid: UInt32
    public let gid: UInt32
    public let size: Int64
    public let modifiedSeconds: Int64

    /// The same file with other permission bits and owner (what a node tree records in its facts,
    /// since a checkout cannot keep them).
    public func with(permissions: UInt32, uid: UInt32, gid: UInt32) -> FileStatus {
        FileStatus(kind: kind, mode: (mode & ~0o7777) | (permissions & 0o7777), uid: uid, gid: gid, size: size, modifiedSeconds: modifiedSeconds)
    }
}

private func followingStat(_ path: String, _ st: inout Glibc.stat) -> Int32 { stat(path, &st) }

/// Thin, checked wrappers over the system calls kcheck uses. Every pointer stays inside a function.
public enum Posix {
    /// Waits `milliseconds` (a pause between polls of the kernel's state).
    public static func pause(milliseconds: Int) {
        var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var left = timespec()
        while nanosleep(&request, &left) != 0 && errno == EINTR { request = left }
    }

    public static func lstat(_ path: String) -> Result<FileStatus, SystemError> {
        var st = Glibc.stat()
        guard Glibc.lstat(path, &st) == 0 else { return .failure(SystemError("lstat", path, code: errno)) }
        return .success(status(st))
    }

    public static func stat(_ path: String) -> Result<FileStatus, SystemError> {
        var st = Glibc.stat()
        guard followingStat(path, &st) == 0 else { return .failure(SystemError("stat", path, code: errno)) }
        return .success(status(st))
    }

    private static func status(_ st: Glibc.stat) -> FileStatus {
        let kind: FileStatus.Kind
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        return FileStatus(
            kind: kind, mode: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid,
            size: Int64(st.st_size), modifiedSeconds: Int64(st.st_mtim.tv_sec))
    }

    public static func readLink(_ path: String) -> Result<String, SystemError> {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = buffer.withUnsafeMutableBufferPointer { readlink(path, $0.baseAddress!, $0.count - 1) }
        guard n >= 0 else { return .failure(SystemError("readlink", path, code: errno)) }
        return .success(String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// The names in a directory, without "." and "..", sorted bytewise (as systemd sorts).
    public static func listDirectory(_ path: String) -> Result<[String], SystemError> {
        guard let dir = opendir(path) else { return .failure(SystemError("opendir", path, code: errno)) }
        defer { closedir(dir) }
        var names: [String] = []
        var ascii = true
        errno = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String in
                let bytes = raw.prefix { $0 != 0 }
                if ascii && bytes.contains(where: { $0 >= 0x80 }) { ascii = false }
                return String(decoding: bytes, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        if errno != 0 { return .failure(SystemError("readdir", path, code: errno)) }
        // String's own order is bytewise for ASCII and much faster; other names by their UTF-8.
        if ascii { names.sort() } else { names.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) } }
        return .success(names)
    }

    /// Why a bounded read failed.
    public enum ReadError: Error, Equatable, Sendable, CustomStringConvertible {
        case system(SystemError)
        case tooLarge(path: String, limit: Int)
        case notRegular(path: String)

        public var description: String {
            switch self {
            case .system(let error): error.description
            case .tooLarge(let path, let limit): "\(path) is larger than \(limit) bytes"
            case .notRegular(let path): "\(path) is not a regular file"
            }
        }
    }

    /// Reads a whole file, refusing more than `limit` bytes, without following a final symlink.
    /// Files under /proc and /sys report a size of 0 or 4096, so the limit is enforced while reading.
    /// `followSymlinks` is for files a user names on the command line (a report's latest.json),
    /// never for a node's files.
    ///
    /// `recordsUnder`: the file is a kernel table printed by seq_file whose records are each shorter
    /// than this (/proc/net/tcp's lines are 150 bytes). seq_file ends a read early only when the
    /// next record would overflow its page-sized buffer, so a first read that returns less than a
    /// page minus one record is the whole table: the second read, which for /proc/net/tcp makes
    /// the kernel walk every socket bucket again (milliseconds on a machine with much memory), is
    /// not made.
    public static func readFile(_ path: String, limit: Int, followSymlinks: Bool = false, recordsUnder: Int? = nil) -> Result<[UInt8], ReadError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (followSymlinks ? 0 : O_NOFOLLOW))
        guard fd >= 0 else { return .failure(.system(SystemError("open", path, code: errno))) }
        defer { close(fd) }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0 else { return .failure(.system(SystemError("fstat", path, code: errno))) }
        guard st.st_mode & S_IFMT == S_IFREG else { return .failure(.notRegular(path: path)) }
        if Int64(st.st_size) > Int64(limit) { return .failure(.tooLarge(path: path, limit: limit)) }
        // Read straight into uninitialised capacity of the reported size (plus one byte to see
        // growth); files under /proc report 0 or 4096, so reading goes on until end of file.
        var capacity = min(max(Int(st.st_size) + 1, recordsUnder == nil ? 4096 : 1 << 16), limit + 1)
        var result: [UInt8] = []
        var firstRead = true
        while true {
            var failure: ReadError?
            let previous = result
            result = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
                count = previous.count
                if count > 0 { _ = previous.withUnsafeBytes { memcpy(buffer.baseAddress!, $0.baseAddress!, count) } }
                while count < capacity {
                    let n = read(fd, buffer.baseAddress! + count, capacity - count)
                    if n < 0 {
                        if errno == EINTR { continue }
                        failure = .system(SystemError("read", path, code: errno))
                        return
                    }
                    if n == 0 { return }
                    count += n
                    if firstRead, let record = recordsUnder, st.st_size == 0, count < 4096 - record {
                        firstRead = false
                        return  // the whole table (see above)
                    }
                    firstRead = false
                }
            }
            if let failure { return .failure(failure) }
            if result.count > limit { return .failure(.tooLarge(path: path, limit: limit)) }
            if result.count < capacity { break }
            capacity = min(capacity * 2, limit + 1)
        }
        return .success(result)
    }

    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    public static func effectiveUID() -> UInt32 { geteuid() }

    /// Everything on a descriptor up to end of file (standard input), at most `limit` bytes.
    public static func readAll(fd: Int32, limit: Int) -> Result<[UInt8], SystemError> {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(SystemError("read", "standard input", code: errno))
            }
            if n == 0 { return .success(bytes) }
            guard bytes.count + n <= limit else { return .failure(SystemError("read", "standard input (more than \(limit) bytes)", code: EFBIG)) }
            bytes += buffer[0..<n]
        }
    }

    /// Writes all bytes to a file descriptor, retrying short writes and EINTR.
    public static func writeAll(fd: Int32, _ bytes: [UInt8]) -> Result<Void, SystemError> {
        bytes.withUnsafeBytes { writeAll(fd: fd, raw: $0) }
    }

    /// Writes a string's UTF-8 to a file descriptor without copying it first (a report may be
    /// tens of megabytes).
    public static func writeAll(fd: Int32, text: String) -> Result<Void, SystemError> {
        var text = text
        return text.withUTF8 { writeAll(fd: fd, raw: UnsafeRawBufferPointer($0)) }
    }

    private static func writeAll(fd: Int32, raw: UnsafeRawBufferPointer) -> Result<Void, SystemError> {
        var offset = 0
        while offset < raw.count {
            let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(SystemError("write", "fd \(fd)", code: errno))
            }
            offset += n
        }
        return .success(())
    }

    /// Writes a report where the user asked: a character device or a FIFO (/dev/null,
    /// /dev/stdout, a pipe) is written in place; anything else atomically, as
    /// `writeFileAtomically` does.
    public static func writeOutput(_ path: String, text: String) -> Result<Void, SystemError> {
        var st = Glibc.stat()
        if Glibc.lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFCHR || (st.st_mode & S_IFMT) == S_IFIFO {
            let fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { return .failure(SystemError("open", path, code: errno)) }
            defer { close(fd) }
            return writeAll(fd: fd, text: text).mapError { SystemError("write", path, code: $0.code) }
        }
        return writeFileAtomically(path, mode: 0o644) { writeAll(fd: $0, text: text) }
    }

    /// Replaces a regular file (or creates one) atomically: a temporary file in the same
    /// directory, fsync, rename, fsync of the directory. The target is never half-written. A
    /// symlink at the path is replaced, never followed; a device, a FIFO or a directory is
    /// refused (rename would replace the device).
    public static func writeFileAtomically(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o644)
        -> Result<Void, SystemError>
    {
        writeFileAtomically(path, mode: mode) { writeAll(fd: $0, bytes) }
    }

    private static func writeFileAtomically(
        _ path: String, mode: UInt32, contents: (Int32) -> Result<Void, SystemError>
    ) -> Result<Void, SystemError> {
        var existing = Glibc.stat()
        if Glibc.lstat(path, &existing) == 0 {
            switch existing.st_mode & S_IFMT {
            case S_IFREG, S_IFLNK: break
            case S_IFDIR: return .failure(SystemError("write", path, code: EISDIR))
            default: return .failure(SystemError("refusing to replace the special file", path, code: EINVAL))
            }
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var template = Array("\(directory)/.\(base).kcheck-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return .failure(SystemError("create temporary file in", directory, code: errno)) }
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        defer { close(fd) }
        if case .failure(let error) = contents(fd) {
            return .failure(SystemError("write", temporary, code: error.code))
        }
        guard fchmod(fd, mode_t(mode)) == 0 else { return .failure(SystemError("chmod", temporary, code: errno)) }
        guard fsync(fd) == 0 else { return .failure(SystemError("fsync", temporary, code: errno)) }
        guard rename(temporary, path) == 0 else { return .failure(SystemError("rename to", path, code: errno)) }
        ok = true
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            defer { close(dirfd) }
            guard fsync(dirfd) == 0 else { return .failure(SystemError("fsync", directory, code: errno)) }
        }
        return .success(())
    }

    public static func makeDirectory(_ path: String, mode: UInt32 = 0o755) -> Result<Void, SystemError> {
        if mkdir(path, mode_t(mode)) == 0 || errno == EEXIST { return .success(()) }
        return .failure(SystemError("mkdir", path, code: errno))
    }

    /// Makes a directory and its missing parents (`mkdir -p`), for paths the operator names.
    public static func makeDirectories(_ path: String, mode: UInt32 = 0o755) -> Result<Void, SystemError> {
        var prefix = ""
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + part
            if mkdir(prefix, mode_t(mode)) != 0 && errno != EEXIST { return .failure(SystemError("mkdir", prefix, code: errno)) }
        }
        return .success(())
    }

    /// Wall-clock time as seconds and nanoseconds since the epoch.
    /// The working directory, or nil when it cannot be told.
    /// A path the operator gave on the command line, for kcheck to write or make: absolute, with
    /// its symlinks resolved as any Unix tool follows them (the no-follow rule is for writes
    /// inside a node's own tree, not for where the operator sends reports). A path that does not
    /// exist yet keeps its last component; its directory is resolved.
    public static func operatorPath(_ path: String) -> String {
        let cwd = currentDirectory() ?? "/"
        let absolute = path.hasPrefix("/") ? path : (cwd.hasSuffix("/") ? cwd : cwd + "/") + path
        func resolved(_ p: String) -> String? {
            guard let r = realpath(p, nil) else { return nil }
            defer { free(r) }
            return String(cString: r)
        }
        if let full = resolved(absolute) { return full }
        var parent = absolute
        while parent.count > 1, parent.hasSuffix("/") { parent.removeLast() }
        guard let slash = parent.lastIndex(of: "/") else { return absolute }
        let leaf = parent[parent.index(after: slash)...]
        let directory = String(parent[..<slash])
        guard let base = resolved(directory.isEmpty ? "/" : directory) else { return absolute }
        return (base == "/" ? "" : base) + "/" + leaf
    }

    public static func currentDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let ok = buffer.withUnsafeMutableBufferPointer { getcwd($0.baseAddress, $0.count) != nil }
        return ok ? cText(buffer) : nil
    }

    public static func wallClock() -> (seconds: Int64, nanoseconds: Int64) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return (Int64(ts.tv_sec), Int64(ts.tv_nsec))
    }

    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// UTC calendar fields for a time in seconds since the epoch.
    public static func utcCalendar(_ seconds: Int64)
        -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int)
    {
        var t = time_t(seconds)
        var fields = tm()
        gmtime_r(&t, &fields)
        return (
            Int(fields.tm_year) + 1900, Int(fields.tm_mon) + 1, Int(fields.tm_mday), Int(fields.tm_hour),
            Int(fields.tm_min), Int(fields.tm_sec)
        )
    }
}

extension Posix {
    /// Writes text to standard output (fd 1), ignoring a closed pipe.
    public static func printOut(_ text: String) { _ = writeAll(fd: 1, text: text) }
    /// Writes text to standard error (fd 2).
    public static func printError(_ text: String) { _ = writeAll(fd: 2, text: text) }
    /// Ends the process with a status code.
    public static func exitProcess(_ code: Int32) -> Never { exit(code) }
}

/// Substring search over bytes with memmem, for large files (dpkg's status file).
public enum Bytes {
    /// The offset of the first `needle` in `bytes[range]`, or nil.
    public static func find(_ needle: [UInt8], in bytes: [UInt8], range: Range<Int>) -> Int? {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count)
        guard !needle.isEmpty, range.count >= needle.count else { return nil }
        return bytes.withUnsafeBufferPointer { haystack -> Int? in
            needle.withUnsafeBufferPointer { n -> Int? in
                guard let base = haystack.baseAddress, let nb = n.baseAddress,
                    let found = kcheck_memmem(base + range.lowerBound, range.count, nb, n.count)
                else { return nil }
                return UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) - base
            }
        }
    }
}

/// Line scanning over bytes with memchr, for large files (dpkg's status file).
public enum Lines {
    /// Calls `body` with the byte range of each line (without its newline).
    public static func forEach(in bytes: [UInt8], _ body: (Range<Int>) -> Void) {
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            var start = 0
            while start < buffer.count {
                let found = memchr(base + start, 0x0A, buffer.count - start)
                let end = found.map { UnsafePointer<UInt8>($0.assumingMemoryBound(to: UInt8.self)) - base } ?? buffer.count
                body(start..<end)
                start = end + 1
            }
        }
    }
}

extension Posix {
    /// rename(2): atomic within a filesystem; a directory replaces only an empty one.
    public static func renamePath(_ from: String, to: String) -> Result<Void, SystemError> {
        Glibc.rename(from, to) == 0 ? .success(()) : .failure(SystemError("rename", to, code: errno))
    }

    /// A new directory (mode 0700) under $TMPDIR or /tmp.
    public static func makeTemporaryDirectory(prefix: String, in directory: String? = nil) -> Result<String, SystemError> {
        let base = directory ?? environment("TMPDIR").flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        guard made else { return .failure(SystemError("mkdtemp in", base, code: errno)) }
        return .success(String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// Removes a directory and everything under it, never following a symlink (a link is removed,
    /// not what it points to).
    public static func removeTree(_ path: String) {
        var st = Glibc.stat()
        guard Glibc.lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR, case .success(let names) = listDirectory(path) {
            for name in names { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

/// The text of a NUL-terminated C buffer filled by a C call (up to the first NUL, or all of it).
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
