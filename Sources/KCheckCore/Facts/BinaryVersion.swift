import KCheckNative

/// What a component binary (kubelet, etcd, containerd, nginx, …) tells of its own version, read
/// from its bytes and never executed: the ELF headers, the Go build info of a Go binary (the Go
/// version and the modules it was built from), and which of the caller's needles (e.g.
/// "nginx/1.15.3", "v1.16.6") stand in its string data.
///
/// Pure: it reads the bytes it is given (a `MappedFile` of a 40–200 MB binary is never copied
/// whole: the needles are searched chunk by chunk) and nothing else. Every offset, size and
/// address is checked against the file's length and for overflow; everything is O(file size)
/// (`BinaryScan.scan`'s bounds).
public struct BinaryScan: Equatable, Sendable {
    public enum Format: String, Equatable, Sendable {
        case elf64, elf32
        /// Not an ELF file (a script, a wrapper, a file of another format).
        case notELF
    }

    /// Where the needles were looked for.
    public enum Searched: Equatable, Sendable {
        /// The string sections (`BinaryScan.stringSections`) the file has, by name, in the order of
        /// its section header table. Each is searched on its own: a needle that starts in one
        /// section and ends in the next is not found.
        case sections([String])
        /// An ELF file without section headers (stripped with sstrip) or without section names:
        /// the file bytes of every PT_LOAD segment, executable ones too (older linkers put
        /// .rodata in the code segment), each searched on its own (overlapping ones as one).
        case loadSegments(Int)
        /// Not ELF, and at most `wholeFileLimit` bytes: the whole file.
        case wholeFile
        /// Not ELF and larger than `wholeFileLimit`: nothing was searched.
        case nothing
    }

    /// A module of a Go binary's build info (`mod` or `dep` line).
    public struct GoModule: Equatable, Sendable {
        public var path: String
        /// "v1.16.6"; "(devel)" for a main module built from a work tree.
        public var version: String
        /// "h1:…", nil when the line has none.
        public var sum: String?
        /// The `=>` line that follows the module's: what it was replaced by.
        public var replacement: GoModuleReplacement?

        public init(path: String, version: String, sum: String? = nil, replacement: GoModuleReplacement? = nil) {
            self.path = path
            self.version = version
            self.sum = sum
            self.replacement = replacement
        }
    }

    /// A module's replacement (`=>` line): a module path and version, or a directory and "".
    public struct GoModuleReplacement: Equatable, Sendable {
        public var path: String
        public var version: String
        public var sum: String?

        public init(path: String, version: String, sum: String? = nil) {
            self.path = path
            self.version = version
            self.sum = sum
        }
    }

    /// A `build` line of Go ≥ 1.18: "-compiler=gc", "GOARCH=amd64", "vcs.revision=…". The key is
    /// as written (Go quotes a key with unusual characters; it is not unquoted here).
    public struct GoBuildSetting: Equatable, Sendable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public var format: Format
    /// The byte order of the ELF headers (false when not ELF).
    public var bigEndian: Bool
    /// e_machine (62 x86-64, 183 AArch64, …); nil when not ELF.
    public var machine: UInt16?
    /// "go1.13.5": the Go toolchain the binary was built with; nil for a binary that is not Go
    /// (or Go before 1.13, which wrote no build info) or whose build info could not be read
    /// (`goBuildInfoProblem`).
    public var goVersion: String?
    /// The main package (`path` line): "k8s.io/kubernetes/cmd/kubelet".
    public var goPackage: String?
    /// The main module (`mod` line): nil for a binary built outside module mode (GOPATH).
    public var mainModule: GoModule?
    /// The `dep` lines, in order.
    public var dependencies: [GoModule]
    /// The `build` lines, in order (Go ≥ 1.18).
    public var buildSettings: [GoBuildSetting]
    /// Why the Go build info this binary carries (its `.go.buildinfo` section) was not read, or
    /// read only in part (a bound passed, a line it could not read): nil when all was read or
    /// there is none. The rest of the scan stands.
    public var goBuildInfoProblem: BinaryScanError?
    /// The caller's needles that occur in the string data (`searched`), in the caller's order.
    public var found: [String]
    public var searched: Searched

    public init(
        format: Format, bigEndian: Bool = false, machine: UInt16? = nil, goVersion: String? = nil, goPackage: String? = nil,
        mainModule: GoModule? = nil, dependencies: [GoModule] = [], buildSettings: [GoBuildSetting] = [],
        goBuildInfoProblem: BinaryScanError? = nil, found: [String] = [], searched: Searched
    ) {
        self.format = format
        self.bigEndian = bigEndian
        self.machine = machine
        self.goVersion = goVersion
        self.goPackage = goPackage
        self.mainModule = mainModule
        self.dependencies = dependencies
        self.buildSettings = buildSettings
        self.goBuildInfoProblem = goBuildInfoProblem
        self.found = found
        self.searched = searched
    }

