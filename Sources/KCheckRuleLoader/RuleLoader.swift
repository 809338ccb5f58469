import KCheckCore
import KCheckNative

/// A problem in a rule file, at file:line:col.
public typealias RuleFileError = SourceError

/// Reads rule files (YAML) into rules. Every error names file:line:col; unknown fields are
/// refused with the nearest known name suggested.
public enum RuleLoader {
    /// Loads every *.yaml and *.yml file of a directory, in name order, as one profile named
    /// after the directory. Rule ids must be unique across the files.
    public static func loadProfile(directory: String, name: String? = nil) throws(RuleFileError) -> Profile {
        let profileName = name ?? String(directory.split(separator: "/").last ?? "rules")
        return try loadProfile(files: try ruleFiles(directory: directory), name: profileName)
    }

    /// The rule files of a directory (*.yaml, *.yml), in name order, with their bytes: what
    /// `loadProfile` reads, and what travels to a node over SSH with `--rules DIR`.
    public static func ruleFiles(directory: String) throws(RuleFileError) -> [(path: String, bytes: [UInt8])] {
        let names: [String]
        switch Posix.listDirectory(directory) {
        case .success(let n): names = n.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
        case .failure(let error): throw RuleFileError(file: directory, line: 0, column: 0, message: "cannot read rule directory: \(error)")
        }
        guard !names.isEmpty else {
            throw RuleFileError(file: directory, line: 0, column: 0, message: "no rule files (*.yaml) in this directory")
        }
        var files: [(path: String, bytes: [UInt8])] = []
        for fileName in names {
            let path = directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
            switch Posix.readFile(path, limit: 8 << 20, followSymlinks: true) {  // operator-given rule files
            case .success(let bytes): files.append((path, bytes))
            case .failure(let error): throw RuleFileError(file: path, line: 0, column: 0, message: "cannot read: \(error)")
            }
        }
        return files
    }

    /// One profile of rule files; rule ids must be unique across them.
    public static func loadProfile(files: [(path: String, bytes: [UInt8])], name: String) throws(RuleFileError) -> Profile {
        var rules: [Rule] = []
        var clusterRules: [ClusterRule] = []
        var seen: [String: String] = [:]
        for (path, bytes) in files {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw RuleFileError(file: path, line: 1, column: 1, message: "not UTF-8 text")
            }
            let parsed = try parseFile(yaml: text, file: path)
            let ids = parsed.rules.map { ($0.rule.id, $0.line, $0.column) } + parsed.clusterRules.map { ($0.rule.id, $0.line, $0.column) }
            for (id, line, column) in ids {
                if let other = seen[id] {
                    throw RuleFileError(file: path, line: line, column: column, message: "duplicate rule id `\(id)` (first defined in \(other))")
                }
                seen[id] = path
            }
            rules += parsed.rules.map(\.rule)
            clusterRules += parsed.clusterRules.map(\.rule)
        }
        return Profile(name: name, rules: rules, clusterRules: clusterRules)
    }

    /// Parses one rule file: a mapping with a `rules` sequence.
    public static func parse(yaml: String, file: String) throws(RuleFileError) -> [(rule: Rule, line: Int, column: Int)] {
        try parseFile(yaml: yaml, file: file).rules
    }

    /// One rule file: its node rules (`rules:`) and its cluster rules (`cluster_rules:`); a file
    /// holds either or both.
    public static func parseFile(yaml: String, file: String) throws(RuleFileError) -> (
        rules: [(rule: Rule, line: Int, column: Int)], clusterRules: [(rule: ClusterRule, line: Int, column: Int)]
    ) {
        guard let root = try YAML.parse(yaml, file: file) else {
            throw RuleFileError(file: file, line: 1, column: 1, message: "empty rule file (expected `rules:` or `cluster_rules:`)")
        }
        let top = try Fields(root, file: file, what: "a rule file")
        try top.finish(allowed: ["phase", "rules", "cluster_rules"])
        // The file's phase is its rules' own unless a rule names another.
        let phase = try top.optional("phase").map { n throws(RuleFileError) in try top.enumeration(n, Phase.self) } ?? .prepare
        guard top.optional("rules") != nil || top.optional("cluster_rules") != nil else {
            throw Fields.error(root, file: file, "missing required field `rules` (or `cluster_rules`)")
        }
        var rules: [(rule: Rule, line: Int, column: Int)] = []
        if let list = top.optional("rules") {
            guard let sequence = list.sequence else { throw Fields.error(list, file: file, "`rules` must be a list of rules") }
            rules = try sequence.map { node throws(RuleFileError) in (try rule(node, file: file, phase: phase), node.mark.line, node.mark.column) }
        }
        var clusterRules: [(rule: ClusterRule, line: Int, column: Int)] = []
        if let list = top.optional("cluster_rules") {
            guard let sequence = list.sequence else { throw Fields.error(list, file: file, "`cluster_rules` must be a list of rules") }
            clusterRules = try sequence.map { node throws(RuleFileError) in (try clusterRule(node, file: file, phase: phase), node.mark.line, node.mark.column) }
        }
        return (rules, clusterRules)
    }

    /// The fields every rule has, node or cluster rule.
    static func common(_ f: Fields, file: String, phase filePhase: Phase) throws(RuleFileError) -> (
        id: String, title: String, severity: Severity, phase: Phase, guide: [Int], rationale: String, remediation: String
    ) {
        let idNode = try f.required("id")
        let id = try f.string(idNode)
        guard !id.isEmpty, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") }) else {
            throw Fields.error(idNode, file: file, "rule id `\(id)` may hold only letters, digits, `.`, `-` and `_`")
        }
        let title = try f.string(try f.required("title"))
        let severity = try f.enumeration(try f.required("severity"), Severity.self)
        let phase = try f.optional("phase").map { n throws(RuleFileError) in try f.enumeration(n, Phase.self) } ?? filePhase
        var guide: [Int] = []
        if let g = f.optional("guide") {
            guard let items = g.sequence else { throw Fields.error(g, file: file, "`guide` must be a list of the guide's item numbers") }
            for item in items {
                guard let n = item.int, n > 0 else { throw Fields.error(item, file: file, "expected an item number") }
                guide.append(n)
            }
        }
        let rationale = try f.string(try f.required("rationale"))
        let remediation = try f.string(try f.required("remediation"))
        return (id, title, severity, phase, guide, rationale, remediation)
    }

    static func clusterRule(_ node: YAMLNode, file: String, phase: Phase) throws(RuleFileError) -> ClusterRule {
        let f = try Fields(node, file: file, what: "a cluster rule")
        try f.finish(allowed: ruleFields)
        let c = try common(f, file: file, phase: phase)
        let check = try CheckDecoder.decodeCluster(try f.required("check"), file: file)
        var tests: [ClusterRuleTest] = []
        if let t = f.optional("tests") {
            guard let items = t.sequence else { throw Fields.error(t, file: file, "`tests` must be a list of {cluster, status}") }
            for item in items {
                let tf = try Fields(item, file: file, what: "a cluster rule test")
                try tf.finish(allowed: ["cluster", "status", "message"])
                let cluster = try tf.string(try tf.required("cluster"))
                let status = try tf.enumeration(try tf.required("status"), Status.self)
                let message = try tf.optional("message").map { n throws(RuleFileError) in try tf.string(n) }
                tests.append(ClusterRuleTest(cluster: cluster, status: status, message: message))
            }
        }
        return ClusterRule(
            id: c.id, title: c.title, severity: c.severity, phase: c.phase, guide: c.guide, rationale: c.rationale, remediation: c.remediation,
            check: check, tests: tests)
    }

    static let ruleFields = ["id", "title", "severity", "phase", "guide", "rationale", "remediation", "check", "tests"]

    static func rule(_ node: YAMLNode, file: String, phase: Phase) throws(RuleFileError) -> Rule {
        let f = try Fields(node, file: file, what: "a rule")
        // A misspelt field is the likelier cause of a "missing" one: report it first.
        try f.finish(allowed: ruleFields)
        let c = try common(f, file: file, phase: phase)
        let check = try CheckDecoder.decode(try f.required("check"), file: file)
        var tests: [RuleTest] = []
        if let t = f.optional("tests") {
            guard let items = t.sequence else { throw Fields.error(t, file: file, "`tests` must be a list of {node, status}") }
            for item in items {
                let tf = try Fields(item, file: file, what: "a rule test")
                try tf.finish(allowed: ["node", "status", "message"])
                let nodeName = try tf.string(try tf.required("node"))
                let status = try tf.enumeration(try tf.required("status"), Status.self)
                let message = try tf.optional("message").map { n throws(RuleFileError) in try tf.string(n) }
                tests.append(RuleTest(node: nodeName, status: status, message: message))
            }
        }
        return Rule(
            id: c.id, title: c.title, severity: c.severity, phase: c.phase, guide: c.guide, rationale: c.rationale, remediation: c.remediation,
            check: check, tests: tests)
    }
}

