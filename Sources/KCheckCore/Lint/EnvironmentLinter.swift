/// Lints environment.sh (DOCUMENTED-STATE item 30): what must hold between its variables.
public enum EnvironmentLinter {
    /// Values printed in the guide: anyone who copied them shares them with every reader.
    static let publishedSecrets: [String: String] = [
        "41f7e4ba8b7be874fcff18bf5cf41a7c": "the BOOTSTRAP_TOKEN printed in the guide"
    ]

    static let required = [
        "NODE_IPS", "NODE_NAMES", "ETCD_ENDPOINTS", "ETCD_NODES", "KUBE_APISERVER", "IFACE", "ETCD_DATA_DIR",
        "ETCD_WAL_DIR", "K8S_DIR", "ENCRYPTION_KEY", "BOOTSTRAP_TOKEN", "SERVICE_CIDR", "CLUSTER_CIDR", "NODE_PORT_RANGE",
        "CLUSTER_KUBERNETES_SVC_IP", "CLUSTER_DNS_SVC_IP", "CLUSTER_DNS_DOMAIN",
    ]

    public static func lint(_ bytes: [UInt8], path: String) -> [Finding] {
        switch Result(catching: { () throws(SourceError) in try Inventory.parse(bytes, path: path) }) {
        case .failure(let error):
            return [Finding(.envSyntax, at: SourceLocation(file: path, line: error.line), column: error.column, error.message)]
        case .success(let inventory):
            return lint(inventory)
        }
    }

