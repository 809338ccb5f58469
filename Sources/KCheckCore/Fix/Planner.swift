import KCheckNative

/// Builds the plan that brings a node to the documented state from a run's results: one
/// exhaustive switch over the check kinds, so a new kind does not compile until it says whether
/// and how it is fixed.
public struct Planner {
    let evaluator: Evaluator
    var facts: NodeFacts { evaluator.facts }

    /// The name kcheck gives its sysctl.d file when no other file sorts after it.
    public static let sysctlFileName = "zz-kcheck-kubernetes.conf"
    /// The modules-load.d file kcheck writes for modules it loads at boot.
    public static let modulesFile = "/etc/modules-load.d/kcheck-kubernetes.conf"
    /// The markers of the /etc/hosts block kcheck owns.
    public static let hostsBegin = "# BEGIN kcheck: cluster nodes from the inventory (kcheck fix owns this block)"
    public static let hostsEnd = "# END kcheck"

    public init(evaluator: Evaluator) { self.evaluator = evaluator }

    /// The plan for the failing (and warning) results of `report`, whose rules are in `profile`.
    public func plan(_ report: Report, profile: Profile) -> Plan {
        var state = State()
        for entry in report.entries {
            guard let rule = profile.rule(id: entry.subject.id) else { continue }
            switch entry.result.status {
            case .fail, .warn: break
            // A key its module should have made, missing while the module is there (a tree left
            // by a stopped run; on a live kernel the module makes all its keys at once).
            case .error:
                guard case .sysctl(let check) = rule.check, check.module != nil,
                    case .missing = facts.node.read(SysctlConfig.procPath(check.key), limit: 64)
                else { continue }
            case .pass, .skip, .waived: continue
            }
            add(rule, entry.result, to: &state)
        }
        return state.finish(self)
    }

    /// What the plan gathers before it is put in order.
    struct State {
        var sysctl: [(rule: String, check: SysctlCheck, observed: SysctlObservation?)] = []
        var modulesNow: [(rule: String, name: String)] = []
        var modulesAtBoot: [(rule: String, name: String)] = []
        var actions: [PlannedAction] = []
        var manual: [(rule: String, instructions: String)] = []
        var caAction: Int?
        /// Why the CA is not made, once a rule found out: the other CA rule is not made either.
        var caRefusal: String?

        mutating func moduleNow(_ name: String, _ rule: String) { modulesNow.append((rule, name)) }
        mutating func moduleAtBoot(_ name: String, _ rule: String) { modulesAtBoot.append((rule, name)) }

        /// Actions in the order they must run: modules before the keys they create, files before
        /// the runtime values that must match them, then everything else in rule order.
        func finish(_ planner: Planner) -> Plan {
            var ordered: [PlannedAction] = []
            var loaded: [String: [String]] = [:]
            var order: [String] = []
            for (rule, name) in modulesNow {
                if loaded[name] == nil { order.append(name) }
                loaded[name, default: []].append(rule)
            }
            for name in order { ordered.append(PlannedAction(.loadModule(name), rules: loaded[name]!)) }
            if !modulesAtBoot.isEmpty, let action = planner.modulesLoadFile(modulesAtBoot) { ordered.append(action) }
            ordered.append(contentsOf: planner.sysctlActions(sysctl))
            ordered.append(contentsOf: actions)
            return Plan(actions: ordered, manual: manual)
        }
    }

