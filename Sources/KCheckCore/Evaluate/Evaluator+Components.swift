/// The running cluster's components as the node holds them: their units' command lines and their
/// own configuration files (RUNNING-STATE items 31-51). A component that is not installed does not
/// apply, so a fresh node is clean.
extension Evaluator {
    /// This node's entry in the inventory: the NODE_IPS address it holds, else its hostname's
    /// place in NODE_NAMES.
    func inventoryIndex(_ inventory: Inventory) -> Int? {
        if case .available(let addresses) = facts.node.interfaceAddresses(),
            let index = inventory.nodeIPs.firstIndex(where: { ip in addresses.contains { $0.address == ip } })
        {
            return index
        }
        return inventory.nodeNames.firstIndex(of: facts.hostname)
    }

    /// A value of a rule with `$NODE_IP`, `$NODE_NAME` and the inventory's `$NAME`s replaced; the
    /// reason when it cannot be (no inventory, an unset variable, a node not in it).
    func resolve(_ text: String) -> Result<String, SettingProblem> {
        guard text.contains("$") else { return .success(text) }
        guard let inventory else { return .failure(.noInventory) }
        // $NODE_IP and $NODE_NAME as whole names ($NODE_IPS is the inventory's array).
        var text = text
        var out = ""
        var rest = text[...]
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let name = rest[rest.index(after: dollar)...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            if name == "NODE_IP" || name == "NODE_NAME" {
                guard let index = inventoryIndex(inventory), index < inventory.nodeIPs.count, index < inventory.nodeNames.count else {
                    return .failure(.notInInventory)
                }
                out += name == "NODE_IP" ? inventory.nodeIPs[index] : inventory.nodeNames[index]
            } else {
                out += "$" + name
            }
            rest = rest[name.endIndex...]
        }
        text = out + rest
        guard text.contains("$") else { return .success(text) }
        let expanded = Self.expand(text, inventory)
        guard !expanded.isEmpty else { return .failure(.unset(text)) }
        return .success(expanded.map(\.value).joined(separator: ","))
    }

    enum SettingProblem: Error {
        case noInventory, notInInventory
        case unset(String)

        var message: String {
            switch self {
            case .noInventory: Evaluator.noInventory
            case .notInInventory: "this node is not in the inventory (none of its addresses is in NODE_IPS, its hostname not in NODE_NAMES)"
            case .unset(let text): "the inventory does not set the variable of \(text)"
            }
        }
    }

    /// The expectation with its values resolved.
    func resolved(_ expect: SettingExpectation) -> Result<SettingExpectation, SettingProblem> {
        switch expect {
        case .equals(let value): return resolve(value).map { .equals($0) }
        case .absent: return .success(.absent)
        case .includes(let items), .excludes(let items):
            var out: [String] = []
            for item in items {
                switch resolve(item) {
                case .success(let value): out.append(value)
                case .failure(let problem): return .failure(problem)
                }
            }
            if case .excludes = expect { return .success(.excludes(out)) }
            return .success(.includes(out))
        }
    }

    static func holds(_ value: String, _ expect: SettingExpectation) -> Bool {
        switch expect {
        case .equals(let wanted): return value == wanted
        case .includes(let items):
            let have = value.split(separator: ",").map { $0.trimmed }
            return items.allSatisfy { item in have.contains { $0 == item } }
        case .excludes(let items):
            let have = value.split(separator: ",").map { $0.trimmed }
            return !items.contains { item in have.contains { $0 == item } }
        case .absent: return false
        }
    }

    /// The component's flags from its unit, and where its ExecStart is; nil when the unit is
    /// not installed (the rule does not apply).
    func componentFlags(_ unit: String, expected: String) throws(OutcomeError) -> (flags: ComponentFlags, location: SourceLocation)? {
        switch facts.execStart(unit) {
        case .success(nil): return nil
        case .success(let found?): return (ComponentFlags(argv: found.argv), found.location)
        case .failure(let error): throw OutcomeError(outcome: unavailable(expected, error.description))
        }
    }