    public static func lint(_ inv: Inventory) -> [Finding] {
        var findings: [Finding] = []
        let path = inv.path
        func at(_ name: String) -> SourceLocation { inv.location(name) ?? SourceLocation(file: path, line: 1) }
        func add(_ check: LintCheck, _ name: String, _ message: String, status: Status = .fail) {
            findings.append(Finding(check, status, at: at(name), column: inv[name]?.column, message))
        }
        func scalar(_ name: String) -> String? {
            guard let a = inv[name], !a.computed else { return nil }
            return a.value.scalar
        }

        for name in required where inv[name] == nil {
            findings.append(Finding(.envMissing, at: SourceLocation(file: path, line: 1), "\(name) is not set"))
        }
        if inv["DOCKER_DIR"] == nil && inv["CONTAINERD_DIR"] == nil {
            findings.append(Finding(.envMissing, at: SourceLocation(file: path, line: 1), "neither DOCKER_DIR nor CONTAINERD_DIR is set"))
        } else if inv["DOCKER_DIR"] != nil && inv["CONTAINERD_DIR"] != nil {
            add(.envRuntimeDirs, "DOCKER_DIR", "both DOCKER_DIR and CONTAINERD_DIR are set; the guide says to keep one of the two", status: .warn)
        }
        for a in inv.shell.assignments where a.computed && a.name != "ENCRYPTION_KEY" {
            findings.append(
                Finding(.envComputed, .warn, at: SourceLocation(file: path, line: a.line), column: a.column,
                    "\(a.name) is computed each time the file is sourced, from \(shown(a)); kcheck does not run it"))
        }

        // Nodes.
        let ips = inv.nodeIPs, names = inv.nodeNames
        var addresses: [IPv4] = []
        if inv["NODE_IPS"] != nil, inv["NODE_NAMES"] != nil, ips.count != names.count {
            add(.envNodeLists, "NODE_NAMES", "NODE_IPS has \(ips.count) addresses but NODE_NAMES has \(names.count) names")
        }
        for ip in ips {
            if let a = IPv4(ip) { addresses.append(a) } else { add(.envNodeLists, "NODE_IPS", "`\(ip)` is not an IPv4 address") }
        }
        for (list, name) in [(ips, "NODE_IPS"), (names, "NODE_NAMES")] {
            var seen: Set<String> = []
            for item in list where !seen.insert(item).inserted { add(.envNodeLists, name, "`\(item)` is listed twice in \(name)") }
        }
        if inv["NODE_IPS"].map({ if case .scalar = $0.value { return true } else { return false } }) == true {
            add(.envNodeLists, "NODE_IPS", "NODE_IPS is not an array: write NODE_IPS=(IP1 IP2 IP3)")
        }
        let pairs = zip(names, ips).map { ($0, $1) }

        // etcd.
        if let endpoints = scalar("ETCD_ENDPOINTS"), !ips.isEmpty {
            let expected = ips.map { "https://\($0):2379" }.joined(separator: ",")
            if endpoints != expected {
                add(.envEtcdEndpoints, "ETCD_ENDPOINTS", "ETCD_ENDPOINTS is `\(endpoints)`; for NODE_IPS it must be `\(expected)`")
            }
        }
        if let etcdNodes = scalar("ETCD_NODES"), !pairs.isEmpty {
            let expected = pairs.map { "\($0)=https://\($1):2380" }.joined(separator: ",")
            if etcdNodes != expected {
                var wrong: [String] = []
                for member in etcdNodes.split(separator: ",") {
                    let parts = member.split(separator: "=", maxSplits: 1).map(String.init)
                    guard parts.count == 2 else {
                        wrong.append("`\(member)` is not NAME=https://IP:2380")
                        continue
                    }
                    if let ip = pairs.first(where: { $0.0 == parts[0] })?.1 {
                        if parts[1] != "https://\(ip):2380" {
                            wrong.append("`\(member)`: \(parts[0]) is \(ip) in NODE_IPS, so its peer URL is https://\(ip):2380")
                        }
                    } else {
                        wrong.append("`\(member)`: \(parts[0]) is not in NODE_NAMES")
                    }
                }
                let detail = wrong.isEmpty ? "the members are not in NODE_NAMES order" : wrong.joined(separator: "; ")
                add(.envEtcdNodes, "ETCD_NODES", "\(detail). Expected `\(expected)`")
            }
        }

        // Address ranges.
        var service: CIDR?, cluster: CIDR?
        for name in ["SERVICE_CIDR", "CLUSTER_CIDR"] {
            guard let text = scalar(name) else { continue }
            if let cidr = CIDR(text) {
                if name == "SERVICE_CIDR" { service = cidr } else { cluster = cidr }
            } else {
                add(.envRanges, name, "\(name) `\(text)` is not a network in CIDR notation (A.B.C.D/N, no host bits)")
            }
        }
        if let service, let cluster, service.overlaps(cluster) {
            add(.envRanges, "CLUSTER_CIDR", "SERVICE_CIDR \(service) and CLUSTER_CIDR \(cluster) overlap")
        }
        for (range, name) in [(service, "SERVICE_CIDR"), (cluster, "CLUSTER_CIDR")] {
            guard let range else { continue }
            for address in addresses where range.contains(address) {
                add(.envRanges, name, "node address \(address) lies inside \(name) \(range)")
            }
        }
        if let service {
            if let text = scalar("CLUSTER_KUBERNETES_SVC_IP") {
                if IPv4(text) != service.firstHost {
                    add(.envServiceIPs, "CLUSTER_KUBERNETES_SVC_IP", "CLUSTER_KUBERNETES_SVC_IP is \(text); the first address of SERVICE_CIDR \(service) is \(service.firstHost)")
                }
            }
            if let text = scalar("CLUSTER_DNS_SVC_IP") {
                if let ip = IPv4(text) {
                    if !service.contains(ip) {
                        add(.envServiceIPs, "CLUSTER_DNS_SVC_IP", "CLUSTER_DNS_SVC_IP \(text) is outside SERVICE_CIDR \(service)")
                    } else if ip == service.firstHost {
                        add(.envServiceIPs, "CLUSTER_DNS_SVC_IP", "CLUSTER_DNS_SVC_IP \(text) is the kubernetes service's address")
                    }
                } else {
                    add(.envServiceIPs, "CLUSTER_DNS_SVC_IP", "CLUSTER_DNS_SVC_IP `\(text)` is not an IPv4 address")
                }
            }
        }

        if let range = scalar("NODE_PORT_RANGE") {
            let parts = range.split(separator: "-", omittingEmptySubsequences: false)
            if parts.count != 2 || Int(parts[0]) == nil || Int(parts[1]) == nil
                || !(1...65535).contains(Int(parts[0])!) || !(1...65535).contains(Int(parts[1])!) || Int(parts[0])! >= Int(parts[1])!
            {
                add(.envNodePortRange, "NODE_PORT_RANGE", "NODE_PORT_RANGE `\(range)` is not LOW-HIGH with 1 <= LOW < HIGH <= 65535")
            }
        }
        if let domain = scalar("CLUSTER_DNS_DOMAIN") {
            if domain.hasSuffix(".") {
                add(.envDNSDomain, "CLUSTER_DNS_DOMAIN", "CLUSTER_DNS_DOMAIN `\(domain)` ends with a dot")
            } else if domain.isEmpty || !domain.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isDNSLabel) {
                add(.envDNSDomain, "CLUSTER_DNS_DOMAIN", "CLUSTER_DNS_DOMAIN `\(domain)` is not a DNS name")
            }
        }
        if let url = scalar("KUBE_APISERVER"), !isHTTPSURL(url) {
            add(.envAPIServer, "KUBE_APISERVER", "KUBE_APISERVER `\(url)` is not an https://HOST:PORT URL")
        }
        if let token = inv["BOOTSTRAP_TOKEN"] {
            let value = token.value.scalar
            if !token.computed && !(value.count == 32 && value.allSatisfy { $0.isHexDigit }) {
                add(.envBootstrapToken, "BOOTSTRAP_TOKEN", "BOOTSTRAP_TOKEN is not 32 hex digits")
            }
            if let what = publishedSecrets[value.lowercased()] {
                add(.envPublishedSecret, "BOOTSTRAP_TOKEN", "BOOTSTRAP_TOKEN is \(what): anyone who read it can bootstrap a kubelet into this cluster")
            }
        }
        if let key = inv["ENCRYPTION_KEY"] {
            if key.computed {
                add(.envEncryptionKey, "ENCRYPTION_KEY", "ENCRYPTION_KEY is \(shown(key)): every `source environment.sh` yields a different key, so secrets encrypted with one cannot be read with the next", status: .warn)
            } else if base64Length(key.value.scalar) != 32 {
                add(.envEncryptionKey, "ENCRYPTION_KEY", "ENCRYPTION_KEY is not 32 bytes in base64")
            }
        }
        return findings
    }

    /// A computed value's source as a finding may quote it: a secret's source only when it is
    /// nothing but one command substitution (the guide's `$(head -c 32 /dev/urandom | base64)`),
    /// never when literal text stands around or inside it (`"<key>$(true)"` would print the key).
    static func shown(_ a: ShellAssignment) -> String {
        guard Redaction.secretNames.contains(a.name) else { return "`\(a.source)`" }
        var source = Substring(a.source)
        if source.count >= 2, source.first == "\"", source.last == "\"" { source = source.dropFirst().dropLast() }
        let whole = (source.hasPrefix("$(") && source.hasSuffix(")") && !source.dropFirst(2).contains("$("))
            || (source.hasPrefix("`") && source.hasSuffix("`") && source.filter { $0 == "`" }.count == 2)
        let inner = source.hasPrefix("$(") ? source.dropFirst(2).dropLast() : source.dropFirst().dropLast()
        // A literal of 16 or more key-like characters inside the command could be the key itself.
        var run = 0, longest = 0
        for c in inner {
            run = c.isASCII && (c.isLetter || c.isNumber || c == "+" || c == "/" || c == "=") ? run + 1 : 0
            longest = max(longest, run)
        }
        return whole && longest < 16 ? "`\(source)`" : "computed around literal text (not shown: it may hold the key)"
    }

    static func isDNSLabel(_ label: Substring) -> Bool {
        !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
            && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }

    static func isHTTPSURL(_ url: String) -> Bool {
        guard url.hasPrefix("https://") else { return false }
        var rest = url.dropFirst("https://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/"), let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
            (1...65535).contains(port)
        else { return false }
        let host = rest[..<colon]
        return IPv4(host) != nil || (!host.isEmpty && host.split(separator: ".").allSatisfy(isDNSLabel))
    }

    /// The decoded length of base64 text, or nil when it is not base64.
    static func base64Length(_ text: String) -> Int? {
        let chars = Array(text.utf8)
        guard !chars.isEmpty, chars.count % 4 == 0 else { return nil }
        var padding = 0
        for (i, c) in chars.enumerated() {
            let alnum = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 43 || c == 47
            if c == 61 {
                guard i >= chars.count - 2 else { return nil }
                padding += 1
            } else if !alnum || padding > 0 {
                return nil
            }
        }
        return chars.count / 4 * 3 - padding
    }
}
