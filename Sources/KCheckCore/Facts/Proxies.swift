/// HTTP proxies set for root or for services, and whether their NO_PROXY lets the cluster's own
/// addresses bypass them. Go programs (kubelet, containerd, kube-*, etcdctl) read HTTP_PROXY,
/// HTTPS_PROXY and NO_PROXY (upper case first, then lower case); NO_PROXY holds addresses, CIDRs
/// and domain suffixes.
struct ProxyScope: Equatable {
    /// Where the settings apply: "/etc/environment", "systemd's DefaultEnvironment", "kubelet.service", …
    let name: String
    var proxy: (name: String, value: String, location: SourceLocation)?
    var noProxy: (value: String, location: SourceLocation)?

    static func == (a: ProxyScope, b: ProxyScope) -> Bool {
        a.name == b.name && a.proxy?.value == b.proxy?.value && a.noProxy?.value == b.noProxy?.value
    }

    static let proxyNames = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"]
    static let noProxyNames = ["NO_PROXY", "no_proxy"]

    /// Takes one assignment (`NAME=value`), if it is a proxy setting; an empty value unsets.
    mutating func take(_ name: String, _ value: String, _ location: SourceLocation) {
        if Self.proxyNames.contains(name) {
            // HTTPS_PROXY is what the apiserver's clients use; the first name found in Go's order wins.
            if value.isEmpty {
                if proxy?.name == name { proxy = nil }
            } else if proxy == nil || Self.proxyNames.firstIndex(of: name)! <= Self.proxyNames.firstIndex(of: proxy!.name)! {
                proxy = (name, value, location)
            }
        } else if Self.noProxyNames.contains(name) {
            if name == "NO_PROXY" || noProxy == nil { noProxy = value.isEmpty ? nil : (value, location) }
        }
    }

    /// What NO_PROXY lacks of `wanted` (addresses and CIDRs).
    func uncovered(_ wanted: [String]) -> [String] {
        let entries = (noProxy?.value ?? "").split(separator: ",").map { String($0.trimmed) }.filter { !$0.isEmpty }
        if entries.contains("*") { return [] }
        return wanted.filter { item in
            if entries.contains(item) { return false }
            if let address = IPv4(item) { return !entries.contains { CIDR($0)?.contains(address) ?? false } }
            if let range = CIDR(item) { return !entries.contains { CIDR($0).map { $0.contains(range.network) && $0.prefix <= range.prefix } ?? false } }
            return true
        }
    }
}

extension NodeFacts {
    /// The units whose environment matters to the cluster's traffic.
    static let proxyUnits = ["containerd.service", "kubelet.service", "kube-apiserver.service", "kube-controller-manager.service", "kube-scheduler.service", "kube-proxy.service", "etcd.service", "docker.service"]
    /// root's shell start-up files, read line by line for `[export] NAME=value`.
    static let rootShellFiles = ["/etc/profile", "/root/.bash_profile", "/root/.profile", "/root/.bashrc"]

