#if canImport(Glibc)
import Glibc
#endif

/// Bytes read line by line: a mapped file, or an array. The line scanner for large files
/// (dpkg's status file) works on either without copying a mapped file.
public protocol LineBytes {
    var count: Int { get }
    subscript(_ index: Int) -> UInt8 { get }
    /// Calls `body` with the byte range of each line (without its newline).
    func forEachLine(_ body: (Range<Int>) -> Void)
    /// Whether `prefix` stands at `offset`.
    func matches(_ prefix: [UInt8], at offset: Int) -> Bool
    func bytes(_ range: Range<Int>) -> [UInt8]
}

/// A regular file mapped read-only into memory and unmapped when released: no copy of its
/// content (dpkg's 640 KB status file costs a fifth of reading it). The pointer never leaves this
/// type; every access is bounds-checked.
public final class MappedFile: LineBytes, @unchecked Sendable {
    private let base: UnsafeRawPointer?
    public let count: Int

    private init(base: UnsafeRawPointer?, count: Int) {
        self.base = base
        self.count = count
    }

    deinit {
        if let base, count > 0 { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// Maps `path` without following a final symlink; refuses more than `limit` bytes.
    public static func map(_ path: String, limit: Int) -> Result<MappedFile, Posix.ReadError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return .failure(.system(SystemError("open", path, code: errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure(.system(SystemError("fstat", path, code: errno))) }
        guard st.st_mode & S_IFMT == S_IFREG else { return .failure(.notRegular(path: path)) }
        let size = Int(st.st_size)
        if size > limit { return .failure(.tooLarge(path: path, limit: limit)) }
        if size == 0 { return .success(MappedFile(base: nil, count: 0)) }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED else {
            return .failure(.system(SystemError("mmap", path, code: errno)))
        }
        return .success(MappedFile(base: UnsafeRawPointer(address), count: size))
    }

    public subscript(_ index: Int) -> UInt8 {
        precondition(index >= 0 && index < count, "offset out of the mapped file")
        return base!.load(fromByteOffset: index, as: UInt8.self)
    }

    public func forEachLine(_ body: (Range<Int>) -> Void) {
        guard let base else { return }
        var start = 0
        while start < count {
            let found = memchr(base + start, 0x0A, count - start)
            let end = found.map { UnsafeRawPointer($0) - base } ?? count
            body(start..<end)
            start = end + 1
        }
    }

    public func matches(_ prefix: [UInt8], at offset: Int) -> Bool {
        guard let base, offset >= 0, offset + prefix.count <= count else { return prefix.isEmpty }
        return prefix.withUnsafeBytes { memcmp(base + offset, $0.baseAddress!, prefix.count) == 0 }
    }

    public func bytes(_ range: Range<Int>) -> [UInt8] {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "range out of the mapped file")
        guard let base, !range.isEmpty else { return [] }
        return Array(UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count))
    }

    /// Whether the file holds `byte` anywhere.
    public func contains(_ byte: UInt8) -> Bool {
        guard let base else { return false }
        return memchr(base, Int32(byte), count) != nil
    }
}

/// An array read line by line, as a mapped file is.
public struct LineArray: LineBytes, Sendable {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var count: Int { bytes.count }
    public subscript(_ index: Int) -> UInt8 { bytes[index] }
    public func forEachLine(_ body: (Range<Int>) -> Void) { Lines.forEach(in: bytes, body) }
    public func matches(_ prefix: [UInt8], at offset: Int) -> Bool {
        offset >= 0 && offset + prefix.count <= bytes.count && bytes[offset..<(offset + prefix.count)].elementsEqual(prefix)
    }
    public func bytes(_ range: Range<Int>) -> [UInt8] { Array(bytes[range]) }
}