    /// The architecture e_machine names, as `uname -m` would: "x86_64", "aarch64"; nil for
    /// another or when not ELF.
    public var architecture: String? {
        switch machine {
        case 3: return "i386"
        case 8: return "mips"
        case 20: return "ppc"
        case 21: return "ppc64"
        case 22: return "s390x"
        case 40: return "arm"
        case 62: return "x86_64"
        case 183: return "aarch64"
        case 243: return "riscv64"
        case 258: return "loongarch64"
        default: return nil
        }
    }

    // MARK: Bounds

    /// At most this many needles…
    public static let maximumNeedles = 16
    /// …each of 1 to this many bytes.
    public static let maximumNeedleLength = 256
    /// A file that is not ELF is searched whole only up to this size (a script, a wrapper).
    public static let wholeFileLimit = 8 << 20
    /// The Go version and the module info: each at most this many bytes.
    public static let maximumGoString = 64 << 10
    /// The module info's lines read (the rest are not, and `goBuildInfoProblem` says so).
    public static let maximumModuleLines = 10_000
    /// Section headers and program headers: at most this many of each.
    public static let maximumHeaders = 65_536
    /// The sections whose bytes hold string data: where the needles are searched. (.rdata is
    /// PE's name, which some cross-built binaries carry.)
    public static let stringSections = [".rodata", ".go.buildinfo", ".data", ".noptrdata", ".rdata"]
    /// Without a .go.buildinfo section, the build info is looked for in the first this many bytes
    /// of each writable, non-executable PT_LOAD segment (where Go's linker puts it; as
    /// debug/buildinfo does).
    static let buildInfoWindow = 64 << 10

    // MARK: Scan

    /// Reads `bytes`, a binary's content, and searches `needles` (UTF-8) in its string data.
    ///
    /// A file that is not ELF is no error: it is `.notELF`, searched whole when at most
    /// `wholeFileLimit` bytes and not at all when larger. An ELF file whose headers are cut
    /// short or impossible (a table past the end of the file, an entry size too small, a section
    /// past the end, a name index outside .shstrtab) is an error naming the byte where it is.
    /// Go build info that cannot be read leaves the scan standing, with `goBuildInfoProblem`.
    /// More than `maximumNeedles` needles, or an empty one or one longer than
    /// `maximumNeedleLength` bytes, is an error (`.needles`).
    ///
    /// Bounds: O(file size) in all: every header is read once, the needles are searched with
    /// Horspool's skips over ranges that never overlap (worst case the file's size × the longest
    /// needle), the build info's strings are at most `maximumGoString` bytes.
    public static func scan(_ bytes: some LineBytes, needles: [String]) -> Result<BinaryScan, BinaryScanError> {
        do throws(BinaryScanError) {
            return .success(try scanThrowing(bytes, needles: needles))
        } catch {
            return .failure(error)
        }
    }

    /// The entry a fuzz target calls with arbitrary bytes: scans them for a few needles, and
    /// checks what the scan answers (a needle said found is in the bytes; an error's offset is
    /// inside them; the Go strings stay within their bound). A broken promise stops the process.
    public static func fuzz(_ bytes: [UInt8]) {
        let needles = ["nginx/1.15.3", "v1.16.6", "go1.13", "etcd", "\u{7f}ELF"]
        switch scan(LineArray(bytes), needles: needles) {
        case .success(let scan):
            for needle in scan.found {
                precondition(naiveContains(bytes, Array(needle.utf8)), "a needle said found is not in the bytes")
            }
            precondition(needles.filter { scan.found.contains($0) } == scan.found, "found is not in the caller's order")
            precondition((scan.goVersion?.utf8.count ?? 0) <= maximumGoString)
            precondition(scan.dependencies.count <= maximumModuleLines)
            if scan.format == .notELF {
                precondition(scan.goVersion == nil && scan.machine == nil)
                let expected = needles.filter { naiveContains(bytes, Array($0.utf8)) }
                precondition(scan.found == expected, "a file that is not ELF is searched whole")
            }
        case .failure(let error):
            precondition(error.offset >= 0 && error.offset <= bytes.count, "an error's offset is outside the bytes")
        }
    }

