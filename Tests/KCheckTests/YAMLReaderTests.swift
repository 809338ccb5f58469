import Foundation
import KCheckCore
import KCheckRuleLoader
import Testing
import Yams

/// kcheck reads rule files with its own YAML reader (no Foundation in the binary). These tests hold
/// it to Yams (libyaml), the reference: same structure, same strings, same line:column marks.
@Suite("YAML reader agrees with Yams")
struct YAMLReaderTests {
    /// A node with its mark, comparable across both readers.
    indirect enum Tree: Equatable, CustomStringConvertible {
        case scalar(String, Int, Int)
        case sequence([Tree], Int, Int)
        case mapping([Tree], Int, Int)  // key, value, key, value, ...

        var description: String {
            switch self {
            case .scalar(let s, let l, let c): "\(l):\(c)\(s.debugDescription)"
            case .sequence(let items, let l, let c): "\(l):\(c)[\(items.map(\.description).joined(separator: ", "))]"
            case .mapping(let items, let l, let c): "\(l):\(c){\(items.map(\.description).joined(separator: ", "))}"
            }
        }
    }

    static func ours(_ node: YAMLNode) -> Tree {
        switch node {
        case .scalar(let s): .scalar(s.string, s.mark.line, s.mark.column)
        case .sequence(let items, let m): .sequence(items.map(ours), m.line, m.column)
        case .mapping(let pairs, let m): .mapping(pairs.flatMap { [ours($0.key), ours($0.value)] }, m.line, m.column)
        }
    }

    static func reference(_ node: Yams.Node) -> Tree? {
        switch node {
        case .scalar(let s): return .scalar(s.string, s.mark?.line ?? 0, s.mark?.column ?? 0)
        case .sequence(let s):
            let items = s.map(reference)
            guard !items.contains(where: { $0 == nil }) else { return nil }
            return .sequence(items.map { $0! }, s.mark?.line ?? 0, s.mark?.column ?? 0)
        case .mapping(let m):
            var items: [Tree] = []
            for (k, v) in m {
                guard let k = reference(k), let v = reference(v) else { return nil }
                items += [k, v]
            }
            return .mapping(items, m.mark?.line ?? 0, m.mark?.column ?? 0)
        case .alias: return nil
        }
    }

    enum Reading: Equatable {
        case tree(Tree?)
        case error(String)
    }

    static func readOurs(_ text: String) -> Reading {
        do { return .tree(try YAML.parse(text, file: "t.yaml").map(ours)) } catch { return .error(error.description) }
    }

    static func readReference(_ text: String) -> Reading {
        do {
            guard let node = try Yams.compose(yaml: text) else { return .tree(nil) }
            guard let tree = reference(node) else { return .error("alias") }
            return .tree(tree)
        } catch {
            return .error("\(error)")
        }
    }

    @Test("every rule file reads the same", arguments: try FileManager.default.contentsOfDirectory(atPath: Repo.rules).filter { $0.hasSuffix(".yaml") }.sorted())
    func ruleFiles(name: String) throws {
        let text = try String(contentsOfFile: Repo.rules + "/" + name, encoding: .utf8)
        let expected = Self.readReference(text)
        guard case .tree(let tree) = expected, tree != nil else {
            Issue.record("Yams does not read \(name): \(expected)")
            return
        }
        #expect(Self.readOurs(text) == expected)
    }