    /// The YAML file an installed component's flag names, parsed: its path, the ExecStart it is
    /// named in, its document. The outcome instead where the unit is not installed (not
    /// applicable), the flag is absent (`withoutFlag` says what that means), the file is missing
    /// (the component fails to start) or cannot be read or parsed.
    func componentFile(_ unit: String, fileFlag: String?, defaultFile: String? = nil, expected: String, withoutFlag: String)
        throws(OutcomeError) -> ComponentFile
    {
        guard let (flags, location) = try componentFlags(unit, expected: expected) else { return .outcome(notInstalled(unit, expected)) }
        let path: String
        if let fileFlag, let named = flags.value(fileFlag), named.hasPrefix("/") {
            path = named
        } else if let defaultFile {
            // The file the component reads by default: missing, every key has its default.
            path = defaultFile
            guard let text = try readText(path, expected: expected, limit: 1 << 20) else {
                return .found(path: path, location: location, document: nil)
            }
            return parsed(path, text, location: location, expected: expected)
        } else {
            let flag = fileFlag ?? "config"
            return .outcome(
                Outcome(
                    status: .fail, expected: expected, actual: "no --\(flag)",
                    message: "\(unit) is given no --\(flag) file (\(location)): \(withoutFlag).", evidence: [location]))
        }
        guard let text = try readText(path, expected: expected, limit: 1 << 20) else {
            return .outcome(
                Outcome(
                    status: .fail, expected: expected, actual: "no \(path)",
                    message: "\(unit) reads \(path) (--\(fileFlag ?? "config"), \(location)), which is missing: it fails to start.", evidence: [location]))
        }
        return parsed(path, text, location: location, expected: expected)
    }

    /// A component's configuration file, parsed as its name says: TOML (containerd) or YAML.
    private func parsed(_ path: String, _ text: String, location: SourceLocation, expected: String) -> ComponentFile {
        do throws(SourceError) {
            let document = path.hasSuffix(".toml") ? try TOML.parse(text, file: path) : try YAML.parse(text, file: path)
            return .found(path: path, location: location, document: document)
        } catch {
            return .outcome(unavailable(expected, error.description))
        }
    }

    enum ComponentFile {
        case found(path: String, location: SourceLocation, document: YAMLNode?)
        /// The rule's outcome without the file.
        case outcome(Outcome)
    }

    func notInstalled(_ unit: String, _ expected: String) -> Outcome {
        Outcome(status: .skip, expected: expected, actual: "not installed", message: "\(unit) is not installed")
    }

    /// The outcome of comparing a setting's value (nil: absent, its default used) with what the
    /// rule wants.
    func setting(
        _ name: String, value: String?, defaultValue: String?, expect: SettingExpectation, otherwise: Status, expected: String,
        evidence: [SourceLocation]
    ) -> Outcome {
        let wanted: SettingExpectation
        switch resolved(expect) {
        case .success(let w): wanted = w
        case .failure(.noInventory): return Outcome(status: .skip, expected: expected, actual: "no inventory", message: Self.noInventory)
        case .failure(let problem): return Outcome(status: .error, expected: expected, actual: "unknown", message: "could not check: \(problem.message)")
        }
        let shownWant = wanted.description
        if case .absent = wanted {
            guard let value else { return Outcome(status: .pass, expected: "\(name) absent", actual: "not set", message: "", evidence: evidence) }
            return Outcome(status: otherwise, expected: "\(name) absent", actual: value, message: "\(name) is set (to \(value)); it must not be set.", evidence: evidence)
        }
        guard let effective = value ?? defaultValue else {
            return Outcome(
                status: otherwise, expected: "\(name) \(shownWant)", actual: "not set", message: "\(name) is not set; \(wanted.requirement).", evidence: evidence)
        }
        let actual = value == nil ? "not set (the default: \(effective))" : effective
        if Self.holds(effective, wanted) { return Outcome(status: .pass, expected: "\(name) \(shownWant)", actual: actual, message: "", evidence: evidence) }
        let place = evidence.first.map { " (\($0))" } ?? ""
        return Outcome(
            status: otherwise, expected: "\(name) \(shownWant)", actual: actual,
            message: "\(name) is \(value == nil ? "not set, so \(effective)" : effective.isEmpty ? "empty" : effective)\(place); \(wanted.requirement).", evidence: evidence)
    }

    func componentFlag(_ check: ComponentFlagCheck) throws(OutcomeError) -> Outcome {
        let expected = "--\(check.flag) \(check.expect.description)"
        guard let (flags, location) = try componentFlags(check.unit, expected: expected) else { return notInstalled(check.unit, expected) }
        return setting("--\(check.flag)", value: flags.value(check.flag), defaultValue: check.defaultValue, expect: check.expect, otherwise: check.otherwise, expected: expected,
            evidence: [location])
    }

