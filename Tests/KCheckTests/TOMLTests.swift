import Foundation
import KCheckCore
import Testing

/// kcheck reads containerd's config.toml with its own TOML reader (no Foundation in the binary),
/// into the tree its YAML reader makes. These tests hold it to the guide's file, to every kind of
/// value, to TOML's refusals (with line and column), to its bounds, and to Python's tomllib.
@Suite("TOML reader")
struct TOMLTests {
    /// The guide's /etc/containerd/config.toml (containerd 1.3.3), as the guide writes it.
    static let guide = """
        version = 2
        root = "/data/k8s/containerd/root"
        state = "/data/k8s/containerd/state"

        [plugins]
          [plugins."io.containerd.grpc.v1.cri"]
            sandbox_image = "registry.cn-beijing.aliyuncs.com/images_k8s/pause-amd64:3.1"
            [plugins."io.containerd.grpc.v1.cri".cni]
              bin_dir = "/opt/k8s/bin"
              conf_dir = "/etc/cni/net.d"
          [plugins."io.containerd.runtime.v1.linux"]
            shim = "containerd-shim"
            runtime = "runc"
            runtime_root = ""
            no_shim = false
            shim_debug = false

        """

    static let corpus = Repo.root + "/fuzz/corpus/toml"

    // MARK: - Helpers

    static func read(_ text: String) throws(SourceError) -> YAMLNode { try TOML.parse(text, file: "config.toml") }