    func add(_ rule: Rule, _ result: RuleResult, to state: inout State) {
        func manual(_ why: String?) { state.manual.append((rule.id, (why.map { $0 + " " } ?? "") + rule.remediation)) }
        switch rule.check {
        case .sysctl(let check):
            var observed: SysctlObservation?
            if case .sysctl(let o)? = result.observation { observed = o }
            state.sysctl.append((rule.id, check, observed))
            if let module = check.module, !facts.isLoaded(module), !facts.isBuiltIn(module) { state.moduleNow(module, rule.id) }
            // The key exists at boot only if its module is loaded before systemd-sysctl runs.
            if let module = check.module, !facts.loadedAtBoot(module) {
                state.moduleAtBoot(module, rule.id)
            }
        case .swapOff:
            state.actions.append(PlannedAction(.swapOff, rules: [rule.id]))
        case .fstabNoSwap:
            if let action = fstabAction(rule.id) { state.actions.append(action) }
        case .swapSources:
            // What the rule observed: never read again here.
            guard case .swapSources(let sources)? = result.observation else { return manual(nil) }
            for source in sources {
                switch source {
                case .unit(let name, _, _):
                    state.actions.append(PlannedAction(.symlink(path: "/etc/systemd/system/\(name)", target: "/dev/null"), rules: [rule.id], note: "masked: systemd never starts it"))
                case .zramGenerator:
                    let content = Array("# Written by kcheck fix: no zram swap device (kubelet refuses to run with swap on).\n".utf8)
                    state.actions.append(PlannedAction(.writeFile(path: SwapSource.zramConfigs[0], content: content, mode: 0o644), rules: [rule.id], note: "overrides zram-generator's other configuration files"))
                case .service(let name):
                    state.actions.append(PlannedAction(.service(unit: name, enable: false, start: false), rules: [rule.id]))
                }
            }
        case .firewallForwardAccept:
            forwardAcceptActions(rule, result, into: &state)
        case .selinuxNotEnforcing:
            state.actions.append(PlannedAction(.selinuxPermissive, rules: [rule.id]))
        case .selinuxConfig(let mode):
            if let action = selinuxConfigAction(mode, rule: rule.id) { state.actions.append(action) }
        case .service(let check):
            var observed: ServiceObservation?
            if case .service(let o)? = result.observation { observed = o }
            let actions = serviceActions(check, rule: rule.id, planned: state.actions, observed: observed)
            if actions.isEmpty { manual(nil) } else { state.actions.append(contentsOf: actions) }
        case .timezone(let zone):
            guard case .success = facts.node.status("/usr/share/zoneinfo/\(zone)") else {
                return manual("/usr/share/zoneinfo/\(zone) is missing: install tzdata.")
            }
            state.actions.append(PlannedAction(.symlink(path: "/etc/localtime", target: "../usr/share/zoneinfo/\(zone)"), rules: [rule.id]))
        case .rtcUTC:
            if let action = adjtimeAction(rule.id) { state.actions.append(action) }
        case .kernelModule(let check):
            guard case .modules(let modules)? = result.observation else { return manual(nil) }
            for name in modules.missing {
                switch check.when {
                case .now: state.moduleNow(name, rule.id)
                case .boot: state.moduleAtBoot(name, rule.id)
                }
            }
        case .path(let check):
            switch (check.type, check.append) {
            case (.directory, _):
                // Something else at the path is a person's to move: kcheck never deletes it.
                if case .success(let st) = facts.node.status(check.path), st.kind != .directory {
                    return manual("\(check.path) exists and is not a directory: move it away, then")
                }
                state.actions.append(PlannedAction(.makeDirectory(path: check.path, mode: 0o755), rules: [rule.id]))
            case (.file, let line?):
                if let action = appendAction(check.path, line: line, rule: rule.id) { state.actions.append(action) } else { manual(nil) }
            case (.file, nil):
                manual(nil)
            }
        case .hostsMatchInventory:
            hostsActions(rule, into: &state)
        case .packages(let names):
            let actions = packageActions(names, rule: rule.id)
            if actions.isEmpty { manual(nil) } else { state.actions.append(contentsOf: actions) }
        case .caCertificate(let check), .caKey(let check):
            // One CA for both rules: the second joins the first's action.
            if let at = state.caAction {
                let planned = state.actions[at]
                state.actions[at] = PlannedAction(planned.action, rules: planned.rules + [rule.id], note: planned.note, needsReboot: planned.needsReboot)
                break
            }
            if let refusal = state.caRefusal {
                manual(refusal)
                break
            }
            switch caAction(check, rules: [rule.id]) {
            case .success(let action):
                state.caAction = state.actions.count
                state.actions.append(action)
            case .failure(let why):
                state.caRefusal = why.message
                manual(why.message)
            }
        case .clockSynchronized, .kernelMinimum, .hostnameInInventory, .inventoryLintClean, .fileLintClean,
            .certificates, .certificateSANs, .portsFree, .cpusMinimum, .memoryMinimum, .cgroupVersion, .cgroupController, .componentFlag,
            .componentConfig, .hostnameValid, .hostnameResolves, .proxyBypass, .ipvsService,
                .firewallFlushed, .bootKernelMinimum,
                .componentSockets, .encryptionConfig, .certificateSubject, .inventoryDirectories, .nginxStreamProxy, .loginPath, .componentTLS, .binaryVersion, .separateFilesystems:
            manual(nil)
        }
    }