    /// Documents that exercise every construct the reader supports.
    static let corpus: [String] = [
        "a: 1\nb: two\n",
        "# comment\na: 1 # trailing\n\n# another\nb:   spaced value   \n",
        "- a\n- b\n-   c\n",
        "key:\n- a\n- b\nother: x\n",
        "key:\n  - a\n  - b\n",
        "- id: x\n  title: y\n- id: z\n  list:\n    - 1\n    - 2\n",
        "- - a\n  - b\n- - c\n",
        "a:\nb:\n  c:\n",
        "a: ~\nb: null\nc: ''\nd: \"\"\n",
        "flow: [a, b, 'c d', \"e\\tf\"]\nmap: {x: 1, y: [2, 3], z: {w: v}}\n",
        "tests:\n  - {node: centos7, status: pass}\n  - {node: debian12, status: fail, message: \"No sysctl file sets it\"}\n",
        "multi: [a,\n  b,\n  c]\n",
        "m: {a: 1,\n    b: 2}\n",
        "trailing: [a, b, ]\n",
        "empty: []\nempty2: {}\n",
        "plain: this is\n  folded over\n  three lines\nnext: x\n",
        "plain: para one\n\n  para two\n",
        "s: 'it''s quoted'\n",
        "s: 'folded\n  single\n\n  quoted'\n",
        "d: \"esc \\\" \\\\ \\n \\t \\x41 \\u00e9 \\U0001F600 \\/ \\0 \\e\"\n",
        "d: \"folded\n  double \\\n  joined\"\n",
        "lit: |\n  line one\n  line two\nnext: x\n",
        "lit: |-\n  stripped\n\n\nnext: x\n",
        "lit: |+\n  kept\n\n\nnext: x\n",
        "lit: |\n  a\n\n   indented\n  b\n",
        "lit: |2\n    starts indented\n  normal\n",
        "fold: >\n  folded\n  lines\n\n  new para\n    more indented\n  back\n",
        "fold: >-\n  a\n  b\n",
        "fold: >+\n  a\n\n",
        "- |\n  in a list\n- >\n  folded\n  item\n",
        "seq:\n  - |\n    block in\n    nested list\n  - plain\n",
        "url: http://example.com:8080/path\nratio: 3:4\n",
        "hash: a#b\ncomment: a #b\n",
        "colon: 'a: b'\nq: \"x: y\"\n",
        "unicode: 中文 ключ\nk: \"é\"\n",
        "ключ: значение\n'quoted key': v\n\"dq key\": w\n",
        "---\na: 1\n",
        "---\na: 1\n...\n",
        "--- [a, b]\n",
        "just a scalar\n",
        "- a\n  - b\n",
        "crlf: yes\r\nlist:\r\n  - a\r\n",
        "- a\n-\n- c\n",
        "x: -1\ny: -a\nz: ?b\n",
        "a:    \n  b: 1\n",
        "key: value\n\n\n",
        "nested:\n    deep:\n        deeper: x\n    back: y\n",
        "x: 'multi\n\n\n  blank'\n",
        "tabs: a\tb\nt2:\tvalue\n",
        "m: {k:v, y: a:b}\nl: [a:b, c]\n",
    ]

    @Test("the corpus reads the same", arguments: corpus.indices)
    func corpusDocument(index: Int) {
        let text = Self.corpus[index]
        let expected = Self.readReference(text)
        guard case .tree = expected else {
            Issue.record("Yams refuses corpus document \(index): \(expected)")
            return
        }
        #expect(Self.readOurs(text) == expected, "\(text.debugDescription)")
    }

    /// Malformed documents: both refuse; ours names where.
    static let malformed: [(text: String, line: Int, column: Int, says: String)] = [
        ("a: [1, 2\n", 1, 4, "unterminated ["),
        ("a: {x: 1\n", 1, 4, "unterminated {"),
        ("a: 'open\n", 1, 4, "unterminated single-quoted"),
        ("a: \"open\n", 1, 4, "unterminated double-quoted"),
        ("a: 1\n b: 2\n", 2, 2, "a mapping value is not allowed here"),
        ("a:\n  b: 1\n c: 2\n", 3, 2, "bad indentation"),
        ("a: b: c\n", 1, 4, "mapping value is not allowed"),
        ("a: 1\na: 2\n", 2, 1, "duplicate key `a`"),
        ("a: [1, 2] x\n", 1, 11, "unexpected text"),
        ("a: \"\\q\"\n", 1, 5, "unknown escape"),
        ("a:\n\t- b\n", 2, 1, "tab in indentation"),
        ("a: - b\n", 1, 4, "list cannot start"),
        ("a: {b: 1, b: 2}\n", 1, 11, "duplicate key `b`"),
        ("a: [b, c\n  d: e]\n", 2, 4, "inside [ ]"),
        ("a: [b c d\n", 1, 4, "unterminated ["),
        ("a:\n  - b\n\t\n", 3, 1, "tab in indentation"),
        ("a: {b: 1,# c: 2}\n", 1, 10, "`#` cannot start"),
        ("a: {b:, c: 2}\n", 1, 6, "unexpected `:`"),
        ("- a\nb: c\n", 2, 1, "bad indentation"),
    ]

    @Test("malformed documents are refused with line and column", arguments: malformed.indices)
    func malformedDocument(index: Int) {
        let (text, line, column, says) = Self.malformed[index]
        if case .tree(let t) = Self.readReference(text) { Issue.record("Yams reads \(text.debugDescription) as \(String(describing: t))") }
        guard case .error(let message) = Self.readOurs(text) else {
            Issue.record("read \(text.debugDescription)")
            return
        }
        #expect(message.hasPrefix("t.yaml:\(line):\(column): error: invalid YAML: "), "\(message)")
        #expect(message.contains(says), "\(message)")
    }