    /// Every scope that sets a proxy: its proxy and its NO_PROXY (a unit inherits systemd's
    /// DefaultEnvironment; root's shell inherits /etc/environment). A unit whose files are there
    /// but cannot be read is the error, never "sets no proxy".
    func proxyScopes() -> Result<[ProxyScope], SourceError> {
        var environment = ProxyScope(name: "/etc/environment")
        if case .content(let bytes) = node.read("/etc/environment", limit: 1 << 20) {
            for (number, line) in numberedLines(bytes) {
                if let (name, value) = Self.assignment(line) { environment.take(name, value, SourceLocation(file: "/etc/environment", line: number)) }
            }
        }
        var shell = environment
        shell = ProxyScope(name: "root's shell", proxy: shell.proxy, noProxy: shell.noProxy)
        var shellFiles = Self.rootShellFiles
        if case .success(let names) = node.list("/etc/profile.d") { shellFiles.insert(contentsOf: names.filter { $0.hasSuffix(".sh") }.map { "/etc/profile.d/" + $0 }, at: 1) }
        for file in shellFiles {
            guard case .content(let bytes) = node.read(file, limit: 1 << 20) else { continue }
            for (number, line) in numberedLines(bytes) {
                if let (name, value) = Self.assignment(line) { shell.take(name, value, SourceLocation(file: file, line: number)) }
            }
        }
        var systemd = ProxyScope(name: "systemd's DefaultEnvironment")
        var systemConfs = ["/etc/systemd/system.conf"]
        if case .success(let names) = node.list("/etc/systemd/system.conf.d") { systemConfs += names.filter { $0.hasSuffix(".conf") }.map { "/etc/systemd/system.conf.d/" + $0 } }
        for file in systemConfs {
            guard case .content(let bytes) = node.read(file, limit: SystemdUnit.readLimit) else { continue }
            for a in SystemdUnit.parse(bytes, path: file).assignments where a.section == "Manager" && a.key == "DefaultEnvironment" {
                for word in (try? ExecCommand.split(a.value)) ?? [] { if let (n, v) = Self.assignment(word) { systemd.take(n, v, a.location) } }
            }
        }
        // root's shell is judged apart only where its files add to /etc/environment.
        let shellAdds = shell.proxy?.location != environment.proxy?.location || shell.noProxy?.location != environment.noProxy?.location
        var scopes = shellAdds ? [environment, shell, systemd] : [environment, systemd]
        for unit in Self.proxyUnits {
            let loaded: (path: String, assignments: [SystemdUnit.Assignment])
            switch loadUnit(unit) {
            case .success(nil): continue
            case .success(let found?): loaded = found
            case .failure(let error): return .failure(error)
            }
            var scope = ProxyScope(name: unit, proxy: systemd.proxy, noProxy: systemd.noProxy)
            for a in loaded.assignments where a.section == "Service" && a.key == "Environment" {
                for word in (try? ExecCommand.split(a.value)) ?? [] { if let (n, v) = Self.assignment(word) { scope.take(n, v, a.location) } }
            }
            scopes.append(scope)
        }
        // A unit that adds nothing to DefaultEnvironment is judged with it, once.
        return .success(scopes.filter { $0.proxy != nil }.reduce(into: []) { kept, scope in
            if !(scope.name.hasSuffix(".service") && scope == ProxyScope(name: scope.name, proxy: systemd.proxy, noProxy: systemd.noProxy)) { kept.append(scope) }
        })
    }

    /// `[export] NAME=value` with the value's quotes removed; nil for any other line.
    static func assignment(_ line: some StringProtocol) -> (String, String)? {
        var text = Substring(line).trimmed[...]
        if text.hasPrefix("export ") { text = text.dropFirst(7).drop { $0 == " " } }
        guard let equals = text.firstIndex(of: "="), text.first.map({ $0.isLetter || $0 == "_" }) == true else { return nil }
        let name = String(text[..<equals])
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
        var value = text[text.index(after: equals)...]
        if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first { value = value.dropFirst().dropLast() }
        return (name, String(value))
    }
}

extension Evaluator {
    func proxyBypass() -> Outcome {
        var wanted = ["127.0.0.1"]
        if let inventory {
            wanted += inventory.nodeIPs
            for name in ["SERVICE_CIDR", "CLUSTER_CIDR"] { if let value = inventory[name]?.value.items.first { wanted.append(value) } }
        }
        let expected = "HTTP(S)_PROXY, where set, with a NO_PROXY covering " + wanted.joined(separator: ", ")
        let scopes: [ProxyScope]
        switch facts.proxyScopes() {
        case .success(let found): scopes = found
        case .failure(let error): return unavailable(expected, error.description)
        }
        if scopes.isEmpty { return Outcome(status: .pass, expected: expected, actual: "no proxy set", message: "") }
        var problems: [String] = []
        var evidence: [SourceLocation] = []
        for scope in scopes {
            let missing = scope.uncovered(wanted)
            guard !missing.isEmpty, let proxy = scope.proxy else { continue }
            evidence.append(proxy.location)
            problems.append("\(scope.name): \(proxy.name) (\(proxy.location)) with " + (scope.noProxy.map { "NO_PROXY lacking \(missing.joined(separator: ", ")) (\($0.location))" } ?? "no NO_PROXY"))
        }
        let note = inventory == nil ? " (without an inventory only 127.0.0.1 is required: pass --env FILE to require the nodes and the cluster's ranges)" : ""
        if problems.isEmpty {
            return Outcome(status: .pass, expected: expected, actual: "proxies bypassed for the cluster in " + scopes.map(\.name).joined(separator: ", "), message: note.isEmpty ? "" : "passed\(note)")
        }
        return Outcome(
            status: .fail, expected: expected, actual: problems.joined(separator: "; "),
            message: "Requests to the apiserver, etcd, kubelets and pods would go through the proxy: \(problems.joined(separator: "; ")). Add the node addresses, SERVICE_CIDR, CLUSTER_CIDR and 127.0.0.1 to NO_PROXY (and no_proxy) beside each proxy setting\(note).",
            evidence: evidence)
    }
}