    // MARK: - Files

    /// The current bytes of a file on the node: nil when it is missing or unreadable.
    func bytes(_ path: String, limit: Int = defaultReadLimit) -> [UInt8]? {
        if case .content(let b) = facts.node.read(path, limit: limit) { return b }
        return nil
    }

    func lines(_ bytes: [UInt8]) -> [String] { splitLines(bytes) }

    func joined(_ lines: [String]) -> [UInt8] { Array((lines.joined(separator: "\n") + "\n").utf8) }

    func fstabAction(_ rule: String) -> PlannedAction? {
        guard let old = bytes("/etc/fstab") else { return nil }
        let swap = Set(Fstab.activeSwap(old).map(\.line))
        guard !swap.isEmpty else { return nil }
        let new = lines(old).enumerated().map { swap.contains($0.offset + 1) ? "#" + $0.element : $0.element }
        return PlannedAction(
            .writeFile(path: "/etc/fstab", content: joined(new), mode: 0o644), rules: [rule],
            note: "comments out \(swap.count) swap line\(swap.count == 1 ? "" : "s"), tab-separated ones too (the guide's sed misses them)")
    }

    func selinuxConfigAction(_ mode: String, rule: String) -> PlannedAction? {
        let path = "/etc/selinux/config"
        guard let old = bytes(path) else { return nil }
        var new = lines(old)
        if let last = new.lastIndex(where: { $0.trimmed.hasPrefix("SELINUX=") }) {
            new[last] = "SELINUX=\(mode)"
        } else {
            new.append("SELINUX=\(mode)")
        }
        return PlannedAction(.writeFile(path: path, content: joined(new), mode: 0o644), rules: [rule], needsReboot: true)
    }

    func adjtimeAction(_ rule: String) -> PlannedAction? {
        guard let old = bytes("/etc/adjtime") else { return nil }
        var new = lines(old)
        while new.count < 3 { new.append(new.count == 1 ? "0" : "0.0 0 0.0") }
        new[2] = "UTC"
        return PlannedAction(
            .rtcUTC(adjtime: joined(new)), rules: [rule],
            note: "only saying UTC in /etc/adjtime would make the next boot read local time as UTC: the RTC is rewritten too")
    }

    func appendAction(_ path: String, line: String, rule: String) -> PlannedAction? {
        guard case .content(let old) = facts.node.read(path, limit: defaultReadLimit) else {
            if case .missing = facts.node.read(path, limit: defaultReadLimit) {
                return PlannedAction(.writeFile(path: path, content: Array((line + "\n").utf8), mode: 0o644), rules: [rule])
            }
            return nil
        }
        var new = old
        if let last = new.last, last != 0x0A { new.append(0x0A) }
        new.append(contentsOf: Array((line + "\n").utf8))
        return PlannedAction(.writeFile(path: path, content: new, mode: 0o644), rules: [rule], appendedLine: line)
    }

    // MARK: - Modules and kernel parameters

    func modulesLoadFile(_ wanted: [(rule: String, name: String)]) -> PlannedAction? {
        let old = bytes(Self.modulesFile)
        var new = old.map(lines) ?? ["# Written by kcheck fix: kernel modules the guide's settings and components need at boot."]
        var added = false
        for (_, name) in wanted where !new.contains(where: { $0.trimmed == name }) {
            new.append(name)
            added = true
        }
        guard added else { return nil }
        return PlannedAction(
            .writeFile(path: Self.modulesFile, content: joined(new), mode: 0o644), rules: unique(wanted.map(\.rule)),
            note: "systemd-modules-load loads them at boot, before systemd-sysctl applies the keys they create and before kube-proxy starts")
    }

