import KCheckNative

/// One chain of the kernel's packet filter: a legacy iptables chain (x_tables) or an nf_tables
/// chain (what iptables-nft, firewalld and nft write). What the firewall rules judge.
public struct FirewallChain: Equatable, Hashable, Sendable {
    public enum Backend: String, Sendable, CaseIterable {
        /// x_tables: iptables-legacy, and iptables on CentOS 7.
        case legacy
        /// nf_tables: iptables-nft (Debian 10+, RHEL 8+), nft, firewalld's nftables backend.
        case nftables
    }

    public var backend: Backend
    /// The address family, as nft names it: ip (legacy iptables is always ip), ip6, inet, arp,
    /// bridge, netdev.
    public var family: String
    public var table: String
    public var name: String
    /// The netfilter hook a base chain is attached to (prerouting, input, forward, output,
    /// postrouting, ingress, egress); nil for a chain only jumped to.
    public var hook: String?
    /// A base chain's policy: "accept" or "drop"; nil for a chain only jumped to.
    public var policy: String?
    /// How many rules the chain holds.
    public var rules: Int

    public init(backend: Backend, family: String, table: String, name: String, hook: String?, policy: String?, rules: Int) {
        self.backend = backend
        self.family = family
        self.table = table
        self.name = name
        self.hook = hook
        self.policy = policy
        self.rules = rules
    }

    /// "legacy ip filter FORWARD", as the messages name a chain.
    public var label: String { "\(backend.rawValue) \(family) \(table) \(name)" }

    /// Whether packets forwarded over IPv4 pass through this chain (and so its policy decides
    /// whether pod traffic between nodes is dropped).
    public var filtersForwardedIPv4: Bool { hook == "forward" && (family == "ip" || family == "inet") }

    /// The command that sets this chain's policy, as argv (never a shell string): iptables for
    /// the chains iptables made (legacy, or iptables-nft's built-in chains), nft for the others.
    public func policyCommand(_ policy: String, legacyTool: String = "iptables-legacy") -> [String] {
        switch backend {
        case .legacy: return [legacyTool, "-t", table, "-P", name, policy.uppercased()]
        case .nftables:
            if family == "ip", FirewallChains.builtinChainNames.contains(name) {
                return ["iptables-nft", "-t", table, "-P", name, policy.uppercased()]
            }
            return ["nft", "chain", family, table, name, "{", "policy", policy, ";", "}"]
        }
    }
}

/// A parser of the packet filter's bytes found something it cannot read.
public struct FirewallParseError: Error, Equatable {
    public let message: String
}

