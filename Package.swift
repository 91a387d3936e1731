// swift-tools-version:6.1
import PackageDescription

// Dependencies point one way: C modules → BerthCore → BerthNamespace → BerthNetlink
// → BerthNFTables → BerthNetwork → adapters (BerthRun) → the `berth` CLI.
// See docs/architecture.md.
let package = Package(
    name: "Berth",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Berth", targets: ["Berth"]),
        .executable(name: "berth", targets: ["berth"]),
        .executable(name: "berth-dns", targets: ["berth-dns"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Errno and FileDescriptor (EINTR-safe reads, open options) without Foundation.
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // C libraries, wrapped as system modules so nothing is vendored.
        .systemLibrary(name: "CMNL", pkgConfig: "libmnl", providers: [.apt(["libmnl-dev"])]),
        .systemLibrary(name: "CNFTNL", pkgConfig: "libnftnl", providers: [.apt(["libnftnl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // The few things Swift cannot declare or do safely: setns/unshare, and the
        // clone/pivot_root/exec sequence of a container.
        .target(name: "CBerthShim"),
        // epoll, signalfd and inotify, which the Glibc module does not import.
        .systemLibrary(name: "CBerthDNS", path: "Sources/CBerthDNS"),

        .target(name: "BerthCore"),
        .target(name: "BerthNamespace", dependencies: ["BerthCore", "CBerthShim", .product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "BerthNetlink", dependencies: ["BerthCore", "BerthNamespace", "CMNL"]),
        .target(name: "BerthNFTables", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "CNFTNL", "CMNL"]),
        .target(name: "BerthNetwork", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "BerthNFTables", "CSQLite", .product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "BerthRun", dependencies: ["BerthCore", "BerthNamespace", "BerthNetwork", "CBerthShim"]),
        // The embedded resolver: DNS codec, name engine, event-loop server (docs/dns.md).
        .target(name: "BerthDNS", dependencies: ["BerthCore", "BerthNamespace", "CBerthDNS"]),
        .target(name: "Berth", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "BerthNFTables", "BerthNetwork", "BerthRun"]),
        .executableTarget(
            name: "berth",
            dependencies: [
                "Berth",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .executableTarget(name: "berth-bench", dependencies: ["Berth"]),
        // The resolver process: lean (no argument-parser, no Foundation), one per host.
        .executableTarget(name: "berth-dns", dependencies: ["BerthDNS", "BerthCore"]),

        // Test-only helpers: the host sandbox, process runner, TCP/UDP probes.
        .target(name: "BerthTestSupport", dependencies: ["BerthCore", "BerthNamespace", "CBerthShim"], path: "Tests/BerthTestSupport"),
        // Test-only fake kernel (rtnetlink, sock_diag, ctnetlink, namespaces, sysctls, nftables)
        // behind a HostHandle, so policy code is tested without privilege.
        .target(name: "BerthFakes", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "BerthNFTables", "BerthNetwork", "BerthTestSupport"],
                path: "Tests/BerthFakes"),
        .testTarget(name: "BerthCoreTests", dependencies: ["BerthCore"]),
        .testTarget(name: "BerthNamespaceTests", dependencies: ["BerthNamespace", "BerthTestSupport"]),
        .testTarget(name: "BerthNetlinkTests", dependencies: ["BerthNetlink", "BerthTestSupport"]),
        .testTarget(name: "BerthNFTablesTests", dependencies: ["BerthNFTables", "BerthNetlink", "BerthTestSupport"]),
        .testTarget(name: "BerthNetworkTests", dependencies: ["BerthNetwork", "BerthTestSupport", "BerthFakes"]),
        .testTarget(name: "BerthRunTests", dependencies: ["BerthRun", "BerthTestSupport"]),
        .testTarget(name: "BerthDNSTests", dependencies: ["BerthDNS", "BerthCore", "BerthNamespace", "BerthTestSupport"]),
        .testTarget(name: "BerthCLITests", dependencies: [
            "BerthTestSupport", "BerthCore", "BerthNetwork", "BerthRun", "berth", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