    /// The sysctl.d file's name: one that sorts after every other file that sets these keys, so
    /// its values win at boot (systemd-sysctl applies files in lexical order of their names; the
    /// last assignment wins). The guide's unnumbered kubernetes.conf sorts after every 99-*.conf.
    func sysctlFileName(for keys: Set<String>) -> String {
        let config = facts.sysctlConfig
        let others = config.assignments
            .filter { keys.contains($0.key) && $0.location.file != SysctlConfig.legacyFile }
            .map { String($0.location.file.split(separator: "/").last ?? "") }
            .filter { !$0.hasSuffix(Self.sysctlFileName) }
        var name = Self.sysctlFileName
        while others.contains(where: { !$0.utf8.lexicographicallyPrecedes(name.utf8) }) { name = "z" + name }
        return name
    }

    func sysctlActions(_ wanted: [(rule: String, check: SysctlCheck, observed: SysctlObservation?)]) -> [PlannedAction] {
        guard !wanted.isEmpty else { return [] }
        let config = facts.sysctlConfig
        var actions: [PlannedAction] = []
        // Persisted: every key whose deciding assignment is wrong goes into kcheck's file.
        let persist = wanted.filter { item in !(config.effective(item.check.key).map { item.check.accepts($0.value) } ?? false) }
        if !persist.isEmpty {
            let keys = Set(persist.map(\.check.key))
            let name = sysctlFileName(for: keys)
            let path = "/etc/sysctl.d/" + name
            var new = bytes(path).map(lines) ?? [
                "# Written by kcheck fix: the kernel parameters the guide documents (DOCUMENTED-STATE 14).",
                "# One setting per line. This file's name sorts after every other sysctl.d file that sets",
                "# these keys, so its values are the ones applied at boot.",
            ]
            for (_, check, _) in persist {
                let line = "\(check.key) = \(check.value)"
                if let at = new.firstIndex(where: { SysctlConfig.normalize(Substring($0.split(separator: "=").first?.trimmed ?? "")) == check.key && !$0.trimmed.hasPrefix("#") }) {
                    new[at] = line
                } else {
                    new.append(line)
                }
            }
            let deciding = persist.compactMap { config.effective($0.check.key)?.location.file }.filter { $0 != SysctlConfig.legacyFile }
            var note = "\(path) sorts after every other file that sets these keys"
            if !deciding.isEmpty { note += " (\(unique(deciding).joined(separator: ", ")))" }
            note += ", so it decides them at boot"
            actions.append(PlannedAction(.writeFile(path: path, content: joined(new), mode: 0o644), rules: persist.map(\.rule), note: note))
        }
        // /etc/sysctl.conf: `sysctl --system` applies it after every sysctl.d file (and so does
        // the boot, without systemd): a wrong value there wins the next time either runs.
        if let legacy = bytes(SysctlConfig.legacyFile) {
            var legacyLines = lines(legacy)
            var commented: [String] = []
            for assignment in config.legacyAssignments {
                guard let item = wanted.first(where: { $0.check.key == assignment.key }), !item.check.accepts(assignment.value) else { continue }
                legacyLines[assignment.location.line - 1] = "# kcheck: " + legacyLines[assignment.location.line - 1]
                commented.append(item.rule)
            }
            if !commented.isEmpty {
                actions.append(
                    PlannedAction(
                        .writeFile(path: SysctlConfig.legacyFile, content: joined(legacyLines), mode: 0o644), rules: unique(commented),
                        note: "`sysctl --system` applies /etc/sysctl.conf after every sysctl.d file: its wrong values are commented out"))
            }
        }
        // Running: every key whose running value is wrong (or absent until its module loads), as
        // the rule observed it (read again only for a result without its observation).
        for (rule, check, observed) in wanted {
            let running: String?
            if let observed {
                running = observed.running
            } else if case .content(let bytes) = facts.node.read(SysctlConfig.procPath(check.key), limit: 64 << 10) {
                running = String(decoding: bytes, as: UTF8.self)
            } else {
                running = nil
            }
            if let running, check.accepts(running) { continue }
            if running == nil && check.module == nil { continue }  // removed from this kernel: nothing to set
            actions.append(PlannedAction(.sysctl(key: check.key, value: check.value), rules: [rule]))
        }
        return actions
    }

    // MARK: - The root CA

    struct NotPlanned: Error { let message: String }

