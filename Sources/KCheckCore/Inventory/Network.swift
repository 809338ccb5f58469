/// An IPv4 address, parsed strictly: four decimal octets, no leading zeros (which some tools
/// read as octal), nothing else.
public struct IPv4: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init?(_ text: some StringProtocol) {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, dots < 3 else { return nil }
                value = value << 8 | octet
                (octet, digits, dots) = (0, 0, dots + 1)
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                guard digits < 3, digits == 0 || octet != 0 else { return nil }  // at most 3 digits, no leading zero
                octet = octet * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                guard octet <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard dots == 3, digits > 0 else { return nil }
        self.value = value << 8 | octet
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 255).\(value >> 8 & 255).\(value & 255)"
    }

    public static func < (a: IPv4, b: IPv4) -> Bool { a.value < b.value }
}

/// An IPv4 network in CIDR notation; the address must be the network's own (no host bits).
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    public let network: IPv4
    public let prefix: Int

    public init(network: IPv4, prefix: Int) {
        self.network = network
        self.prefix = prefix
    }

    /// Parses "A.B.C.D/N"; nil when malformed or when host bits are set.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4(parts[0]), parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
            let prefix = Int(parts[1]), (0...32).contains(prefix)
        else { return nil }
        let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix)
        guard address.value & ~mask == 0 else { return nil }
        self.network = address
        self.prefix = prefix
    }

    var mask: UInt32 { prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix) }
    public var last: IPv4 { IPv4(network.value | ~mask) }
    /// The first usable address (network + 1), as Kubernetes gives the kubernetes service.
    public var firstHost: IPv4 { IPv4(network.value &+ 1) }

    public func contains(_ address: IPv4) -> Bool { address.value & mask == network.value }
    public func overlaps(_ other: CIDR) -> Bool { contains(other.network) || other.contains(network) }

    public var description: String { "\(network)/\(prefix)" }
}
