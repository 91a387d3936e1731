// swift-tools-version:6.1
import PackageDescription

// How Berth's executables link (docs/performance.md, start-up): libstdc++ and libgcc's
// unwinder statically (link/libstdc++.so, -static-libgcc: no libgcc_s.so.1 to load, whose
// constructor runs CPUID, a VM exit, a dozen times) and no -export-dynamic, so a process
// touches fewer pages and looks up fewer symbols before main. Only
// `swift build --static-swift-stdlib` links libstdc++ at all. Release builds also pass
// `--disable-local-rpath` (README, scripts/bench): without it SwiftPM sets RUNPATH $ORIGIN and
// ld.so looks for libmnl, libm and libc in 16 subdirectories beside the binary (glibc-hwcaps,
// tls, haswell…) before its cache: 41 system calls more per start, all failing. The binaries
// load nothing from beside them (`ldd`: libmnl, libm, libc, ld.so from the system).
let executableLinking: [LinkerSetting] = [
    .unsafeFlags([
        "-L\(Context.packageDirectory)/link", "-Xlinker", "--no-export-dynamic",
        "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
        "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/link/hot-symbols.order",
        "-Xlinker", "--no-warn-symbol-ordering",
        "-Xclang-linker", "-static-libgcc",
    ]),
]

// Dependencies point one way: C modules → BerthCore → BerthNamespace → BerthNetlink
// → BerthNFTables → BerthNetwork → adapters (BerthRun, BerthCNI, BerthOCIHook, BerthDNS, BerthLab) →
// the `berth` CLI, the `berth-cni` plugin, the `berth-oci-hook` hook and the `berth-lab` CLI;
// BerthConfine (cgroups, seccomp, capabilities) needs BerthCore and BerthNamespace and sits
// below BerthRun. See docs/architecture.md. Yams (YAML) is linked only into `berth-lab`, never
// into the binaries runtimes start per container.
let package = Package(
    name: "Berth",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Berth", targets: ["Berth"]),
        // `berth` is the lean binary (attach, detach, the supervisor, `lab`, --version: no
        // argument-parser, no Foundation); it execs `berth-cli`, beside it, for every other
        // command. The full CLI's target keeps the name `berth` (Sources/berth).
        .library(name: "BerthLab", targets: ["BerthLab"]),
        .executable(name: "berth", targets: ["berth-lean"]),
        .executable(name: "berth-cli", targets: ["berth"]),
        .executable(name: "berth-cni", targets: ["berth-cni"]),
        .executable(name: "berth-lab", targets: ["berth-lab"]),
        .executable(name: "berth-dns", targets: ["berth-dns"]),
        .executable(name: "berth-oci-hook", targets: ["berth-oci-hook"]),
        .executable(name: "berth-init", targets: ["berth-init"]),
    ],
    dependencies: [
        // Up to the next minor only: Sources/berth and Sources/berth-lab use its underscored
        // `_commandName`, which a minor release may change.
        .package(url: "https://github.com/apple/swift-argument-parser", .upToNextMinor(from: "1.8.2")),
        // Errno and FileDescriptor (EINTR-safe reads, open options) without Foundation.
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
    ],
    targets: [
        // C libraries, wrapped as system modules so nothing is vendored.
        .systemLibrary(name: "CMNL", pkgConfig: "libmnl", providers: [.apt(["libmnl-dev"])]),
        .systemLibrary(name: "CNFTNL"),
        .systemLibrary(name: "CSQLite"),
        // The few things Swift cannot declare or do safely: setns/unshare, and the
        // clone/pivot_root/exec sequence of a container.
        .target(name: "CBerthShim"),
        // argc and argv for the Swift runtime from glibc, so that no process reads
        // /proc/self/maps to find them (docs/performance.md, perf8). Executables only.
        .target(name: "CBerthArguments"),
        // epoll, signalfd and inotify, which the Glibc module does not import.
        .systemLibrary(name: "CBerthDNS", path: "Sources/CBerthDNS"),

        .target(name: "BerthCore"),
        .target(name: "BerthNamespace", dependencies: ["BerthCore", "CBerthShim", .product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "BerthNetlink", dependencies: ["BerthCore", "BerthNamespace", "CMNL"]),
        .target(name: "BerthNFTables", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "CNFTNL", "CMNL"]),
        .target(name: "BerthNetwork", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "BerthNFTables", "CSQLite", "CBerthShim", .product(name: "SystemPackage", package: "swift-system")]),
        // Limits and confinement of a container: capabilities, the seccomp profile and its BPF
        // compiler, cgroups. Pure Swift over files and values; BerthRun applies them.
        .target(name: "BerthConfine", dependencies: ["BerthCore", "BerthNamespace", "CBerthShim", .product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "BerthRun", dependencies: ["BerthCore", "BerthNamespace", "BerthNetwork", "BerthConfine", "CBerthShim"]),
        .target(name: "BerthCNI", dependencies: ["BerthCore", "BerthNamespace", "BerthNetwork"]),
        // The OCI runtime hook's logic; the executable only parses arguments and exits.
        .target(name: "BerthOCIHook", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "BerthNetwork", .product(name: "SystemPackage", package: "swift-system")]),
        // Labs: declarative topologies of namespaces and veth links, on Berth networks, with
        // containers. The YAML front end is a target of its own so that the library — and the
        // berth binary, whose gc and check find lab leftovers — stays free of Yams.
        .target(name: "BerthLab", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "BerthNetwork", "BerthRun", "CBerthShim"]),
        .target(name: "BerthLabFile", dependencies: ["BerthCore", "BerthNetlink", "BerthLab", .product(name: "Yams", package: "Yams")]),
        // The embedded resolver: DNS codec, name engine, event-loop server (docs/dns.md).
        .target(name: "BerthDNS", dependencies: ["BerthCore", "BerthNamespace", "BerthNetwork", "CBerthDNS"]),
        .target(name: "Berth", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "BerthNFTables", "BerthNetwork", "BerthConfine", "BerthRun", "BerthCNI", "BerthOCIHook"]),
        // What both front ends share without argument-parser: the hot-path parser and
        // commands, the wording of errors (CLIHints), stderr output, the version, the
        // hand-over to berth-cli and berth-lab.
        // Only the modules the hot path uses: the lean `berth` links what this target links,
        // and every module more is pages to map and relocate at each start (docs/performance.md).
        .target(name: "BerthCommandLine", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "BerthNetwork", "BerthRun"]),
        // Every command, parsed by argument-parser (product `berth-cli`).
        .executableTarget(
            name: "berth",
            dependencies: [
                "Berth", "BerthCommandLine", "BerthLab", "CBerthArguments",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: executableLinking
        ),
        // The `berth` binary a runtime runs per container (docs/performance.md).
        .executableTarget(name: "berth-lean", dependencies: ["BerthCore", "BerthCommandLine", "CBerthArguments"], linkerSettings: executableLinking),

        // The CNI plugin, started once per pod start and stop: BerthCNI only, no
        // argument-parser, no Foundation (docs/cni.md, start-up in docs/performance.md).
        .executableTarget(name: "berth-cni", dependencies: ["BerthCNI", "BerthNetwork", "CBerthArguments"], linkerSettings: executableLinking),

        .executableTarget(
            name: "berth-lab",
            dependencies: [
                "BerthCore", "BerthNetlink", "BerthNetwork", "BerthRun", "BerthLab", "BerthLabFile",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // The lab file parser under libFuzzer (scripts/fuzz-lab); a corpus replayer otherwise.
        .executableTarget(name: "berth-lab-fuzz", dependencies: ["BerthCore", "BerthLab", "BerthLabFile"]),

        .executableTarget(name: "berth-bench", dependencies: ["Berth"]),
        // The resolver process: lean (no argument-parser, no Foundation), one per host.
        .executableTarget(name: "berth-dns", dependencies: ["BerthDNS", "BerthCore", "BerthNetwork", "CBerthDNS", "CBerthArguments"], linkerSettings: executableLinking),
        // Started by runtimes per container: no argument-parser, no Foundation (see main.swift).
        .executableTarget(name: "berth-oci-hook", dependencies: ["BerthCore", "BerthNetwork", "BerthOCIHook", "CBerthArguments"], linkerSettings: executableLinking),
        // The PID 1 of `berth run --init` containers, exec'd inside the container's root
        // filesystem (spawn.c): C only, linked statically (no C library of the image's, no
        // Swift runtime: -nostartfiles leaves out swiftrt.o, which would pull it in).
        .executableTarget(name: "berth-init", dependencies: ["CBerthShim"],
                          linkerSettings: [.unsafeFlags(["-static-executable", "-nostartfiles"])]),

        // What the fuzzers check on every input of berth-cni, the hook's decoders and the DNS
        // codec (Fuzz/Properties). scripts/fuzz* compile these files into their libFuzzer
        // harnesses; the tests replay the committed corpora through them. No product links it.
        .target(name: "BerthFuzzProperties", dependencies: ["BerthCore", "BerthCNI", "BerthOCIHook", "BerthDNS"], path: "Fuzz/Properties"),

        // Test-only helpers: the host sandbox, process runner, TCP/UDP probes.
        .target(name: "BerthTestSupport", dependencies: ["BerthCore", "BerthNamespace", "CBerthShim", "CSQLite"], path: "Tests/BerthTestSupport"),
        // Test-only fake kernel (rtnetlink, sock_diag, ctnetlink, namespaces, sysctls, nftables)
        // behind a HostHandle, so policy code is tested without privilege.
        .target(name: "BerthFakes", dependencies: ["BerthCore", "BerthNamespace", "BerthNetlink", "BerthNFTables", "BerthNetwork", "BerthTestSupport"],
                path: "Tests/BerthFakes"),
        .testTarget(name: "BerthCoreTests", dependencies: ["BerthCore"]),
        .testTarget(name: "BerthNamespaceTests", dependencies: ["BerthNamespace", "BerthTestSupport"]),
        .testTarget(name: "BerthNetlinkTests", dependencies: ["BerthNetlink", "BerthTestSupport"]),
        .testTarget(name: "BerthNFTablesTests", dependencies: ["BerthNFTables", "BerthNetlink", "BerthTestSupport"]),
        .testTarget(name: "BerthNetworkTests", dependencies: ["BerthNetwork", "BerthTestSupport", "BerthFakes"]),
        .testTarget(name: "BerthConfineTests", dependencies: ["BerthConfine", "BerthTestSupport"]),
        .testTarget(name: "BerthRunTests", dependencies: ["BerthRun", "BerthConfine", "BerthTestSupport"]),
        .testTarget(name: "BerthLabTests", dependencies: ["BerthLab", "BerthLabFile", "berth-lab-fuzz", "BerthNetlink", "BerthNetwork", "BerthRun", "BerthTestSupport", "BerthFakes"]),
        .testTarget(name: "BerthDNSTests", dependencies: ["BerthDNS", "BerthCore", "BerthFuzzProperties", "BerthNamespace", "BerthNetwork", "BerthTestSupport"]),
        .testTarget(name: "BerthCLITests", dependencies: [
            "BerthTestSupport", "BerthCore", "BerthNetwork", "BerthRun", "berth", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "BerthCNITests", dependencies: ["BerthCNI", "BerthFuzzProperties", "BerthNetwork", "BerthNamespace", "BerthTestSupport", "BerthFakes"], exclude: ["libcni"], resources: [.copy("Fixtures")]),
        .testTarget(name: "BerthOCIHookTests", dependencies: ["BerthOCIHook", "BerthFuzzProperties", "BerthNetwork", "BerthTestSupport", "BerthFakes"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)

// A section per function (and, in C, per object) in release builds of Berth's own targets, so
// that lld can follow link/hot-symbols.order: it moves whole input sections only, and a
// whole-module Swift build (or a C file without -ffunction-sections) is one .text section per
// module, which the ordering file cannot split. Debug builds keep one section per file.
// Only when BERTH_FUNCTION_SECTIONS=1 (README's install, scripts/bench, demo, runtime.sh,
// gen-symbol-order): unsafe flags on a library target would make SwiftPM refuse the `Berth`
// product to a runtime that depends on this package by version. Every release build of one
// checkout should set it the same way, or SwiftPM rebuilds everything when it changes.
//
// The same release builds reach a concrete type's metadata through its accessor function
// rather than by mangled name: a generic type's first use by name (an array of a new element
// type, an optional's outlined copy) runs the runtime's demangler, about 11,000 instructions
// a type, 30-40 types in each attach (docs/performance.md, perf8).
let sectionPerFunctionSwift: [SwiftSetting] = [
    .unsafeFlags(["-Xfrontend", "-function-sections", "-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"],
                 .when(configuration: .release)),
]
let sectionPerFunctionC: [CSetting] = [.unsafeFlags(["-ffunction-sections", "-fdata-sections"], .when(configuration: .release))]
if Context.environment["BERTH_FUNCTION_SECTIONS"] == "1" {
    for target in package.targets where (target.type == .regular || target.type == .executable) && target.path == nil {
        target.swiftSettings = (target.swiftSettings ?? []) + sectionPerFunctionSwift
        target.cSettings = (target.cSettings ?? []) + sectionPerFunctionC
    }
}