/// A YAML mapping whose keys are consumed one by one; keys left over are errors.
struct Fields {
    let node: YAMLNode
    let file: String
    let pairs: [(key: String, keyNode: YAMLNode, value: YAMLNode)]

    init(_ node: YAMLNode, file: String, what: String) throws(RuleFileError) {
        guard let mapping = node.mapping else { throw Fields.error(node, file: file, "expected \(what) (a mapping)") }
        self.node = node
        self.file = file
        var pairs: [(String, YAMLNode, YAMLNode)] = []
        for (key, value) in mapping {
            guard let name = key.scalar?.string else { throw Fields.error(key, file: file, "keys must be plain names") }
            pairs.append((name, key, value))
        }
        self.pairs = pairs
    }

    static func error(_ node: YAMLNode, file: String, _ message: String) -> RuleFileError {
        RuleFileError(file: file, line: node.mark.line, column: node.mark.column, message: message)
    }

    func optional(_ key: String) -> YAMLNode? {
        guard let value = pairs.first(where: { $0.key == key })?.value, !value.isNull else { return nil }
        return value
    }

    func required(_ key: String) throws(RuleFileError) -> YAMLNode {
        guard let value = optional(key) else { throw Fields.error(node, file: file, "missing required field `\(key)`") }
        return value
    }

    func string(_ node: YAMLNode) throws(RuleFileError) -> String {
        guard let s = node.scalar else { throw Fields.error(node, file: file, "expected a string") }
        return s.string
    }

    func bool(_ node: YAMLNode) throws(RuleFileError) -> Bool {
        guard let value = node.bool else { throw Fields.error(node, file: file, "expected true or false") }
        return value
    }

    func enumeration<E: RawRepresentable & CaseIterable>(_ node: YAMLNode, _: E.Type) throws(RuleFileError) -> E where E.RawValue == String {
        let text = try string(node)
        if let value = E(rawValue: text) { return value }
        let names = E.allCases.map(\.rawValue)
        throw Fields.error(node, file: file, "unknown value `\(text)`\(suggestion(text, names)) (one of: \(names.joined(separator: ", ")))")
    }

    /// Refuses keys not in `allowed`, suggesting the nearest.
    func finish(allowed: [String]) throws(RuleFileError) {
        for pair in pairs where !allowed.contains(pair.key) {
            throw Fields.error(pair.keyNode, file: file, "unknown field `\(pair.key)`\(suggestion(pair.key, allowed)) (known: \(allowed.joined(separator: ", ")))")
        }
    }
}