    static func naiveContains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= haystack.count else { return needle.isEmpty }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return true
        }
        return false
    }

    static func scanThrowing(_ bytes: some LineBytes, needles: [String]) throws(BinaryScanError) -> BinaryScan {
        let needleBytes = try validNeedles(needles)
        let elfMagic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]
        guard bytes.count >= 4, bytes.matches(elfMagic, at: 0) else {
            guard bytes.count <= wholeFileLimit else { return BinaryScan(format: .notELF, searched: .nothing) }
            let hits = NeedleSearch.search(bytes, ranges: [0..<bytes.count], needles: needleBytes.map(\.bytes))
            return BinaryScan(format: .notELF, found: needleBytes.indices.filter { hits[$0] }.map { needleBytes[$0].text }, searched: .wholeFile)
        }
        let image = try ELFImage(bytes)
        var scan = BinaryScan(format: image.is64 ? .elf64 : .elf32, bigEndian: image.bigEndian, machine: image.machine, searched: .nothing)

        // Where the needles are searched: the string sections, or without named sections every
        // PT_LOAD segment.
        let ranges: [Range<Int>]
        if image.namedSections {
            let strings = image.sections.filter { $0.type != ELFConstants.nobits && $0.size > 0 && stringSections.contains($0.name) }
            ranges = strings.map(\.fileRange)
            scan.searched = .sections(strings.map(\.name))
        } else {
            let loads = image.segments.filter { $0.fileSize > 0 }
            ranges = loads.map(\.fileRange)
            scan.searched = .loadSegments(loads.count)
        }
        let hits = NeedleSearch.search(bytes, ranges: NeedleSearch.merged(ranges), needles: needleBytes.map(\.bytes))
        scan.found = needleBytes.indices.filter { hits[$0] }.map { needleBytes[$0].text }

        // Go's build info: its section, else (sstrip, or a linker that made none) the start of
        // the writable data.
        if let section = image.sections.first(where: { $0.name == ".go.buildinfo" && $0.type != ELFConstants.nobits }) {
            do throws(BinaryScanError) {
                let info = try GoBuildInfo.read(image, blob: section.fileRange, searchWindow: true)
                info.apply(to: &scan)
            } catch {
                scan.goBuildInfoProblem = error
            }
        } else {
            for segment in image.segments where segment.flags & 3 == 2 && segment.fileSize > 0 {  // PF_W, not PF_X
                let window = segment.fileRange.lowerBound..<min(segment.fileRange.upperBound, segment.fileRange.lowerBound + buildInfoWindow)
                if let info = GoBuildInfo.find(image, in: window, limit: segment.fileRange.upperBound, alignedFrom: segment.virtualAddress) {
                    info.apply(to: &scan)
                    break
                }
            }
        }
        return scan
    }

    static func validNeedles(_ needles: [String]) throws(BinaryScanError) -> [(text: String, bytes: [UInt8])] {
        var unique: [(text: String, bytes: [UInt8])] = []
        for needle in needles {
            let bytes = Array(needle.utf8)
            guard !bytes.isEmpty, bytes.count <= maximumNeedleLength else {
                throw BinaryScanError(.needles, at: 0, "a needle must be 1 to \(maximumNeedleLength) bytes, not \(bytes.count)")
            }
            // The same bytes twice are one needle (compared as bytes: Strings equal by Unicode
            // equivalence may be different bytes).
            guard !unique.contains(where: { $0.bytes == bytes }) else { continue }
            unique.append((needle, bytes))
            guard unique.count <= maximumNeedles else {
                throw BinaryScanError(.needles, at: 0, "more than \(maximumNeedles) needles")
            }
        }
        return unique
    }
}

/// A binary's headers could not be read, or a bound was passed: where (a byte offset in the file)
/// and why.
public struct BinaryScanError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Equatable, Sendable {
        /// The file ends before what a header says is there.
        case truncated
        /// A header says something impossible (an unknown class, an entry size too small, a name
        /// outside its string table, an address not in the file).
        case garbled
        /// One of kcheck's bounds was passed (`BinaryScan`'s bounds).
        case pastBound
        /// The caller's needles are not within the bounds (offset 0).
        case needles
    }

    public var kind: Kind
    /// The byte of the file where the problem is (the header or field that says it), or the
    /// file's length when it ends too early.
    public var offset: Int
    public var message: String

    public init(_ kind: Kind, at offset: Int, _ message: String) {
        self.kind = kind
        self.offset = offset
        self.message = message
    }

    public var description: String { "byte \(offset): \(message)" }
}

// MARK: - ELF

enum ELFConstants {
    static let nobits: UInt32 = 8  // SHT_NOBITS: .bss, no bytes in the file
    static let ptLoad: UInt32 = 1
}

/// An ELF file's headers, checked: every table and every section or segment it names lies
/// inside the file.
struct ELFImage<Bytes: LineBytes> {
    struct Section {
        var name: String
        var type: UInt32
        var flags: UInt64
        var address: UInt64
        var fileRange: Range<Int>
        var size: Int { fileRange.count }
    }

    struct Segment {
        var flags: UInt32
        var virtualAddress: UInt64
        var fileRange: Range<Int>
        var fileSize: Int { fileRange.count }
    }

