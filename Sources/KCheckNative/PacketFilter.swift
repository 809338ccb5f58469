#if canImport(Glibc)
import Glibc
#endif

/// The kernel's packet filter, read through its own interfaces: the legacy x_tables tables by
/// `getsockopt(IPT_SO_GET_INFO / IPT_SO_GET_ENTRIES)` (what `iptables-legacy-save` does), the
/// nf_tables rule set by a netlink dump (what `nft list ruleset` does). Both need CAP_NET_ADMIN.
/// No process is started and nothing is changed. The bytes are parsed in KCheckCore
/// (`FirewallChains`), where they are bounded and fuzzed.
public enum PacketFilter {
    /// A legacy table as the kernel hands it over.
    public struct LegacyTable: Sendable {
        public let name: String
        public let validHooks: UInt32
        /// Offsets into `entries` of each hook's first rule and of its policy (underflow).
        public let hookEntry: [UInt32]
        public let underflow: [UInt32]
        public let entryCount: UInt32
        public let entries: [UInt8]
    }

    /// The largest table or dump kcheck reads (a node with tens of thousands of kube-proxy rules
    /// holds a few MiB).
    public static let maximumBytes = 64 << 20

    // <linux/netfilter_ipv4/ip_tables.h>: the options, and the sizes of the structures.
    static let getInfo: Int32 = 64       // IPT_SO_GET_INFO
    static let getEntries: Int32 = 65    // IPT_SO_GET_ENTRIES
    static let infoSize = 84             // struct ipt_getinfo
    static let entriesHeader = 40        // struct ipt_get_entries, up to entrytable (8-aligned)

    /// One legacy table (`filter`, `nat`…). Only ask for a table /proc/net/ip_tables_names lists:
    /// asking for another would make the kernel load its module.
    public static func legacyTable(_ name: String) -> Result<LegacyTable, SystemError> {
        guard name.utf8.count < 32 else { return .failure(SystemError("getsockopt IPT_SO_GET_INFO", name, code: EINVAL)) }
        let fd = socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_RAW))
        guard fd >= 0 else { return .failure(SystemError("socket(AF_INET, SOCK_RAW)", "", code: errno)) }
        defer { close(fd) }
        for _ in 0..<8 {  // the table may change between the two calls (EAGAIN): ask again
            var info = [UInt8](repeating: 0, count: infoSize)
            for (i, byte) in name.utf8.enumerated() { info[i] = byte }
            var length = socklen_t(infoSize)
            guard info.withUnsafeMutableBytes({ getsockopt(fd, Int32(IPPROTO_IP), getInfo, $0.baseAddress, &length) }) == 0 else {
                return .failure(SystemError("getsockopt IPT_SO_GET_INFO", name, code: errno))
            }
            func word(_ offset: Int) -> UInt32 {
                info.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
            }
            let size = Int(word(80))
            guard size <= maximumBytes else { return .failure(SystemError("table \(name) is over 64 MiB", "", code: EFBIG)) }
            var buffer = [UInt8](repeating: 0, count: entriesHeader + size)
            for (i, byte) in name.utf8.enumerated() { buffer[i] = byte }
            buffer.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(size), toByteOffset: 32, as: UInt32.self) }
            length = socklen_t(buffer.count)
            let rc = buffer.withUnsafeMutableBytes { getsockopt(fd, Int32(IPPROTO_IP), getEntries, $0.baseAddress, &length) }
            if rc != 0 {
                if errno == EAGAIN { continue }
                return .failure(SystemError("getsockopt IPT_SO_GET_ENTRIES", name, code: errno))
            }
            return .success(
                LegacyTable(
                    name: name, validHooks: word(32), hookEntry: (0..<5).map { word(36 + 4 * $0) },
                    underflow: (0..<5).map { word(56 + 4 * $0) }, entryCount: word(76),
                    entries: Array(buffer[entriesHeader...])))
        }
        return .failure(SystemError("getsockopt IPT_SO_GET_ENTRIES", name, code: EAGAIN))
    }

    // <linux/netfilter/nfnetlink.h>, <linux/netfilter/nf_tables.h>
    static let netlinkNetfilter: Int32 = 12     // NETLINK_NETFILTER
    static let subsystemNFTables: UInt16 = 10   // NFNL_SUBSYS_NFTABLES
    public static let getChain: UInt16 = 4      // NFT_MSG_GETCHAIN
    public static let getRule: UInt16 = 7       // NFT_MSG_GETRULE

    /// The messages of one nf_tables dump (`getChain`, `getRule`) for every family, each the
    /// bytes after its netlink header (the nfgenmsg, then the attributes).
    public static func nftablesDump(_ message: UInt16) -> Result<[[UInt8]], SystemError> {
        let what = message == getChain ? "NFT_MSG_GETCHAIN" : "NFT_MSG_GETRULE"
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), netlinkNetfilter)
        guard fd >= 0 else { return .failure(SystemError("socket(AF_NETLINK, NETLINK_NETFILTER)", "", code: errno)) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let sequence: UInt32 = 1
        // nlmsghdr (16) + nfgenmsg (family AF_UNSPEC, version 0, res_id 0)
        var request = [UInt8](repeating: 0, count: 20)
        request.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(20), toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: subsystemNFTables << 8 | message, toByteOffset: 4, as: UInt16.self)
            raw.storeBytes(of: UInt16(0x1 | 0x300), toByteOffset: 6, as: UInt16.self)  // NLM_F_REQUEST | NLM_F_DUMP
            raw.storeBytes(of: sequence, toByteOffset: 8, as: UInt32.self)
        }
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else {
            return .failure(SystemError("send \(what)", "", code: errno))
        }
        var messages: [[UInt8]] = []
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(SystemError("recv \(what)", "", code: errno))
            }
            if n == 0 { return .failure(SystemError("recv \(what): the dump ended early", "", code: EPROTO)) }
            total += n
            guard total <= maximumBytes else { return .failure(SystemError("\(what): the dump is over 64 MiB", "", code: EFBIG)) }
            var offset = 0
            while offset + 16 <= n {
                let (length, type, seq) = buffer.withUnsafeBytes {
                    ($0.loadUnaligned(fromByteOffset: offset, as: UInt32.self), $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self),
                     $0.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self))
                }
                guard length >= 16, offset + Int(length) <= n else {
                    return .failure(SystemError("\(what): a malformed netlink message", "", code: EPROTO))
                }
                let body = Array(buffer[(offset + 16)..<(offset + Int(length))])
                offset += (Int(length) + 3) & ~3
                guard seq == sequence else { continue }
                switch type {
                case 3:  // NLMSG_DONE
                    return .success(messages)
                case 2:  // NLMSG_ERROR: a negative errno (0 is an acknowledgement)
                    let code = body.count >= 4 ? body.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) } : -EPROTO
                    if code == 0 { continue }
                    return .failure(SystemError(what, "", code: -code))
                default:
                    messages.append(body)
                }
            }
        }
    }
}

extension SystemError {
    /// The call needs a privilege the process lacks.
    public var isPermissionDenied: Bool { code == EPERM || code == EACCES }
    /// The kernel has no such interface (no nfnetlink, no nf_tables).
    public var isUnsupported: Bool { code == EPROTONOSUPPORT || code == EOPNOTSUPP || code == EAFNOSUPPORT }
}
