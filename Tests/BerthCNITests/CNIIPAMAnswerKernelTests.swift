import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// What berth-cni makes of a delegated IPAM plugin's answer (through the fake plugin of
/// CNIIPAMForwardingKernelTests): its error codes, and its DNS beside an empty `dns` of the
/// configuration.
@Suite("berth-cni: a delegated IPAM plugin's error codes and DNS (kernel)", .enabled(if: try KernelTests.enabled))
struct CNIIPAMAnswerKernelTests {
    private func setUp(_ sandbox: HostSandbox, add: (String, Int)) throws -> (cni: CNIHarness, plugins: String) {
        let plugins = try CNIIPAMForwardingKernelTests.pluginDirectory(sandbox)
        try CNIIPAMForwardingKernelTests.fakePlugin("ipam-answer", in: plugins, versions: CNIIPAMForwardingKernelTests.newVersions,
                                                    answers: ["ADD": add, "DEL": ("", 0), "CHECK": ("", 0)])
        return (CNIHarness(sandbox: sandbox), plugins)
    }

    @Test("a spec-defined code (1 to 99) is passed on; a plugin's own (100 and up), 0 or a negative one is 111 naming it in details, since Berth's 100+ codes mean other things",
          arguments: [(7, 7), (11, 11), (99, 99), (100, 111), (110, 111), (250, 111), (0, 111), (-3, 111)])
    func codes(code: Int, passed: Int) throws {
        try withHostSandbox { sandbox in
            let (cni, plugins) = try setUp(sandbox, add: (#"{"cniVersion":"1.1.0","code":\#(code),"msg":"no addresses left"}"#, 1))
            let add = cni.run("ADD", cni.config("k8s", extra: #""ipam":{"type":"ipam-answer"}"#), containerID: "pod1",
                              netns: try sandbox.makeNamespace().path, path: plugins)
            #expect(add.status == 1 && add.code == Int64(passed), "\(add)")
            #expect(add.message.contains("no addresses left"), "\(add)")
            if passed == 111 {
                #expect(add.json?["details"]?.stringValue?.contains("IPAM plugin code \(code): no addresses left") == true, "\(add)")
            }
            #expect(cni.hostVeths().isEmpty)
        }
    }

    @Test("an empty dns in the configuration does not hide the IPAM plugin's (the reference bridge applies the configuration's only when it sets something); a set one wins")
    func emptyDNS() throws {
        try withHostSandbox { sandbox in
            let lease = #"{"cniVersion":"1.1.0","ips":[{"address":"10.78.0.50/24","gateway":"10.78.0.1"}],"dns":{"nameservers":["10.78.0.53"]}}"#
            let (cni, plugins) = try setUp(sandbox, add: (lease, 0))
            let container = try sandbox.makeNamespace()
            for (index, dns) in [#"{}"#, #"{"nameservers":[],"search":[]}"#].enumerated() {
                let config = cni.config("k8s", extra: #""ipam":{"type":"ipam-answer"},"dns":\#(dns)"#)
                let add = cni.run("ADD", config, containerID: "pod\(index)", netns: container.path, path: plugins)
                try #require(add.status == 0, "\(add)")
                #expect(add.json?["dns"] == (try JSONValue(parsing: #"{"nameservers":["10.78.0.53"]}"#)), "\(dns): \(add)")
                #expect(cni.run("DEL", config, containerID: "pod\(index)", netns: container.path, path: plugins).status == 0)
            }
            let set = cni.config("k8s", extra: #""ipam":{"type":"ipam-answer"},"dns":{"domain":"cluster.local"}"#)
            let add = cni.run("ADD", set, containerID: "pod9", netns: container.path, path: plugins)
            try #require(add.status == 0, "\(add)")
            #expect(add.json?["dns"] == (try JSONValue(parsing: #"{"domain":"cluster.local"}"#)), "\(add)")
        }
    }

    @Test("the IPAM plugin starts with SIGPIPE at its default and no signal blocked, though berth-cni ignores SIGPIPE")
    func pluginSignals() throws {
        try withHostSandbox { sandbox in
            let plugins = try CNIIPAMForwardingKernelTests.pluginDirectory(sandbox)
            // The shell reads its own status with builtins: a child (grep) reading the
            // shell's would race dash, which blocks every signal while it waits for one.
            let script = """
                #!/bin/sh
                cat > /dev/null
                case "$CNI_COMMAND" in
                VERSION) printf '%s' '{"cniVersion":"1.0.0","supportedVersions":["1.0.0","1.1.0"]}'; exit 0;;
                ADD) while read -r key value; do case "$key" in SigIgn:|SigBlk:) printf '%s\\t%s\\n' "$key" "$value";; esac; done \\
                         < /proc/self/status > '\(plugins)/signals'
                     printf '%s' '{"cniVersion":"1.1.0","ips":[{"address":"10.78.0.50/24","gateway":"10.78.0.1"}]}'; exit 0;;
                esac
                exit 0

                """
            try script.write(toFile: plugins + "/ipam-signals", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: plugins + "/ipam-signals")
            let cni = CNIHarness(sandbox: sandbox)
            let add = cni.run("ADD", cni.config("k8s", extra: #""ipam":{"type":"ipam-signals"}"#), containerID: "pod1",
                              netns: try sandbox.makeNamespace().path, path: plugins)
            try #require(add.status == 0, "\(add)")
            let lines = try String(contentsOfFile: plugins + "/signals", encoding: .utf8).split(separator: "\n")
            func mask(_ name: String) -> UInt64? {
                lines.first { $0.hasPrefix(name + ":") }.flatMap { UInt64($0.split(separator: "\t").last ?? "", radix: 16) }
            }
            let ignored = try #require(mask("SigIgn"), "\(lines)")
            #expect(ignored & (1 << (13 - 1)) == 0, "SIGPIPE ignored in the plugin: \(lines)")
            #expect(mask("SigBlk") == 0, "\(lines)")
        }
    }
}