    func componentConfig(_ check: ComponentConfigCheck) throws(OutcomeError) -> Outcome {
        let expected = "\(check.key) \(check.expect.description)"
        let path: String, location: SourceLocation, document: YAMLNode?
        switch try componentFile(
            check.unit, fileFlag: check.fileFlag, defaultFile: check.defaultFile, expected: expected, withoutFlag: "\(check.key) is not set as the guide sets it")
        {
        case .outcome(let outcome): return outcome
        case .found(let p, let l, let d): (path, location, document) = (p, l, d)
        }
        var node = document
        for part in ComponentConfigCheck.keyPath(check.key) ?? [check.key] {
            node = node?.mapping?.first { $0.key.scalar?.string == part }?.value
        }
        let evidence = [node.map { SourceLocation(file: path, line: $0.mark.line) } ?? location]
        if case .absent = check.expect {
            guard let node else { return Outcome(status: .pass, expected: expected, actual: "not set", message: "", evidence: evidence) }
            let what = node.scalar.map { "set to \($0.string)" } ?? (node.mapping != nil ? "a table" : "a list")
            return Outcome(
                status: check.otherwise, expected: expected, actual: what, message: "\(check.key) is \(what) (\(path):\(node.mark.line)); it must not be set.",
                evidence: evidence)
        }
        // A table or list where a value is wanted is a value the component refuses: shown as such.
        let value = node.map { $0.scalar?.string ?? ($0.mapping != nil ? "(a table)" : "(a list)") }
        return setting(
            check.key, value: value, defaultValue: check.defaultValue, expect: check.expect, otherwise: check.otherwise, expected: expected, evidence: evidence)
    }
}

extension Evaluator {
    /// Item 37 and L13: how the apiserver encrypts secrets at rest. The key is compared with the
    /// inventory's, never shown; a computed ENCRYPTION_KEY (`$(head -c 32 /dev/urandom | base64)`,
    /// a new value each time environment.sh is sourced) cannot be compared, and the rule says so.
    func encryptionConfig(_ check: EncryptionConfigCheck) throws(OutcomeError) -> Outcome {
        let expected = "secrets encrypted with aescbc under \(check.keyVariable), identity after"
        let path: String, document: YAMLNode?
        switch try componentFile(check.unit, fileFlag: check.fileFlag, expected: expected, withoutFlag: "secrets are stored in etcd unencrypted. Write the guide's encryption-config.yaml and pass it") {
        case .outcome(let outcome): return outcome
        case .found(let p, _, let d): (path, document) = (p, d)
        }
        func child(_ node: YAMLNode?, _ key: String) -> YAMLNode? { node?.mapping?.first { $0.key.scalar?.string == key }?.value }
        func at(_ node: YAMLNode?) -> [SourceLocation] { [SourceLocation(file: path, line: node?.mark.line ?? 1)] }
        let kind = child(document, "kind")?.scalar?.string ?? "", version = child(document, "apiVersion")?.scalar?.string ?? ""
        let oldForm = kind == "EncryptionConfig" && version == "v1"
        guard oldForm || (kind == "EncryptionConfiguration" && version == "apiserver.config.k8s.io/v1") else {
            return Outcome(
                status: .fail, expected: expected, actual: "kind \(kind.isEmpty ? "missing" : kind), apiVersion \(version.isEmpty ? "missing" : version)",
                message: "\(path) is not an encryption configuration the apiserver reads (kind EncryptionConfiguration, apiVersion apiserver.config.k8s.io/v1): it fails to start.",
                evidence: at(document))
        }
        let entry = child(document, "resources")?.sequence?.first { r in
            child(r, "resources")?.sequence?.contains { $0.scalar?.string == "secrets" } ?? false
        }
        guard let entry else {
            return Outcome(
                status: .fail, expected: expected, actual: "secrets not listed",
                message: "\(path) lists no resources entry for secrets: they are stored in etcd unencrypted.", evidence: at(document))
        }
        let providers = child(entry, "providers")?.sequence ?? []
        let names = providers.compactMap { $0.mapping?.first?.key.scalar?.string }
        guard let first = providers.first, let firstName = names.first else {
            return Outcome(status: .fail, expected: expected, actual: "no providers", message: "\(path) gives secrets no providers: the apiserver fails to start.", evidence: at(entry))
        }
        let actual = "providers " + names.joined(separator: ", ")
        guard firstName == "aescbc" else {
            let why = firstName == "identity"
                ? "identity comes first, so secrets are written unencrypted (the providers after it only read old data)"
                : "\(firstName) comes first, not the guide's aescbc"
            return Outcome(status: .fail, expected: expected, actual: actual, message: "\(path): \(why). Put aescbc first, identity last.", evidence: at(first))
        }
        var warnings: [String] = []
        if !names.contains("identity") {
            warnings.append("no identity provider after aescbc: secrets written before encryption was turned on can no longer be read")
        }
        let keys = child(child(first, "aescbc"), "keys")?.sequence ?? []
        let secrets = keys.compactMap { child($0, "secret")?.scalar?.string }
        guard let writing = secrets.first else {
            return Outcome(status: .fail, expected: expected, actual: actual + ", no key", message: "\(path): aescbc has no key: the apiserver fails to start.", evidence: at(first))
        }
        if let inventory {
            if let assignment = inventory[check.keyVariable], assignment.computed {
                warnings.append("\(check.keyVariable) in environment.sh is computed each time the file is sourced, so the key cannot be compared with it; make sure every apiserver has the same file")
            } else if let key = inventory[check.keyVariable]?.value.scalar, !key.isEmpty {
                if writing != key {
                    let elsewhere = secrets.dropFirst().contains(key)
                    return Outcome(
                        status: .fail, expected: expected, actual: actual + ", first key not \(check.keyVariable)",
                        message: "\(path): the first aescbc key (the one secrets are written with) is not environment.sh's \(check.keyVariable)"
                            + (elsewhere ? " (that key is there, but not first: rotate it first, restart, rewrite the secrets)" : "") + ". Neither value is shown here.",
                        evidence: at(first))
                }
            } else {
                warnings.append("environment.sh sets no \(check.keyVariable) to compare the key with")
            }
        }
        if oldForm {
            warnings.insert("kind EncryptionConfig, apiVersion v1 is the old form the guide writes (L13): the apiserver of 1.16 still reads it, later ones want kind EncryptionConfiguration, apiVersion apiserver.config.k8s.io/v1", at: 0)
        }
        if !warnings.isEmpty {
            return Outcome(status: .warn, expected: expected, actual: actual, message: "\(path): " + warnings.joined(separator: "; ") + ".", evidence: at(document))
        }
        return Outcome(status: .pass, expected: expected, actual: actual, message: "", evidence: at(first))
    }
}

