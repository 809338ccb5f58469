/// The kernel's IPVS table (/proc/net/ip_vs): the virtual services kube-proxy made in ipvs mode,
/// each with its scheduler and real servers. Bounded, strict about what it keeps, linear.
public struct IPVSTable: Equatable, Sendable {
    public struct Service: Equatable, Sendable {
        /// "TCP", "UDP", "SCTP" (or "FWM" for a firewall mark).
        public let proto: String
        public let address: String
        public let port: UInt16
        public let scheduler: String
        public var servers: [(address: String, port: UInt16)]

        public static func == (a: Service, b: Service) -> Bool {
            a.proto == b.proto && a.address == b.address && a.port == b.port && a.scheduler == b.scheduler
                && a.servers.map(\.address) == b.servers.map(\.address) && a.servers.map(\.port) == b.servers.map(\.port)
        }

        public var endpoint: String { "\(proto) \(address):\(port) \(scheduler)" }
    }

    public let services: [Service]

    public static let readLimit = 32 << 20

    /// Parses the table as the kernel prints it: a version line, two heading lines, then services
    /// ("TCP  0AFE0001:01BB rr") each followed by its servers ("  -> C0A807C8:192B Masq 1 0 0").
    /// Addresses are printed as big-endian hex (IPv6 in brackets). A line it cannot read is a
    /// syntax error at its line.
    public static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> IPVSTable {
        var services: [Service] = []
        var skipping = false  // the servers of a firewall-mark service
        for (number, line) in numberedLines(bytes) {
            let fields = line.fields
            guard let first = fields.first, number > 3 else { continue }
            if first == "->" {
                if skipping { continue }
                guard fields.count >= 2, var service = services.popLast(), let (address, port) = endpoint(fields[1]) else {
                    throw SyntaxError(line: number, column: 1, message: "a real server line kcheck cannot read (or one before any service)")
                }
                service.servers.append((address, port))
                services.append(service)
                continue
            }
            guard ["TCP", "UDP", "SCTP", "FWM"].contains(first), fields.count >= 3 else {
                throw SyntaxError(line: number, column: 1, message: "expected a virtual service (TCP, UDP, SCTP or FWM, an address:port in hex, a scheduler)")
            }
            skipping = first == "FWM"  // a firewall mark: not kube-proxy's
            if skipping { continue }
            guard let (address, port) = endpoint(fields[1]) else {
                throw SyntaxError(line: number, column: line.distance(from: line.startIndex, to: fields[1].startIndex) + 1, message: "expected an address:port in hex")
            }
            services.append(Service(proto: String(first), address: address, port: port, scheduler: String(fields[2]), servers: []))
        }
        return IPVSTable(services: services)
    }

    /// "0AFE0001:01BB" → 10.254.0.1, 443; "[FE80:…]:01BB" for IPv6 (kept as written, lowercased).
    static func endpoint(_ text: Substring) -> (String, UInt16)? {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...], radix: 16) else { return nil }
        let host = text[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { return (host.dropFirst().dropLast().lowercased(), port) }
        guard host.count == 8, let value = UInt32(host, radix: 16) else { return nil }
        return ("\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)", port)
    }
}

extension Evaluator {
    /// kube-proxy in ipvs mode, in use: the kubernetes service ($CLUSTER_KUBERNETES_SVC_IP:443)
    /// is an IPVS virtual service with every NODE_IPS:6443 behind it (RUNNING-STATE item 45).
    func ipvsInUse(_ check: IPVSCheck) throws(OutcomeError) -> Outcome {
        let expected = "IPVS: \(check.service) \(check.scheduler) to every \(check.servers)"
        switch facts.loadUnit(check.unit) {
        case .success(nil): return notInstalled(check.unit, expected)
        case .success: break
        case .failure(let error): return unavailable(expected, error.description)
        }
        guard inventory != nil else { return Outcome(status: .skip, expected: expected, actual: "no inventory", message: Self.noInventory) }
        let service: String, servers: [String]
        switch (resolve(check.service), resolve(check.servers)) {
        case (.success(let s), .success(let r)): (service, servers) = (s, r.split(separator: ",").map(String.init))
        case (.failure(let problem), _), (_, .failure(let problem)):
            return Outcome(status: .error, expected: expected, actual: "unknown", message: "could not check: \(problem.message)")
        }
        let table: IPVSTable
        switch facts.node.read("/proc/net/ip_vs", limit: IPVSTable.readLimit) {
        case .missing:
            return Outcome(
                status: .fail, expected: expected, actual: "no /proc/net/ip_vs",
                message: "kube-proxy is installed but the kernel has no IPVS table (ip_vs is not loaded): kube-proxy runs in iptables mode, whatever its configuration says. Load the ipvs modules (kernel.ipvs.*) and restart kube-proxy.")
        case .unreadable(let why): return unavailable(expected, why)
        case .content(let bytes):
            do throws(SyntaxError) { table = try IPVSTable.parse(bytes) } catch { return unavailable(expected, "/proc/net/ip_vs:\(error.line): \(error.message)") }
        }
        let (address, port) = Self.split(service)
        guard let found = table.services.first(where: { $0.proto == "TCP" && $0.address == address && $0.port == port }) else {
            return Outcome(
                status: .fail, expected: expected, actual: "\(table.services.count) virtual services, not \(service)",
                message: "IPVS has no virtual service for \(service) (the kubernetes service): kube-proxy is not in ipvs mode, or not running. Check its mode (kube-proxy.mode), the ipvs modules and `journalctl -u kube-proxy`.")
        }
        let real = found.servers.map { "\($0.address):\($0.port)" }
        let missing = servers.map { server in
            let (host, port) = Self.split(server)
            return "\(host):\(port == 0 ? check.serverPort : port)"
        }.filter { !real.contains($0) }
        var problems: [String] = []
        if !missing.isEmpty { problems.append("no real server \(missing.joined(separator: ", "))") }
        if found.scheduler != check.scheduler { problems.append("scheduler \(found.scheduler), not \(check.scheduler)") }
        let actual = "\(found.endpoint) → \(real.isEmpty ? "no real servers" : real.joined(separator: ", "))"
        if problems.isEmpty { return Outcome(status: .pass, expected: expected, actual: actual, message: "") }
        return Outcome(status: .fail, expected: expected, actual: actual, message: "The kubernetes service in IPVS has \(problems.joined(separator: " and ")): requests to it miss those apiservers.")
    }

    /// "10.254.0.1:443" → ("10.254.0.1", 443); a bare address has port 0.
    static func split(_ text: String) -> (String, UInt16) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return (text, 0) }
        return (String(text[..<colon]), port)
    }
}
