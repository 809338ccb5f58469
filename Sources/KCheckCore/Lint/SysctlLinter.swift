/// Lints sysctl configuration files, alone and as part of the node's whole systemd-sysctl set.
public enum SysctlLinter {
    /// Modules that create families of keys, for telling "module not loaded" from "no such key".
    static let modulePrefixes: [(prefix: String, module: String)] = [
        ("net.bridge.", "br_netfilter"), ("net.netfilter.nf_conntrack", "nf_conntrack"), ("net.ipv4.vs.", "ip_vs"),
    ]

    public static func lint(path: String, bytes: [UInt8], node: Node?, profile: Profile) -> [Finding] {
        lint(path: path, bytes: bytes, session: LintSession(node: node, inventory: nil, profile: profile))
    }

    /// Places listed in a finding: the first and last few of a key set in thousands of files.
    static func places(_ list: [SysctlAssignment], _ describe: (SysctlAssignment) -> String) -> String {
        guard list.count > 8 else { return list.map(describe).joined(separator: ", ") }
        return (list.prefix(4).map(describe) + ["… \(list.count - 6) more …"] + list.suffix(2).map(describe)).joined(separator: ", ")
    }

    static func lint(path: String, bytes: [UInt8], session: LintSession) -> [Finding] {
        let node = session.node
        var assignments: [SysctlAssignment] = []
        var malformed: [SourceLocation] = []
        SysctlConfig.parse(bytes, file: path, into: &assignments, malformed: &malformed)
        var findings: [Finding] = malformed.map {
            Finding(.sysctlUnparsable, at: $0, "not a `key = value` line: systemd-sysctl logs it as an error and skips it")
        }
        let checks = session.sysctlChecks

        for a in assignments {
            let swallowed = a.value.fields.dropFirst().filter { field in
                guard let eq = field.firstIndex(of: "=") else { return false }
                return field[..<eq].contains(".")
            }
            guard !swallowed.isEmpty else { continue }
            let kept = leadingInteger(Substring(a.value)).map { "the kernel keeps the leading number, \($0)" } ?? "the kernel rejects the value"
            let lost = swallowed.map { String($0.split(separator: "=")[0]) }.joined(separator: ", ")
            findings.append(
                Finding(.sysctlTwoSettings, at: a.location,
                    "`\(a.key)=\(a.value)` holds more than one setting: sysctl gives \(a.key) the whole rest of the line (`\(a.value)`), \(kept), \(lost) is silently never set, and sysctl exits 0"))
        }

        // Keys set more than once in this file.
        var byKey: [String: [SysctlAssignment]] = [:]
        var order: [String] = []
        for a in assignments {
            if byKey[a.key] == nil { order.append(a.key) }
            byKey[a.key, default: []].append(a)
        }
        for key in order where byKey[key]!.count > 1 {
            let list = byKey[key]!
            let places = places(list) { "line \($0.location.line) (\($0.value))" }
            findings.append(
                Finding(.sysctlDuplicate, at: list.last!.location,
                    "\(key) is set \(list.count) times in this file: \(places); the last, \(list.last!.value), wins"))
        }

        // Across the node's whole set, with this file in its place.
        if let node, let facts = session.facts {
            let set = facts.sysctlConfig
            // A node's own file is already in its place in the set: the set's index, built once
            // per session, serves every file (n files linted in linear time, not n times n).
            let inPlace = path == SysctlConfig.legacyFile || session.sysctlSources.contains(path)
            let placedIndex = inPlace ? [:] : SysctlConfig.index(placed(path: path, assignments: assignments, in: set))
            for key in order {
                let summary = inPlace ? session.sysctlSummary(key) : KeySettings(placedIndex[key] ?? [])
                let all = summary.all
                let mine = summary.byFile[path] ?? (0, 0)
                guard all.count > mine.all, let winner = all.last else { continue }
                // Overriding a vendor default (/usr/lib, /lib, /usr/local/lib) is what sysctl.d is
                // for; a duplicate is an operator's second file, or this file losing.
                if winner.location.file == path && summary.operators == mine.operators { continue }
                let places = places(all) { "\($0.location) (\($0.value))" }
                let status: Status = winner.location.file == path ? .warn : .fail
                findings.append(
                    Finding(.sysctlDuplicate, status, at: byKey[key]!.last!.location,
                        "\(key) is also set elsewhere in the systemd-sysctl set: \(places); \(winner.location) is applied last and wins"))
            }

            // Keys the kernel does not have.
            let kernel: KernelVersion? = if case .available(let v) = facts.kernelVersion { v } else { nil }
            for key in order {
                guard case .failure(let error) = node.status(SysctlConfig.procPath(key)), error.isNotFound else { continue }
                let at = byKey[key]!.last!.location
                let check = checks[key]
                if let removed = check?.removedIn, let kernel, kernel >= removed {
                    findings.append(
                        Finding(.sysctlUnknownKey, .warn, at: at,
                            "\(key) was removed from the kernel in Linux \(removed) (this kernel is \(kernel)): systemd-sysctl logs an error for this line at every boot"))
                } else if let module = check?.module ?? modulePrefixes.first(where: { key.hasPrefix($0.prefix) })?.module,
                    !facts.isLoaded(module)
                {
                    findings.append(
                        Finding(.sysctlUnknownKey, at: at,
                            "\(key) does not exist because its module \(module) is not loaded: the setting is lost unless \(module) loads before systemd-sysctl runs (/etc/modules-load.d)"))
                } else {
                    findings.append(Finding(.sysctlUnknownKey, at: at, "this kernel has no \(key) (\(SysctlConfig.procPath(key)) does not exist)"))
                }
            }
        }

        // Values against the profile: the assignment that wins in this file.
        for key in order {
            guard let check = checks[key], let a = byKey[key]!.last else { continue }
            let want = check.value
            let same: Bool
            if isNumeric(want) {
                same = leadingInteger(Substring(a.value)) == leadingInteger(Substring(want))
            } else {
                same = a.value.fields == want.fields
            }
            if !same {
                findings.append(Finding(.sysctlProfileValue, at: a.location, "\(key) is \(a.value); the guide's profile wants \(want)"))
            }
        }
        return findings.sorted { $0.location.line < $1.location.line }
    }