    let bytes: Bytes
    let is64: Bool
    let bigEndian: Bool
    var machine: UInt16 = 0
    /// The PT_LOAD segments.
    var segments: [Segment] = []
    /// Every section but the null one (index 0); names empty when `namedSections` is false.
    var sections: [Section] = []
    /// The file has section headers and a section name table.
    var namedSections = false

    init(_ bytes: Bytes) throws(BinaryScanError) {
        self.bytes = bytes
        guard bytes.count >= 16 else { throw BinaryScanError(.truncated, at: bytes.count, "the ELF identification is cut short (\(bytes.count) of 16 bytes)") }
        switch bytes[4] {
        case 1: is64 = false
        case 2: is64 = true
        default: throw BinaryScanError(.garbled, at: 4, "the ELF class is \(bytes[4]), neither 1 (32-bit) nor 2 (64-bit)")
        }
        switch bytes[5] {
        case 1: bigEndian = false
        case 2: bigEndian = true
        default: throw BinaryScanError(.garbled, at: 5, "the ELF data encoding is \(bytes[5]), neither 1 (little-endian) nor 2 (big-endian)")
        }
        let headerSize = is64 ? 64 : 52
        guard bytes.count >= headerSize else {
            throw BinaryScanError(.truncated, at: bytes.count, "the ELF header is cut short (\(bytes.count) of \(headerSize) bytes)")
        }
        machine = UInt16(truncatingIfNeeded: uint(18, 2))
        // Offsets of the header's fields: e_phoff, e_shoff, then e_phentsize, e_phnum,
        // e_shentsize, e_shnum, e_shstrndx.
        let (phoffAt, shoffAt, phentAt) = is64 ? (32, 40, 54) : (28, 32, 42)
        let phoff = word(phoffAt), shoff = word(shoffAt)
        let phentsize = Int(uint(phentAt, 2)), shentsize = Int(uint(phentAt + 4, 2))
        var phnum = Int(uint(phentAt + 2, 2)), shnum = Int(uint(phentAt + 6, 2)), shstrndx = Int(uint(phentAt + 8, 2))

        // Section headers: e_shnum 0 with a table means the count is section 0's sh_size; an
        // e_shstrndx of SHN_XINDEX is in section 0's sh_link; an e_phnum of PN_XNUM in its sh_info.
        let sectionSize = is64 ? 64 : 40
        var sectionTable = 0
        if shoff != 0 {
            let first = try table(offset: shoff, count: 1, entrySize: shentsize, minimum: sectionSize, what: "section header", field: shoffAt)
            if shnum == 0 { shnum = try count(is64 ? word(first + 32) : uint(first + 20, 4), "section headers", at: first) }
            if shstrndx == 0xFFFF { shstrndx = Int(uint(first + (is64 ? 40 : 24), 4)) }
            if phnum == 0xFFFF { phnum = try count(uint(first + (is64 ? 44 : 28), 4), "program headers", at: first) }
            sectionTable = try table(offset: shoff, count: shnum, entrySize: shentsize, minimum: sectionSize, what: "section header", field: shoffAt)
        } else {
            shnum = 0
        }
        guard phnum <= BinaryScan.maximumHeaders else {
            throw BinaryScanError(.pastBound, at: phentAt + 2, "more than \(BinaryScan.maximumHeaders) program headers (\(phnum))")
        }

        // Program headers: the PT_LOAD segments, each inside the file.
        if phnum > 0 {
            let base = try table(offset: phoff, count: phnum, entrySize: phentsize, minimum: is64 ? 56 : 32, what: "program header", field: phoffAt)
            for i in 0..<phnum {
                let at = base + i * phentsize
                guard UInt32(uint(at, 4)) == ELFConstants.ptLoad else { continue }
                let flags = UInt32(uint(at + (is64 ? 4 : 24), 4))
                let offset = word(at + (is64 ? 8 : 4)), vaddr = word(at + (is64 ? 16 : 8)), filesz = word(at + (is64 ? 32 : 16))
                let range = try fileRange(offset: offset, size: filesz, what: "segment \(i) (PT_LOAD)", header: at)
                segments.append(Segment(flags: flags, virtualAddress: vaddr, fileRange: range))
            }
        }

        // Section headers: each section's bytes inside the file, its name inside .shstrtab.
        guard shnum > 1 else { return }
        guard shstrndx < shnum else {
            throw BinaryScanError(.garbled, at: phentAt + 8, "the section name table is section \(shstrndx), but there are \(shnum) sections")
        }
        var raw: [(at: Int, name: Int, section: Section)] = []
        for i in 1..<shnum {
            let at = sectionTable + i * shentsize
            let type = UInt32(uint(at + 4, 4))
            let name = Int(uint(at, 4))
            let flags = is64 ? word(at + 8) : uint(at + 8, 4)
            let address = word(at + (is64 ? 16 : 12))
            let offset = word(at + (is64 ? 24 : 16)), size = word(at + (is64 ? 32 : 20))
            var range = 0..<0
            if type != 0 && type != ELFConstants.nobits {  // SHT_NULL and SHT_NOBITS have no bytes in the file
                range = try fileRange(offset: offset, size: size, what: "section \(i)", header: at)
            }
            raw.append((at, name, Section(name: "", type: type, flags: flags, address: address, fileRange: range)))
        }
        guard shstrndx != 0 else {  // SHN_UNDEF: no names
            sections = raw.map(\.section)
            return
        }
        let names = raw[shstrndx - 1]
        guard names.section.type != ELFConstants.nobits && names.section.type != 0 else {
            throw BinaryScanError(.garbled, at: names.at, "the section name table (section \(shstrndx)) has no bytes in the file")
        }
        for entry in raw {
            var section = entry.section
            section.name = try sectionName(entry.name, table: names.section.fileRange, header: entry.at)
            sections.append(section)
        }
        namedSections = true
    }

