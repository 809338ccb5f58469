/// A TCP socket listening on a node, as /proc/net/tcp and /proc/net/tcp6 list it.
public struct ListeningSocket: Equatable, Sendable {
    /// The local address as people write it: "127.0.0.1", "0.0.0.0", "::", "::1", "fe80::1".
    public let address: String
    public let port: UInt16
    /// The socket's inode: what /proc/PID/fd/N links name ("socket:[INODE]").
    public let inode: UInt64

    public init(address: String, port: UInt16, inode: UInt64) {
        self.address = address
        self.port = port
        self.inode = inode
    }

    /// Listening on every address (0.0.0.0, or :: which takes IPv4 too unless bindv6only).
    public var isWildcard: Bool { address == "0.0.0.0" || address == "::" }

    /// "127.0.0.1:8443", "[::]:6443".
    public var endpoint: String { address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)" }
}

/// The kernel's socket tables (/proc/net/tcp, /proc/net/tcp6): bounded, strict, linear.
public enum ProcNetTCP {
    /// Larger is not a table this profile reads (about 150 bytes a socket: some 200,000 sockets).
    public static let readLimit = 32 << 20
    /// The LISTEN state's number in the `st` column.
    static let listen: UInt8 = 0x0A

    /// The listening sockets of one table. A line that is not as the kernel writes it is a
    /// syntax error at its line and column (the first line is the header).
    public static func listening(_ bytes: [UInt8], ipv6: Bool) throws(SyntaxError) -> [ListeningSocket] {
        var sockets: [ListeningSocket] = []
        var lineNumber = 0
        var start = 0
        let addressDigits = ipv6 ? 32 : 8
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 10 { end += 1 }
            lineNumber += 1
            defer { start = end + 1 }
            if lineNumber == 1 { continue }  // "  sl  local_address rem_address   st …"
            // Fields: sl, local, remote, st, queues, timer, retransmits, uid, timeout, inode, …
            var fields: [Range<Int>] = []
            var i = start
            while i < end && fields.count < 10 {
                while i < end && bytes[i] == 32 { i += 1 }
                let fieldStart = i
                while i < end && bytes[i] != 32 { i += 1 }
                if i > fieldStart { fields.append(fieldStart..<i) }
            }
            if fields.isEmpty { continue }
            func fail(_ field: Int, _ message: String) -> SyntaxError {
                let column = field < fields.count ? fields[field].lowerBound - start + 1 : end - start + 1
                return SyntaxError(line: lineNumber, column: column, message: message)
            }
            guard fields.count == 10 else { throw fail(fields.count, "expected 10 fields or more (sl local remote st … inode), found \(fields.count)") }
            let local = fields[1]
            guard local.count == addressDigits + 5, bytes[local.lowerBound + addressDigits] == 58 /* : */ else {
                throw fail(1, "expected a local address of \(addressDigits) hex digits, a colon and a 4-digit port")
            }
            guard let state = hex(bytes[fields[3]]), state <= 0xFF else { throw fail(3, "expected a state in hex") }
            guard UInt8(state) == listen else { continue }
            guard let port = hex(bytes[(local.lowerBound + addressDigits + 1)..<local.upperBound]) else { throw fail(1, "expected a port in hex") }
            guard let address = self.address(bytes[local.lowerBound..<(local.lowerBound + addressDigits)]) else {
                throw fail(1, "expected an address in hex")
            }
            var inode: UInt64 = 0
            for byte in bytes[fields[9]] {
                guard byte >= 48 && byte <= 57, inode < UInt64.max / 10 - 9 else { throw fail(9, "expected an inode number") }
                inode = inode * 10 + UInt64(byte - 48)
            }
            sockets.append(ListeningSocket(address: address, port: UInt16(port), inode: inode))
        }
        return sockets
    }

    static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 65...70: byte - 55
        case 97...102: byte - 87
        default: nil
        }
    }

    /// At most 16 hex digits.
    static func hex(_ digits: ArraySlice<UInt8>) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 16 else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            guard let d = hexDigit(byte) else { return nil }
            value = value << 4 | UInt64(d)
        }
        return value
    }

    /// The kernel prints each 32-bit word of an address as a number in the machine's byte order
    /// (%08X): on the little-endian machines kcheck runs on (x86_64, aarch64) its bytes reversed.
    static func address(_ digits: ArraySlice<UInt8>) -> String? {
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            guard let word = hex(digits[index..<(index + 8)]) else { return nil }
            for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
            index += 8
        }
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        // IPv4-mapped (::ffff:a.b.c.d) as IPv4, as ss prints it.
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return bytes[12...].map(String.init).joined(separator: ".")
        }
        return ipv6Text(bytes)
    }

    /// RFC 5952 text: lowercase, leading zeros dropped, the longest run of two or more zero
    /// groups as "::".
    static func ipv6Text(_ bytes: [UInt8]) -> String {
        let groups = stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
        var best = (start: -1, length: 0), run = (start: -1, length: 0)
        for (i, g) in groups.enumerated() {
            if g == 0 {
                run = run.start < 0 ? (i, 1) : (run.start, run.length + 1)
                if run.length > best.length { best = run }
            } else {
                run = (-1, 0)
            }
        }
        func text(_ slice: ArraySlice<UInt16>) -> String { slice.map { String($0, radix: 16) }.joined(separator: ":") }
        guard best.length >= 2 else { return text(groups[...]) }
        return text(groups[..<best.start]) + "::" + text(groups[(best.start + best.length)...])
    }
}