    /// The root CA, made only where neither its certificate nor its key exists, and only on the
    /// inventory's first node (NODE_IPS[0] is an address of this node): it is made once, and every
    /// other node gets a copy of it. The subject and expiry come from ca-csr.json when present.
    func caAction(_ check: CACheck, rules: [String]) -> Result<PlannedAction, NotPlanned> {
        // A key without its certificate that a kcheck run made (cut short between the two): the
        // run is completed, with that key.
        var completes: String?
        if case .success = facts.node.status(check.key), case .failure(let error) = facts.node.status(check.certificate), error.isNotFound {
            completes = Journal.runThatMadeKey(check.key, certificate: check.certificate, node: facts.node)
        }
        for path in [check.certificate, check.key] where completes == nil {
            if case .success = facts.node.status(path) {
                return .failure(NotPlanned(message: "\(path) exists: kcheck never replaces a CA's certificate or key."))
            }
        }
        guard let inventory = evaluator.inventory, let first = inventory.nodeIPs.first else {
            return .failure(NotPlanned(message: "Without an inventory (--env) kcheck cannot tell whether this is the first node, where the CA is made once."))
        }
        guard case .available(let addresses) = facts.node.interfaceAddresses(), addresses.contains(where: { $0.address == first }) else {
            return .failure(NotPlanned(message: "This is not the first node (\(first)): copy ca.pem and ca-key.pem from there."))
        }
        var subject = [("C", "CN"), ("ST", "BeiJing"), ("L", "BeiJing"), ("O", "k8s"), ("OU", "opsnull"), ("CN", "kubernetes-ca")]
            .map { NameAttribute(key: $0.0, value: $0.1) }
        var hours = 876_000
        if let csrPath = check.csr, let bytes = bytes(csrPath), let root = try? JSONDocument.parse(String(decoding: bytes, as: UTF8.self)) {
            var fromCSR: [NameAttribute] = []
            if let names = root["names"]?.array?.first {
                for key in ["C", "ST", "L", "O", "OU"] {
                    if let value = names[key]?.string { fromCSR.append(NameAttribute(key: key, value: value)) }
                }
            }
            if let cn = root["CN"]?.string { fromCSR.append(NameAttribute(key: "CN", value: cn)) }
            if !fromCSR.isEmpty { subject = fromCSR }
            if let node = root["ca"]?["expiry"] {
                // Numbers from a file are bounded before any arithmetic on them: 1000 years at most,
                // and an expiry kcheck cannot read is never replaced by another one.
                guard let expiry = node.string, let seconds = Self.goDurationSeconds(expiry), seconds >= 3600 else {
                    return .failure(NotPlanned(message: "\(csrPath)'s ca.expiry is \(node.string.map { "\"\($0)\"" } ?? "not a string"): kcheck makes a CA only for a duration as cfssl reads it, from 1h (the guide's \"876000h\"). Correct it, or make the CA with cfssl."))
                }
                guard seconds <= Int64(Self.longestCAHours) * 3600 else {
                    return .failure(NotPlanned(message: "\(csrPath)'s ca.expiry is \(expiry), more than 1000 years: kcheck does not make that CA. Write the guide's 876000h (100 years)."))
                }
                hours = Int(seconds / 3600)
            }
            if let key = root["key"] {
                let algo = key["algo"]?.string, size = key["size"]?.int
                guard algo == nil || algo == "rsa", key["size"] == nil || size == 2048 else {
                    return .failure(NotPlanned(message: "\(csrPath) asks for a \(algo ?? "rsa") key of size \(key["size"].map { $0.int.map(String.init) ?? "that is not a number" } ?? "2048"): kcheck makes the guide's RSA 2048 CA only. Make this one with cfssl (cfssl gencert -initca ca-csr.json | cfssljson -bare ca)."))
                }
            }
        }
        return .success(
            PlannedAction(
                .makeCA(certificate: check.certificate, key: check.key, subject: subject, validHours: hours), rules: rules,
                note: completes.map { "completes the CA that run \($0) began: its key is there, its certificate was never written; the certificate is made for that key" }
                    ?? "this is the inventory's first node (\(first)) and neither file exists; copy both to every other node"))
    }

    /// The longest CA validity kcheck makes: 1000 years.
    static let longestCAHours = 8_760_000

    /// A Go duration as cfssl reads `expiry` ("876000h", "8760h0m0s", "90m"), in whole seconds;
    /// nil when it is not one (or is negative). A duration past 2^62 seconds is `Int64.max`: far
    /// more than any CA kcheck makes, never wrapped.
    static func goDurationSeconds(_ text: String) -> Int64? {
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        var total: Int64 = 0
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty else { return nil }
            var saturated = false
            let number = Int64(digits) ?? { saturated = true; return Int64.max }()
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { !($0.isASCII && $0.isNumber) }
            rest = rest.dropFirst(unit.count)
            let scale: (multiply: Int64, divide: Int64)
            switch unit {
            case "h": scale = (3600, 1)
            case "m": scale = (60, 1)
            case "s": scale = (1, 1)
            case "ms": scale = (1, 1000)
            case "us", "µs": scale = (1, 1_000_000)
            case "ns": scale = (1, 1_000_000_000)
            default: return nil
            }
            let (seconds, overflow) = (number / scale.divide).multipliedReportingOverflow(by: scale.multiply)
            if saturated || overflow || seconds >= 1 << 62 - total {
                total = Int64.max
                // The rest must still be a duration.
                continue
            }
            total += seconds
        }
        return total
    }

