// The libFuzzer entry points: libFuzzer (linked by -sanitize=fuzzer) provides main. The parser is
// chosen once, at start, by KCHECK_FUZZ_TARGET (one of FuzzTarget's names).
#if canImport(Glibc)
import Glibc
#endif
import KCheckFuzzTargets

nonisolated(unsafe) private var target: FuzzTarget = .shell

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: " ")
    guard let value = getenv("KCHECK_FUZZ_TARGET"), let chosen = FuzzTarget(rawValue: String(cString: value)) else {
        let message = Array("kcheck-fuzz: set KCHECK_FUZZ_TARGET to one of: \(names)\n".utf8)
        _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(2)
    }
    target = chosen
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    FuzzTarget.run(target, bytes)
    return 0
}