    /// The tree in one line: `{key: value}`, `[item]`; a plain scalar as itself, a basic string in
    /// double quotes, a literal string in single quotes, a multi-line string between bars.
    static func render(_ node: YAMLNode) -> String {
        switch node {
        case .scalar(let s):
            switch s.style {
            case .plain: return s.string
            case .doubleQuoted: return "\"\(s.string)\""
            case .singleQuoted: return "'\(s.string)'"
            case .literal: return "|\(s.string)|"
            case .folded: return ">\(s.string)>"
            }
        case .sequence(let items, _): return "[" + items.map(render).joined(separator: ", ") + "]"
        case .mapping(let pairs, _): return "{" + pairs.map { "\(render($0.key)): \(render($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    static func rendered(_ text: String) -> String {
        do { return render(try read(text)) } catch { return "error: \(error)" }
    }

    /// The pair at `path`, looked up key by key as a rule looks up a YAML file's keys.
    static func pair(_ node: YAMLNode, _ path: String...) -> (key: YAMLNode, value: YAMLNode)? {
        var current: (key: YAMLNode, value: YAMLNode)? = (node, node)
        for key in path {
            current = current?.value.mapping?.first { $0.key.scalar?.string == key }
        }
        return current
    }

    static func mark(_ node: YAMLNode?) -> String {
        guard let node else { return "none" }
        return "\(node.mark.line):\(node.mark.column)"
    }

    static func failure(_ text: String) -> SourceError? {
        do {
            _ = try read(text)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Real files

    @Test("the guide's containerd config.toml: plugins → cri → cni → bin_dir is /opt/k8s/bin at line 9")
    func guideConfig() throws {
        let tree = try TOML.parse(Self.guide, file: "/etc/containerd/config.toml")
        #expect(Self.mark(tree) == "1:1")
        #expect(tree.mapping?.map { $0.key.scalar?.string ?? "" } == ["version", "root", "state", "plugins"])
        let binDir = try #require(Self.pair(tree, "plugins", "io.containerd.grpc.v1.cri", "cni", "bin_dir"))
        #expect(binDir.value.scalar?.string == "/opt/k8s/bin")
        #expect(binDir.value.scalar?.style == .doubleQuoted)
        #expect(Self.mark(binDir.key) == "9:7")
        #expect(Self.mark(binDir.value) == "9:17")
        #expect(binDir.key.scalar?.style == .plain)
        // Each table is marked at its header.
        #expect(Self.mark(Self.pair(tree, "plugins")?.value) == "5:1")
        #expect(Self.mark(Self.pair(tree, "plugins", "io.containerd.grpc.v1.cri")?.value) == "6:3")
        #expect(Self.mark(Self.pair(tree, "plugins", "io.containerd.grpc.v1.cri", "cni")?.value) == "8:5")
        #expect(Self.pair(tree, "plugins", "io.containerd.grpc.v1.cri", "cni", "conf_dir")?.value.scalar?.string == "/etc/cni/net.d")
        #expect(Self.pair(tree, "plugins", "io.containerd.grpc.v1.cri", "sandbox_image")?.value.scalar?.string
            == "registry.cn-beijing.aliyuncs.com/images_k8s/pause-amd64:3.1")
        // Numbers and booleans are plain scalars, as the YAML reader's are.
        #expect(Self.pair(tree, "version")?.value.int == 2)
        let linux = try #require(Self.pair(tree, "plugins", "io.containerd.runtime.v1.linux")?.value)
        #expect(Self.render(linux) == "{shim: \"containerd-shim\", runtime: \"runc\", runtime_root: \"\", no_shim: false, shim_debug: false}")
        #expect(Self.pair(linux, "no_shim")?.value.bool == false)
        #expect(Self.pair(linux, "runtime_root")?.value.scalar?.string == "")
        #expect(Self.pair(linux, "runtime_root")?.value.scalar?.style == .doubleQuoted)
        #expect(Self.mark(Self.pair(linux, "shim_debug")?.key) == "16:5")
        // The fuzz corpus holds the same file.
        #expect(try String(contentsOfFile: Self.corpus + "/guide-containerd-1.3.toml", encoding: .utf8) == Self.guide)
    }

    @Test("dotted keys reach the same place as headers")
    func dottedKeysAsHeaders() throws {
        let tree = try Self.read(
            """
            version = 2
            plugins."io.containerd.grpc.v1.cri".cni.bin_dir = "/opt/k8s/bin"
            plugins . "io.containerd.grpc.v1.cri" . 'cni' . conf_dir = "/etc/cni/net.d"

            """)
        let binDir = try #require(Self.pair(tree, "plugins", "io.containerd.grpc.v1.cri", "cni", "bin_dir"))
        #expect(binDir.value.scalar?.string == "/opt/k8s/bin")
        #expect(Self.mark(binDir.key) == "2:41")
        #expect(Self.mark(binDir.value) == "2:51")
        // A table made by a dotted key is marked at that key.
        #expect(Self.mark(Self.pair(tree, "plugins", "io.containerd.grpc.v1.cri")?.key) == "2:9")
        #expect(Self.mark(Self.pair(tree, "plugins", "io.containerd.grpc.v1.cri")?.value) == "2:9")
        #expect(Self.pair(tree, "plugins", "io.containerd.grpc.v1.cri", "cni", "conf_dir")?.value.scalar?.string == "/etc/cni/net.d")
    }

    @Test("`containerd config default`, and every seed of the fuzz corpus but the refusals, read")
    func corpusFiles() throws {
        let tree = try Self.read(try String(contentsOfFile: Self.corpus + "/containerd-config-default.toml", encoding: .utf8))
        let runc = try #require(Self.pair(tree, "plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes", "runc", "options", "SystemdCgroup"))
        #expect(runc.value.bool == false)
        #expect(Self.mark(runc.key) == "122:13")
        #expect(Self.pair(tree, "plugins", "io.containerd.grpc.v1.cri", "cni", "bin_dir")?.value.scalar?.string == "/opt/cni/bin")
        #expect(Self.pair(tree, "plugins", "io.containerd.gc.v1.scheduler", "pause_threshold")?.value.scalar?.string == "0.02")
        #expect(Self.pair(tree, "timeouts", "io.containerd.timeout.shim.load")?.value.scalar?.string == "5s")
        let refused = ["strings.toml", "refusals.toml", "deep-dotted-key.toml", "deep-arrays.toml"]
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.corpus) {
            let text = try String(contentsOfFile: Self.corpus + "/" + name, encoding: .utf8)
            #expect((Self.failure(text) != nil) == refused.contains(name), "\(name): \(String(describing: Self.failure(text)))")
        }
    }

    // MARK: - Values

    static let values: [(toml: String, tree: String)] = [
        ("a = +99\nb = -17\nc = 1_000\nd = 0xDEAD_beef\ne = 0o755\nf = 0b1101\ng = -0\nh = 9223372036854775807\ni = -9223372036854775808\nj = 0x7FFFFFFFFFFFFFFF\nk = 0o0\n",
         "{a: 99, b: -17, c: 1000, d: 3735928559, e: 493, f: 13, g: 0, h: 9223372036854775807, i: -9223372036854775808, j: 9223372036854775807, k: 0}"),
        ("a = +1.0\nb = -0.01\nc = 5e+22\nd = 1e06\ne = -2E-2\nf = 224_617.445_991_228\ng = inf\nh = -nan\ni = 0.0\nj = -0e0\nk = +inf\nl = 1e1_0\n",
         "{a: +1.0, b: -0.01, c: 5e+22, d: 1e06, e: -2E-2, f: 224617.445991228, g: inf, h: -nan, i: 0.0, j: -0e0, k: +inf, l: 1e10}"),
        ("t = true\nf = false\n", "{t: true, f: false}"),
        ("o1 = 1979-05-27T07:32:00Z\no2 = 1979-05-27T00:32:00.999999-07:00\no3 = 1979-05-27 07:32:00z\nl1 = 1979-05-27t07:32:00\nd = 2000-02-29\nt = 00:32:00.5\n",
         "{o1: 1979-05-27T07:32:00Z, o2: 1979-05-27T00:32:00.999999-07:00, o3: 1979-05-27 07:32:00z, l1: 1979-05-27t07:32:00, d: 2000-02-29, t: 00:32:00.5}"),
        ("s = \"tab\\tq\\\"bs\\\\e\\u00E9U\\U0001F600 b\\b f\\f r\\r n\\n\"\n", "{s: \"tab\tq\"bs\\e\u{E9}U\u{1F600} b\u{08} f\u{0C} r\r n\n\"}"),
        ("s = 'C:\\Users\\x \"q\"'\n", "{s: 'C:\\Users\\x \"q\"'}"),
        ("s = \"\"\"\nRoses\nViolets\"\"\"\n", "{s: |Roses\nViolets|}"),
        ("s = \"\"\"\\\n    The quick \\\n\n   fox \\  \n  jumps\"\"\"\n", "{s: |The quick fox jumps|}"),
        ("s = \"\"\"\"\"x\"\"\"\"\"\nt = \"\"\"a\\\"\"\"\"\"\n", "{s: |\"\"x\"\"|, t: |a\"\"|}"),
        ("s = '''\nraw \\n '' \"\"\" '''\nt = '''''x'''''\n", "{s: |raw \\n '' \"\"\" |, t: |''x''|}"),
        ("a = \"\"\nb = ''\nc = \"\"\"\"\"\"\nd = ''''''\ne = \"\"\"\n\"\"\"\n", "{a: \"\", b: '', c: ||, d: ||, e: ||}"),
        ("s = \"\\u0000\\u001F\\u007F\"\n", "{s: \"\u{0}\u{1F}\u{7F}\"}"),
        ("a = [ 1, [2, \"x\"], [], { b = 1 }, 1979-05-27 ]\n", "{a: [1, [2, \"x\"], [], {b: 1}, 1979-05-27]}"),
        ("a = [\n  1, # one\n  # alone\n\n  2\n  ,\n]\nb = [\n]\n", "{a: [1, 2], b: []}"),
        ("p = { x = 1, y.z = 2, y.w = { v = [] } }\ne = {}\nq = {a=[1,\n2]}\n", "{p: {x: 1, y: {z: 2, w: {v: []}}}, e: {}, q: {a: [1, 2]}}"),
        ("[a.b]\nc = 1\n[a]\nd = 2\n[[t]]\nn = 1\n[t.sub]\nm = 2\n[[t]]\nn = 2\n[[t]]\n", "{a: {b: {c: 1}, d: 2}, t: [{n: 1, sub: {m: 2}}, {n: 2}, {}]}"),
        ("[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true\n",
         "{fruit: {apple: {color: \"red\", taste: {sweet: true}, texture: {smooth: true}}}}"),
        ("[a.b.c]\n[a]\nb.d = 1\n", "{a: {b: {c: {}, d: 1}}}"),
        ("\"a.b\" = 1\n'c' = 2\n\"\" = 3\n1234 = 4\n3.14 = 5\n-_ = 6\ntrue = 7\n\"\\u00e9\" = 8\n",
         "{a.b: 1, c: 2, : 3, 1234: 4, 3: {14: 5}, -_: 6, true: 7, \u{E9}: 8}"),
        ("# c\n\n  a = 1 # c\n\t[ t . u ] # c\n[[ v ]]\n", "{a: 1, t: {u: {}}, v: [{}]}"),
        ("a = 1\r\nb = \"\"\"x\r\ny\"\"\"\r\n# c\r\n", "{a: 1, b: |x\ny|}"),
        ("\u{FEFF}a = 1\n", "{a: 1}"),
        ("", "{}"),
        ("# only a comment", "{}"),
        ("a = 1", "{a: 1}"),
        ("a = \"é ü 中\" # ключ\n", "{a: \"é ü 中\"}"),
    ]

    @Test("every kind of value", arguments: values.indices)
    func value(index: Int) {
        let (toml, tree) = Self.values[index]
        #expect(Self.rendered(toml) == tree, "\(toml.debugDescription)")
    }

    @Test("every node is marked where it is written, columns in characters")
    func marks() throws {
        let tree = try Self.read("a = 1\n[t]\n  b.c = \"x\"\n[[arr]]\nv = [ 1, { w = 2 } ]\n\"é\" = 'ü'\n")
        #expect(Self.mark(Self.pair(tree, "a")?.key) == "1:1")
        #expect(Self.mark(Self.pair(tree, "a")?.value) == "1:5")
        #expect(Self.mark(Self.pair(tree, "t")?.key) == "2:2")
        #expect(Self.mark(Self.pair(tree, "t")?.value) == "2:1")
        #expect(Self.mark(Self.pair(tree, "t", "b")?.key) == "3:3")
        #expect(Self.mark(Self.pair(tree, "t", "b")?.value) == "3:3")
        #expect(Self.mark(Self.pair(tree, "t", "b", "c")?.key) == "3:5")
        #expect(Self.mark(Self.pair(tree, "t", "b", "c")?.value) == "3:9")
        let arr = try #require(Self.pair(tree, "arr"))
        #expect(Self.mark(arr.key) == "4:3")
        #expect(Self.mark(arr.value) == "4:1")
        let element = try #require(arr.value.sequence?.first)
        #expect(Self.mark(element) == "4:1")
        let v = try #require(Self.pair(element, "v")?.value.sequence)
        #expect(Self.mark(Self.pair(element, "v")?.value) == "5:5")
        #expect(v.map { Self.mark($0) } == ["5:7", "5:10"])
        #expect(Self.mark(Self.pair(v[1], "w")?.key) == "5:12")
        #expect(Self.mark(Self.pair(v[1], "w")?.value) == "5:16")
        // After [[arr]], in its element.
        #expect(Self.mark(Self.pair(element, "é")?.key) == "6:1")
        #expect(Self.mark(Self.pair(element, "é")?.value) == "6:7")
        #expect(Self.pair(element, "é")?.value.scalar?.style == .singleQuoted)
    }

    // MARK: - Refusals

    /// What TOML forbids, each with where (line:column) and what the error says.
    static let refusals: [(toml: String, line: Int, column: Int, says: String)] = [
        ("a = 1\nb = 2\na = 3\n", 3, 1, "the key `a` is defined twice (first at line 1)"),
        ("version = 2\nroot = \"/a\"\n\nroot = \"/b\"\n", 4, 1, "the key `root` is defined twice (first at line 2)"),
        ("[p]\nx.y = 1\nx.y = 2\n", 3, 3, "the key `x.y` is defined twice (first at line 2)"),
        ("a = { b = 1, b = 2 }\n", 1, 14, "the key `b` is defined twice (first at line 1)"),
        ("[t]\nx = 1\n\n [t]\n", 4, 3, "the table `t` is defined twice (first at line 1)"),
        ("[a.\"b.c\"]\n[a.'b.c']\n", 2, 4, "the table `a.\"b.c\"` is defined twice (first at line 1)"),
        ("[x]\n[x.y]\n[x.y.z]\n[x.y]\n", 4, 4, "the table `x.y` is defined twice (first at line 2)"),
        ("[a]\nb.c = 1\n[a.b]\n", 3, 4, "the table `a.b` is already defined by dotted keys (line 2)"),
        ("a.b = 1\n[a]\n", 2, 2, "the table `a` is already defined by dotted keys (line 1)"),
        ("[a.b]\n[a]\nb.c = 1\n", 3, 1, "the table `b` is defined by its header (line 1): dotted keys cannot add to it"),
        ("[[a.b]]\n[a]\nb.c = 1\n", 3, 1, "`b` is an array of tables (line 1): dotted keys cannot add to it"),
        ("a = [1]\n[[a]]\n", 2, 3, "`a` is an array (line 1): `[[a]]` cannot add tables to it"),
        ("a = []\n[a.b]\n", 2, 2, "`a` is an array (line 1), not a table"),
        ("a = {b = 1}\n[a.c]\n", 2, 2, "`a` is an inline table (line 1): it cannot be extended"),
        ("a = {b = 1}\na.c = 2\n", 2, 1, "`a` is an inline table (line 1): it cannot be extended"),
        ("a = {}\n[a]\n", 2, 2, "`a` is an inline table (line 1): it cannot be extended"),
        ("a = { b = { c = 1 }, b.d = 2 }\n", 1, 22, "`b` is an inline table (line 1): it cannot be extended"),
        ("a = 1\n[a]\n", 2, 2, "`a` is already a value (line 1), not a table"),
        ("a = 1\na.b = 2\n", 2, 1, "`a` is already a value (line 1), not a table"),
        ("a = \"x\"\n[[a]]\n", 2, 3, "`a` is already a value (line 1), not a table"),
        ("[a]\n[[a]]\n", 2, 3, "`a` is a table (line 1), not an array of tables"),
        ("[[a]]\n[a]\n", 2, 2, "`a` is an array of tables (line 1), not a table"),
        ("x = \"a\u{01}b\"\n", 1, 7, "a control character (U+0001) is not allowed in a string"),
        ("x = 'a\u{7F}'\n", 1, 7, "a control character (U+007F) is not allowed in a string"),
        ("x = \"\"\"\na\u{0}\"\"\"\n", 2, 2, "a control character (U+0000) is not allowed in a string"),
        ("x = 1 # bell \u{07}\n", 1, 14, "a control character (U+0007) is not allowed in a comment"),
        ("x = 1\r\n\ry = 2\n", 2, 1, "a control character (U+000D) is not allowed here"),
        ("x = \"a\"\r y = 2\n", 1, 8, "a control character (U+000D) is not allowed here"),
        ("x = 01\n", 1, 5, "`01` is not a valid number: leading zeros are not allowed"),
        ("x = 00.5\n", 1, 5, "leading zeros are not allowed"),
        ("x = 1__0\n", 1, 5, "`1__0` is not a valid number: each `_` must sit between two digits"),
        ("x = 1_\n", 1, 5, "each `_` must sit between two digits"),
        ("x = _1\n", 1, 5, "`_1` is not a valid value"),
        ("x = 0x\n", 1, 5, "`0x` is not a valid integer"),
        ("x = 0xG\n", 1, 5, "must be base 16"),
        ("x = 0o8\n", 1, 5, "must be base 8"),
        ("x = -0x1\n", 1, 5, "takes no sign"),
        ("x = 0X1\n", 1, 5, "`0X1` is not a valid number"),
        ("x = 9223372036854775808\n", 1, 5, "does not fit in 64 bits"),
        ("x = -9223372036854775809\n", 1, 5, "does not fit in 64 bits"),
        ("x = 0x8000000000000000\n", 1, 5, "does not fit in 64 bits"),
        ("x = 1.\n", 1, 5, "`1.` is not a valid float"),
        ("x = .5\n", 1, 5, "`.5` is not a valid value"),
        ("x = 1.e5\n", 1, 5, "not a valid float"),
        ("x = 1e\n", 1, 5, "the exponent needs digits"),
        ("x = 1e_5\n", 1, 5, "the exponent needs digits"),
        ("x = 1.5.5\n", 1, 5, "`1.5.5` is not a valid number"),
        ("x = infinity\n", 1, 5, "`infinity` is not a valid value"),
        ("x = truthy\n", 1, 5, "`truthy` is not a valid value"),
        ("x = TRUE\n", 1, 5, "`TRUE` is not a valid value"),
        ("x = 1979-02-29\n", 1, 5, "`1979-02-29` is not a valid date"),
        ("x = 1979-13-01\n", 1, 5, "not a valid date"),
        ("x = 1979-05-27T25:00:00\n", 1, 5, "not a valid date"),
        ("x = 1979-05-27T07:32\n", 1, 5, "not a valid date"),
        ("x = 1979-05-27T07:32:60Z\n", 1, 5, "not a valid date"),
        ("x = 1979-05-27T07:32:00+24:00\n", 1, 5, "not a valid date"),
        ("x = 1979-05-27T07:32:00.\n", 1, 5, "not a valid date"),
        ("x = 07:32\n", 1, 5, "`07:32` is not a valid time"),
        ("x = 07:32:00Z\n", 1, 5, "not a valid time"),
        ("x = \"open\n", 1, 5, "this string is not closed on its line"),
        ("x = 'open\ny = 1\n", 1, 5, "this string is not closed on its line"),
        ("x = \"\"\"open\n\nstill open\n", 1, 5, "this multi-line string is never closed"),
        ("x = '''open''\n", 1, 5, "this multi-line string is never closed"),
        ("x = \"\"\"a\"\"\"\"\"\"\n", 1, 14, "too many quotes"),
        ("x = \"\\q\"\n", 1, 6, "`\\q` is not a valid escape"),
        ("x = \"\\e\"\n", 1, 6, "`\\e` is not a valid escape"),
        ("x = \"\\x41\"\n", 1, 6, "`\\x` is not a valid escape"),
        ("x = \"a\\ \"\n", 1, 7, "`\\` then a space is not a valid escape"),
        ("x = \"\\uD800\"\n", 1, 6, "`\\uD800` is not a Unicode scalar value"),
        ("x = \"\\U00110000\"\n", 1, 6, "`\\U00110000` is not a Unicode scalar value"),
        ("x = \"\\u12\"\n", 1, 6, "`\\u` needs exactly 4 hex digits"),
        ("x = \"\"\"a\\  b\"\"\"\n", 1, 9, "a `\\` followed by spaces must end its line"),
        ("x = [1, 2\n", 1, 5, "the array is never closed"),
        ("x = [1 2]\n", 1, 8, "expected `,` or `]` after an item of the array opened at line 1, found `2`"),
        ("x = [,]\n", 1, 6, "expected a value before `,`"),
        ("x = [1,,2]\n", 1, 8, "two commas with no value between them"),
        ("x = {a = 1,}\n", 1, 12, "a trailing comma is not allowed in an inline table"),
        ("x = {a = 1\n}\n", 1, 11, "an inline table must close on the line it opens (line 1)"),
        ("x = {\na = 1}\n", 1, 6, "an inline table must close on the line it opens (line 1)"),
        ("x = {a = 1 b = 2}\n", 1, 12, "expected `,` or `}` in the inline table, found `b`"),
        ("x = \n", 1, 5, "expected a value"),
        ("x =", 1, 4, "expected a value"),
        ("x = # no value\n", 1, 5, "expected a value, found `#`"),
        ("x 1\n", 1, 3, "expected `=` after the key, found `1`"),
        ("x\n", 1, 2, "expected `=` and a value after the key"),
        ("x = 1 y = 2\n", 1, 7, "unexpected `y` after a value"),
        ("x = 1979-05-27 y\n", 1, 16, "unexpected `y` after a value"),
        ("[a] b = 1\n", 1, 5, "unexpected `b` after the table header"),
        ("[a\n", 1, 3, "the table header is not closed with `]` on its line"),
        ("[[a]\n", 1, 5, "expected `]]` to close the array-of-tables header"),
        ("[ [a]]\n", 1, 3, "expected a key, found `[`"),
        ("[a.]\n", 1, 4, "expected a key, found `]`"),
        ("[]\n", 1, 2, "expected a key, found `]`"),
        ("a.\n", 1, 3, "expected a key before the end of the line"),
        ("= 1\n", 1, 1, "`=` cannot start a line"),
        ("ключ = 1\n", 1, 1, "U+043A cannot start a line"),
        ("a.é = 1\n", 1, 3, "expected a key, found U+00E9"),
        ("\"\"\"a\"\"\" = 1\n", 1, 1, "a multi-line string cannot be a key"),
        ("[\"\"\"a\"\"\"]\n", 1, 2, "a multi-line string cannot be a key"),
        ("\"é\" = 'ü' 1\n", 1, 11, "unexpected `1`"),
    ]

    @Test("what TOML forbids is refused at its line and column", arguments: refusals.indices)
    func refusal(index: Int) {
        let (toml, line, column, says) = Self.refusals[index]
        guard let error = Self.failure(toml) else {
            Issue.record("read \(toml.debugDescription) as \(Self.rendered(toml))")
            return
        }
        #expect(error.file == "config.toml")
        #expect("\(error.line):\(error.column)" == "\(line):\(column)", "\(toml.debugDescription): \(error)")
        #expect(error.message.hasPrefix("invalid TOML: "), "\(error)")
        #expect(error.message.contains(says), "\(toml.debugDescription): \(error)")
    }

    // MARK: - Bounds

    @Test("more than 1 MiB is refused as a whole (line 0); 1 MiB reads")
    func sizeBound() throws {
        let over = try #require(Self.failure(String(repeating: "#", count: TOML.maximumBytes + 1)))
        #expect(over.line == 0 && over.column == 0)
        #expect(over.message.contains("larger than 1048576 bytes"), "\(over)")
        #expect(over.description == "config.toml: error: is larger than 1048576 bytes: past kcheck's bound for a TOML file")
        // Exactly 1 MiB: one key whose string fills it.
        let prefix = "a = \""
        let exact = prefix + String(repeating: "x", count: TOML.maximumBytes - prefix.utf8.count - 2) + "\"\n"
        #expect(exact.utf8.count == TOML.maximumBytes)
        #expect(Self.pair(try Self.read(exact), "a")?.value.scalar?.string.utf8.count == TOML.maximumBytes - 7)
    }

    @Test("nesting past 32 levels is refused where it crosses: dotted keys, headers, arrays, inline tables")
    func depthBound() throws {
        func dotted(_ n: Int) -> String { Array(repeating: "k", count: n).joined(separator: ".") }
        // 32 parts: the value sits 32 levels down.
        #expect(Self.failure(dotted(32) + " = 1\n") == nil)
        let key = try #require(Self.failure(dotted(33) + " = 1\n"))
        #expect("\(key.line):\(key.column)" == "1:65" && key.message.contains("nested deeper than 32 levels"), "\(key)")
        #expect(Self.failure("[" + dotted(32) + "]\n") == nil)
        let header = try #require(Self.failure("x = 1\n[" + dotted(33) + "]\n"))
        #expect("\(header.line):\(header.column)" == "2:66" && header.message.contains("nested deeper than 32 levels"), "\(header)")
        // A header's table at 31 levels, a key in it at 32; one more is too deep.
        #expect(Self.failure("[" + dotted(31) + "]\na = 1\n") == nil)
        let inHeader = try #require(Self.failure("[" + dotted(31) + "]\na.b = 1\n"))
        #expect("\(inHeader.line):\(inHeader.column)" == "2:3", "\(inHeader)")
        // An array of tables and its element are a level each.
        #expect(Self.failure("[[" + dotted(31) + "]]\n") == nil)
        let tables = try #require(Self.failure("[[" + dotted(32) + "]]\n"))
        #expect("\(tables.line):\(tables.column)" == "1:65", "\(tables)")
        // Arrays: `a` is level 1, its array too; 32 nested arrays reach level 32.
        #expect(Self.failure("a = " + String(repeating: "[", count: 32) + String(repeating: "]", count: 32) + "\n") == nil)
        let arrays = try #require(Self.failure("a = " + String(repeating: "[", count: 33) + String(repeating: "]", count: 33) + "\n"))
        #expect("\(arrays.line):\(arrays.column)" == "1:37" && arrays.message.contains("nested deeper than 32 levels"), "\(arrays)")
        let deepValue = try #require(Self.failure("a = " + String(repeating: "[", count: 32) + "1" + String(repeating: "]", count: 32) + "\n"))
        #expect("\(deepValue.line):\(deepValue.column)" == "1:37", "\(deepValue)")
        // Inline tables: 31 of them hold a value at level 32.
        func inline(_ n: Int) -> String { "a = " + String(repeating: "{b = ", count: n) + "1" + String(repeating: "}", count: n) + "\n" }
        #expect(Self.failure(inline(31)) == nil)
        let tablesDeep = try #require(Self.failure(inline(32)))
        #expect("\(tablesDeep.line):\(tablesDeep.column)" == "1:161" && tablesDeep.message.contains("nested deeper"), "\(tablesDeep)")
        // Far deeper input ends at the same bound (no stack overflow).
        let hostile = try #require(Self.failure("a = " + String(repeating: "[{b=", count: 100_000)))
        #expect(hostile.message.contains("nested deeper than 32 levels"), "\(hostile)")
        let longKey = try #require(Self.failure(dotted(200_000) + " = 1"))
        #expect("\(longKey.line):\(longKey.column)" == "1:65", "\(longKey)")
    }

    @Test("100,000 keys in one table read; the 100,001st key or item is refused at its place")
    func entriesBound() throws {
        // Short keys (base 36), so that 100,000 of them fit in 1 MiB.
        var text = ""
        for k in 0..<TOML.maximumEntries { text += "k\(String(k, radix: 36))=\(k % 10)\n" }
        let tree = try Self.read(text)
        let pairs = try #require(tree.mapping)
        #expect(pairs.count == 100_000)
        #expect(pairs.last?.key.scalar?.string == "k" + String(99_999, radix: 36))
        #expect(pairs.last?.value.int == 9)
        #expect(Self.mark(pairs.last?.key) == "100000:1")
        let over = try #require(Self.failure(text + "one_more = 1\n"))
        #expect("\(over.line):\(over.column)" == "100001:1", "\(over)")
        #expect(over.message.contains("more than 100000 keys and array items"), "\(over)")
        // In a table of its own (its key counts too), found by a header as containerd's are.
        var table = "[plugins.\"io.containerd.grpc.v1.cri\"]\n"
        for k in 0..<(TOML.maximumEntries - 2) { table += "\"\(String(k, radix: 36))\"=1\n" }
        let cri = try #require(Self.pair(try Self.read(table), "plugins", "io.containerd.grpc.v1.cri")?.value.mapping)
        #expect(cri.count == 99_998)
        // One line: the key and 99,999 items read; one more item is refused at its column.
        let items = "a = [" + String(repeating: "1,", count: 99_999) + "]"
        #expect(Self.pair(try Self.read(items), "a")?.value.sequence?.count == 99_999)
        let tooMany = try #require(Self.failure("a = [" + String(repeating: "1,", count: 100_000) + "]"))
        #expect("\(tooMany.line):\(tooMany.column)" == "1:200004", "\(tooMany)")
        // A 50,000-key inline table on one line: marks stay linear on a long line.
        let inline = "t = {" + (0..<50_000).map { "k\($0) = \($0)" }.joined(separator: ", ") + "}\n"
        let inlineTree = try #require(Self.pair(try Self.read(inline), "t")?.value.mapping)
        #expect(inlineTree.count == 50_000)
        let lastColumn = 6 + (0..<49_999).reduce(0) { $0 + "k\($1) = \($1), ".count }
        #expect(Self.mark(inlineTree.last?.key) == "1:\(lastColumn)")
        // 1 MiB of headers of arrays of tables end at the bound too.
        let headers = try #require(Self.failure(String(repeating: "[[a]]\n", count: 150_000)))
        #expect("\(headers.line):\(headers.column)" == "100000:3", "\(headers)")
    }

    // MARK: - Python's tomllib

    static let hasTomllib: Bool = (try? run("/usr/bin/python3", ["-c", "import tomllib"]).status) == 0

    /// Reads each file with tomllib and prints, one line a file, `ok ` and the document in a
    /// canonical form (strings and keys as UTF-8 hex, floats as their bits, date-times as Python
    /// writes them), or `error ` and tomllib's message.
    static let tomllibScript = """
        import sys, tomllib, datetime, math, struct
        def c(v):
            if isinstance(v, bool): return "b" + ("true" if v else "false")
            if isinstance(v, int): return "i" + str(v)
            if isinstance(v, float): return "fnan" if math.isnan(v) else "f" + str(struct.unpack("<q", struct.pack("<d", v))[0])
            if isinstance(v, str): return "s" + v.encode().hex()
            if isinstance(v, datetime.datetime): return "T" + v.isoformat()
            if isinstance(v, datetime.date): return "D" + v.isoformat()
            if isinstance(v, datetime.time): return "t" + v.isoformat()
            if isinstance(v, list): return "[" + ",".join(c(x) for x in v) + "]"
            if isinstance(v, dict): return "{" + ",".join(k.encode().hex() + ":" + c(x) for k, x in v.items()) + "}"
            raise TypeError(type(v))
        for p in sys.argv[1:]:
            try:
                with open(p, "rb") as f:
                    doc = tomllib.load(f)
                print("ok " + c(doc))
            except tomllib.TOMLDecodeError as e:
                print("error " + str(e).replace("\\n", " "))
        """

    static func hex(_ s: String) -> String {
        s.utf8.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    /// Our tree in tomllib's canonical form: the kind of a plain scalar is read from its text.
    static func canonical(_ node: YAMLNode) -> String {
        switch node {
        case .mapping(let pairs, _):
            return "{" + pairs.map { hex($0.key.scalar?.string ?? "?") + ":" + canonical($0.value) }.joined(separator: ",") + "}"
        case .sequence(let items, _):
            return "[" + items.map(canonical).joined(separator: ",") + "]"
        case .scalar(let s):
            guard s.style == .plain else { return "s" + hex(s.string) }
            let t = Array(s.string)
            if s.string == "true" || s.string == "false" { return "b" + s.string }
            if Int64(s.string) != nil { return "i" + s.string }
            if t.count >= 10, t[4] == "-", t.prefix(4).allSatisfy(\.isNumber) { return dateTime(t) }
            if t.count >= 8, t[2] == ":", t.prefix(2).allSatisfy(\.isNumber) { return "t" + time(t[...]) }
            guard let d = Double(s.string) else { return "?" + s.string }
            return d.isNaN ? "fnan" : "f" + String(Int64(bitPattern: d.bitPattern))
        }
    }

    /// hh:mm:ss[.ffffff] as Python's isoformat writes it: microseconds, only when not zero.
    static func time(_ t: ArraySlice<Character>) -> String {
        let base = String(t.prefix(8))
        guard t.count > 9 else { return base }
        let digits = String(t.dropFirst(9).prefix(6)).padding(toLength: 6, withPad: "0", startingAt: 0)
        return Int(digits) == 0 ? base : base + "." + digits
    }

    static func dateTime(_ t: [Character]) -> String {
        let date = String(t.prefix(10))
        if t.count == 10 { return "D" + date }
        var rest = t[11...]
        var offset = ""
        if let last = rest.last, last == "Z" || last == "z" {
            offset = "+00:00"
            rest = rest.dropLast()
        } else if rest.count >= 14, let sign = rest.dropLast(5).last, sign == "+" || sign == "-" {
            offset = String(rest.suffix(6))
            if offset == "-00:00" { offset = "+00:00" }
            rest = rest.dropLast(6)
        }
        return "T" + date + "T" + time(rest) + offset
    }

    /// Documents valid and invalid, each read by both: same acceptance, and the same values.
    static let tricky: [String] = [
        guide,
        "a = +99\nb = -17\nc = 1_000\nd = 0xDEAD_beef\ne = 0o755\nf = 0b1101\ng = -0\nh = 9223372036854775807\ni = -9223372036854775808\n",
        "a = +1.0\nb = -0.01\nc = 5e+22\nd = 1e06\ne = -2E-2\nf = 224_617.445_991_228\ng = inf\nh = -nan\ni = -0.0\nj = +inf\nk = 6.626e-34\n",
        "o1 = 1979-05-27T07:32:00Z\no2 = 1979-05-27T00:32:00.999999-07:00\no3 = 1979-05-27 07:32:00z\nl1 = 1979-05-27t07:32:00\nd = 2000-02-29\nt = 00:32:00.5\nf = 1979-05-27T07:32:00.1234567\nm = 1979-05-27T07:32:00-00:00\n",
        "s = \"tab\\tq\\\"bs\\\\e\\u00E9U\\U0001F600 b\\b f\\f r\\r n\\n\"\nl = 'C:\\Users\\x \"q\"'\n",
        "s = \"\"\"\\\n    The quick \\\n\n   fox \\  \n  jumps\"\"\"\nt = \"\"\"\"\"x\"\"\"\"\"\nu = '''''x'''''\nv = '''\n\n'''\n",
        "fifteen = \"\"\"Here are fifteen quotation marks: \"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\".\"\"\"\nedge = \"\"\"\"This,\" she said, \"is just a pointless statement.\"\"\"\"\n",
        "a = [ 1, [2, \"x\"], [], { b = 1 }, 1979-05-27 ]\nb = [\n  1, # one\n  # alone\n\n  2\n  ,\n]\n",
        "p = { x = 1, y.z = 2, y.w = { v = [] } }\ne = {}\nq = {a=[1,\n2]}\n",
        "[a.b]\nc = 1\n[a]\nd = 2\n[[t]]\nn = 1\n[t.sub]\nm = 2\n[[t]]\nn = 2\n[[t]]\n",
        "[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true\n",
        "[a.b.c]\n[a]\nb.d = 1\n",
        "\"a.b\" = 1\n'c' = 2\n\"\" = 3\n1234 = 4\n3.14 = 5\n-_ = 6\ntrue = 7\n\"\\u00e9\" = 8\n",
        "[[a]]\n[a.b]\n[[a]]\n[a.b]\nx.y.z = 1\n[a.b.x.w]\n",
        "[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n[[fruits.varieties]]\nname = \"red delicious\"\n[[fruits]]\nname = \"banana\"\n[[fruits.varieties]]\nname = \"plantain\"\n",
        "a = 1\r\nb = \"\"\"x\r\ny\"\"\"\r\n# c\r\n",
        // Refused by both.
        "a = 1\na = 2\n",
        "[a]\nb.c = 1\n[a.b]\n",
        "[a.b]\n[a]\nb.c = 1\n",
        "[a.b.c]\n[a]\nb.d = 1\n[a.b]\n",
        "a = [1]\n[[a]]\n",
        "a = {b = 1}\n[a.c]\n",
        "a = { b = { c = 1 }, b.d = 2 }\n",
        "[[a]]\n[a]\n",
        "[a]\n[[a]]\n",
        "x = \"a\u{01}b\"\n",
        "x = 1 # bell \u{07}\n",
        "x = 1\r\n\ry = 2\n",
        "x = 01\n", "x = 1__0\n", "x = 0x\n", "x = -0x1\n", "x = 1.\n", "x = .5\n", "x = 1e_5\n", "x = 00.5\n",
        "x = 1979-02-29\n", "x = 1979-05-27T07:32:60Z\n", "x = 07:32\n", "x = 07:32:00Z\n",
        "x = \"\\q\"\n", "x = \"\\e\"\n", "x = \"\\uD800\"\n", "x = \"\"\"a\\  b\"\"\"\n", "x = \"\"\"a\"\"\"\"\"\"\n",
        "x = [,]\n", "x = {a = 1,}\n", "x = {a = 1\n}\n", "x = 1 y = 2\n", "[ [a]]\n", "[[a] ]\n", "\"\"\"a\"\"\" = 1\n", "ключ = 1\n",
    ]

    /// Runs tomllib on `documents` (one python process) and compares each with ours. (10,000
    /// mutations, seeds other than the test's, found only the 64-bit difference allowed here.)
    static func compareWithTomllib(_ documents: [String]) throws -> (accepted: Int, refused: Int, differences: [String]) {
        let dir = try TemporaryDirectory()
        let paths = try documents.indices.map { try dir.write("doc\($0).toml", documents[$0]) }
        let python = try run("/usr/bin/python3", ["-c", tomllibScript] + paths)
        #expect(python.status == 0, "\(python.stderr)")
        let lines = python.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == documents.count, "\(python.stderr)")
        var accepted = 0, refused = 0
        var differences: [String] = []
        for (document, line) in zip(documents, lines) {
            let theirs = String(line)
            let ours: String
            do { ours = "ok " + canonical(try read(document)) } catch { ours = "error \(error)" }
            if theirs.hasPrefix("ok ") { accepted += 1 } else { refused += 1 }
            // tomllib reads integers of any size; TOML (and containerd's Go readers) refuse past 64 bits.
            let agree = theirs.hasPrefix("ok ") ? ours == theirs || ours.hasSuffix("it does not fit in 64 bits") : ours.hasPrefix("error ")
            if !agree { differences.append("\(document.debugDescription)\n  tomllib: \(theirs.prefix(300))\n  ours:    \(ours.prefix(300))") }
        }
        return (accepted, refused, differences)
    }

    @Test("tricky documents: ours and Python's tomllib accept the same ones, with the same values",
        .enabled(if: hasTomllib, "needs python3 with tomllib (3.11 or later)"))
    func agreesWithTomllib() throws {
        let (accepted, refused, differences) = try Self.compareWithTomllib(Self.tricky)
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
        #expect(accepted >= 15 && refused >= 30, "accepted \(accepted), refused \(refused)")
    }

    /// `containerd config default` and the dotted-key seed, mutated: whatever either reader makes
    /// of each, the other makes the same.
    @Test("mutated containerd files: ours and tomllib agree on each", .enabled(if: hasTomllib, "needs python3 with tomllib (3.11 or later)"))
    func mutatedFilesAgreeWithTomllib() throws {
        var generator = SplitMix(seed: 0x544f_4d4c)
        let tokens = ["[", "]", "[[", "]]", "{", "}", "=", ",", ".", "\"", "'", "\"\"\"", "'''", "#", "\\", "\\u00e9", "\n", " ", "\t", "_", "0", "1e", "-", ":", "T", "true"]
        var documents: [String] = []
        for name in ["containerd-config-default.toml", "dotted-keys-and-inline.toml", "numbers-and-dates.toml", "array-of-tables-subtables.toml"] {
            let lines = try String(contentsOfFile: Self.corpus + "/" + name, encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false).map { Array($0) }
            for _ in 0..<150 {
                var mutated = lines
                for _ in 0..<(1 + Int(generator.next() % 2)) {
                    let row = Int(generator.next() % UInt64(mutated.count))
                    let at = Int(generator.next() % UInt64(mutated[row].count + 1))
                    switch generator.next() % 4 {
                    case 0: mutated[row].insert(contentsOf: tokens[Int(generator.next() % UInt64(tokens.count))], at: at)
                    case 1: if at < mutated[row].count { mutated[row].remove(at: at) }
                    case 2: mutated.insert(mutated[row], at: row)
                    default: mutated.remove(at: row)
                    }
                }
                documents.append(mutated.map { String($0) }.joined(separator: "\n"))
            }
        }
        let (accepted, refused, differences) = try Self.compareWithTomllib(documents)
        #expect(differences.isEmpty, "\(differences.count) differ:\n\(differences.prefix(10).joined(separator: "\n"))")
        #expect(accepted > 100 && refused > 100, "accepted \(accepted), refused \(refused)")
    }
}
