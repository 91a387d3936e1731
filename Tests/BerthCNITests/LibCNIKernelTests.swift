import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// libcni 1.1.2 (Debian's golang-github-appc-cni-dev, the library inside podman 4.3 and
/// containerd 1.6) drives berth-cni through a small Go program built here: proof that it
/// parses every result and error Berth prints.
@Suite("libcni drives berth-cni (kernel)", .enabled(if: try KernelTests.enabled && Prerequisite.installed(LibCNIDriver.available, "Go with libcni's sources (golang-go, golang-github-appc-cni-dev)")))
struct LibCNIKernelTests {
    @Test("AddNetworkList, CheckNetworkList, DelNetworkList in every version libcni speaks; errors arrive with Berth's code and message",
          arguments: Array(["0.3.0", "0.3.1", "0.4.0", "1.0.0"].enumerated()))
    func lifecycle(index: Int, version: String) throws {
        let driver = try LibCNIDriver.build()
        try withHostSandbox { sandbox in
            let work = sandbox.stateDirectory + "/libcni"
            let plugins = work + "/bin"
            try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: plugins + "/berth-cni", withDestinationPath: CNIHarness.binary)
            let conflist = work + "/net.conflist"
            try #"""
                {"cniVersion":"\#(version)","name":"lib\#(index)","plugins":[{"type":"berth-cni","subnet":"10.80.\#(index).0/24",
                 "stateDir":"\#(sandbox.stateDirectory)","capabilities":{"portMappings":true}}]}
                """#.write(toFile: conflist, atomically: true, encoding: .utf8)
            func run(_ command: String, _ id: String, _ netns: String, port: Int = 8090) -> CommandResult {
                sandbox.run([driver, command, conflist, id, netns, "eth0", work + "/cache", plugins, String(port)])
            }
            let first = try sandbox.makeNamespace(), second = try sandbox.makeNamespace()
            let server = try EchoServer(in: first, port: 80, banner: "lib")
            defer { server.stop() }

            let versions = run("VERSION", "v", first.path)
            #expect(versions.stdout == "[0.3.0 0.3.1 0.4.0 1.0.0 1.1.0]\n", "\(versions)")
            let add = run("ADD", "c1", first.path)
            try #require(add.succeeded, "\(add)")
            let result = try JSONValue(parsing: add.stdout)
            #expect(result["cniVersion"] == .string(version))
            #expect(result["ips"]?[0]?["address"] == .string("10.80.\(index).2/24"))
            #expect(result["interfaces"]?[2]?["sandbox"] == .string(first.path))
            #expect(try Probe.request(from: sandbox.namespace, to: "127.0.0.1", port: 8090, payload: "go") == "lib 10.80.\(index).1 go")
            if version >= "0.4.0" {
                let check = run("CHECK", "c1", first.path)
                #expect(check.succeeded, "\(check)")
            }
            let clash = run("ADD", "c2", second.path)
            #expect(!clash.succeeded)
            #expect(clash.stdout.hasPrefix("code 100: port tcp 0.0.0.0:8090"), "\(clash)")
            #expect(clash.stdout.contains("c1-eth0"), "\(clash)")
            #expect(run("DEL", "c2", second.path).succeeded)
            let del = run("DEL", "c1", first.path)
            #expect(del.succeeded, "\(del)")
            #expect(run("DEL", "c1", first.path).succeeded, "a second DEL succeeds")
            #expect(CNIHarness(sandbox: sandbox).hostVeths().isEmpty)

            try #"{"cniVersion":"\#(version)","name":"bad","plugins":[{"type":"berth-cni","ipMasq":false,"stateDir":"\#(sandbox.stateDirectory)"}]}"#
                .write(toFile: conflist, atomically: true, encoding: .utf8)
            let refused = run("ADD", "c3", first.path)
            #expect(refused.stdout == "code 2: \"ipMasq\": false is not supported by berth-cni\n", "\(refused)")
        }
    }
}

extension LibCNIKernelTests {
    @Test("a dual-stack network through libcni: the result with both families parses in every version, CHECK passes, DEL cleans up",
          arguments: Array(["0.3.1", "0.4.0", "1.0.0"].enumerated()))
    func dualStack(index: Int, version: String) throws {
        let driver = try LibCNIDriver.build()
        try withHostSandbox { sandbox in
            let work = sandbox.stateDirectory + "/libcni"
            let plugins = work + "/bin"
            try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: plugins + "/berth-cni", withDestinationPath: CNIHarness.binary)
            let conflist = work + "/net.conflist"
            try #"""
                {"cniVersion":"\#(version)","name":"dual\#(index)","plugins":[{"type":"berth-cni","subnet":"10.81.\#(index).0/24",
                 "ipv6Subnet":"fd00:81:\#(index + 1)::/64","stateDir":"\#(sandbox.stateDirectory)"}]}
                """#.write(toFile: conflist, atomically: true, encoding: .utf8)
            func run(_ command: String, _ netns: String) -> CommandResult {
                sandbox.run([driver, command, conflist, "c1", netns, "eth0", work + "/cache", plugins, "0"])
            }
            let container = try sandbox.makeNamespace()
            let add = run("ADD", container.path)
            try #require(add.succeeded, "\(add)")
            let result = try JSONValue(parsing: add.stdout)
            #expect(result["ips"]?[0]?["address"] == .string("10.81.\(index).2/24"), "\(add)")
            #expect(result["ips"]?[1]?["address"] == .string("fd00:81:\(index + 1)::2/64"), "\(add)")
            #expect(result["ips"]?[1]?["gateway"] == .string("fd00:81:\(index + 1)::1"), "\(add)")
            #expect(result["routes"]?[1]?["dst"] == .string("::/0"), "\(add)")
            if version >= "0.4.0" {
                let check = run("CHECK", container.path)
                #expect(check.succeeded, "\(check)")
            }
            #expect(run("DEL", container.path).succeeded)
            #expect(CNIHarness(sandbox: sandbox).hostVeths().isEmpty)
        }
    }
}

/// Builds the Go driver once per test process, offline, from Debian's libcni sources (Go's
/// cache makes a rebuild of an unchanged driver cheap).
enum LibCNIDriver {
    static let gopath = "/usr/share/gocode"

    static var available: Bool {
        FileManager.default.fileExists(atPath: gopath + "/src/github.com/containernetworking/cni/libcni")
            && Command.run(["sh", "-c", "command -v go"]).succeeded
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var built: String?

    static func build() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let built { return built }
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let source = here.appendingPathComponent("libcni/driver.go").path
        // Under the package's .build (ignored by git, removed with the build), not the temp
        // directory: one driver and Go cache for every test run, none left behind per run.
        let dir = here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/libcni-driver").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let output = dir + "/driver"
        let go = Command.run(["go", "build", "-o", output, source],
                             environment: ["GO111MODULE": "off", "GOPATH": gopath, "GOCACHE": dir + "/cache", "GOFLAGS": "", "CGO_ENABLED": "0"])
        guard go.succeeded else { throw FixtureError(description: "go build of the libcni driver failed: \(go)") }
        built = output
        return output
    }
}
