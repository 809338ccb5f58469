import KCheckCore
import KCheckNative

/// Decodes a rule's `check:` mapping: exactly one key, the kind, with that kind's fields.
enum CheckDecoder {
    /// A check's one key (its kind, one of `K`) and its body.
    struct KindBody<K> {
        let kind: K
        let key: String
        let body: YAMLNode
        let file: String

        /// Kinds without fields accept `kind: {}`, `kind: true` or an empty value.
        func bare<T>(_ check: T) throws(RuleFileError) -> T {
            switch body {
            case _ where body.isNull || body.bool == true: return check
            case .mapping(let m, _) where m.isEmpty: return check
            default: throw Fields.error(body, file: file, "`\(key)` takes no fields (write `\(key): {}`)")
            }
        }

        func fields(_ allowed: [String]) throws(RuleFileError) -> Fields {
            let f = try Fields(body, file: file, what: "the fields of `\(key)` (\(allowed.joined(separator: ", ")))")
            try f.finish(allowed: allowed)
            return f
        }
    }

    static func kindBody<K: RawRepresentable & CaseIterable>(_ node: YAMLNode, file: String, _: K.Type) throws(RuleFileError) -> KindBody<K>
    where K.RawValue == String {
        let outer = try Fields(node, file: file, what: "a check (`kind: {fields}`)")
        guard outer.pairs.count == 1, let pair = outer.pairs.first else {
            throw Fields.error(node, file: file, "a check has exactly one kind, found \(outer.pairs.count): \(outer.pairs.map(\.key).joined(separator: ", "))")
        }
        let names = K.allCases.map(\.rawValue)
        guard let kind = K(rawValue: pair.key) else {
            throw Fields.error(pair.keyNode, file: file, "unknown check kind `\(pair.key)`\(suggestion(pair.key, names)) (known: \(names.joined(separator: ", ")))")
        }
        return KindBody(kind: kind, key: pair.key, body: pair.value, file: file)
    }

    /// A cluster rule's `check:`: one of `ClusterCheck.Kind`, with its fields.
    static func decodeCluster(_ node: YAMLNode, file: String) throws(RuleFileError) -> ClusterCheck {
        let k = try kindBody(node, file: file, ClusterCheck.Kind.self)
        func path(_ f: Fields) throws(RuleFileError) -> String {
            let n = try f.required("path")
            let p = try f.string(n)
            guard p.hasPrefix("/") else { throw Fields.error(n, file: file, "expected an absolute path on the node") }
            return p
        }
        switch k.kind {
        case .hostsAgree: return try k.bare(.hostsAgree)
        case .hostnamesUnique: return try k.bare(.hostnamesUnique)
        case .certificateIdentical: return .certificateIdentical(path: try path(try k.fields(["path"])))
        case .fileIdentical: return .fileIdentical(path: try path(try k.fields(["path"])))
        case .kernelsAgree: return try k.bare(.kernelsAgree)
        case .sysctlAgree: return try k.bare(.sysctlAgree)
        case .clocksAgree:
            let f = try k.fields(["max_offset_seconds"])
            let n = try f.required("max_offset_seconds")
            guard let text = n.scalar?.string, let bound = Double(text), bound > 0, bound < 3600 else {
                throw Fields.error(n, file: file, "expected a number of seconds above 0 and under 3600")
            }
            return .clocksAgree(maxOffsetSeconds: bound)
        case .rootSSH: return try k.bare(.rootSSH)
        case .unique:
            let f = try k.fields(["fact"])
            return .unique(try f.enumeration(try f.required("fact"), IdentityFact.self))
        }
    }

