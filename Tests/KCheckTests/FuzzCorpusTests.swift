import Foundation
import KCheckFuzzTargets
import Testing

/// Replays the committed fuzz corpora (fuzz/corpus/<target>/, docs/fuzzing.md) through the fuzz
/// targets: the seeds, and every input a fuzzer once crashed or hung on, stay regression tests.
/// A crash here is the test failing. Serialized: the journal target has one scratch tree.
@Suite("Fuzz corpora replayed", .serialized)
struct FuzzCorpusTests {
    static let corpus = Repo.root + "/fuzz/corpus"

    func inputs(_ target: FuzzTarget) throws -> [String] {
        let directory = Self.corpus + "/" + target.rawValue
        return try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { !$0.hasPrefix(".") }
            .sorted()
            .map { directory + "/" + $0 }
    }

    @Test(arguments: FuzzTarget.allCases)
    func replay(_ target: FuzzTarget) throws {
        let files = try inputs(target)
        #expect(!files.isEmpty, "fuzz/corpus/\(target.rawValue)/ holds no seed")
        for path in files {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            FuzzTarget.run(target, bytes)
        }
    }

    /// Every corpus directory is a target's: a misnamed one would never be replayed.
    @Test func everyCorpusDirectoryIsATarget() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus).filter { !$0.hasPrefix(".") }
        for name in names {
            #expect(FuzzTarget(rawValue: name) != nil, "fuzz/corpus/\(name) is not a fuzz target (\(FuzzTarget.allCases.map(\.rawValue)))")
        }
        #expect(Set(names) == Set(FuzzTarget.allCases.map(\.rawValue)))
    }

    /// Inputs that are not seeds also run: the empty input, and each seed cut in half.
    @Test(arguments: FuzzTarget.allCases)
    func truncatedSeeds(_ target: FuzzTarget) throws {
        FuzzTarget.run(target, [])
        for path in try inputs(target) {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            FuzzTarget.run(target, Array(bytes.prefix(bytes.count / 2)))
        }
    }
}