    /// What rule files never need is refused by name, even where YAML allows it.
    static let unsupported: [(text: String, says: String)] = [
        ("a: &x 1\nb: *x\n", "anchors"),
        ("a: *x\n", "aliases"),
        ("a: !!str 1\n", "tags"),
        ("%YAML 1.2\n---\na: 1\n", "directives"),
        ("? complex\n: value\n", "complex keys"),
        ("a: 1\n---\nb: 2\n", "one YAML document"),
        ("[a]: b\n", "cannot be a key"),
        ("a: @x\n", "reserved"),
    ]

    @Test("unsupported constructs are refused by name", arguments: unsupported.indices)
    func unsupportedConstruct(index: Int) {
        let (text, says) = Self.unsupported[index]
        guard case .error(let message) = Self.readOurs(text) else {
            Issue.record("read \(text.debugDescription)")
            return
        }
        #expect(message.contains(says), "\(message)")
    }

    @Test func byteOrderMarkIsIgnored() {
        #expect(Self.readOurs("\u{FEFF}bom: yes\n") == Self.readOurs("bom: yes\n"))
    }

    /// Mutated rule files: whatever ours reads, Yams reads the same way; what Yams reads, ours reads
    /// too unless it is a construct rule files do not support; nothing crashes or hangs.
    @Test func mutatedRuleFilesNeverReadDifferently() throws {
        let text = try String(contentsOfFile: Repo.rules + "/services.yaml", encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var generator = SplitMix(seed: 0x4b43_4845_434b)
        var accepted = 0, refused = 0
        let tokens = ["- ", ": ", "'", "\"", "[", "]", "{", "}", ",", "#", "|", ">", "  ", "\t", "\\", "\n", "-", "?", "~"]
        for _ in 0..<600 {
            var mutated = lines
            for _ in 0..<(1 + Int(generator.next() % 2)) {
                let row = Int(generator.next() % UInt64(mutated.count))
                var chars = Array(mutated[row])
                let at = chars.isEmpty ? 0 : Int(generator.next() % UInt64(chars.count + 1))
                switch generator.next() % 4 {
                case 0: chars.insert(contentsOf: tokens[Int(generator.next() % UInt64(tokens.count))], at: at)
                case 1: if at < chars.count { chars.remove(at: at) }
                case 2: mutated.insert(mutated[row], at: row)
                default: chars = Array(String(repeating: " ", count: Int(generator.next() % 6))) + chars.drop { $0 == " " }
                }
                mutated[row] = String(chars)
            }
            let document = mutated.joined(separator: "\n")
            let ours = Self.readOurs(document)
            let reference = Self.readReference(document)
            if case .tree = ours {
                accepted += 1
                #expect(ours == reference, "\(document)")
            } else {
                refused += 1
                // Refusing what Yams reads is allowed only for what rule files do not support.
                if case .tree = reference, case .error(let message) = ours {
                    #expect(message.contains("not supported"), "\(message)\n\(document.split(separator: "\n", omittingEmptySubsequences: false)[max(0, (Int(message.split(separator: ":")[1]) ?? 1) - 1)])")
                }
            }
        }
        // Most mutations keep the file valid YAML; the reader must not refuse them wholesale.
        #expect(accepted > 150 && refused > 150, "accepted \(accepted), refused \(refused)")
    }
}

/// A small deterministic generator for fuzz tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A rule file nested 20,000 levels deep (40 KB of `[`, or `- ` on one line) is exit 2 with the
/// place, never a stack overflow.
@Suite("YAML nesting bound")
struct YAMLNestingTests {
    @Test func deepNestingIsAnErrorWithItsPlace() throws {
        let dir = try TemporaryDirectory()
        let flow = "rules: " + String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000) + "\n"
        let block = "rules:\n  " + String(repeating: "- ", count: 20_000) + "x\n"
        for (name, text) in [("flow.yaml", flow), ("block.yaml", block)] {
            let rules = try TemporaryDirectory()
            try rules.write(name, text)
            let r = try kcheck("rules", "--rules", rules.path)
            #expect(r.status == 2 && r.stderr.contains(name + ":") && r.stderr.contains("nested deeper than 64 levels"), "\(name): \(r.status) \(r.stderr.prefix(300))")
        }
        _ = dir
    }
}
