// swift-tools-version:6.0
// The libFuzzer driver of kcheck's parsers (docs/fuzzing.md). A package of its own, so that the
// main build never sees a sanitizer flag: `fuzz/run.sh` builds it with
// `-Xswiftc -sanitize=fuzzer,address` for every module, which is what instruments the parsers in
// KCheckCore, KCheckNative and KCheckRuleLoader (flags in this manifest reach only its own target).
import PackageDescription

let package = Package(
    name: "kcheck-fuzz",
    dependencies: [
        // The main package, named so that the product below is found whatever the clone is called.
        .package(name: "kcheck", path: ".."),
    ],
    targets: [
        // kcheck_fuzz_main, the entry point SwiftPM links an executable target to: libFuzzer's driver.
        .target(name: "CFuzzMain"),
        .executableTarget(
            name: "kcheck-fuzz",
            dependencies: ["CFuzzMain", .product(name: "KCheckFuzzTargets", package: "kcheck")],
            swiftSettings: [.unsafeFlags(["-parse-as-library", "-sanitize=fuzzer,address"])],
            linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]),
    ]
)