    /// The unsigned integer of `size` (≤ 8) bytes at `at`, in the file's byte order. Only called
    /// on offsets already checked to be inside the file.
    func uint(_ at: Int, _ size: Int) -> UInt64 {
        Self.uint(bytes, at, size, bigEndian: bigEndian)
    }

    static func uint(_ bytes: Bytes, _ at: Int, _ size: Int, bigEndian: Bool) -> UInt64 {
        precondition(at >= 0 && size <= 8 && at <= bytes.count - size, "a header field outside the checked range")
        var value: UInt64 = 0
        for i in 0..<size {
            let byte = UInt64(bytes[bigEndian ? at + i : at + size - 1 - i])
            value = value << 8 | byte
        }
        return value
    }

    /// An address or offset: 8 bytes in a 64-bit file, 4 in a 32-bit one.
    func word(_ at: Int) -> UInt64 { uint(at, is64 ? 8 : 4) }

    func count(_ value: UInt64, _ what: String, at: Int) throws(BinaryScanError) -> Int {
        guard value <= UInt64(BinaryScan.maximumHeaders) else {
            throw BinaryScanError(.pastBound, at: at, "more than \(BinaryScan.maximumHeaders) \(what) (\(value))")
        }
        return Int(value)
    }

    /// The offset of a table of `count` entries of `entrySize` bytes at `offset`, checked.
    func table(offset: UInt64, count: Int, entrySize: Int, minimum: Int, what: String, field: Int) throws(BinaryScanError) -> Int {
        guard count <= BinaryScan.maximumHeaders else {
            throw BinaryScanError(.pastBound, at: field, "more than \(BinaryScan.maximumHeaders) \(what)s (\(count))")
        }
        guard entrySize >= minimum else {
            throw BinaryScanError(.garbled, at: field, "a \(what) is \(entrySize) bytes, less than the \(minimum) of its structure")
        }
        let size = UInt64(count) * UInt64(entrySize)  // both ≤ 65,536
        let (end, overflow) = offset.addingReportingOverflow(size)
        guard !overflow, end <= UInt64(bytes.count) else {
            throw BinaryScanError(
                .truncated, at: field, "the \(what) table (\(count) × \(entrySize) bytes at byte \(offset)) runs past the end of the file (\(bytes.count) bytes)")
        }
        return Int(offset)
    }

    func fileRange(offset: UInt64, size: UInt64, what: String, header: Int) throws(BinaryScanError) -> Range<Int> {
        let (end, overflow) = offset.addingReportingOverflow(size)
        guard !overflow, end <= UInt64(bytes.count) else {
            throw BinaryScanError(.truncated, at: header, "\(what) (\(size) bytes at byte \(offset)) runs past the end of the file (\(bytes.count) bytes)")
        }
        return Int(offset)..<Int(end)
    }

    /// A section's name: the NUL-terminated bytes at `index` in the name table. A name longer
    /// than 256 bytes is kept to its first 256 (it is none kcheck looks for).
    func sectionName(_ index: Int, table: Range<Int>, header: Int) throws(BinaryScanError) -> String {
        guard index < table.count else {
            throw BinaryScanError(.garbled, at: header, "the section's name is at \(index), outside the name table (\(table.count) bytes)")
        }
        var name: [UInt8] = []
        var at = table.lowerBound + index
        while at < table.upperBound && bytes[at] != 0 {
            if name.count < 256 { name.append(bytes[at]) }
            at += 1
        }
        guard at < table.upperBound else {
            throw BinaryScanError(.garbled, at: header, "the section's name (at \(index) in the name table) is not terminated")
        }
        return String(decoding: name, as: UTF8.self)
    }

