/// nginx's configuration as nginx reads it: directives (a name, its arguments, then `;` or a
/// block in braces), `#` comments, quotes and backslash escapes. Bounded and strict: what nginx
/// would refuse is an error with its line. What kube-nginx (RUNNING-STATE 32) is judged from.
struct NginxConfig {
    struct Directive {
        let name: String
        let arguments: [String]
        let block: [Directive]?
        let line: Int
    }

    let directives: [Directive]

    static let maximumDepth = 16
    static let maximumDirectives = 100_000

    static func parse(_ bytes: [UInt8], file: String) throws(SourceError) -> NginxConfig {
        var i = 0
        var line = 1
        var count = 0
        func fail(_ message: String) -> SourceError { SourceError(file: file, line: line, column: 1, message: message) }
        enum Token { case word(String), semicolon, open, close, end }
        func next() throws(SourceError) -> Token {
            while i < bytes.count {
                let c = bytes[i]
                if c == 10 { line += 1; i += 1; continue }
                if c == 32 || c == 9 || c == 13 { i += 1; continue }
                if c == 35 {  // #
                    while i < bytes.count, bytes[i] != 10 { i += 1 }
                    continue
                }
                break
            }
            guard i < bytes.count else { return .end }
            switch bytes[i] {
            case 59: i += 1; return .semicolon
            case 123: i += 1; return .open
            case 125: i += 1; return .close
            default: break
            }
            var word: [UInt8] = []
            if bytes[i] == 34 || bytes[i] == 39 {
                let quote = bytes[i]
                i += 1
                while i < bytes.count, bytes[i] != quote {
                    if bytes[i] == 92, i + 1 < bytes.count { i += 1 }
                    if bytes[i] == 10 { line += 1 }
                    word.append(bytes[i])
                    i += 1
                }
                guard i < bytes.count else { throw fail("a quoted string is not closed") }
                i += 1
                return .word(String(decoding: word, as: UTF8.self))
            }
            while i < bytes.count {
                let c = bytes[i]
                if c == 32 || c == 9 || c == 10 || c == 13 || c == 59 || c == 123 || c == 125 { break }
                if c == 92, i + 1 < bytes.count { i += 1 }
                word.append(bytes[i])
                i += 1
            }
            return .word(String(decoding: word, as: UTF8.self))
        }
        func block(depth: Int, closed: Bool) throws(SourceError) -> [Directive] {
            guard depth <= maximumDepth else { throw fail("blocks nested deeper than \(maximumDepth)") }
            var out: [Directive] = []
            while true {
                let start = line
                var words: [String] = []
                while true {
                    switch try next() {
                    case .word(let w):
                        words.append(w)
                        continue
                    case .semicolon:
                        guard let name = words.first else { throw fail("unexpected \";\"") }
                        out.append(Directive(name: name, arguments: Array(words.dropFirst()), block: nil, line: start))
                    case .open:
                        guard let name = words.first else { throw fail("unexpected \"{\"") }
                        out.append(Directive(name: name, arguments: Array(words.dropFirst()), block: try block(depth: depth + 1, closed: true), line: start))
                    case .close:
                        guard words.isEmpty else { throw fail("unexpected \"}\": the directive before it has no \";\"") }
                        guard closed else { throw fail("unexpected \"}\"") }
                        return out
                    case .end:
                        guard words.isEmpty else { throw fail("unexpected end of file, expecting \";\" or \"}\"") }
                        guard !closed else { throw fail("unexpected end of file, expecting \"}\"") }
                        return out
                    }
                    break
                }
                count += 1
                guard count <= maximumDirectives else { throw fail("more than \(maximumDirectives) directives") }
            }
        }
        return NginxConfig(directives: try block(depth: 0, closed: false))
    }
}

extension NginxConfig.Directive {
    func children(_ name: String) -> [NginxConfig.Directive] { (block ?? []).filter { $0.name == name } }
}

