import KCheckNative

/// Unpacks what `SnapshotScript` printed on a node into a node tree (docs/node-tree.md): kernel
/// values as their /proc and /sys files, facts as `.kcheck/facts`, the tar archive's files at
/// their paths with their modes and owners. The stream comes from another machine: every path is
/// checked (relative, no `..`), every write goes through `SafeWriter` (never through a symlink,
/// so a symlink in the archive cannot lead a later member out of the tree), sizes are bounded.
public enum Snapshot {
    public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
        init(_ message: String) { self.message = message }
    }

    /// Writes the snapshot in `output` under `directory`, which must exist and be empty.
    public static func unpack(_ output: [UInt8], into directory: String) throws(Problem) {
        let writer = SafeWriter(root: directory)
        var cursor = 0
        func line() -> String? {
            guard cursor < output.count else { return nil }
            let end = Bytes.find([0x0A], in: output, range: cursor..<output.count) ?? output.count
            defer { cursor = end + 1 }
            return String(decoding: output[cursor..<end], as: UTF8.self)
        }
        guard line() == "kcheck-snapshot 1" else {
            throw Problem("not a kcheck snapshot (the node's sh printed something else first: \(String(decoding: output.prefix(80), as: UTF8.self)))")
        }
        var section = ""
        var values: [(path: String, lines: [String])] = []
        var facts: [String] = []
        while let text = line() {
            if text.hasPrefix("== ") {
                section = String(text.dropFirst(3))
                if section == "tar" { break }
                continue
            }
            switch section {
            case "values":
                guard let tab = text.firstIndex(of: "\t") else { throw Problem("malformed value line `\(text)`") }
                let path = try checked(String(text[..<tab]))
                let value = String(text[text.index(after: tab)...])
                if values.last?.path == path { values[values.count - 1].lines.append(value) } else { values.append((path, [value])) }
            case "exists":
                let path = try checked(text)
                if case .failure(let f) = writer.makeDirectory("/" + path) { throw Problem("\(f)") }
            case "facts":
                facts.append(text)
            default:
                throw Problem("unexpected line before any section: `\(text)`")
            }
        }
        guard section == "tar" else { throw Problem("the snapshot ended before its files (no tar section): the node's tar failed or the connection dropped") }
        for (path, lines) in values {
            if case .failure(let f) = writer.writeFile("/" + path, Array((lines.joined(separator: "\n") + "\n").utf8), mode: 0o444) {
                throw Problem("\(f)")
            }
        }
        if case .failure(let f) = writer.writeFile(FactsFile.path, Array((facts.joined(separator: "\n") + "\n").utf8), mode: 0o644) {
            throw Problem("\(f)")
        }
        try Tar.extract(output, from: cursor, with: writer)
    }

    /// A relative path inside the tree: no `..`, not absolute, not empty.
    static func checked(_ path: String) throws(Problem) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard !path.hasPrefix("/"), !parts.isEmpty, !parts.contains(".."), !path.utf8.contains(0) else {
            throw Problem("refusing the path `\(path)` in a snapshot")
        }
        return parts.joined(separator: "/")
    }
}

/// A reader for the tar archives GNU tar writes (ustar, with GNU long names), enough for a
/// snapshot: regular files, directories and symlinks; anything else is passed over.
enum Tar {
    static func extract(_ bytes: [UInt8], from start: Int, with writer: SafeWriter) throws(Snapshot.Problem) {
        var offset = start
        var longName: String?
        var longLink: String?
        while offset + 512 <= bytes.count {
            let header = Array(bytes[offset..<(offset + 512)])
            offset += 512
            if header.allSatisfy({ $0 == 0 }) { return }  // the end
            let stored = header[148..<156]
            var sum = 0
            for (i, byte) in header.enumerated() { sum += (148..<156).contains(i) ? 32 : Int(byte) }
            guard let checksum = octal(stored), checksum == sum else { throw Snapshot.Problem("a tar header's checksum is wrong at byte \(offset - 512)") }
            guard let size = octal(header[124..<136]), size >= 0, offset + size <= bytes.count else {
                throw Snapshot.Problem("a tar member is cut short at byte \(offset - 512): the connection dropped?")
            }
            let data = Array(bytes[offset..<(offset + size)])
            offset += (size + 511) / 512 * 512
            let type = header[156]
            switch type {
            case UInt8(ascii: "L"): longName = text(data[...]); continue
            case UInt8(ascii: "K"): longLink = text(data[...]); continue
            default: break
            }
            var name = text(header[0..<100])
            let prefix = text(header[345..<500])
            if header[257..<262].elementsEqual(Array("ustar".utf8)) && !prefix.isEmpty { name = prefix + "/" + name }
            if let long = longName { name = long }
            let link = longLink ?? text(header[157..<257])
            longName = nil
            longLink = nil
            if name == "." || name == "./" { continue }
            let path = "/" + (try Snapshot.checked(name))
            let mode = UInt32(octal(header[100..<108]) ?? 0o644) & 0o7777
            let uid = UInt32(octal(header[108..<116]) ?? 0), gid = UInt32(octal(header[116..<124]) ?? 0)
            let result: Result<Void, SafeWriter.Failure>
            switch type {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): result = writer.writeFile(path, data, mode: mode, owner: (uid, gid))
            case UInt8(ascii: "5"): result = writer.makeDirectory(path, mode: mode)
            case UInt8(ascii: "2"): result = writer.writeSymlink(path, target: link)
            default: continue  // hard links, devices, FIFOs: not what a rule reads
            }
            if case .failure(let f) = result { throw Snapshot.Problem("\(f)") }
        }
        throw Snapshot.Problem("the tar archive ended without its end blocks: the connection dropped?")
    }

    static func text(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    static func octal(_ field: ArraySlice<UInt8>) -> Int? {
        // GNU base-256 for large numbers: the high bit of the first byte.
        if let first = field.first, first & 0x80 != 0 {
            var value = Int(first & 0x7F)
            for byte in field.dropFirst() { value = value << 8 | Int(byte) }
            return value
        }
        var value = 0
        var digits = 0
        for byte in field {
            if byte == 0 || byte == 32 { if digits > 0 { break } else { continue } }
            guard byte >= 48 && byte <= 55 else { return nil }
            value = value * 8 + Int(byte - 48)
            digits += 1
        }
        return value
    }
}