    /// The file offset of `size` bytes at virtual address `address`: inside one PT_LOAD
    /// segment's file bytes, else (a file without segments) one allocated section's.
    func fileOffset(ofAddress address: UInt64, size: UInt64) -> Int? {
        func inside(_ start: UInt64, _ range: Range<Int>) -> Int? {
            guard address >= start else { return nil }
            let delta = address - start
            guard delta < UInt64(range.count), size <= UInt64(range.count) - delta else { return nil }
            return range.lowerBound + Int(delta)
        }
        for segment in segments {
            if let offset = inside(segment.virtualAddress, segment.fileRange) { return offset }
        }
        for section in sections where section.flags & 2 != 0 && section.type != ELFConstants.nobits {  // SHF_ALLOC
            if let offset = inside(section.address, section.fileRange) { return offset }
        }
        return nil
    }
}

// MARK: - Go build info

/// The Go build info blob (cmd/link, debug/buildinfo): "\xff Go buildinf:" (14 bytes), the
/// pointer size (1), flags (1: bit 0 big-endian, bit 1 the strings inline). Go ≥ 1.18 (inline):
/// at byte 32 the Go version and the module info, each a uvarint length and its bytes. Go
/// 1.13–1.17: at byte 16 two pointers to Go string headers (pointer, length) of
/// runtime.buildVersion and runtime.modinfo, followed through the segments.
struct GoBuildInfo {
    static let magic: [UInt8] = [0xFF] + Array(" Go buildinf:".utf8)
    static let headerSize = 32

    var version: String
    var modules: GoModuleInfo

    func apply(to scan: inout BinaryScan) {
        scan.goVersion = version
        scan.goPackage = modules.package
        scan.mainModule = modules.main
        scan.dependencies = modules.dependencies
        scan.buildSettings = modules.settings
        scan.goBuildInfoProblem = modules.problem
    }

    /// The blob in `blob` (a .go.buildinfo section): at its start, or with `searchWindow` at
    /// the first 16-byte-aligned offset in its first 64 KiB that holds the magic (as
    /// debug/buildinfo looks).
    static func read<B>(_ image: ELFImage<B>, blob: Range<Int>, searchWindow: Bool) throws(BinaryScanError) -> GoBuildInfo {
        var start = blob.lowerBound
        if searchWindow {
            var at = blob.lowerBound
            let end = min(blob.upperBound, blob.lowerBound + BinaryScan.buildInfoWindow)
            while at + headerSize <= end && !image.bytes.matches(magic, at: at) { at += 16 }
            if at + headerSize <= end { start = at }
        }
        guard start + headerSize <= blob.upperBound else {
            throw BinaryScanError(.truncated, at: start, "the Go build info is cut short (\(blob.upperBound - start) of \(headerSize) bytes)")
        }
        guard image.bytes.matches(magic, at: start) else {
            throw BinaryScanError(.garbled, at: start, "the .go.buildinfo section does not start with Go's build info magic")
        }
        return try decode(image, at: start, limit: blob.upperBound)
    }

    /// The first blob in `window` at an address aligned to 16 that decodes (its strings inside
    /// `limit`, the segment's end); nil if none does.
    static func find<B>(_ image: ELFImage<B>, in window: Range<Int>, limit: Int, alignedFrom address: UInt64) -> GoBuildInfo? {
        var at = window.lowerBound + Int((16 - address % 16) % 16)
        while at + headerSize <= window.upperBound {
            if image.bytes.matches(magic, at: at), let info = try? decode(image, at: at, limit: limit) { return info }
            at += 16
        }
        return nil
    }

    static func decode<B>(_ image: ELFImage<B>, at start: Int, limit: Int) throws(BinaryScanError) -> GoBuildInfo {
        let bytes = image.bytes
        let pointerSize = Int(bytes[start + 14]), flags = bytes[start + 15]
        let version: [UInt8]
        var modinfo: [UInt8] = []
        // The module info that cannot be read leaves the Go version standing.
        var modinfoProblem: BinaryScanError?
        if flags & 2 != 0 {
            var at = start + headerSize
            version = try inlineString(bytes, at: &at, limit: limit, what: "Go version")
            do throws(BinaryScanError) {
                modinfo = try inlineString(bytes, at: &at, limit: limit, what: "module info")
            } catch {
                modinfoProblem = error
            }
        } else {
            guard pointerSize == 4 || pointerSize == 8 else {
                throw BinaryScanError(.garbled, at: start + 14, "the Go build info's pointer size is \(pointerSize), neither 4 nor 8")
            }
            let bigEndian = flags != 0  // Go 1.13–1.17 wrote 0 or 1
            let versionHeader = ELFImage.uint(bytes, start + 16, pointerSize, bigEndian: bigEndian)
            let modinfoHeader = ELFImage.uint(bytes, start + 16 + pointerSize, pointerSize, bigEndian: bigEndian)
            version = try pointedString(image, header: versionHeader, pointerSize: pointerSize, bigEndian: bigEndian, what: "Go version", field: start + 16)
            do throws(BinaryScanError) {
                modinfo = try pointedString(
                    image, header: modinfoHeader, pointerSize: pointerSize, bigEndian: bigEndian, what: "module info", field: start + 16 + pointerSize)
            } catch {
                modinfoProblem = error
            }
        }
        guard !version.isEmpty else { throw BinaryScanError(.garbled, at: start, "the Go build info's Go version is empty") }
        // The module info is framed by 16-byte sentinels (cmd/go's infoStart, infoEnd); without
        // them (or empty: a GOPATH build) there is none.
        if modinfo.count >= 33 && modinfo[modinfo.count - 17] == 0x0A {
            modinfo = Array(modinfo[16..<(modinfo.count - 16)])
        } else {
            modinfo = []
        }
        var modules = GoModuleInfo.parse(modinfo, at: start)
        if let modinfoProblem { modules.problem = modinfoProblem }
        return GoBuildInfo(version: String(decoding: version, as: UTF8.self), modules: modules)
    }

