import KCheckNative

/// A package's state before a run installed it: what undo must put back.
public enum PackagePrior: Equatable, Sendable {
    /// Not on the node at all: undo purges it.
    case absent
    /// Removed earlier, its configuration files kept (dpkg's `rc`): undo cannot tell the files
    /// the installation replaced from the old ones, so it leaves the package alone.
    case configFiles
    /// Installed at this version: the run upgraded it, and undo cannot downgrade offline.
    case version(String)

    var journalText: String {
        switch self {
        case .absent: "absent"
        case .configFiles: "rc"
        case .version(let v): "=" + v
        }
    }

    init(journalText text: String) {
        switch text {
        case "absent": self = .absent
        case "rc": self = .configFiles
        default: self = .version(String(text.dropFirst()))
        }
    }
}

/// Why the package set could not be read or planned.
public struct PackageProblem: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// One package in a package database.
public struct InstalledPackage: Equatable {
    let name: String
    let version: String
    let installed: Bool
    /// dpkg's `rc`: removed, configuration files kept.
    let configFiles: Bool
    /// What it needs (Depends and Pre-Depends): each entry a group of alternatives, any one of
    /// which (or a package providing it) satisfies it.
    let depends: [[String]]
    let provides: [String]
}

/// The node's packages as the package manager knows them: dpkg's status file (read, never run),
/// or `rpm -qa` on the live node.
public struct PackageDatabase {
    let packages: [String: InstalledPackage]

    var installed: Set<String> { Set(packages.values.filter(\.installed).map(\.name)) }

    func prior(_ name: String) -> PackagePrior {
        guard let p = packages[name] else { return .absent }
        if p.installed { return .version(p.version) }
        return p.configFiles ? .configFiles : .absent
    }

    /// dpkg's status file, read (never run), on any node.
    static func dpkg(_ node: Node) -> Result<PackageDatabase, PackageProblem> {
        switch node.read("/var/lib/dpkg/status", limit: 256 << 20) {
        case .content(let bytes): return .success(PackageDatabase(packages: parseDpkg(bytes)))
        case .missing: return .failure(PackageProblem("no /var/lib/dpkg/status"))
        case .unreadable(let why): return .failure(PackageProblem(why))
        }
    }

    /// `rpm -qa` on the live node.
    static func rpm() -> Result<PackageDatabase, PackageProblem> {
        switch Posix.run(["rpm", "-qa", "--queryformat", "%{NAME} %{VERSION}-%{RELEASE}\n"], limit: 16 << 20) {
        case .failure(let error): return .failure(PackageProblem("rpm: \(error)"))
        case .success(let out) where out.status != 0: return .failure(PackageProblem("rpm -qa exited with status \(out.status)"))
        case .success(let out):
            var packages: [String: InstalledPackage] = [:]
            for line in splitLines(out.standardOutput) {
                let f = line.fields
                guard f.count == 2 else { continue }
                packages[String(f[0])] = InstalledPackage(name: String(f[0]), version: String(f[1]), installed: true, configFiles: false, depends: [], provides: [])
            }
            return .success(PackageDatabase(packages: packages))
        }
    }

    /// dpkg's status file: records separated by blank lines; continuation lines start with a space.
    static func parseDpkg(_ bytes: [UInt8]) -> [String: InstalledPackage] {
        var result: [String: InstalledPackage] = [:]
        var fields: [String: String] = [:]
        var last: String?
        func name(_ item: Substring) -> String? {
            item.trimmed.split(whereSeparator: { $0 == " " || $0 == "(" || $0 == ":" }).first.map(String.init)
        }
        func groups(_ list: String?) -> [[String]] {
            guard let list else { return [] }
            return list.split(separator: ",").map { $0.split(separator: "|").compactMap(name) }.filter { !$0.isEmpty }
        }
        func names(_ list: String?) -> [String] { groups(list).flatMap { $0 } }
        func finish() {
            defer { fields = [:]; last = nil }
            guard let name = fields["Package"] else { return }
            let status = fields["Status"] ?? ""
            result[name] = InstalledPackage(
                name: name, version: fields["Version"] ?? "", installed: status.hasSuffix(" installed"),
                configFiles: status.hasSuffix(" config-files"),
                depends: groups(fields["Depends"]) + groups(fields["Pre-Depends"]), provides: names(fields["Provides"]))
        }
        for line in splitLines(bytes) {
            if line.trimmed.isEmpty { finish(); continue }
            if line.first == " " || line.first == "\t" {
                if let last { fields[last, default: ""] += " " + line.trimmed }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon])
            if key == "Package", fields["Package"] != nil { finish() }
            fields[key] = String(line[line.index(after: colon)...].trimmed)
            last = key
        }
        finish()
        return result
    }

    /// `apt-get -s install`: the packages the installation will unpack (the requested ones and
    /// every dependency), with each one's state now. Inst lines read `Inst NAME [OLD] (NEW …)`.
    static func simulateApt(_ names: [String], database: PackageDatabase) -> Result<[(String, PackagePrior)], PackageProblem> {
        switch Posix.run(["apt-get", "-s", "-q", "install", "--"] + names, environment: ["DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"], limit: 16 << 20) {
        case .failure(let error): return .failure(PackageProblem("apt-get -s: \(error)"))
        case .success(let out) where out.status != 0: return .failure(PackageProblem("apt-get -s install exited with status \(out.status)"))
        case .success(let out):
            var planned: [(String, PackagePrior)] = []
            for line in splitLines(out.standardOutput) where line.hasPrefix("Inst ") {
                let f = line.fields
                guard f.count >= 2 else { continue }
                let name = String(f[1].split(separator: ":").first ?? f[1])
                planned.append((name, database.prior(name)))
            }
            return .success(planned)
        }
    }

    /// Of `candidates` (packages a run added), those that must stay because a package outside
    /// them needs them: a dependency none of whose alternatives another installed package
    /// satisfies. The dependencies of a package that stays stay too.
    func neededElsewhere(_ candidates: Set<String>) -> [String: String] {
        var satisfiers: [String: [String]] = [:]
        for p in packages.values where p.installed {
            satisfiers[p.name, default: []].append(p.name)
            for virtual in p.provides { satisfiers[virtual, default: []].append(p.name) }
        }
        var kept: [String: String] = [:]
        var staying: [String] = packages.values.filter { $0.installed && !candidates.contains($0.name) }.map(\.name).sorted()
        var checked: Set<String> = []
        while let name = staying.popLast() {
            guard checked.insert(name).inserted, let p = packages[name] else { continue }
            for group in p.depends {
                let options = group.flatMap { satisfiers[$0] ?? [] }
                // Satisfied by a package that stays: the candidates are not needed for it.
                if options.contains(where: { !candidates.contains($0) || kept[$0] != nil }) { continue }
                guard let needed = options.first(where: { candidates.contains($0) }) else { continue }
                kept[needed] = "\(name) depends on it"
                staying.append(needed)
            }
        }
        return kept
    }
}