/// Which process holds a socket, found through /proc/PID/fd: the program's name (its executable's
/// file name, else its comm) and PID.
public struct SocketOwner: Equatable, Sendable {
    public let program: String
    public let pid: Int

    public init(program: String, pid: Int) {
        self.program = program
        self.pid = pid
    }
}

extension NodeFacts {
    /// The owners of these socket inodes. The first rule that asks (one that found a port in use)
    /// has every listening socket's owner looked up in one walk of the processes' descriptors;
    /// the rules after it are answered from that.
    func socketOwners(_ inodes: Set<UInt64>) -> [UInt64: SocketOwner] {
        guard !inodes.isEmpty else { return [:] }
        if socketOwnersCache == nil || !inodes.isSubset(of: socketOwnersCache!.asked) {
            var wanted = inodes
            if case .success(let sockets) = listeningSockets() { wanted.formUnion(sockets.map(\.inode)) }
            socketOwnersCache = (wanted.union(socketOwnersCache?.asked ?? []), (socketOwnersCache?.owners ?? [:]).merging(walkOwners(wanted)) { a, _ in a })
        }
        return socketOwnersCache!.owners.filter { inodes.contains($0.key) }
    }

    /// One walk of /proc/PID/fd for these inodes, ending once all are found.
    private func walkOwners(_ inodes: Set<UInt64>) -> [UInt64: SocketOwner] {
        guard case .success(let entries) = node.list("/proc") else { return [:] }
        var owners: [UInt64: SocketOwner] = [:]
        for entry in entries where entry.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            guard let pid = Int(entry), case .success(let fds) = node.list("/proc/\(entry)/fd") else { continue }
            var program: String?
            for fd in fds {
                guard case .success(let target) = node.readLink("/proc/\(entry)/fd/\(fd)"), target.hasPrefix("socket:["), target.hasSuffix("]"),
                    let inode = UInt64(target.dropFirst(8).dropLast()), inodes.contains(inode), owners[inode] == nil
                else { continue }
                if program == nil { program = programName(pid: entry) }
                owners[inode] = SocketOwner(program: program ?? "pid \(pid)", pid: pid)
            }
            if owners.count == inodes.count { break }
        }
        return owners
    }

    /// The file name of /proc/PID/exe (" (deleted)" dropped), else /proc/PID/comm.
    func programName(pid: String) -> String? {
        if case .success(var target) = node.readLink("/proc/\(pid)/exe") {
            if target.hasSuffix(" (deleted)") { target.removeLast(10) }
            if let name = target.split(separator: "/").last { return String(name) }
        }
        if case .content(let bytes) = node.read("/proc/\(pid)/comm", limit: 64) { return String(String(decoding: bytes, as: UTF8.self).trimmed) }
        return nil
    }
}

extension NodeFacts {
    /// Every listening TCP socket of the node, read once per run (the kernel walks every socket
    /// bucket to print /proc/net/tcp: milliseconds on a machine with much memory).
    func listeningSockets() -> Result<[ListeningSocket], SyntaxErrorIn> {
        if let cached = listeningSocketsCache { return cached }
        let result = readListeningSockets()
        listeningSocketsCache = result
        return result
    }

    /// /proc/net/tcp, and tcp6 where IPv6 is on.
    private func readListeningSockets() -> Result<[ListeningSocket], SyntaxErrorIn> {
        var sockets: [ListeningSocket] = []
        for (path, ipv6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
            switch node.read(path, limit: ProcNetTCP.readLimit) {
            case .missing where ipv6: continue  // IPv6 disabled (ipv6.disable=1)
            case .missing: return .failure(SyntaxErrorIn(path: path, message: "\(path) is missing"))
            case .unreadable(let why): return .failure(SyntaxErrorIn(path: path, message: why))
            case .content(let bytes):
                do throws(SyntaxError) {
                    sockets += try ProcNetTCP.listening(bytes, ipv6: ipv6)
                } catch {
                    return .failure(SyntaxErrorIn(path: path, message: "\(path):\(error.line):\(error.column): \(error.message)"))
                }
            }
        }
        return .success(sockets)
    }
}

/// Why a file could not be had or read (its path, and the reason with the place).
struct SyntaxErrorIn: Error {
    let path: String
    let message: String
}