    /// A uvarint length and that many bytes at `at`, inside `limit`; moves `at` past them.
    static func inlineString<B: LineBytes>(_ bytes: B, at: inout Int, limit: Int, what: String) throws(BinaryScanError) -> [UInt8] {
        let lengthAt = at
        var length: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard at < limit else { throw BinaryScanError(.truncated, at: lengthAt, "the \(what)'s length is cut short") }
            let byte = bytes[at]
            at += 1
            guard shift < 63 || (shift == 63 && byte <= 1) else { throw BinaryScanError(.garbled, at: lengthAt, "the \(what)'s length overflows 64 bits") }
            length |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { break }
            shift += 7
        }
        guard length <= UInt64(BinaryScan.maximumGoString) else {
            throw BinaryScanError(.pastBound, at: lengthAt, "the \(what) is \(length) bytes, more than \(BinaryScan.maximumGoString)")
        }
        guard Int(length) <= limit - at else {
            throw BinaryScanError(.truncated, at: lengthAt, "the \(what) (\(length) bytes) runs past the end of the build info")
        }
        defer { at += Int(length) }
        return bytes.bytes(at..<(at + Int(length)))
    }

    /// The Go string whose header (data pointer, length) is at virtual address `header`.
    static func pointedString<B>(
        _ image: ELFImage<B>, header: UInt64, pointerSize: Int, bigEndian: Bool, what: String, field: Int
    ) throws(BinaryScanError) -> [UInt8] {
        guard let at = image.fileOffset(ofAddress: header, size: UInt64(2 * pointerSize)) else {
            throw BinaryScanError(
                .garbled, at: field,
                "the \(what)'s string header at address 0x\(String(header, radix: 16)) is not in the file (a position-independent Go < 1.18 binary has it only once loaded)")
        }
        let data = ELFImage.uint(image.bytes, at, pointerSize, bigEndian: bigEndian)
        let length = ELFImage.uint(image.bytes, at + pointerSize, pointerSize, bigEndian: bigEndian)
        guard length <= UInt64(BinaryScan.maximumGoString) else {
            throw BinaryScanError(.pastBound, at: at + pointerSize, "the \(what) is \(length) bytes, more than \(BinaryScan.maximumGoString)")
        }
        guard length > 0 else { return [] }
        guard let offset = image.fileOffset(ofAddress: data, size: length) else {
            throw BinaryScanError(.garbled, at: at, "the \(what)'s \(length) bytes at address 0x\(String(data, radix: 16)) are not in the file")
        }
        return image.bytes.bytes(offset..<(offset + Int(length)))
    }
}

/// The module info's lines (runtime/debug.ParseBuildInfo's format): `path\tPKG`,
/// `mod\tPATH\tVERSION[\tSUM]`, `dep\t…`, `=>\tPATH\tVERSION\tSUM` (replaces the module of the
/// line before), `build\tKEY=VALUE`. Other lines are passed over, as later Go versions may add
/// some; a module line with the wrong number of columns is passed over and named in `problem`.
struct GoModuleInfo {
    var package: String?
    var main: BinaryScan.GoModule?
    var dependencies: [BinaryScan.GoModule] = []
    var settings: [BinaryScan.GoBuildSetting] = []
    var problem: BinaryScanError?

