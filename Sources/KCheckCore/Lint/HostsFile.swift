/// /etc/hosts, as the resolver reads it: ADDRESS NAME [ALIAS…] per line, # starts a comment.
public struct HostsFile: Sendable {
    public struct Entry: Equatable, Sendable {
        public let address: String
        public let names: [String]
        public let line: Int
        var isIPv6: Bool { address.contains(":") }
    }

    public let path: String
    public let entries: [Entry]
    public let malformed: [(line: Int, text: String)]

    public static func parse(_ bytes: [UInt8], path: String = "/etc/hosts") -> HostsFile {
        var entries: [Entry] = []
        var malformed: [(Int, String)] = []
        for (number, line) in numberedLines(bytes) {
            let text = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = text.fields.map(String.init)
            guard let address = fields.first else { continue }
            if fields.count < 2 || (IPv4(address) == nil && !isIPv6(address)) {
                malformed.append((number, String(line.trimmed)))
                continue
            }
            entries.append(Entry(address: address, names: Array(fields.dropFirst()), line: number))
        }
        return HostsFile(path: path, entries: entries, malformed: malformed)
    }

    static func isIPv6(_ text: String) -> Bool {
        text.contains(":") && text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." || $0 == "%" || $0.isLetter || $0.isNumber }
    }

    /// Where each name resolves: the first line that names it wins, as glibc's files backend does.
    public func addresses(of name: String) -> [Entry] { entries.filter { $0.names.contains(name) } }

    /// Everything wrong with the file; with an inventory, also against the cluster's nodes.
    public func findings(inventory: Inventory?) -> [Finding] {
        var findings: [Finding] = []
        func at(_ line: Int) -> SourceLocation { SourceLocation(file: path, line: line) }
        for (line, text) in malformed {
            findings.append(Finding(.hostsSyntax, .warn, at: at(line), "`\(text)` is not ADDRESS NAME…; the resolver skips it"))
        }
        // A name on lines with different addresses of one family: only the first line counts.
        var reported: Set<String> = []
        for entry in entries {
            for name in entry.names where !reported.contains(name) {
                let same = addresses(of: name).filter { $0.isIPv6 == entry.isIPv6 }
                let distinct = Set(same.map(\.address))
                if distinct.count > 1 {
                    reported.insert(name)
                    let places = same.map { "\($0.address) (line \($0.line))" }.joined(separator: ", ")
                    let conflicting = same.first { $0.address != same[0].address } ?? same[1]
                    findings.append(
                        Finding(.hostsNameTwoAddresses, at: at(conflicting.line),
                            "\(name) maps to \(distinct.count) addresses: \(places); the resolver uses the first, \(same[0].address)"))
                }
            }
        }
        // An address whose lines give different canonical (first) names.
        var seenAddress: [String: Entry] = [:]
        for entry in entries {
            if let first = seenAddress[entry.address] {
                if first.names[0] != entry.names[0] && !first.names.contains(entry.names[0]) {
                    findings.append(
                        Finding(.hostsAddressTwoNames, at: at(entry.line),
                            "\(entry.address) is \(first.names[0]) at line \(first.line) but \(entry.names[0]) here"))
                }
            } else {
                seenAddress[entry.address] = entry
            }
        }
        if let inventory {
            let where_ = inventory.location("NODE_IPS").map { " (\($0))" } ?? ""
            for (name, ip) in zip(inventory.nodeNames, inventory.nodeIPs) {
                let lines = addresses(of: name).filter { !$0.isIPv6 }
                if lines.isEmpty {
                    findings.append(Finding(.hostsInventory, at: at(1), "\(name) (\(ip) in the inventory\(where_)) is missing"))
                } else if lines[0].address != ip {
                    findings.append(
                        Finding(.hostsInventory, at: at(lines[0].line), "\(name) maps to \(lines[0].address); the inventory\(where_) says \(ip)"))
                }
                for entry in entries where entry.address == ip && entry.names[0] != name && !entry.names.contains(name) {
                    findings.append(
                        Finding(.hostsInventory, at: at(entry.line), "\(ip) is \(entry.names[0]) here; the inventory\(where_) names it \(name)"))
                }
            }
        }
        return findings
    }
}

/// /etc/fstab's swap entries.
public enum Fstab {
    /// Uncommented swap lines, and whether each separates its fields with tabs (which the guide's
    /// `sed '/ swap /'` does not match).
    public static func activeSwap(_ bytes: [UInt8]) -> [(line: Int, tabbed: Bool)] {
        var found: [(Int, Bool)] = []
        for (number, line) in numberedLines(bytes) {
            let trimmed = line.trimmed
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            let fields = trimmed.fields
            if fields.count >= 3 && fields[2] == "swap" { found.append((number, !line.contains(" swap "))) }
        }
        return found
    }

    public static func findings(_ bytes: [UInt8], path: String) -> [Finding] {
        activeSwap(bytes).map { entry in
            var message = "active swap entry: swap comes back on at the next boot"
            if entry.tabbed {
                message += "; its fields are separated by tabs, so the guide's `sed -i '/ swap / s/^\\(.*\\)$/#\\1/g'` did not comment it out"
            }
            return Finding(.fstabSwap, at: SourceLocation(file: path, line: entry.line), message)
        }
    }
}
