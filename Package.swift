// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "kcheck",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "kcheck", targets: ["kcheck"]),
        .library(name: "KCheckCore", targets: ["KCheckCore"]),
        // For the fuzz package (fuzz/): the parsers' libFuzzer targets. Not linked into kcheck.
        .library(name: "KCheckFuzzTargets", targets: ["KCheckFuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries: module maps only, with header-only shims for what Swift cannot import.
        .systemLibrary(
            name: "CPCRE2", pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"]), .yum(["pcre2-devel"])]),
        .systemLibrary(
            name: "COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"]), .yum(["openssl-devel"])]),
        .systemLibrary(name: "CKernel"),
        // The only Swift module that imports C: every pointer scoped, every return code checked.
        .target(name: "KCheckNative", dependencies: ["CPCRE2", "COpenSSL", "CKernel"]),
        // The engine: nodes and facts, rules, evaluation, reports. Never prints, never exits.
        .target(name: "KCheckCore", dependencies: ["KCheckNative"]),
        // Rule files (YAML) to rule values, with file:line:col errors. The YAML reader (in
        // KCheckCore, which reads the components' own YAML too) needs no Foundation: linking
        // Foundation would cost every run ~0.6 ms and the binary ~50 MB.
        .target(name: "KCheckRuleLoader", dependencies: ["KCheckCore"]),
        // The default profile, generated from rules/ by kcheck-rulegen: no YAML parse at start.
        .target(name: "KCheckProfile", dependencies: ["KCheckCore"]),
        .executableTarget(
            name: "kcheck",
            dependencies: [
                "KCheckCore", "KCheckRuleLoader", "KCheckProfile",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "kcheck-rulegen", dependencies: ["KCheckRuleLoader"]),
        // One fuzz target per parser of untrusted bytes (docs/fuzzing.md): libFuzzer drives them
        // from fuzz/, and the tests replay fuzz/corpus/. Not a dependency of the kcheck executable.
        .target(name: "KCheckFuzzTargets", dependencies: ["KCheckCore", "KCheckNative", "KCheckRuleLoader", "KCheckProfile"]),
        .testTarget(
            name: "KCheckTests",
            dependencies: [
                "KCheckCore", "KCheckRuleLoader", "KCheckProfile", "KCheckNative", "KCheckFuzzTargets",
                // The reference YAML reader that the tests hold KCheckRuleLoader's reader to.
                .product(name: "Yams", package: "Yams"),
            ]),
    ]
)