    /// The node's set in the order applied at boot, with the linted file in its place: where it
    /// is on the node, or (a file from elsewhere) in /etc/sysctl.d, shadowing a file of the same
    /// name.
    static func placed(path: String, assignments: [SysctlAssignment], in set: SysctlConfig) -> [SysctlAssignment] {
        func name(_ p: String) -> String { String(p.split(separator: "/").last ?? "") }
        if path == SysctlConfig.legacyFile {
            var result: [SysctlAssignment] = []
            var placedLegacy = false
            for entry in set.entries {
                if entry.source == path {
                    if !placedLegacy { result += assignments }
                    placedLegacy = true
                } else {
                    result += set.bySource[entry.source] ?? []
                }
            }
            return set.bootOrder == .sysctlSystem ? result + assignments : result
        }
        var byName: [String: String] = [:]
        for entry in set.entries { byName[entry.name] = entry.source }
        byName[name(path)] = path
        var result: [SysctlAssignment] = []
        var seen: Set<String> = []
        for n in byName.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let file = byName[n]!
            guard seen.insert(file).inserted else { continue }
            result += file == path ? assignments : set.bySource[file] ?? []
        }
        if set.bootOrder == .sysctlSystem { result += set.legacyAssignments }
        return result
    }
}

/// Lints the guide's ca-config.json and ca-csr.json (DOCUMENTED-STATE items 17–18).
public enum CAFileLinter {
    public static func lint(_ bytes: [UInt8], path: String, kind: FileKind) -> [Finding] {
        let root: JSONNode
        do throws(SyntaxError) {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return [Finding(.jsonSyntax, at: SourceLocation(file: path, line: 1), column: 1, "not UTF-8 text")]
            }
            root = try JSONDocument.parse(text)
        } catch {
            return [Finding(.jsonSyntax, at: SourceLocation(file: path, line: error.line), column: error.column, error.message)]
        }
        var findings: [Finding] = []
        let check: LintCheck = kind == .caCSR ? .caCSR : .caConfig
        func add(_ node: JSONNode?, _ message: String) {
            findings.append(Finding(check, at: SourceLocation(file: path, line: node?.line ?? root.line), column: node?.column ?? root.column, message))
        }
        func expect(_ node: JSONNode?, _ value: String, _ what: String, parent: JSONNode?) {
            guard let node else { return add(parent, "\(what) is missing; the guide has \"\(value)\"") }
            if node.string != value { add(node, "\(what) is \(node.string.map { "\"\($0)\"" } ?? "not a string"); the guide has \"\(value)\"") }
        }
        switch kind {
        case .caConfig:
            let signing = root["signing"]
            guard let signing else { add(root, "no \"signing\" object"); break }
            expect(signing["default"]?["expiry"], "87600h", "signing.default.expiry", parent: signing["default"] ?? signing)
            guard let profile = signing["profiles"]?["kubernetes"] else {
                add(signing["profiles"] ?? signing, "no \"kubernetes\" profile under signing.profiles")
                break
            }
            let usages = profile["usages"]?.array?.compactMap(\.string) ?? []
            let missing = ["signing", "key encipherment", "server auth", "client auth"].filter { !usages.contains($0) }
            if !missing.isEmpty {
                add(profile["usages"] ?? profile, "the kubernetes profile's usages lack \(missing.map { "\"\($0)\"" }.joined(separator: ", "))")
            }
            expect(profile["expiry"], "876000h", "signing.profiles.kubernetes.expiry", parent: profile)
        case .caCSR:
            expect(root["CN"], "kubernetes-ca", "CN", parent: root)
            if let key = root["key"] {
                expect(key["algo"], "rsa", "key.algo", parent: key)
                if let size = key["size"] {
                    if size.int != 2048 { add(size, "key.size is \(size.int.map(String.init) ?? "not a number"); the guide has 2048") }
                } else {
                    add(key, "key.size is missing; the guide has 2048")
                }
            } else {
                add(root, "\"key\" is missing; the guide has {\"algo\": \"rsa\", \"size\": 2048}")
            }
            if let names = root["names"]?.array, let first = names.first {
                for (field, value) in [("C", "CN"), ("ST", "BeiJing"), ("L", "BeiJing"), ("O", "k8s"), ("OU", "opsnull")] {
                    expect(first[field], value, "names[0].\(field)", parent: first)
                }
            } else {
                add(root["names"] ?? root, "\"names\" is missing or empty; the guide has C, ST, L, O, OU")
            }
            expect(root["ca"]?["expiry"], "876000h", "ca.expiry", parent: root["ca"] ?? root)
        case .environment, .sysctl, .hosts, .fstab:
            break
        }
        return findings
    }
}

/// Where one key is set across a sysctl set, counted once so that each of n files asks in
/// constant time (n files that all set one key would otherwise compare n times n).
struct KeySettings {
    static let vendor = ["/usr/lib/", "/lib/", "/usr/local/lib/"]
    let all: [SysctlAssignment]
    /// Per file: its assignments, and those outside the vendor directories.
    let byFile: [String: (all: Int, operators: Int)]
    /// Assignments outside the vendor directories.
    let operators: Int

    init(_ all: [SysctlAssignment]) {
        self.all = all
        var byFile: [String: (all: Int, operators: Int)] = [:]
        var operators = 0
        for a in all {
            let byOperator = !Self.vendor.contains { a.location.file.hasPrefix($0) } ? 1 : 0
            operators += byOperator
            let old = byFile[a.location.file] ?? (0, 0)
            byFile[a.location.file] = (old.all + 1, old.operators + byOperator)
        }
        self.byFile = byFile
        self.operators = operators
    }
}
