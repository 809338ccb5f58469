import CKernel
import Glibc

/// The listening TCP sockets of this network namespace, from the kernel's sock_diag (what
/// `ss -lt` asks): only the listening hash is walked. Reading /proc/net/tcp walks every bucket
/// of the established hash as well, which on a machine with a large table (a few sockets, but
/// millions of buckets) is milliseconds of kernel time per read.
public enum SocketDiag {
    public struct Listener: Equatable, Sendable {
        /// 4 or 16 bytes, network order.
        public let address: [UInt8]
        public let port: UInt16
        public let uid: UInt32
        public let inode: UInt64
    }

    public static func tcpListeners(ipv6: Bool) -> Result<[Listener], SystemError> {
        var capacity = 256
        while true {
            var buffer = [kcheck_listener](repeating: kcheck_listener(), count: capacity)
            let n = kcheck_tcp_listeners(ipv6 ? AF_INET6 : AF_INET, &buffer, Int32(capacity))
            if n < 0 { return .failure(SystemError("sock_diag", ipv6 ? "tcp6" : "tcp", code: -n)) }
            // As many as there was room for: there may be more; ask again with room for them.
            if Int(n) == capacity && capacity < 1 << 20 {
                capacity *= 8
                continue
            }
            return .success(buffer.prefix(Int(n)).map { l in
                let bytes = withUnsafeBytes(of: l.address) { Array($0.prefix(ipv6 ? 16 : 4)) }
                return Listener(address: bytes, port: l.port, uid: l.uid, inode: UInt64(l.inode))
            })
        }
    }

    /// The sockets as /proc/net/tcp (or tcp6) shows them: its header, one line per socket with
    /// each 32-bit word of the address printed in the machine's byte order (%08X), the state 0A.
    public static func procNetTCP(_ listeners: [Listener], ipv6: Bool) -> [UInt8] {
        func hex(_ value: UInt64, _ width: Int) -> String {
            let digits = String(value, radix: 16, uppercase: true)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        var out = ipv6
            ? "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
            : "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        let anywhere = String(repeating: "0", count: ipv6 ? 32 : 8)
        for (i, l) in listeners.enumerated() {
            var address = ""
            for word in stride(from: 0, to: l.address.count, by: 4) {
                let value = UInt64(l.address[word]) | UInt64(l.address[word + 1]) << 8 | UInt64(l.address[word + 2]) << 16 | UInt64(l.address[word + 3]) << 24
                address += hex(value, 8)
            }
            let sl = String(i)
            out += String(repeating: " ", count: max(0, 4 - sl.count)) + sl + ": \(address):\(hex(UInt64(l.port), 4)) \(anywhere):0000 0A 00000000:00000000 00:00000000 00000000 \(String(repeating: " ", count: max(0, 5 - String(l.uid).count)))\(l.uid)        0 \(l.inode) 1\n"
        }
        return Array(out.utf8)
    }
}
