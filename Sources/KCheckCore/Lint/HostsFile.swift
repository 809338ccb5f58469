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
    /// For each name, the positions in `entries` of the lines that name it, in order: every lookup
    /// is by this index, so judging the file is linear in its length (ad-block lists run to
    /// hundreds of thousands of lines).
    let byName: [String: [Int]]
    let byAddress: [String: [Int]]

    /// /etc/hosts may be a long ad-block list: it is read up to 32 MiB (other files: 4 MiB).
    public static let readLimit = 32 << 20

    public static func parse(_ bytes: [UInt8], path: String = "/etc/hosts") -> HostsFile {
        var entries: [Entry] = []
        var malformed: [(Int, String)] = []
        var byName: [String: [Int]] = [:]
        var byAddress: [String: [Int]] = [:]
        // Bytes, not Characters: the resolver splits on blanks and `#` only, and a 60,000-line
        // ad-block list is read in a few milliseconds this way.
        var number = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            let text = line.prefix { $0 != UInt8(ascii: "#") }
            let fields = text.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0B || $0 == 0x0C })
                .map { String(decoding: $0, as: UTF8.self) }
            guard let address = fields.first else { continue }
            if fields.count < 2 || (IPv4(address) == nil && !isIPv6(address)) {
                malformed.append((number, String(String(decoding: line, as: UTF8.self).trimmed)))
                continue
            }
            let names = Array(fields.dropFirst())
            for name in Set(names) { byName[name, default: []].append(entries.count) }
            byAddress[address, default: []].append(entries.count)
            entries.append(Entry(address: address, names: names, line: number))
        }
        return HostsFile(path: path, entries: entries, malformed: malformed, byName: byName, byAddress: byAddress)
    }

    static func isIPv6(_ text: String) -> Bool {
        text.contains(":") && text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." || $0 == "%" || $0.isLetter || $0.isNumber }
    }

    /// Addresses that ad-block lists map thousands of names to: their reverse lookup means nothing
    /// to the cluster, so several canonical names for them are not a finding.
    static let blockingAddresses: Set<String> = ["0.0.0.0", "127.0.0.1", "::", "::1"]

    /// Where each name resolves: the first line that names it wins, as glibc's files backend does.
    public func addresses(of name: String) -> [Entry] { (byName[name] ?? []).map { entries[$0] } }

    /// The lines for an address, in order.
    func lines(for address: String) -> [Entry] { (byAddress[address] ?? []).map { entries[$0] } }

    /// Everything wrong with the file; with an inventory, also against the cluster's nodes.
    public func findings(inventory: Inventory?) -> [Finding] {
        var findings: [Finding] = []
        func at(_ line: Int) -> SourceLocation { SourceLocation(file: path, line: line) }
        for (line, text) in malformed {
            findings.append(Finding(.hostsSyntax, .warn, at: at(line), "`\(text)` is not ADDRESS NAME…; the resolver skips it"))
        }
        // A name on lines with different addresses of one family: only the first line counts.
        var judged: Set<String> = []
        for entry in entries {
            for name in entry.names where judged.insert(name).inserted {
                for v6 in [false, true] {
                    let same = addresses(of: name).filter { $0.isIPv6 == v6 }
                    guard let first = same.first, let conflicting = same.first(where: { $0.address != first.address }) else { continue }
                    let distinct = Set(same.map(\.address))
                    let places = same.prefix(10).map { "\($0.address) (line \($0.line))" }.joined(separator: ", ")
                        + (same.count > 10 ? " and \(same.count - 10) more lines" : "")
                    findings.append(
                        Finding(.hostsNameTwoAddresses, at: at(conflicting.line),
                            "\(name) maps to \(distinct.count) addresses: \(places); the resolver uses the first, \(first.address)"))
                }
            }
        }
        // An address whose lines give different canonical (first) names.
        var seenAddress: [String: Entry] = [:]
        for entry in entries where !Self.blockingAddresses.contains(entry.address) {
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
        if let inventory { findings += inventoryFindings(inventory).map(\.finding) }
        return findings
    }

    /// How the file disagrees with the inventory. A node that is `missing` is one kcheck's own
    /// block adds; the others are lines a person wrote, which kcheck never changes.
    public func inventoryFindings(_ inventory: Inventory) -> [(missing: Bool, finding: Finding)] {
        var found: [(Bool, Finding)] = []
        func at(_ line: Int) -> SourceLocation { SourceLocation(file: path, line: line) }
        let where_ = inventory.location("NODE_IPS").map { " (\($0))" } ?? ""
        for (name, ip) in zip(inventory.nodeNames, inventory.nodeIPs) {
            let lines = addresses(of: name).filter { !$0.isIPv6 }
            if lines.isEmpty {
                found.append((true, Finding(.hostsInventory, at: at(1), "\(name) (\(ip) in the inventory\(where_)) is missing")))
            } else if lines[0].address != ip {
                found.append(
                    (false, Finding(.hostsInventory, at: at(lines[0].line), "\(name) maps to \(lines[0].address); the inventory\(where_) says \(ip)")))
            }
            for entry in self.lines(for: ip) where entry.names[0] != name && !entry.names.contains(name) {
                found.append(
                    (false, Finding(.hostsInventory, at: at(entry.line), "\(ip) is \(entry.names[0]) here; the inventory\(where_) names it \(name)")))
            }
        }
        return found
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