    static func parse(_ text: [UInt8], at offset: Int) -> GoModuleInfo {
        var info = GoModuleInfo()
        enum Last { case none, main, dependency }
        var last = Last.none
        var number = 0
        func note(_ message: String) {
            if info.problem == nil { info.problem = BinaryScanError(.garbled, at: offset, message) }
        }
        for line in text.split(separator: 0x0A, omittingEmptySubsequences: true) {
            number += 1
            guard number <= BinaryScan.maximumModuleLines else {
                info.problem = BinaryScanError(
                    .pastBound, at: offset, "the Go module info has more than \(BinaryScan.maximumModuleLines) lines: the rest were not read")
                break
            }
            let columns = line.split(separator: 0x09, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard let kind = columns.first else { continue }
            let rest = Array(columns.dropFirst())
            switch kind {
            case "path":
                info.package = rest.joined(separator: "\t")
                last = .none
            case "mod", "dep":
                guard rest.count == 2 || rest.count == 3 else {
                    note("line \(number) of the Go module info (\(kind)) has \(rest.count) columns, not 2 or 3")
                    last = .none
                    continue
                }
                let module = BinaryScan.GoModule(path: rest[0], version: rest[1], sum: rest.count == 3 && !rest[2].isEmpty ? rest[2] : nil)
                if kind == "mod" {
                    info.main = module
                    last = .main
                } else {
                    info.dependencies.append(module)
                    last = .dependency
                }
            case "=>":
                guard rest.count == 3 else {
                    note("line \(number) of the Go module info (=>) has \(rest.count) columns, not 3")
                    last = .none
                    continue
                }
                let replacement = BinaryScan.GoModuleReplacement(path: rest[0], version: rest[1], sum: rest[2].isEmpty ? nil : rest[2])
                switch last {
                case .main: info.main?.replacement = replacement
                case .dependency: info.dependencies[info.dependencies.count - 1].replacement = replacement
                case .none: note("line \(number) of the Go module info replaces no module")
                }
                last = .none
            case "build":
                let setting = rest.joined(separator: "\t")
                if let equals = setting.firstIndex(of: "=") {
                    info.settings.append(BinaryScan.GoBuildSetting(key: String(setting[..<equals]), value: String(setting[setting.index(after: equals)...])))
                } else {
                    note("line \(number) of the Go module info (build) has no `=`")
                }
                last = .none
            default:
                last = .none
            }
        }
        return info
    }
}

// MARK: - Needle search

/// Which needles occur in byte ranges of a file: Horspool's algorithm (a skip table per needle),
/// over chunks of at most 1 MiB copied out of the file one at a time (never the whole file), each
/// chunk overlapping the next by the longest needle less one byte so that no match is lost at a
/// chunk's edge. A needle is looked for inside each range, never across two.
enum NeedleSearch {
    static let chunkSize = 1 << 20

    /// Which of `needles` (each 1 to 256 bytes) occur inside one of `ranges`.
    static func search(_ bytes: some LineBytes, ranges: [Range<Int>], needles: [[UInt8]]) -> [Bool] {
        var found = [Bool](repeating: false, count: needles.count)
        guard let longest = needles.map(\.count).max(), longest > 0 else { return found }
        let shifts = needles.map(skipTable)
        for range in ranges where range.lowerBound >= 0 && range.upperBound <= bytes.count {
            var start = range.lowerBound
            while start < range.upperBound && found.contains(false) {
                let end = min(range.upperBound, start + chunkSize)
                let chunk = bytes.bytes(start..<end)
                chunk.withUnsafeBufferPointer { haystack in
                    for i in needles.indices where !found[i] {
                        found[i] = contains(haystack, needles[i], shifts[i])
                    }
                }
                guard end < range.upperBound else { break }
                start = end - (longest - 1)  // chunkSize > longest: always forward
            }
        }
        return found
    }

    /// Horspool's table: how far the window may move when its last byte is `b`.
    static func skipTable(_ needle: [UInt8]) -> [Int] {
        var table = [Int](repeating: needle.count, count: 256)
        for (j, byte) in needle.dropLast().enumerated() { table[Int(byte)] = needle.count - 1 - j }
        return table
    }

    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8], _ shift: [Int]) -> Bool {
        let m = needle.count, n = haystack.count
        guard m > 0, m <= n else { return false }
        return needle.withUnsafeBufferPointer { pattern in
            shift.withUnsafeBufferPointer { skip in
                let last = pattern[m - 1]
                var i = m - 1
                while i < n {
                    let byte = haystack[i]
                    if byte == last {
                        var j = m - 2
                        var k = i - 1
                        while j >= 0 && haystack[k] == pattern[j] {
                            j -= 1
                            k -= 1
                        }
                        if j < 0 { return true }
                    }
                    i += skip[Int(byte)]
                }
                return false
            }
        }
    }

    /// The ranges sorted, overlapping ones joined (so no byte is searched twice); ranges that only
    /// touch stay apart, and empty ones are dropped.
    static func merged(_ ranges: [Range<Int>]) -> [Range<Int>] {
        var result: [Range<Int>] = []
        for range in ranges.filter({ !$0.isEmpty }).sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = result.last, range.lowerBound < last.upperBound {
                result[result.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                result.append(range)
            }
        }
        return result
    }
}