extension Evaluator {
    /// Item 51 (the guide's table, item 29): each installed binary of a release holds its version
    /// string. Read from the binary's bytes on every node, a tree or the live one: kcheck never
    /// executes a binary to ask its version (a tree's binaries are another machine's; on the live
    /// node, running one is running what may be anything).
    func binaryVersion(_ check: BinaryVersionCheck) -> Outcome {
        let expected = "\(check.version) (holds `\(check.needle)`)"
        var present: [String] = [], wrong: [String] = [], unknown: [String] = [], goVersions: Set<String> = []
        for path in check.paths {
            switch facts.node.binaryVersion(path, needles: [check.needle]) {
            case .missing: continue
            case .unavailable(let why): unknown.append("\(path): \(why)")
            case .scanned(let f):
                present.append(path)
                if let go = f.goVersion { goVersions.insert(go) }
                if f.format == "notELF" {
                    unknown.append("\(path) is not an ELF executable (a script in its place?): its version cannot be read")
                } else if f.needles[check.needle] != true {
                    wrong.append(path + (f.goVersion.map { " (built with \($0))" } ?? ""))
                }
            }
        }
        if present.isEmpty && unknown.isEmpty {
            return Outcome(status: .skip, expected: expected, actual: "not installed", message: "none of \(check.paths.joined(separator: ", ")) is installed")
        }
        let built = goVersions.isEmpty ? "" : " (built with \(goVersions.sorted().joined(separator: ", ")))"
        if !wrong.isEmpty {
            return Outcome(
                status: .fail, expected: expected, actual: "\(wrong.count) of \(present.count) another version",
                message: "\(boundedList(wrong)) \(wrong.count == 1 ? "does" : "do") not hold `\(check.needle)`: another version than the guide's \(check.version). Mixed versions are what the guide's table (item 29) exists to prevent; install the guide's release."
                    + (unknown.isEmpty ? "" : " Not read: " + boundedList(unknown) + "."))
        }
        if !unknown.isEmpty {
            return Outcome(status: .error, expected: expected, actual: "unknown", message: "could not check: " + boundedList(unknown))
        }
        return Outcome(status: .pass, expected: expected, actual: "\(check.version) in \(present.count) binar\(present.count == 1 ? "y" : "ies")\(built)", message: "")
    }
}
