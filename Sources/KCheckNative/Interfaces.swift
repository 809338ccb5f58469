#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 address assigned to a network interface.
public struct InterfaceAddress: Equatable, Hashable, Sendable {
    public let interface: String
    public let address: String
    public let prefix: Int

    public init(interface: String, address: String, prefix: Int) {
        self.interface = interface
        self.address = address
        self.prefix = prefix
    }
}

extension Posix {
    /// The IPv4 addresses of this machine's interfaces (getifaddrs).
    public static func interfaceAddresses() -> Result<[InterfaceAddress], SystemError> {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return .failure(SystemError("getifaddrs", "", code: errno)) }
        defer { freeifaddrs(list) }
        var result: [InterfaceAddress] = []
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let addr = entry.pointee.ifa_addr, addr.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            let name = String(cString: entry.pointee.ifa_name)
            let ip = addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
            var prefix = 0
            if let mask = entry.pointee.ifa_netmask {
                let m = mask.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
                prefix = m.nonzeroBitCount
            }
            let text = "\(ip >> 24).\(ip >> 16 & 255).\(ip >> 8 & 255).\(ip & 255)"
            result.append(InterfaceAddress(interface: name, address: text, prefix: prefix))
        }
        return .success(result)
    }
}