    static func decode(_ node: YAMLNode, file: String) throws(RuleFileError) -> Check {
        let k = try kindBody(node, file: file, Check.Kind.self)
        let kind = k.kind, body = k.body
        func bare(_ check: Check) throws(RuleFileError) -> Check { try k.bare(check) }
        func fields(_ allowed: [String]) throws(RuleFileError) -> Fields { try k.fields(allowed) }

        switch kind {
        case .sysctl:
            let f = try fields(["key", "value", "module", "removed_in", "default", "default_before"])
            let key = try f.string(try f.required("key"))
            let value = try f.string(try f.required("value"))
            let module = try f.optional("module").map { n throws(RuleFileError) in try f.string(n) }
            let kernelDefault = try f.optional("default").map { n throws(RuleFileError) in try f.string(n) }
            func version(_ name: String) throws(RuleFileError) -> KernelVersion? {
                guard let r = f.optional(name) else { return nil }
                guard let version = KernelVersion(parsing: try f.string(r)) else {
                    throw Fields.error(r, file: file, "expected a kernel version such as 4.12")
                }
                return version
            }
            let removedIn = try version("removed_in")
            let defaultBefore = try version("default_before")
            if defaultBefore != nil && kernelDefault == nil {
                throw Fields.error(body, file: file, "`default_before` needs `default`")
            }
            return .sysctl(
                SysctlCheck(
                    key: key, value: value, module: module, removedIn: removedIn, kernelDefault: kernelDefault, defaultBefore: defaultBefore))
        case .swapOff: return try bare(.swapOff)
        case .fstabNoSwap: return try bare(.fstabNoSwap)
        case .swapSources: return try bare(.swapSources)
        case .selinuxNotEnforcing: return try bare(.selinuxNotEnforcing)
        case .clockSynchronized: return try bare(.clockSynchronized)
        case .rtcUTC: return try bare(.rtcUTC)
        case .hostnameInInventory: return try bare(.hostnameInInventory)
        case .hostsMatchInventory: return try bare(.hostsMatchInventory)
        case .inventoryLintClean: return try bare(.inventoryLintClean)
        case .selinuxConfig:
            let f = try fields(["mode"])
            let modeNode = try f.required("mode")
            let mode = try f.string(modeNode)
            guard ["disabled", "permissive", "enforcing"].contains(mode) else {
                throw Fields.error(modeNode, file: file, "SELinux mode must be disabled, permissive or enforcing")
            }
            return .selinuxConfig(mode: mode)
        case .service:
            let f = try fields(["unit", "running", "enabled", "package"])
            let unit = try distroName(try f.required("unit"), f)
            let package = try f.optional("package").map { n throws(RuleFileError) in try distroName(n, f) }
            let running = try f.optional("running").map { n throws(RuleFileError) in try f.bool(n) }
            let enabled = try f.optional("enabled").map { n throws(RuleFileError) in try f.bool(n) }
            if running == nil && enabled == nil { throw Fields.error(body, file: file, "a service check needs `running`, `enabled` or both") }
            return .service(ServiceCheck(unit: unit, running: running, enabled: enabled, package: package))
        case .timezone:
            let f = try fields(["zone"])
            return .timezone(try f.string(try f.required("zone")))
        case .kernelMinimum:
            let f = try fields(["version"])
            let v = try f.required("version")
            guard let version = KernelVersion(parsing: try f.string(v)) else { throw Fields.error(v, file: file, "expected a kernel version such as 4.4") }
            return .kernelMinimum(version)
        case .bootKernelMinimum:
            let f = try fields(["version"])
            let v = try f.required("version")
            guard let version = KernelVersion(parsing: try f.string(v)) else { throw Fields.error(v, file: file, "expected a kernel version such as 4.4") }
            return .bootKernelMinimum(version)
        case .kernelModule:
            let f = try fields(["name", "names", "when", "evidence"])
            var modules: [KernelModuleCheck.Module] = []
            if let name = f.optional("name") { modules.append(.init(try f.string(name))) }
            if let list = f.optional("names") {
                guard let items = list.sequence, !items.isEmpty, modules.isEmpty else {
                    throw Fields.error(list, file: file, "`names` must be a non-empty list of modules (and not beside `name`)")
                }
                for item in items {
                    if item.scalar != nil {
                        modules.append(.init(try f.string(item)))
                        continue
                    }
                    let m = try Fields(item, file: file, what: "a module")
                    try m.finish(allowed: ["name", "kernel_below"])
                    let below = try m.required("kernel_below")
                    guard let version = KernelVersion(parsing: try m.string(below)) else {
                        throw Fields.error(below, file: file, "expected a kernel version such as 4.19")
                    }
                    modules.append(.init(try m.string(try m.required("name")), kernelBelow: version))
                }
            }
            guard !modules.isEmpty else { throw Fields.error(body, file: file, "missing required field `name` (or `names`)") }
            let when = try f.optional("when").map { n throws(RuleFileError) in try f.enumeration(n, KernelModuleCheck.When.self) } ?? .now
            let evidence = try f.optional("evidence").map { n throws(RuleFileError) in try f.string(n) }
            if let evidence = f.optional("evidence"), modules.count > 1 {
                throw Fields.error(evidence, file: file, "`evidence` goes with one module (`name`)")
            }
            return .kernelModule(KernelModuleCheck(modules: modules, when: when, evidence: evidence))
        case .packages:
            let f = try fields(["names"])
            let list = try f.required("names")
            guard let items = list.sequence, !items.isEmpty else { throw Fields.error(list, file: file, "`names` must be a non-empty list") }
            var names: [DistroName] = []
            for item in items { names.append(try distroName(item, f)) }
            return .packages(names)
        case .path:
            let f = try fields(["path", "type", "mode_any", "matches", "append"])
            let pathNode = try f.required("path")
            let path = try f.string(pathNode)
            guard path.hasPrefix("/") else { throw Fields.error(pathNode, file: file, "`path` must be absolute") }
            let type = try f.optional("type").map { n throws(RuleFileError) in try f.enumeration(n, PathCheck.FileType.self) } ?? .file
            var modeAny: UInt32?
            if let m = f.optional("mode_any") {
                guard let value = UInt32(try f.string(m), radix: 8), value <= 0o7777 else {
                    throw Fields.error(m, file: file, "`mode_any` is octal permission bits, such as \"0111\"")
                }
                modeAny = value
            }
            var matches: String?
            if let m = f.optional("matches") {
                let pattern = try f.string(m)
                do throws(RegexError) {
                    _ = try Regex(pattern)
                } catch {
                    throw RuleFileError(
                        file: file, line: m.mark.line, column: m.mark.column,
                        message: "invalid pattern: \(error.message) at offset \(error.offset) of /\(pattern)/")
                }
                matches = pattern
            }
            if type == .directory && (matches != nil) { throw Fields.error(body, file: file, "`matches` applies to files, not directories") }
            var append: String?
            if let a = f.optional("append") {
                let line = try f.string(a)
                guard matches != nil, !line.contains("\n"), !line.isEmpty else {
                    throw Fields.error(a, file: file, "`append` is one line that `matches` matches, added by kcheck fix")
                }
                var matched = false
                if let pattern = matches {
                    do throws(RegexError) { matched = try Regex(pattern).matches(line) } catch { matched = false }
                }
                if !matched {
                    throw Fields.error(a, file: file, "`append` does not match `matches`: kcheck fix would append it and the rule would still fail")
                }
                append = line
            }
            return .path(PathCheck(path: path, type: type, modeAny: modeAny, matches: matches, append: append))
        case .fileLintClean:
            let f = try fields(["path", "kind"])
            return .fileLintClean(FileLintCheck(path: try absolute(try f.required("path"), f), kind: try f.enumeration(try f.required("kind"), FileKind.self)))
        case .caCertificate, .caKey:
            let f = try fields(["certificate", "key", "csr"])
            let check = CACheck(
                certificate: try absolute(try f.required("certificate"), f), key: try absolute(try f.required("key"), f),
                csr: try f.optional("csr").map { n throws(RuleFileError) in try absolute(n, f) })
            return kind == .caKey ? .caKey(check) : .caCertificate(check)
        case .certificates:
            let f = try fields(["paths", "aspect", "warn_days", "fail_days"])
            var paths: [String] = []
            let list = try f.required("paths")
            for item in list.sequence ?? [] { paths.append(try absolute(item, f)) }
            if paths.isEmpty { throw Fields.error(list, file: file, "`paths` must be a non-empty list of directories") }
            let warnDays = try days(f.optional("warn_days"), f, default: 30)
            let failDays = try days(f.optional("fail_days"), f, default: 7)
            if failDays > warnDays { throw Fields.error(body, file: file, "`fail_days` (\(failDays)) must not exceed `warn_days` (\(warnDays))") }
            return .certificates(
                CertificatesCheck(paths: paths, aspect: try f.enumeration(try f.required("aspect"), CertificatesCheck.Aspect.self), warnDays: warnDays, failDays: failDays))
        case .certificateSANs:
            let f = try fields(["path", "cover", "required"])
            let required = try f.optional("required").map { n throws(RuleFileError) in try f.bool(n) } ?? false
            return .certificateSANs(SANCheck(path: try absolute(try f.required("path"), f), cover: try strings(try f.required("cover"), f, what: "cover"), required: required))
        case .cpusMinimum:
            let f = try fields(["count"])
            let n = try f.required("count")
            guard let count = n.int, count >= 1, count <= 1 << 16 else { throw Fields.error(n, file: file, "expected a number of CPUs") }
            return .cpusMinimum(count)
        case .memoryMinimum:
            let f = try fields(["megabytes"])
            let n = try f.required("megabytes")
            guard let megabytes = n.int, megabytes >= 1, megabytes <= 1 << 40 else { throw Fields.error(n, file: file, "expected a number of MiB") }
            return .memoryMinimum(megabytes: megabytes)
        case .cgroupVersion:
            let f = try fields(["version"])
            let n = try f.required("version")
            guard let version = n.int, version == 1 || version == 2 else { throw Fields.error(n, file: file, "expected 1 or 2") }
            return .cgroupVersion(version)
        case .cgroupController:
            let f = try fields(["name"])
            return .cgroupController(try f.string(try f.required("name")))
        case .hostnameValid: return try bare(.hostnameValid)
        case .hostnameResolves: return try bare(.hostnameResolves)
        case .proxyBypass: return try bare(.proxyBypass)
        case .inventoryDirectories:
            let f = try fields(["variables"])
            let list = try f.required("variables")
            let names = try strings(list, f, what: "variables")
            guard !names.isEmpty else { throw Fields.error(list, file: file, "`variables` must not be empty") }
            return .inventoryDirectories(names)
        case .firewallForwardAccept: return try bare(.firewallForwardAccept)
        case .binaryVersion:
            let f = try fields(["paths", "version", "needle"])
            let list = try f.required("paths")
            let paths = try strings(list, f, what: "paths")
            guard !paths.isEmpty, paths.allSatisfy({ $0.hasPrefix("/") }) else { throw Fields.error(list, file: file, "`paths` must list absolute paths") }
            let version = try f.string(try f.required("version"))
            let needleNode = f.optional("needle")
            let needle = try needleNode.map { n throws(RuleFileError) in try f.string(n) } ?? version
            guard !needle.isEmpty, needle.utf8.count <= BinaryScan.maximumNeedleLength else {
                throw Fields.error(needleNode ?? list, file: file, "`needle` must be 1 to \(BinaryScan.maximumNeedleLength) bytes")
            }
            return .binaryVersion(BinaryVersionCheck(paths: paths, version: version, needle: needle))
        case .componentTLS:
            let f = try fields(["unit", "pairs", "authorities", "issuer", "warn_days", "absent", "note"])
            func ref(_ node: YAMLNode, _ g: Fields) throws(RuleFileError) -> ComponentFileRef {
                let text = try g.string(node)
                if text.hasPrefix("--"), text.count > 2 { return .flag(String(text.dropFirst(2))) }
                guard text.hasPrefix("/") else { throw Fields.error(node, file: file, "a file is `--flag` (the file the flag names) or an absolute path") }
                return .path(text)
            }
            var pairs: [ComponentTLSCheck.Pair] = []
            let list = try f.required("pairs")
            guard let items = list.sequence, !items.isEmpty else { throw Fields.error(list, file: file, "`pairs` must be a list of {cert, key}") }
            for item in items {
                let g = try Fields(item, file: file, what: "a pair {cert, key}")
                try g.finish(allowed: ["cert", "key"])
                pairs.append(ComponentTLSCheck.Pair(certificate: try ref(try g.required("cert"), g), key: try g.optional("key").map { n throws(RuleFileError) in try ref(n, g) }))
            }
            let authorities = try f.optional("authorities").map { n throws(RuleFileError) in try strings(n, f, what: "authorities") } ?? []
            let absentNode = f.optional("absent")
            let absentText = try absentNode.map { n throws(RuleFileError) in try f.string(n) } ?? "fail"
            guard let absent = Status(rawValue: absentText), [.fail, .warn].contains(absent) else {
                throw Fields.error(absentNode ?? list, file: file, "`absent` is fail or warn")
            }
            let warnDays = try days(f.optional("warn_days"), f, default: 30)
            return .componentTLS(
                ComponentTLSCheck(
                    unit: try f.string(try f.required("unit")), pairs: pairs, authorities: authorities,
                    issuer: try absolute(try f.required("issuer"), f), warnDays: warnDays, absent: absent,
                    note: try f.optional("note").map { n throws(RuleFileError) in try f.string(n) }))
        case .separateFilesystems:
            let f = try fields(["variables"])
            let list = try f.required("variables")
            let names = try strings(list, f, what: "variables")
            guard names.count >= 2 else { throw Fields.error(list, file: file, "`variables` must name two directories or more") }
            return .separateFilesystems(names)
        case .loginPath:
            let f = try fields(["directory"])
            let node = try f.required("directory")
            let directory = try f.string(node)
            guard directory.hasPrefix("/") else { throw Fields.error(node, file: file, "`directory` must be an absolute path") }
            return .loginPath(directory)
        case .firewallFlushed:
            let f = try fields(["tables", "until_installed"])
            let list = try f.required("tables")
            let tables = try strings(list, f, what: "tables")
            guard !tables.isEmpty, tables.allSatisfy({ ["filter", "nat", "mangle", "raw", "security"].contains($0) }) else {
                throw Fields.error(list, file: file, "`tables` must list iptables tables: filter, nat, mangle, raw, security")
            }
            let until = try f.optional("until_installed").map { n throws(RuleFileError) in try strings(n, f, what: "until_installed") } ?? []
            return .firewallFlushed(tables: tables, until: until)
        case .ipvsService:
            let f = try fields(["unit", "service", "servers", "server_port", "scheduler"])
            let portNode = try f.required("server_port")
            guard let port = portNode.int, port >= 1, port <= 65535 else { throw Fields.error(portNode, file: file, "expected a TCP port, 1 to 65535") }
            return .ipvsService(
                IPVSCheck(
                    unit: try f.string(try f.required("unit")), service: try f.string(try f.required("service")), servers: try f.string(try f.required("servers")),
                    serverPort: UInt16(port), scheduler: try f.string(try f.required("scheduler"))))
        case .componentFlag, .componentConfig:
            let f = try fields((kind == .componentFlag ? ["unit", "flag"] : ["unit", "file_flag", "file", "key"]) + ["equals", "includes", "excludes", "absent", "default", "otherwise"])
            var otherwise = Status.fail
            if let o = f.optional("otherwise") {
                otherwise = try f.enumeration(o, Status.self)
                guard otherwise == .fail || otherwise == .warn else { throw Fields.error(o, file: file, "`otherwise` is fail or warn") }
            }
            let unit = try f.string(try f.required("unit"))
            let expect: SettingExpectation
            switch (f.optional("equals"), f.optional("includes"), f.optional("excludes"), f.optional("absent")) {
            case (let e?, nil, nil, nil): expect = .equals(try f.string(e))
            case (nil, let i?, nil, nil): expect = .includes(try strings(i, f, what: "includes"))
            case (nil, nil, let x?, nil): expect = .excludes(try strings(x, f, what: "excludes"))
            case (nil, nil, nil, let a?):
                guard try f.bool(a) else { throw Fields.error(a, file: file, "`absent` is `true` (or leave it out)") }
                expect = .absent
            default: throw Fields.error(body, file: file, "give one of `equals`, `includes`, `excludes` or `absent: true`")
            }
            let defaultValue = try f.optional("default").map { n throws(RuleFileError) in try f.string(n) }
            if kind == .componentFlag {
                let flagNode = try f.required("flag")
                let flag = try f.string(flagNode)
                guard !flag.hasPrefix("-"), !flag.isEmpty else { throw Fields.error(flagNode, file: file, "name the flag without dashes (`insecure-port`)") }
                return .componentFlag(ComponentFlagCheck(unit: unit, flag: flag, expect: expect, defaultValue: defaultValue, otherwise: otherwise))
            }
            let fileFlag = try f.optional("file_flag").map { n throws(RuleFileError) in try f.string(n) }
            let defaultFile = try f.optional("file").map { n throws(RuleFileError) in try absolute(n, f) }
            guard fileFlag != nil || defaultFile != nil else { throw Fields.error(body, file: file, "give `file_flag` (the flag naming the file), `file` (the file read without it), or both") }
            let keyNode = try f.required("key")
            let key = try f.string(keyNode)
            guard ComponentConfigCheck.keyPath(key) != nil else {
                throw Fields.error(keyNode, file: file, "a key path is dotted names, a name with dots in double quotes (`plugins.\"io.containerd.grpc.v1.cri\".cni.bin_dir`)")
            }
            return .componentConfig(
                ComponentConfigCheck(unit: unit, fileFlag: fileFlag, defaultFile: defaultFile, key: key, expect: expect, defaultValue: defaultValue, otherwise: otherwise))
        case .nginxStreamProxy:
            let f = try fields(["unit", "file_flag", "listen", "servers", "server_port"])
            let portNode = try f.required("server_port")
            guard let port = portNode.int, port >= 1, port <= 65535 else { throw Fields.error(portNode, file: file, "expected a TCP port, 1 to 65535") }
            return .nginxStreamProxy(
                NginxProxyCheck(
                    unit: try f.string(try f.required("unit")), fileFlag: try f.string(try f.required("file_flag")),
                    listen: try f.string(try f.required("listen")), servers: try f.string(try f.required("servers")), serverPort: port))
        case .certificateSubject:
            let f = try fields(["unit", "path", "cn", "o"])
            return .certificateSubject(
                CertificateSubjectCheck(
                    unit: try f.string(try f.required("unit")), path: try absolute(try f.required("path"), f),
                    commonName: try f.string(try f.required("cn")), organization: try f.string(try f.required("o"))))
        case .encryptionConfig:
            let f = try fields(["unit", "file_flag", "key_variable"])
            return .encryptionConfig(
                EncryptionConfigCheck(
                    unit: try f.string(try f.required("unit")), fileFlag: try f.string(try f.required("file_flag")),
                    keyVariable: try f.string(try f.required("key_variable"))))
        case .componentSockets:
            let f = try fields(["unit", "program", "sockets"])
            let list = try f.required("sockets")
            let sockets = try strings(list, f, what: "sockets")
            for socket in sockets {
                guard let colon = socket.lastIndex(of: ":"), let port = Int(socket[socket.index(after: colon)...]), port >= 1, port <= 65535,
                    !socket[..<colon].isEmpty
                else { throw Fields.error(list, file: file, "`sockets` must be ADDRESS:PORT items, found `\(socket)`") }
            }
            guard !sockets.isEmpty else { throw Fields.error(list, file: file, "`sockets` must not be empty") }
            return .componentSockets(
                ComponentSocketsCheck(unit: try f.string(try f.required("unit")), program: try f.string(try f.required("program")), sockets: sockets))
        case .portsFree:
            let f = try fields(["ports"])
            let list = try f.required("ports")
            guard let items = list.sequence, !items.isEmpty else { throw Fields.error(list, file: file, "`ports` must be a non-empty list of {port, owner}") }
            var ports: [PortCheck] = []
            for item in items {
                let p = try Fields(item, file: file, what: "a port ({port, address, owner})")
                try p.finish(allowed: ["port", "address", "owner", "closed"])
                let portNode = try p.required("port")
                guard let port = portNode.int, port >= 1, port <= 65535 else { throw Fields.error(portNode, file: file, "expected a TCP port, 1 to 65535") }
                let address = try p.optional("address").map { n throws(RuleFileError) in try p.string(n) }
                // `closed: true`: nothing may listen there (a port the guide turns off).
                let closed = try p.optional("closed").map { n throws(RuleFileError) in try p.bool(n) } ?? false
                var owners: [String] = []
                if !closed {
                    let ownerNode = try p.required("owner")
                    owners = ownerNode.sequence != nil ? try strings(ownerNode, p, what: "owner") : [try p.string(ownerNode)]
                } else if let o = p.optional("owner") {
                    throw Fields.error(o, file: file, "a closed port has no owner")
                }
                ports.append(PortCheck(port: UInt16(port), address: address, owners: owners))
            }
            return .portsFree(ports)
        }
    }