    // MARK: - Packages

    /// The missing packages, installed with the node's package manager: epel-release first on
    /// CentOS/RHEL, since the guide's jq and others come from EPEL.
    func packageActions(_ names: [DistroName], rule: String) -> [PlannedAction] {
        guard case .available(let family) = facts.family, case .available(let installed) = facts.installedPackages else { return [] }
        let missing = names.compactMap { $0.name(for: family) }.filter { !installed.contains($0) }
        guard !missing.isEmpty else { return [] }
        guard let manager = facts.packageManager else { return [] }
        switch family {
        case .debian:
            return [PlannedAction(.installPackages(manager, missing), rules: [rule])]
        case .rhel:
            let epel = missing.filter { $0 == "epel-release" }
            let rest = missing.filter { $0 != "epel-release" }
            return (epel.isEmpty ? [] : [PlannedAction(.installPackages(manager, epel), rules: [rule], note: "EPEL provides jq and others the guide installs")])
                + (rest.isEmpty ? [] : [PlannedAction(.installPackages(manager, rest), rules: [rule])])
        }
    }

    // MARK: - Services

    /// A service that should run but whose unit is missing: its package installed (unless an
    /// earlier action installs it), then started. Never a command that cannot work.
    func serviceActions(_ check: ServiceCheck, rule: String, planned: [PlannedAction], observed: ServiceObservation? = nil) -> [PlannedAction] {
        if let action = serviceAction(check, rule: rule, observed: observed) { return [action] }
        guard let package = check.package, check.running == true || check.enabled == true,
            case .available(let family) = facts.family, let name = (check.unit.common ?? check.unit.name(for: family)).map(Evaluator.unitName),
            facts.unitFiles.state(of: name) == .notFound
        else { return [] }
        let installs = packageActions([package], rule: rule)
        guard !installs.isEmpty else { return [] }
        func packages(_ action: PlannedAction) -> [String] {
            if case .installPackages(_, let names) = action.action { return names }
            return []
        }
        let installing = Set(planned.flatMap(packages))
        let already = installs.flatMap(packages).allSatisfy(installing.contains)
        return (already ? [] : installs)
            + [PlannedAction(.service(unit: name, enable: check.enabled, start: check.running), rules: [rule], note: "\(name) comes with the package; started once it is installed")]
    }

    func serviceAction(_ check: ServiceCheck, rule: String, observed: ServiceObservation? = nil) -> PlannedAction? {
        // From what the rule observed, when it did: the unit, its file's state, whether it runs.
        if let observed {
            guard observed.unitFile != .notFound else { return nil }  // the package that provides it is missing
            var enable: Bool?
            if let wanted = check.enabled, (observed.unitFile == .enabled) != wanted, observed.unitFile != .static { enable = wanted }
            var start: Bool?
            if let wanted = check.running, let running = observed.running, running != wanted { start = wanted }
            guard enable != nil || start != nil else { return nil }
            return PlannedAction(.service(unit: observed.unit, enable: enable, start: start), rules: [rule])
        }
        let name: String?
        if let common = check.unit.common {
            name = common
        } else if case .available(let family) = facts.family {
            name = check.unit.name(for: family)
        } else {
            name = nil
        }
        guard let name else { return nil }
        let unit = Evaluator.unitName(name)
        let fileState = facts.unitFiles.state(of: unit)
        guard fileState != .notFound else { return nil }  // the package that provides it is missing
        var enable: Bool?
        if let wanted = check.enabled, (fileState == .enabled) != wanted, fileState != .static { enable = wanted }
        var start: Bool?
        if let wanted = check.running, case .available(let state) = facts.activeState(of: unit) {
            let running = state == "active" || state == "activating" || state == "reloading"
            if running != wanted { start = wanted }
        }
        guard enable != nil || start != nil else { return nil }
        return PlannedAction(.service(unit: unit, enable: enable, start: start), rules: [rule])
    }