/// The packet filter's chains from the kernel's own bytes (`PacketFilter`): bounded and strict.
public enum FirewallChains {
    static let maximumChains = 100_000
    static let builtinChainNames = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]
    static let hookNames = ["prerouting", "input", "forward", "output", "postrouting"]

    // struct ipt_entry: ipt_ip (84), nfcache (4), target_offset (2), next_offset (2), comefrom (4),
    // counters (16) = 112 bytes; then matches, then the target (xt_entry_target: size (2),
    // name[29], revision (1), then its data: a verdict (int) for the standard target "", a chain
    // name for "ERROR").
    static let entrySize = 112
    static let targetHeader = 32

    /// A legacy table's chains: each built-in chain its hook uses (its rules, its policy), each
    /// user-defined chain (its rules).
    static func legacy(_ table: PacketFilter.LegacyTable) throws(FirewallParseError) -> [FirewallChain] {
        try legacy(name: table.name, validHooks: table.validHooks, hookEntry: table.hookEntry, underflow: table.underflow, entries: table.entries)
    }

    public static func legacy(name table: String, validHooks: UInt32, hookEntry: [UInt32], underflow: [UInt32], entries: [UInt8]) throws(FirewallParseError) -> [FirewallChain] {
        func fail(_ why: String) -> FirewallParseError { FirewallParseError(message: "legacy table \(table): \(why)") }
        guard hookEntry.count == 5, underflow.count == 5 else { throw fail("expected 5 hooks") }
        func u16(_ at: Int) -> Int { Int(entries[at]) | Int(entries[at + 1]) << 8 }
        func i32(_ at: Int) -> Int32 {
            Int32(bitPattern: UInt32(entries[at]) | UInt32(entries[at + 1]) << 8 | UInt32(entries[at + 2]) << 16 | UInt32(entries[at + 3]) << 24)
        }
        func cString(_ at: Int, _ count: Int) -> String {
            let bytes = entries[at..<min(at + count, entries.count)]
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        // Every entry: its offset, its target's name and its data's offset.
        var walked: [(offset: Int, target: String, data: Int)] = []
        var offset = 0
        while offset < entries.count {
            guard offset + entrySize <= entries.count else { throw fail("an entry at \(offset) is cut short") }
            let targetOffset = u16(offset + 88), next = u16(offset + 90)
            guard targetOffset >= entrySize, targetOffset + targetHeader <= next, offset + next <= entries.count else {
                throw fail("the entry at \(offset) has impossible offsets (target \(targetOffset), next \(next))")
            }
            walked.append((offset, cString(offset + targetOffset + 2, 29), offset + targetOffset + targetHeader))
            guard walked.count <= 4 * maximumChains else { throw fail("more than \(4 * maximumChains) entries") }
            offset += next
        }
        // The kernel ends every table with an ERROR entry named "ERROR": a table without it is cut short.
        guard let end = walked.last, end.target == "ERROR", end.data + 32 <= entries.count, cString(end.data, 32) == "ERROR" else {
            throw fail("the table does not end with its ERROR entry (cut short)")
        }
        let index = Dictionary(walked.enumerated().map { ($0.element.offset, $0.offset) }, uniquingKeysWith: { a, _ in a })
        var chains: [FirewallChain] = []
        for hook in 0..<5 where validHooks & (1 << hook) != 0 {
            guard let first = index[Int(hookEntry[hook])], let last = index[Int(underflow[hook])], first <= last else {
                throw fail("hook \(hook)'s entries are not at entry boundaries")
            }
            let policyEntry = walked[last]
            guard policyEntry.target.isEmpty, policyEntry.data + 4 <= entries.count else { throw fail("\(builtinChainNames[hook])'s policy is not a verdict") }
            let verdict = i32(policyEntry.data)
            let policy: String
            switch verdict {
            case -2: policy = "accept"  // -NF_ACCEPT - 1
            case -1: policy = "drop"    // -NF_DROP - 1
            default: throw fail("\(builtinChainNames[hook])'s policy is verdict \(verdict), neither ACCEPT nor DROP")
            }
            chains.append(
                FirewallChain(
                    backend: .legacy, family: "ip", table: table, name: builtinChainNames[hook], hook: hookNames[hook], policy: policy,
                    rules: last - first))
        }
        // A user-defined chain starts with an ERROR entry naming it and ends with a RETURN before
        // the next ERROR entry; the table ends with an ERROR entry named "ERROR".
        var i = 0
        while i < walked.count {
            defer { i += 1 }
            guard walked[i].target == "ERROR", walked[i].data + 32 <= entries.count else { continue }
            let chain = cString(walked[i].data, 32)
            guard chain != "ERROR" else { continue }
            var j = i + 1
            while j < walked.count && walked[j].target != "ERROR" { j += 1 }
            chains.append(FirewallChain(backend: .legacy, family: "ip", table: table, name: chain, hook: nil, policy: nil, rules: max(0, j - i - 2)))
            guard chains.count <= maximumChains else { throw fail("more than \(maximumChains) chains") }
        }
        return chains
    }

    static func familyName(_ code: UInt8) -> String {
        switch code {
        case 1: "inet"
        case 2: "ip"
        case 3: "arp"
        case 5: "netdev"
        case 7: "bridge"
        case 10: "ip6"
        default: "family\(code)"
        }
    }

    static func nftHookName(family: String, _ number: UInt32) -> String {
        switch family {
        case "netdev": number == 0 ? "ingress" : number == 1 ? "egress" : "hook\(number)"
        case "arp": number == 0 ? "input" : number == 1 ? "output" : number == 2 ? "forward" : "hook\(number)"
        default: number < 5 ? hookNames[Int(number)] : number == 5 ? "ingress" : "hook\(number)"
        }
    }

    /// The attributes of a netlink message body (after its 4-byte nfgenmsg): type → payload.
    static func attributes(_ bytes: ArraySlice<UInt8>) throws(FirewallParseError) -> [UInt16: ArraySlice<UInt8>] {
        var out: [UInt16: ArraySlice<UInt8>] = [:]
        var at = bytes.startIndex
        while at + 4 <= bytes.endIndex {
            let length = Int(bytes[at]) | Int(bytes[at + 1]) << 8
            let type = (UInt16(bytes[at + 2]) | UInt16(bytes[at + 3]) << 8) & 0x3FFF
            guard length >= 4, at + length <= bytes.endIndex else { throw FirewallParseError(message: "nf_tables: an attribute of length \(length) overruns its message") }
            out[type] = bytes[(at + 4)..<(at + length)]
            at += (length + 3) & ~3
        }
        return out
    }

    static func string(_ payload: ArraySlice<UInt8>?) -> String? {
        payload.map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    static func bigEndian32(_ payload: ArraySlice<UInt8>?) -> UInt32? {
        guard let p = payload, p.count == 4 else { return nil }
        return p.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// nf_tables' chains (NFT_MSG_GETCHAIN dump) with their rule counts (NFT_MSG_GETRULE dump).
    public static func nftables(chains chainMessages: [[UInt8]], rules ruleMessages: [[UInt8]]) throws(FirewallParseError) -> [FirewallChain] {
        guard chainMessages.count <= maximumChains else { throw FirewallParseError(message: "nf_tables: more than \(maximumChains) chains") }
        struct Key: Hashable { let family: String, table: String, chain: String }
        var counts: [Key: Int] = [:]
        for message in ruleMessages {
            guard message.count >= 4 else { throw FirewallParseError(message: "nf_tables: a rule message without its header") }
            let attributes = try attributes(message[4...])
            guard let table = string(attributes[1]), let chain = string(attributes[2]) else {
                throw FirewallParseError(message: "nf_tables: a rule without its table or chain")
            }
            counts[Key(family: familyName(message[0]), table: table, chain: chain), default: 0] += 1
        }
        var chains: [FirewallChain] = []
        for message in chainMessages {
            guard message.count >= 4 else { throw FirewallParseError(message: "nf_tables: a chain message without its header") }
            let family = familyName(message[0])
            let attributes = try attributes(message[4...])
            guard let table = string(attributes[1]), let name = string(attributes[3]) else {
                throw FirewallParseError(message: "nf_tables: a chain without its table or name")
            }
            var hook: String?
            if let nested = attributes[4] {
                guard let number = bigEndian32(try Self.attributes(nested)[1]) else { throw FirewallParseError(message: "nf_tables: chain \(name)'s hook has no number") }
                hook = nftHookName(family: family, number)
            }
            var policy: String?
            if hook != nil {
                // A base chain without a policy attribute accepts (the kernel's default).
                let value = bigEndian32(attributes[5]) ?? 1
                policy = value == 1 ? "accept" : value == 0 ? "drop" : "verdict\(value)"
            }
            chains.append(
                FirewallChain(
                    backend: .nftables, family: family, table: table, name: name, hook: hook, policy: policy,
                    rules: counts[Key(family: family, table: table, chain: name)] ?? 0))
        }
        return chains
    }
}

/// Where a saved rule set restores the FORWARD policy at boot (iptables-services on CentOS,
/// iptables-persistent on Debian): `:FORWARD DROP` in its `*filter` section.
enum SavedRuleSets {
    static let files = ["/etc/sysconfig/iptables", "/etc/iptables/rules.v4"]

    /// The line of `:FORWARD DROP` (or REJECT) in the `*filter` section of iptables-save text.
    static func forwardDropLine(_ bytes: [UInt8]) -> Int? {
        var table = ""
        for (number, line) in numberedLines(bytes) {
            let text = line.trimmed
            if text.hasPrefix("*") { table = String(text.dropFirst()) }
            let fields = text.fields
            if table == "filter", fields.count >= 2, fields[0] == ":FORWARD", fields[1] != "ACCEPT" { return number }
        }
        return nil
    }
}

extension Evaluator {
    func firewallChains(_ expected: String) throws(OutcomeError) -> [FirewallChain] {
        switch facts.firewall {
        case .available(let chains): return chains
        case .unavailable(let why): throw OutcomeError(outcome: unavailable(expected, why))
        }
    }

    /// Item 6: `iptables -P FORWARD ACCEPT`. Docker sets FORWARD to DROP when it starts, firewalld
    /// and saved rule sets at boot: pod traffic between nodes is then dropped.
    func firewallForwardAccept() throws(OutcomeError) -> Outcome {
        let expected = "every chain at the forward hook accepts by policy"
        let chains = try firewallChains(expected).filter(\.filtersForwardedIPv4)
        // What restores DROP at boot, where a saved rule set does.
        var saved: [String] = []
        for path in SavedRuleSets.files {
            if case .content(let bytes) = facts.node.read(path, limit: defaultReadLimit), let line = SavedRuleSets.forwardDropLine(bytes) {
                saved.append("\(path):\(line)")
            }
        }
        let dropping = chains.filter { $0.policy != "accept" }
        let observation = Observation.firewall(chains)
        guard !dropping.isEmpty else {
            let actual = chains.isEmpty ? "no chain filters forwarded packets" : chains.map { "\($0.label): accept" }.joined(separator: "; ")
            guard saved.isEmpty else {
                return Outcome(
                    status: .warn, expected: expected, actual: actual,
                    message: "FORWARD accepts now, but \(saved.joined(separator: " and ")) sets it to DROP again at boot (a saved rule set, restored by iptables.service or netfilter-persistent). Change that line to `:FORWARD ACCEPT [0:0]`.",
                    observation: observation)
            }
            return Outcome(status: .pass, expected: expected, actual: actual, message: "", observation: observation)
        }
        let commands = dropping.map { $0.policyCommand("accept").joined(separator: " ") }
        var message = "Forwarded packets are dropped by policy in \(dropping.map(\.label).joined(separator: ", ")): pod traffic between nodes and to services is lost. Set the policy (`\(commands.joined(separator: "`; `"))`; the guide's `iptables -P FORWARD ACCEPT`)"
        message += saved.isEmpty
            ? ", and find what sets DROP: Docker does whenever it starts, firewalld when it runs."
            : ", and change \(saved.joined(separator: " and ")) to `:FORWARD ACCEPT [0:0]`, which sets DROP again at boot."
        return Outcome(
            status: .fail, expected: expected, actual: dropping.map { "\($0.label): \($0.policy ?? "-")" }.joined(separator: "; "), message: message,
            observation: observation)
    }

    /// Item 6 before installing: `iptables -F && iptables -X && iptables -F -t nat && iptables -X -t nat`.
    /// Only before installing: on a running node kube-proxy and the network plugin own chains.
    func firewallFlushed(_ tables: [String], until: [String]) throws(OutcomeError) -> Outcome {
        let expected = "tables \(tables.joined(separator: ", ")): no rules, no chains of their own"
        for unit in until where try componentFlags(unit, expected: expected) != nil {
            return Outcome(
                status: .skip, expected: expected, actual: "\(unit) is installed",
                message: "\(unit) is installed: the cluster's own chains (kube-proxy's, the network plugin's) are in these tables now")
        }
        let chains = try firewallChains(expected).filter { $0.family == "ip" && tables.contains($0.table) }
        let withRules = chains.filter { $0.rules > 0 }
        let own = chains.filter { $0.hook == nil }
        let observation = Observation.firewall(chains)
        if withRules.isEmpty && own.isEmpty {
            return Outcome(
                status: .pass, expected: expected, actual: chains.isEmpty ? "no such table loaded" : "\(chains.count) chains, no rules",
                message: "", observation: observation)
        }
        let backends = Set(chains.filter { $0.rules > 0 || $0.hook == nil }.map(\.backend))
        let tool = backends == [.legacy] ? "iptables-legacy" : backends == [.nftables] ? "iptables-nft" : "iptables-legacy and iptables-nft"
        let commands = tables.map { "\(tool) -t \($0) -F; \(tool) -t \($0) -X" }.joined(separator: "; ")
        let ruleCount = withRules.reduce(0) { $0 + $1.rules }
        var left = ["\(ruleCount) rule\(ruleCount == 1 ? "" : "s") in \(withRules.count) chain\(withRules.count == 1 ? "" : "s")"]
        if !own.isEmpty { left.append("\(own.count) chain\(own.count == 1 ? "" : "s") of their own (\(own.prefix(3).map(\.name).joined(separator: ", "))\(own.count > 3 ? ", …" : ""))") }
        return Outcome(
            status: .fail, expected: expected, actual: left.joined(separator: "; "),
            message: "Before installing, the guide flushes iptables' \(tables.joined(separator: " and ")) tables (item 6); they hold \(left.joined(separator: " and ")). Rules left there (an old Docker's, a previous cluster's KUBE-* chains, firewalld's) act on the new cluster's traffic. If they are not needed: \(commands). kcheck does not flush a node's firewall itself.",
            observation: observation)
    }
}
