// swift-tools-version:6.1
import PackageDescription

// Dependencies point one way: C modules → BerthCore → BerthNamespace → BerthNetlink
// → BerthNFTables → BerthNetwork → adapters (BerthRun) → the `berth` CLI; BerthConfine
// (cgroups, seccomp, capabilities) needs BerthCore and BerthNamespace and sits below BerthRun.
// See docs/architecture.md.
let package = Package(
    name: "Berth",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Berth", targets: ["Berth"]),
        .executable(name: "berth", targets: ["berth"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C libraries, wrapped as system modules so nothing is vendored.
        .systemLibrary(name: "CMNL", pkgConfig: "libmnl", providers: [.apt(["libmnl-dev"])]),
        .systemLibrary(name: "CNFTNL", pkgConfig: "libnftnl", providers: [.apt(["libnftnl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // The few things Swift cannot declare or do safely: setns/unshare, and the
        // clone/pivot_root/exec sequence of a container.
        .target(name: "CBerthShim"),

        .target(name: "BerthCore"),
        .target(name: "BerthNamespace", dependencies: ["BerthCore", "CBerthShim"]),
        .target(name: "BerthNetlink", dependencies: ["BerthCore", "BerthNamespace", "CMNL"]),
        .target(name: "BerthNFTables", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "CNFTNL", "CMNL"]),
        .target(name: "BerthNetwork", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "BerthNFTables", "CSQLite"]),
        // Limits and confinement of a container: capabilities, the seccomp profile and its BPF
        // compiler, cgroups. Pure Swift over files and values; BerthRun applies them.
        .target(name: "BerthConfine", dependencies: ["BerthCore", "BerthNamespace"]),
        .target(name: "BerthRun", dependencies: ["BerthCore", "BerthNamespace", "BerthNetwork", "BerthConfine", "CBerthShim"]),
        .target(name: "Berth", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "BerthNFTables", "BerthNetwork", "BerthConfine", "BerthRun"]),
        .executableTarget(
            name: "berth",
            dependencies: [
                "Berth",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .executableTarget(name: "berth-bench", dependencies: ["Berth"]),

        // Test-only helpers: the host sandbox, process runner, TCP/UDP probes.
        .target(name: "BerthTestSupport", dependencies: ["BerthCore", "BerthNamespace", "CBerthShim"], path: "Tests/BerthTestSupport"),
        .testTarget(name: "BerthCoreTests", dependencies: ["BerthCore"]),
        .testTarget(name: "BerthNamespaceTests", dependencies: ["BerthNamespace", "BerthTestSupport"]),
        .testTarget(name: "BerthNetlinkTests", dependencies: ["BerthNetlink", "BerthTestSupport"]),
        .testTarget(name: "BerthNFTablesTests", dependencies: ["BerthNFTables", "BerthNetlink", "BerthTestSupport"]),
        .testTarget(name: "BerthNetworkTests", dependencies: ["BerthNetwork", "BerthTestSupport"]),
        .testTarget(name: "BerthConfineTests", dependencies: ["BerthConfine", "BerthTestSupport"]),
        .testTarget(name: "BerthRunTests", dependencies: ["BerthRun", "BerthConfine", "BerthTestSupport"]),
        .testTarget(name: "BerthCLITests", dependencies: ["BerthTestSupport", "BerthCore"]),
    ],
    swiftLanguageModes: [.v6]
)