    // MARK: - /etc/hosts

    func hostsActions(_ rule: Rule, into state: inout State) {
        guard let inventory = evaluator.inventory else { return }
        let old = bytes("/etc/hosts", limit: HostsFile.readLimit) ?? []
        var kept: [String] = []
        var inBlock = false
        for line in lines(old) {
            if line == Self.hostsBegin { inBlock = true; continue }
            if inBlock { if line == Self.hostsEnd { inBlock = false }; continue }
            kept.append(line)
        }
        // The block holds only the nodes that no line outside it already maps right: never a
        // second copy of a correct line.
        let outsideHosts = HostsFile.parse(joined(kept))
        let needed = zip(inventory.nodeIPs, inventory.nodeNames).filter { ip, name in
            outsideHosts.addresses(of: name).first { !$0.isIPv6 }?.address != ip
        }
        let block = needed.isEmpty ? [] : [Self.hostsBegin] + needed.map { "\($0) \($1)" } + [Self.hostsEnd]
        let new = kept + block
        let content = joined(new)
        // Lines outside the block that contradict the inventory are a person's to change.
        let outside = outsideHosts.findings(inventory: nil).filter { $0.status == .fail }
            + outsideHosts.inventoryFindings(inventory).filter { !$0.missing }.map(\.finding)
        if content != old {
            state.actions.append(
                PlannedAction(
                    .writeFile(path: "/etc/hosts", content: content, mode: 0o644), rules: [rule.id],
                    note: "replaces kcheck's own block (between its markers) and touches no other line; never appends twice"))
        }
        if !outside.isEmpty {
            state.manual.append(
                (rule.id, "Lines outside kcheck's block contradict the inventory; kcheck does not change them: "
                    + outside.map { "\($0.location): \($0.message)" }.joined(separator: "; ")))
        }
    }
}

func unique(_ items: [String]) -> [String] {
    var seen: Set<String> = []
    return items.filter { seen.insert($0).inserted }
}

extension Planner {
    /// Item 6: each chain at the forward hook that drops, set to accept now; a saved rule set that
    /// would set DROP again at boot, its `:FORWARD` line changed first. What sets DROP whenever it
    /// starts (Docker) is a person's to change: the plan says so.
    func forwardAcceptActions(_ rule: Rule, _ result: RuleResult, into state: inout State) {
        guard case .firewall(let chains)? = result.observation else { return state.manual.append((rule.id, rule.remediation)) }
        for path in SavedRuleSets.files {
            guard case .content(let bytes) = facts.node.read(path, limit: defaultReadLimit), let line = SavedRuleSets.forwardDropLine(bytes) else { continue }
            var lines = numberedLines(bytes).map(\.text)
            let fields = lines[line - 1].trimmed.fields
            lines[line - 1] = ":FORWARD ACCEPT" + (fields.count > 2 ? " " + fields[2...].joined(separator: " ") : "")
            let content = Array((lines.joined(separator: "\n") + "\n").utf8)
            state.actions.append(
                PlannedAction(.writeFile(path: path, content: content, mode: 0o600), rules: [rule.id], note: "the saved rule set restored at boot (line \(line))"))
        }
        for chain in chains where chain.policy != "accept" {
            state.actions.append(PlannedAction(.chainPolicy(chain, policy: "accept"), rules: [rule.id]))
        }
        if facts.unitFiles.state(of: "docker.service") != .notFound {
            state.manual.append((
                rule.id,
                "Docker sets FORWARD to DROP each time it starts: set \"ip-forward-no-drop\": true in /etc/docker/daemon.json (Docker 28 and later), or stop using Docker on this node (the guide runs containerd)."
            ))
        }
    }
}