    static func strings(_ node: YAMLNode, _ f: Fields, what: String) throws(RuleFileError) -> [String] {
        guard let items = node.sequence, !items.isEmpty else { throw Fields.error(node, file: f.file, "`\(what)` must be a non-empty list") }
        var out: [String] = []
        for item in items { out.append(try f.string(item)) }
        return out
    }

    static func absolute(_ node: YAMLNode, _ f: Fields) throws(RuleFileError) -> String {
        let path = try f.string(node)
        guard path.hasPrefix("/") else { throw Fields.error(node, file: f.file, "paths on the node must be absolute") }
        return path
    }

    static func days(_ node: YAMLNode?, _ f: Fields, default value: Int) throws(RuleFileError) -> Int {
        guard let node else { return value }
        guard let n = node.int, n >= 0 else { throw Fields.error(node, file: f.file, "expected a number of days") }
        return n
    }

    /// `name` or `{rhel: a, debian: b}` (a missing family: not used there).
    static func distroName(_ node: YAMLNode, _ f: Fields) throws(RuleFileError) -> DistroName {
        if case .scalar = node { return DistroName(try f.string(node)) }
        let m = try Fields(node, file: f.file, what: "a name, or names per distribution {rhel, debian}")
        try m.finish(allowed: DistroFamily.allCases.map(\.rawValue))
        let rhel = try m.optional("rhel").map { n throws(RuleFileError) in try m.string(n) }
        let debian = try m.optional("debian").map { n throws(RuleFileError) in try m.string(n) }
        if rhel == nil && debian == nil { throw Fields.error(node, file: f.file, "name at least one of rhel, debian") }
        return DistroName(rhel: rhel, debian: debian)
    }
}
