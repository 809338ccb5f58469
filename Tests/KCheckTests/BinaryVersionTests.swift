import Foundation
import KCheckCore
import KCheckNative
import Testing

/// The binary-version reader (`BinaryScan`) on real executables compiled here, on the system's
/// own binaries, and on ELF images written by fixtures/elf.py; never executing any of them.
@Suite("BinaryVersion: a component's version from its own bytes")
struct BinaryVersionTests {
    static let k8sModules = """
        elf.modinfo_text("k8s.io/kubernetes/cmd/kubelet", ("k8s.io/kubernetes", "v1.16.6"), \
        [("github.com/gogo/protobuf", "v1.3.1", "h1:DqDEcV5aeaTmdFBePNpYsp3FrcVhDqzVs8VHVYBpl+7Y="), ("k8s.io/api", "v0.0.0")])
        """

    /// ELF images from fixtures/elf.py: name → a Python expression over the module `elf`.
    static func images(_ expressions: [(String, String)]) throws -> [String: [UInt8]] {
        let dir = try TemporaryDirectory()
        var script = "import sys\nsys.dont_write_bytecode = True\nsys.path.insert(0, \(pythonString(Repo.root + "/fixtures")))\nimport elf\n"
        for (name, expression) in expressions {
            script += "open(\(pythonString(dir.path + "/" + name)), 'wb').write(\(expression))\n"
        }
        let result = try run("/usr/bin/env", ["python3", "-c", script])
        #expect(result.status == 0, "\(result.stderr)")
        var out: [String: [UInt8]] = [:]
        for (name, _) in expressions {
            out[name] = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.path + "/" + name)))
        }
        return out
    }

    static func image(_ expression: String) throws -> [UInt8] {
        try #require(images([("image", expression)])["image"])
    }

    static func pythonString(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    /// The path with every symlink resolved (realpath(3)): MappedFile never follows a final one.
    static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func scan(_ bytes: [UInt8], _ needles: [String] = []) throws -> BinaryScan {
        switch BinaryScan.scan(LineArray(bytes), needles: needles) {
        case .success(let scan): return scan
        case .failure(let error): throw error
        }
    }

    static func mapped(_ path: String, _ needles: [String] = []) throws -> BinaryScan {
        let file = try MappedFile.map(path, limit: 1 << 30).get()
        switch BinaryScan.scan(file, needles: needles) {
        case .success(let scan): return scan
        case .failure(let error): throw error
        }
    }

    /// Compiles C source with cc into `dir`, with extra flags; the executable's path.
    static func compile(_ source: String, _ flags: [String], in dir: TemporaryDirectory, name: String) throws -> String {
        let file = try dir.write(name + ".c", source)
        let out = dir.path + "/" + name
        let result = try run("/usr/bin/env", ["cc", "-O0", "-o", out, file] + flags)
        #expect(result.status == 0, "cc: \(result.stderr)")
        return out
    }

    // MARK: Real executables

    @Test("a C program (dynamic and static) holds its version string in .rodata: found, another version is not")
    func compiledC() throws {
        let dir = try TemporaryDirectory()
        let source = """
            #include <stdio.h>
            const char version[] = "nginx/1.15.3";
            int main(void) { puts(version); return 0; }
            """
        for (name, flags) in [("dynamic", [String]()), ("static", ["-static"])] {
            let path = try Self.compile(source, flags, in: dir, name: name)
            let scan = try Self.mapped(path, ["nginx/1.15.3", "nginx/1.16.0", "nginx/1.15.30"])
            // A needle is a substring: with its C string's NUL it cannot match a longer version.
            #expect(try Self.mapped(path, ["nginx/1.15.3\u{0}", "nginx/1.15\u{0}"]).found == ["nginx/1.15.3\u{0}"])
            #expect(scan.format == .elf64)
            #expect(scan.machine == 62 && scan.architecture == "x86_64" && !scan.bigEndian)
            #expect(scan.found == ["nginx/1.15.3"], "\(name)")
            #expect(scan.goVersion == nil && scan.mainModule == nil && scan.goBuildInfoProblem == nil)
            guard case .sections(let names) = scan.searched else {
                Issue.record("\(name): searched \(scan.searched)")
                continue
            }
            #expect(names.contains(".rodata") && names.contains(".data"))
            // The same answer from the bytes in memory as from the mapped file.
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(try Self.scan(bytes, ["nginx/1.15.3", "nginx/1.16.0", "nginx/1.15.30"]) == scan)
        }
    }

    @Test("a string only in code (an immediate operand) is not in the string data")
    func compiledCodeOnly() throws {
        let dir = try TemporaryDirectory()
        // "ngin" as a 32-bit immediate: in .text, never in .rodata.
        let source = """
            #include <stdio.h>
            int main(void) { volatile unsigned x = 0x6e69676e; printf("%u\\n", x); return 0; }
            """
        let path = try Self.compile(source, [], in: dir, name: "code")
        let scan = try Self.mapped(path, ["ngin", "%u\n"])
        #expect(scan.found == ["%u\n"])
    }

    @Test("the system's own binaries scan without error and are not Go")
    func systemBinaries() throws {
        let candidates: [(String, String)] = [("/usr/bin/ssh", "OpenSSH_"), ("/bin/ls", "GNU coreutils"), ("/usr/bin/readelf", "GNU"), ("/bin/sh", "")]
        var scanned = 0
        for (path, needle) in candidates where FileManager.default.fileExists(atPath: path) {
            let real = Self.realPath(path)
            let needles = needle.isEmpty ? [] : [needle]
            let scan = try Self.mapped(real, needles + ["kcheck-never-here-\u{1F600}"])
            #expect(scan.format == .elf64 || scan.format == .elf32, "\(path)")
            #expect(scan.goVersion == nil && scan.goBuildInfoProblem == nil, "\(path)")
            #expect(scan.found == needles, "\(path): \(scan.found)")
            scanned += 1
        }
        #expect(scanned >= 2)
    }

    @Test("Go binaries on this machine, if any: the Go version and the main package from .go.buildinfo")
    func goBinariesOnThisMachine() throws {
        // Kubernetes' and Prometheus' own first, then any other (readelf names the section).
        let list = try run(
            "/bin/sh",
            [
                "-c",
                "for f in /usr/bin/kubectl /usr/bin/prometheus /usr/local/bin/* /usr/bin/*; do [ -f \"$f\" ] && readelf -S -W \"$f\" 2>/dev/null | grep -q '\\.go\\.buildinfo' && echo \"$f\"; done | head -3",
            ])
        var goBinaries: [String] = []
        for path in list.stdout.split(separator: "\n").map(String.init) where !goBinaries.contains(path) { goBinaries.append(path) }
        for link in goBinaries {
            let path = Self.realPath(link)  // MappedFile does not follow a final symlink
            let scan = try Self.mapped(path, ["runtime.main"])
            let version = try #require(scan.goVersion, "\(path): \(String(describing: scan.goBuildInfoProblem))")
            #expect(version.hasPrefix("go1.") || version.hasPrefix("devel"), "\(path): \(version)")
            #expect(scan.goBuildInfoProblem == nil, "\(path)")
            #expect(scan.goPackage != nil, "\(path)")
            #expect(scan.found == ["runtime.main"], "\(path)")
            // readelf's hex dump of the section shows the same version.
            let dump = try run("/usr/bin/env", ["readelf", "-p", ".go.buildinfo", path])
            #expect(dump.stdout.contains(version), "\(path)")
            if version.hasPrefix("go1.") && (Int(version.dropFirst(4).prefix { $0.isNumber }) ?? 0) >= 18 {
                #expect(scan.buildSettings.contains(BinaryScan.GoBuildSetting(key: "GOOS", value: "linux")), "\(path)")
            }
        }
    }

    // MARK: Go build info (fixtures/elf.py)

    @Test("Go ≥ 1.18 inline build info: the Go version, the package, the main module and its dependencies")
    func goInline() throws {
        let images = try Self.images([
            ("le64", "elf.elf([b'v1.26.3'], elf.go_buildinfo_118('go1.21.6', \(Self.k8sModules)))"),
            ("be64", "elf.elf([b'v1.26.3'], elf.go_buildinfo_118('go1.21.6', \(Self.k8sModules), big_endian=True), 'ppc64', big_endian=True)"),
            ("le32", "elf.elf([b'v1.26.3'], elf.go_buildinfo_118('go1.21.6', \(Self.k8sModules), ptr_size=4), 'arm', bits=32)"),
        ])
        for (name, bytes) in images.sorted(by: { $0.key < $1.key }) {
            let scan = try Self.scan(bytes, ["v1.26.3", "v1.16.6", "go1.21.6"])
            #expect(scan.goVersion == "go1.21.6", "\(name)")
            #expect(scan.goPackage == "k8s.io/kubernetes/cmd/kubelet")
            #expect(scan.mainModule == BinaryScan.GoModule(path: "k8s.io/kubernetes", version: "v1.16.6"))
            #expect(
                scan.dependencies == [
                    BinaryScan.GoModule(path: "github.com/gogo/protobuf", version: "v1.3.1", sum: "h1:DqDEcV5aeaTmdFBePNpYsp3FrcVhDqzVs8VHVYBpl+7Y="),
                    BinaryScan.GoModule(path: "k8s.io/api", version: "v0.0.0"),
                ])
            #expect(scan.goBuildInfoProblem == nil)
            // .go.buildinfo is a string section: the module's version and the Go version are in it.
            #expect(scan.found == ["v1.26.3", "v1.16.6", "go1.21.6"], "\(name)")
        }
        #expect(try Self.scan(images["le32"]!).format == .elf32)
        #expect(try Self.scan(images["be64"]!).bigEndian)
        #expect(try Self.scan(images["be64"]!).architecture == "ppc64")
    }

    @Test("Go 1.13–1.17 pointer build info: followed through virtual addresses, both byte orders and pointer sizes")
    func goPointer() throws {
        let images = try Self.images([
            ("le64", "elf.elf([b'v1.16.6'], elf.go_buildinfo_pointer('go1.13.5', \(Self.k8sModules)))"),
            ("be64", "elf.elf([b'v1.16.6'], elf.go_buildinfo_pointer('go1.13.5', \(Self.k8sModules), big_endian=True), 's390x', big_endian=True)"),
            ("le32", "elf.elf([b'v1.16.6'], elf.go_buildinfo_pointer('go1.13.5', \(Self.k8sModules), ptr_size=4), 'i386', bits=32)"),
            ("be32", "elf.elf([b'v1.16.6'], elf.go_buildinfo_pointer('go1.13.5', \(Self.k8sModules), ptr_size=4, big_endian=True), 'arm', bits=32, big_endian=True)"),
            // sstrip: no section headers; the blob is found at the start of the writable segment.
            ("sstripped", "elf.elf([b'v1.16.6'], elf.go_buildinfo_pointer('go1.13.5', \(Self.k8sModules)), section_headers=False)"),
        ])
        for (name, bytes) in images.sorted(by: { $0.key < $1.key }) {
            let scan = try Self.scan(bytes, ["v1.16.6"])
            #expect(scan.goVersion == "go1.13.5", "\(name): \(String(describing: scan.goBuildInfoProblem))")
            #expect(scan.goPackage == "k8s.io/kubernetes/cmd/kubelet", "\(name)")
            #expect(scan.mainModule?.version == "v1.16.6" && scan.dependencies.count == 2, "\(name)")
            #expect(scan.found == ["v1.16.6"], "\(name)")
        }
        #expect(try Self.scan(images["sstripped"]!).searched == .loadSegments(3))
    }

    @Test("module info variants: a GOPATH build (none), replaced modules, build lines, no frame, a bad line")
    func goModuleInfoVariants() throws {
        let modules = """
            'path\\tgo.etcd.io/etcd\\nmod\\tgo.etcd.io/etcd\\t(devel)\\t\\n=>\\t../etcd\\t\\t\\n\
            dep\\tgithub.com/a/b\\tv1.0.0\\th1:x=\\n=>\\tgithub.com/c/b\\tv1.0.1\\th1:y=\\n\
            build\\t-compiler=gc\\nbuild\\tCGO_ENABLED=0\\nfuture\\tline\\n'
            """
        let images = try Self.images([
            ("gopath", "elf.elf([b'3.4.3'], elf.go_buildinfo_pointer('go1.13.15', ''))"),
            ("replaced", "elf.elf([], elf.go_buildinfo_118('go1.22.1', \(modules)))"),
            ("unframed", "elf.elf([], elf.go_buildinfo_118('go1.22.1', 'path\\tx\\n', framed=False))"),
            ("badline", "elf.elf([], elf.go_buildinfo_118('go1.22.1', 'path\\tx\\nmod\\tx\\n=>\\tq\\tv\\ts\\ndep\\ta\\tv1\\n'))"),
        ])
        let gopath = try Self.scan(images["gopath"]!, ["3.4.3"])
        #expect(gopath.goVersion == "go1.13.15" && gopath.goPackage == nil && gopath.mainModule == nil && gopath.goBuildInfoProblem == nil)
        #expect(gopath.found == ["3.4.3"])

        let replaced = try Self.scan(images["replaced"]!)
        #expect(replaced.goPackage == "go.etcd.io/etcd")
        #expect(replaced.mainModule == BinaryScan.GoModule(path: "go.etcd.io/etcd", version: "(devel)", replacement: .init(path: "../etcd", version: "")))
        #expect(
            replaced.dependencies == [
                BinaryScan.GoModule(path: "github.com/a/b", version: "v1.0.0", sum: "h1:x=", replacement: .init(path: "github.com/c/b", version: "v1.0.1", sum: "h1:y="))
            ])
        #expect(replaced.buildSettings == [.init(key: "-compiler", value: "gc"), .init(key: "CGO_ENABLED", value: "0")])
        #expect(replaced.goBuildInfoProblem == nil)

        // Without Go's sentinels around it, the module info is none (as debug/buildinfo reads it).
        let unframed = try Self.scan(images["unframed"]!)
        #expect(unframed.goVersion == "go1.22.1" && unframed.goPackage == nil)

        // A module line with too few columns is passed over and named; the rest is read.
        let bad = try Self.scan(images["badline"]!)
        #expect(bad.goVersion == "go1.22.1" && bad.goPackage == "x" && bad.mainModule == nil)
        #expect(bad.dependencies == [BinaryScan.GoModule(path: "a", version: "v1")])
        #expect(bad.goBuildInfoProblem?.kind == .garbled)
        #expect(bad.goBuildInfoProblem?.message.contains("line 2") == true, "\(String(describing: bad.goBuildInfoProblem))")
    }

    @Test("build info that cannot be read: a problem with its place, the rest of the scan stands")
    func goBuildInfoProblems() throws {
        let big = "'x' * 70000"
        let images = try Self.images([
            // A pointer to an address no segment holds (as in a position-independent Go < 1.18 binary).
            ("unmapped", "elf.elf([b'v1.16.6'], elf.go_buildinfo_pointer('go1.13.5', '', address=0x7000))"),
            ("ptrsize", "elf.elf([b'v1.16.6'], elf.go_buildinfo_pointer('go1.13.5', '')[:14] + b'\\x03\\x00' + bytes(32))"),
            ("toolong", "elf.elf([b'v1.16.6'], elf.go_buildinfo_118('go1.21.0', 'path\\t' + \(big) + '\\n'))"),
            ("cut", "elf.elf([b'v1.16.6'], elf.go_buildinfo_118('go1.21.0', 'path\\tx\\n')[:40])"),
            ("nomagic", "elf.elf([b'v1.16.6'], b'\\x00' * 64)"),
            ("short", "elf.elf([b'v1.16.6'], elf.BUILDINFO_MAGIC + b'\\x08\\x02')"),
            ("manylines", "elf.elf([], elf.go_buildinfo_118('go1.21.0', 'path\\tx\\n' + 'build\\ta=b\\n' * 5000 + 'x\\n' * 6000))"),
        ])
        let expected: [String: BinaryScanError.Kind] = [
            "unmapped": .garbled, "ptrsize": .garbled, "toolong": .pastBound, "cut": .truncated, "nomagic": .garbled, "short": .truncated,
            "manylines": .pastBound,
        ]
        let buildinfoOffset = 0x1000  // elf.py lays the RW segment out at 0x1000 or 0x2000 in these small images
        for (name, bytes) in images.sorted(by: { $0.key < $1.key }) {
            let scan = try Self.scan(bytes, ["v1.16.6"])
            let problem = try #require(scan.goBuildInfoProblem, "\(name)")
            #expect(problem.kind == expected[name], "\(name): \(problem)")
            #expect(problem.offset >= buildinfoOffset && problem.offset < bytes.count, "\(name): \(problem)")
            switch name {
            case "manylines":  // the lines up to the bound are read
                #expect(scan.goVersion == "go1.21.0" && scan.goPackage == "x" && scan.buildSettings.count == 5000)
            case "toolong":  // the Go version stands; the module info past the bound is not read
                #expect(scan.goVersion == "go1.21.0" && scan.goPackage == nil)
            default:
                #expect(scan.goVersion == nil, "\(name)")
            }
            if name != "manylines" { #expect(scan.found == ["v1.16.6"], "\(name)") }
        }
    }

    // MARK: Where the needles are searched

    @Test("string sections only: not in .text, not across a section boundary; in .data and .noptrdata")
    func searchScope() throws {
        let images = try Self.images([
            ("text", "elf.elf([b'other'], text=b'\\x90nginx/1.15.3\\x90')"),
            ("straddle", "elf.elf([b'x'], extra_rodata=[('.rdata', b'yy nginx/1.1'), ('.noptrdata', b'5.3 zz')])"),
            ("data", "elf.elf([b'x'], data=b'\\x00nginx/1.15.3\\x00')"),
            ("noptrdata", "elf.elf([b'x'], extra_rodata=[('.noptrdata', b'nginx/1.15.3')])"),
            ("other", "elf.elf([b'x'], extra_rodata=[('.comment', b'nginx/1.15.3')])"),
            ("sstripped-text", "elf.elf([b'other'], text=b'\\x90nginx/1.15.3\\x90', section_headers=False)"),
        ])
        let needle = "nginx/1.15.3"
        #expect(try Self.scan(images["text"]!, [needle, "other"]).found == ["other"])
        let straddle = try Self.scan(images["straddle"]!, [needle, "nginx/1.1", "5.3 zz"])
        #expect(straddle.found == ["nginx/1.1", "5.3 zz"])
        #expect(straddle.searched == .sections([".rodata", ".rdata", ".noptrdata", ".data"]))
        #expect(try Self.scan(images["data"]!, [needle]).found == [needle])
        #expect(try Self.scan(images["noptrdata"]!, [needle]).found == [needle])
        #expect(try Self.scan(images["other"]!, [needle]).found == [])
        // Without section headers every PT_LOAD segment is searched, code too (older linkers
        // put .rodata in the code segment).
        let sstripped = try Self.scan(images["sstripped-text"]!, [needle])
        #expect(sstripped.found == [needle] && sstripped.searched == .loadSegments(3))
    }

    @Test("a file that is not ELF: searched whole up to 8 MiB, not at all past it")
    func notELF() throws {
        let script = Array("#!/bin/sh\nexec /opt/k8s/bin/kubelet.real \"$@\" # v1.16.6\n".utf8)
        let small = try Self.scan(script, ["v1.16.6", "v1.16.7"])
        #expect(small == BinaryScan(format: .notELF, found: ["v1.16.6"], searched: .wholeFile))
        var large = [UInt8](repeating: 0x20, count: BinaryScan.wholeFileLimit + 1)
        large.replaceSubrange(100..<107, with: Array("v1.16.6".utf8))
        #expect(try Self.scan(large, ["v1.16.6"]) == BinaryScan(format: .notELF, searched: .nothing))
        #expect(try Self.scan([], ["x"]) == BinaryScan(format: .notELF, searched: .wholeFile))
        #expect(try Self.scan(Array("\u{7f}EL".utf8), ["EL"]).found == ["EL"])
    }

    @Test("the needles' bounds: at most 16, each 1 to 256 bytes; duplicates are one")
    func needleBounds() throws {
        let bytes = Array("abc".utf8)
        for needles in [(0..<17).map { "n\($0)" }, [""], [String(repeating: "a", count: 257)]] {
            guard case .failure(let error) = BinaryScan.scan(LineArray(bytes), needles: needles) else {
                Issue.record("\(needles.count) needles accepted")
                continue
            }
            #expect(error.kind == .needles)
        }
        #expect(try Self.scan(bytes, ["abc", "abc", "b"]).found == ["abc", "b"])
        #expect(try Self.scan(bytes, (0..<15).map { "n\($0)" } + ["abc", "n0"]).found == ["abc"])
    }

    @Test("a 64 MiB .rodata is searched to its end for 16 needles, mapped (no timing asserted)")
    func largeImage() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/big"
        let script = """
            import sys
            sys.dont_write_bytecode = True
            sys.path.insert(0, \(Self.pythonString(Repo.root + "/fixtures")))
            import elf
            filler = bytes(range(32, 127)) * ((64 << 20) // 95)
            open(\(Self.pythonString(path)), 'wb').write(elf.elf([filler + b'nginx/1.15.3'], elf.go_buildinfo_118('go1.21.0', '')))
            """
        let made = try run("/usr/bin/env", ["python3", "-c", script])
        #expect(made.status == 0, "\(made.stderr)")
        let needles = ["nginx/1.15.3"] + (1...15).map { "kcheck-absent-needle-\($0)" }
        let scan = try Self.mapped(path, needles)
        #expect(scan.found == ["nginx/1.15.3"])
        #expect(scan.goVersion == "go1.21.0")
    }

    // MARK: Hostile images

    @Test("every prefix of small images: a scan or an error inside the file, never a crash; a cut ELF is an error")
    func truncatedAtEveryOffset() throws {
        let images = try Self.images([
            ("c", "elf.elf([b'nginx/1.15.3'], page=64)"),
            ("pointer32be", "elf.elf([b'3.4.3'], elf.go_buildinfo_pointer('go1.13.15', 'path\\tx\\n', ptr_size=4, big_endian=True), 's390x', bits=32, big_endian=True, page=64)"),
            ("sstripped", "elf.elf([b'v1.16.6'], elf.go_buildinfo_pointer('go1.13.5', ''), section_headers=False, page=64)"),
        ])
        for (name, bytes) in images.sorted(by: { $0.key < $1.key }) {
            #expect(try Self.scan(bytes, ["nginx/1.15.3"]).format != .notELF)
            for length in 0..<bytes.count {
                let cut = Array(bytes[..<length])
                switch BinaryScan.scan(LineArray(cut), needles: ["nginx/1.15.3", "go1.13"]) {
                case .success(let scan):
                    #expect(length < 4 && scan.format == .notELF, "\(name) cut to \(length): \(scan)")
                case .failure(let error):
                    #expect(length >= 4 && error.kind == .truncated && error.offset <= length, "\(name) cut to \(length): \(error)")
                }
            }
        }
    }

    @Test("every byte of small images garbled: a scan or an error inside the file, never a crash")
    func garbledAtEveryOffset() throws {
        let images = try Self.images([
            ("c32", "elf.elf([b'nginx/1.15.3'], bits=32, page=64)"),
            ("pointer", "elf.elf([b'v1.16.6'], elf.go_buildinfo_pointer('go1.13.5', \(Self.k8sModules)), page=64)"),
            ("inline-be", "elf.elf([b'v1.16.6'], elf.go_buildinfo_118('go1.20', \(Self.k8sModules), big_endian=True), 'ppc64', big_endian=True, page=64)"),
        ])
        var errors = 0
        for (name, bytes) in images.sorted(by: { $0.key < $1.key }) {
            for offset in bytes.indices {
                for value: UInt8 in [0xFF, 0x00, 0x80, bytes[offset] ^ 0x01] {
                    var garbled = bytes
                    garbled[offset] = value
                    switch BinaryScan.scan(LineArray(garbled), needles: ["nginx/1.15.3", "v1.16.6"]) {
                    case .success(let scan):
                        #expect(scan.found.count <= 2)
                    case .failure(let error):
                        errors += 1
                        #expect(error.offset >= 0 && error.offset <= garbled.count, "\(name) at \(offset) = \(value): \(error)")
                    }
                }
            }
        }
        #expect(errors > 0)
    }

    @Test("errors name the byte: the ELF class, the data encoding, a section header table past the end, a small entry size")
    func errorOffsets() throws {
        let c = try Self.image("elf.elf([b'nginx/1.15.3'])")
        func error(_ patch: (inout [UInt8]) -> Void) -> BinaryScanError? {
            var bytes = c
            patch(&bytes)
            if case .failure(let error) = BinaryScan.scan(LineArray(bytes), needles: []) { return error }
            return nil
        }
        func place(_ patch: (inout [UInt8]) -> Void) -> String {
            error(patch).map { "\($0.kind) at \($0.offset)" } ?? "no error"
        }
        #expect(error { $0[4] = 3 } == BinaryScanError(.garbled, at: 4, "the ELF class is 3, neither 1 (32-bit) nor 2 (64-bit)"))
        #expect(error { $0[5] = 0 }?.offset == 5)
        #expect(place { $0[40 + 7] = 0x7F } == "truncated at 40")  // e_shoff far past the end
        #expect(place { $0[58] = 16 } == "garbled at 40")  // e_shentsize 16
        #expect(place { $0[62] = 60 } == "garbled at 62")  // e_shstrndx past e_shnum
        #expect(place { $0[54] = 8 } == "garbled at 32")  // e_phentsize 8
        let description = try #require(error { $0[4] = 3 }).description
        #expect(description.hasPrefix("byte 4: "))
    }

    // MARK: Fuzz entry and corpus

    @Test("the fuzz entry holds on the seeds in fuzz/corpus/binary, their halves, and the empty input")
    func fuzzEntry() throws {
        let dir = Repo.root + "/fuzz/corpus/binary"
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted()
        #expect(names.count >= 5)
        BinaryScan.fuzz([])
        for name in names {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
            BinaryScan.fuzz(bytes)
            BinaryScan.fuzz(Array(bytes.prefix(bytes.count / 2)))
        }
    }

    @Test("fuzz/corpus/binary is what `python3 fixtures/elf.py corpus` writes")
    func corpusIsReproducible() throws {
        let dir = try TemporaryDirectory()
        let made = try run("/usr/bin/env", ["python3", Repo.root + "/fixtures/elf.py", "corpus", dir.path])
        #expect(made.status == 0, "\(made.stderr)")
        let committed = Repo.root + "/fuzz/corpus/binary"
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let fresh = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/" + name))
            let kept = try? Data(contentsOf: URL(fileURLWithPath: committed + "/" + name))
            #expect(kept == fresh, "fuzz/corpus/binary/\(name) differs from what elf.py writes")
        }
    }
}
