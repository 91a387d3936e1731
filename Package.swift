// swift-tools-version:6.1
import PackageDescription

// Dependencies point one way: C modules → BerthCore → BerthNamespace → BerthNetlink
// → BerthNFTables → … → the `berth` CLI. See docs/architecture.md.
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
        .systemLibrary(
            name: "CMNL",
            pkgConfig: "libmnl",
            providers: [.apt(["libmnl-dev"])]
        ),
        .systemLibrary(
            name: "CNFTNL",
            pkgConfig: "libnftnl",
            providers: [.apt(["libnftnl-dev"])]
        ),
        // The few things Swift cannot declare or do safely (setns/unshare need _GNU_SOURCE).
        .target(name: "CBerthShim"),

        .target(name: "BerthCore"),
        .target(name: "BerthNamespace", dependencies: ["BerthCore", "CBerthShim"]),
        .target(name: "BerthNetlink", dependencies: ["BerthCore", "BerthNamespace", "CMNL"]),
        .target(name: "BerthNFTables", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "CNFTNL", "CMNL"]),
        .target(name: "BerthRun", dependencies: ["BerthCore", "BerthNamespace", "CBerthShim"]),
        .target(name: "Berth", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "BerthNFTables"]),
        .executableTarget(
            name: "berth",
            dependencies: [
                "Berth",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Test-only helpers: the host sandbox, process runner, TCP exchange.
        .target(name: "BerthTestSupport", dependencies: ["BerthCore", "BerthNamespace", "CBerthShim"], path: "Tests/BerthTestSupport"),
        .testTarget(name: "BerthCoreTests", dependencies: ["BerthCore"]),
        .testTarget(name: "BerthNamespaceTests", dependencies: ["BerthNamespace", "BerthTestSupport"]),
        .testTarget(name: "BerthNetlinkTests", dependencies: ["BerthNetlink", "BerthTestSupport"]),
        .testTarget(name: "BerthNFTablesTests", dependencies: ["BerthNFTables", "BerthNetlink", "BerthTestSupport"]),
        .testTarget(name: "BerthRunTests", dependencies: ["BerthRun", "BerthTestSupport"]),
        .testTarget(name: "BerthCLITests", dependencies: ["BerthTestSupport", "BerthCore"]),
    ],
    swiftLanguageModes: [.v6]
)
