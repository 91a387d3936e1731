// swift-tools-version:6.1
import PackageDescription

// Dependencies point one way: C modules → BerthCore → BerthNamespace → BerthNetlink
// → BerthNFTables → BerthNetwork → adapters (BerthRun, BerthCNI) → the `berth` CLI and
// the `berth-cni` plugin.
// See docs/architecture.md.
let package = Package(
    name: "Berth",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Berth", targets: ["Berth"]),
        .executable(name: "berth", targets: ["berth"]),
        .executable(name: "berth-cni", targets: ["berth-cni"]),
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
        .target(name: "BerthRun", dependencies: ["BerthCore", "BerthNamespace", "BerthNetwork", "CBerthShim"]),
        .target(name: "BerthCNI", dependencies: ["BerthCore", "BerthNamespace", "BerthNetwork"]),
        .target(name: "Berth", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "BerthNFTables", "BerthNetwork", "BerthRun", "BerthCNI"]),
        .executableTarget(
            name: "berth",
            dependencies: [
                "Berth",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // The CNI plugin, started once per pod start and stop: BerthCNI only, no
        // argument-parser, no Foundation (docs/cni.md, start-up in docs/performance.md).
        .executableTarget(name: "berth-cni", dependencies: ["BerthCNI"]),

        .executableTarget(name: "berth-bench", dependencies: ["Berth"]),

        // Test-only helpers: the host sandbox, process runner, TCP/UDP probes.
        .target(name: "BerthTestSupport", dependencies: ["BerthCore", "BerthNamespace", "CBerthShim"], path: "Tests/BerthTestSupport"),
        .testTarget(name: "BerthCoreTests", dependencies: ["BerthCore"]),
        .testTarget(name: "BerthNamespaceTests", dependencies: ["BerthNamespace", "BerthTestSupport"]),
        .testTarget(name: "BerthNetlinkTests", dependencies: ["BerthNetlink", "BerthTestSupport"]),
        .testTarget(name: "BerthNFTablesTests", dependencies: ["BerthNFTables", "BerthNetlink", "BerthTestSupport"]),
        .testTarget(name: "BerthNetworkTests", dependencies: ["BerthNetwork", "BerthTestSupport"]),
        .testTarget(name: "BerthRunTests", dependencies: ["BerthRun", "BerthTestSupport"]),
        .testTarget(name: "BerthCLITests", dependencies: ["BerthTestSupport", "BerthCore"]),
        .testTarget(name: "BerthCNITests", dependencies: ["BerthCNI", "BerthNetwork", "BerthNamespace", "BerthTestSupport"], exclude: ["libcni"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
