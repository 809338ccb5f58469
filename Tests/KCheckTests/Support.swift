import Foundation
import KCheckCore
import KCheckRuleLoader

/// Paths and helpers shared by the tests. Tests read the repository's own rules/ and fixtures/.
enum Repo {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    static let rules = root + "/rules"
    static let fixtures = root + "/fixtures/nodes"
    static let junitSchema = root + "/reports/junit-10.xsd"
    static let reportSchema = root + "/reports/kcheck-report.schema.json"
    static let clusterReportSchema = root + "/reports/kcheck-cluster-report.schema.json"

    /// The rules/ directory, loaded once through the YAML loader.
    static let profile: Profile = {
        do { return try RuleLoader.loadProfile(directory: rules, name: "guide-node") } catch {
            fatalError("rules/ does not load: \(error)")
        }
    }()

    static func fixture(_ name: String) -> String { fixtures + "/" + name }

    /// The kcheck executable built beside the test bundle.
    static let kcheck: String = {
        if let override = ProcessInfo.processInfo.environment["KCHECK_BINARY"] { return override }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // The test binary sits in .build/<triple>/debug/kcheckPackageTests.xctest (a file on Linux).
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("kcheck").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        return root + "/.build/debug/kcheck"
    }()
}

struct Run {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs a program with argv (no shell), with extra environment, and collects its output.
func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    process.environment = env
    let out = Pipe()
    // Standard error goes to a file, so neither stream can block the child while the other is read.
    let errPath = FileManager.default.temporaryDirectory.appendingPathComponent("kcheck-stderr-\(UUID().uuidString)").path
    FileManager.default.createFile(atPath: errPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: errPath) }
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    process.standardOutput = out
    process.standardError = err
    let stdin = input.map { _ in Pipe() }
    process.standardInput = stdin ?? FileHandle.nullDevice
    try process.run()
    if let stdin, let input {
        // Written from another thread: a large input must not block while the child's output fills its pipe.
        let writer = Thread {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try err.close()
    let errData = FileManager.default.contents(atPath: errPath) ?? Data()
    return Run(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

func kcheck(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
    try run(Repo.kcheck, arguments, environment: testCache.merging(environment) { $1 })
}

func kcheck(_ arguments: String..., environment: [String: String] = [:]) throws -> Run {
    try run(Repo.kcheck, arguments, environment: testCache.merging(environment) { $1 })
}

/// Where kcheck keeps its compressed copy for nodes (~/.cache/kcheck otherwise): in the build
/// directory, so tests leave nothing in root's home.
let testCache = ["XDG_CACHE_HOME": Repo.root + "/.build/test-cache"]

/// A fresh temporary directory, removed by the caller with `cleanup`.
final class TemporaryDirectory {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("kcheck-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes a file at a path relative to the directory, creating parents.
    @discardableResult
    func write(_ relative: String, _ text: String, mode: Int = 0o644) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: full)
        return full
    }

    func symlink(_ relative: String, to target: String) throws {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: full, withDestinationPath: target)
    }

    func mkdir(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: path + "/" + relative, withIntermediateDirectories: true)
    }
}

/// Validates a JSON document against the report schema with a real validator (python3-jsonschema).
func validateReportJSON(_ json: String) throws -> Run {
    let file = try TemporaryDirectory()
    return try validateReportFile(try file.write("report.json", json), schema: Repo.reportSchema)
}

/// Validates the JSON file at `path` against `schema` (itself checked first) with python3-jsonschema.
func validateReportFile(_ path: String, schema: String) throws -> Run {
    let script = """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1]))
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[2])))
        print("valid")
        """
    return try run("/usr/bin/python3", ["-c", script, schema, path])
}

/// Validates JUnit XML against the Jenkins xunit plugin's schema with xmllint.
func validateJUnit(_ xml: String) throws -> Run {
    let file = try TemporaryDirectory()
    let path = try file.write("report.xml", xml)
    return try run("/usr/bin/xmllint", ["--noout", "--schema", Repo.junitSchema, path])
}

/// The running-cluster rules that do not apply to a node before its components are installed, as
/// their own fixture expectations say (on centos7-prepared, the prepared node).
func notApplicableBeforeInstalling(_ profile: Profile) -> Int {
    profile.rules.filter { rule in rule.phase == .running && rule.tests.contains { $0.node == "centos7-prepared" && $0.status == .skip } }.count
}

/// Whether a text report has a result line for rule `id` with `status` (FAIL, PASS, WARN, ERROR,
/// SKIP), as the layout by area writes it: `  FAIL  critical swap.off  message`.
func hasLine(_ text: String, _ status: String, _ id: String) -> Bool {
    text.split(separator: "\n").contains { $0.hasPrefix("  \(status) ") && ($0 + " ").contains(" \(id) ") }
}