extension Evaluator {
    /// Item 32 and L10: kube-nginx listens on 127.0.0.1:8443 only and proxies to every apiserver;
    /// `hash $remote_addr` (always 127.0.0.1 there) sends all traffic to one of them.
    func nginxStreamProxy(_ check: NginxProxyCheck) throws(OutcomeError) -> Outcome {
        let expected = "stream: listen \(check.listen) only, proxied to every \(check.servers):\(check.serverPort)"
        guard let (flags, location) = try componentFlags(check.unit, expected: expected) else { return notInstalled(check.unit, expected) }
        guard let path = flags.value(check.fileFlag), path.hasPrefix("/") else {
            return Outcome(
                status: .fail, expected: expected, actual: "no -\(check.fileFlag)",
                message: "\(check.unit) names no configuration file (-\(check.fileFlag), \(location)): nginx reads its built-in one, which proxies nothing to the apiservers.",
                evidence: [location])
        }
        guard let inventory else { return Outcome(status: .skip, expected: expected, actual: "no inventory", message: Self.noInventory) }
        let servers = Self.expand(check.servers, inventory).map(\.value)
        guard !servers.isEmpty else { return unavailable(expected, "the inventory does not set \(check.servers)") }
        guard case .content(let bytes) = facts.node.read(path, limit: 1 << 20) else {
            return Outcome(
                status: .fail, expected: expected, actual: "no \(path)", message: "\(check.unit) reads \(path), which is missing or unreadable: kube-nginx fails to start.",
                evidence: [location])
        }
        let config: NginxConfig
        do throws(SourceError) {
            config = try NginxConfig.parse(bytes, file: path)
        } catch {
            return Outcome(status: .fail, expected: expected, actual: "not a configuration nginx reads", message: "\(error.description): kube-nginx fails to start.")
        }
        let stream = config.directives.filter { $0.name == "stream" }
        let proxies = stream.flatMap { $0.children("server") }
        let listens = proxies.flatMap { s in s.children("listen").map { ($0.arguments.first ?? "", s, $0.line) } }
        guard let (_, server, listenLine) = listens.first(where: { $0.0 == check.listen }) else {
            return Outcome(
                status: .fail, expected: expected, actual: "listens on " + (listens.isEmpty ? "nothing" : listens.map(\.0).joined(separator: ", ")),
                message: "\(path): no stream server listens on \(check.listen), where kubelet and kube-proxy reach the apiservers (KUBE_APISERVER).",
                evidence: [SourceLocation(file: path, line: 1)])
        }
        var problems: [String] = []
        let others = listens.map(\.0).filter { $0 != check.listen }
        if !others.isEmpty { problems.append("it also listens on \(others.joined(separator: ", ")): the apiservers are then reachable there without the node's firewall in mind") }
        let upstreamName = server.children("proxy_pass").first?.arguments.first ?? ""
        let upstream = stream.flatMap { $0.children("upstream") }.first { $0.arguments.first == upstreamName }
        guard let upstream else {
            return Outcome(
                status: .fail, expected: expected, actual: "proxy_pass \(upstreamName.isEmpty ? "missing" : upstreamName)",
                message: "\(path):\(server.line): the server on \(check.listen) proxies to no upstream of the stream block.", evidence: [SourceLocation(file: path, line: server.line)])
        }
        let targets = upstream.children("server").compactMap(\.arguments.first)
        let wanted = servers.map { "\($0):\(check.serverPort)" }
        let missing = wanted.filter { !targets.contains($0) }, extra = targets.filter { !wanted.contains($0) }
        if !missing.isEmpty { problems.append("upstream \(upstreamName) lacks \(missing.joined(separator: ", "))") }
        if !extra.isEmpty { problems.append("upstream \(upstreamName) also sends to \(extra.joined(separator: ", ")), not an apiserver of the inventory") }
        let actual = "listen \(listens.map(\.0).joined(separator: ", ")); upstream \(targets.joined(separator: ", "))"
        let evidence = [SourceLocation(file: path, line: listenLine), SourceLocation(file: path, line: upstream.line)]
        if !problems.isEmpty {
            return Outcome(status: .fail, expected: expected, actual: actual, message: "\(path): " + problems.joined(separator: "; ") + ".", evidence: evidence)
        }
        if let hash = upstream.children("hash").first, hash.arguments.first == "$remote_addr" {
            return Outcome(
                status: .warn, expected: expected, actual: actual,
                message: "\(path):\(hash.line): hash $remote_addr (the guide's L10): every client of kube-nginx is 127.0.0.1, so all traffic goes to one apiserver and the others take over only when it fails. Remove the hash line (round robin), or accept it.",
                evidence: evidence + [SourceLocation(file: path, line: hash.line)])
        }
        return Outcome(status: .pass, expected: expected, actual: actual, message: "", evidence: evidence)
    }
}
