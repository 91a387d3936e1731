import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// STATUS and GC with a delegated IPAM plugin, against fake plugins (shell scripts) whose
/// every call is recorded: a CNI 1.1 plugin gets STATUS and GC with berth-cni's own stdin,
/// as the reference bridge plugin passes them on; a plugin that predates them (as Debian
/// 12's host-local 1.1.1, which refuses them with "missing containerID" or "unknown
/// CNI_COMMAND") neither blocks a STATUS nor fails a GC.
@Suite("berth-cni passes STATUS and GC on to a delegated IPAM plugin (kernel)", .enabled(if: try KernelTests.enabled))
struct CNIIPAMForwardingKernelTests {
    /// A fake IPAM plugin `type` in `directory`. It appends "COMMAND CONTAINERID IFNAME" to
    /// `directory/calls`, keeps each command's stdin in `directory/TYPE.stdin.COMMAND`, and
    /// answers VERSION with `versions`, each command in `answers` with its (stdout, exit
    /// status), and any other command as a pre-1.1 plugin does: code 3 without
    /// CNI_CONTAINERID, else code 4 "unknown CNI_COMMAND".
    static func fakePlugin(_ type: String, in directory: String, versions: [String],
                           answers: [String: (output: String, status: Int)]) throws {
        let cases = answers.map { command, answer in
            "\(command)) printf '%s' '\(answer.output)'; exit \(answer.status);;"
        }.joined(separator: "\n")
        let list = versions.map { "\"\($0)\"" }.joined(separator: ",")
        let script = """
            #!/bin/sh
            cat > '\(directory)/\(type).stdin.'"$CNI_COMMAND"
            echo "$CNI_COMMAND ${CNI_CONTAINERID-} ${CNI_IFNAME-}" >> '\(directory)/calls'
            case "$CNI_COMMAND" in
            VERSION) printf '%s' '{"cniVersion":"1.0.0","supportedVersions":[\(list)]}'; exit 0;;
            \(cases)
            esac
            if [ -z "${CNI_CONTAINERID-}" ]; then printf '%s' '{"code":3,"msg":"missing containerID"}'; exit 1; fi
            printf '%s' '{"code":4,"msg":"unknown CNI_COMMAND: '"$CNI_COMMAND"'"}'; exit 1

            """
        let path = directory + "/" + type
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    }

    /// A directory for fake plugins in the sandbox's state directory (CNI_PATH).
    static func pluginDirectory(_ sandbox: HostSandbox) throws -> String {
        let plugins = sandbox.stateDirectory + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        return plugins
    }

    static let newVersions = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]

    /// The GC tests' set-up: a CNI 1.1 IPAM plugin that leases `lease` and answers DEL and GC,
    /// and a network configuration delegating to it; returns the plugin directory and the
    /// configuration.
    static func gcPlugin(_ sandbox: HostSandbox, _ cni: CNIHarness) throws -> (plugins: String, config: String) {
        let plugins = try pluginDirectory(sandbox)
        try fakePlugin("ipam-new", in: plugins, versions: newVersions, answers: ["ADD": (lease, 0), "DEL": ("", 0), "GC": ("", 0)])
        return (plugins, cni.config("k8s", version: "1.1.0", extra: #""ipam":{"type":"ipam-new","ranges":[[{"subnet":"10.78.0.0/24"}]]}"#))
    }
    static let oldVersions = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"]
    static let lease = #"{"cniVersion":"1.1.0","ips":[{"address":"10.78.0.50/24","gateway":"10.78.0.1"}]}"#

    static func calls(_ directory: String) -> [String] {
        ((try? String(contentsOfFile: directory + "/calls", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    static func stdin(_ directory: String, _ type: String, _ command: String) -> String? {
        try? String(contentsOfFile: "\(directory)/\(type).stdin.\(command)", encoding: .utf8)
    }

    @Test("STATUS: a 1.1 plugin's STATUS runs with the same stdin; its code 50 is passed on; a missing plugin is code 50 naming it and CNI_PATH; a plugin that predates STATUS does not block")
    func status() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let plugins = try Self.pluginDirectory(sandbox)
            try Self.fakePlugin("ipam-ready", in: plugins, versions: Self.newVersions, answers: ["STATUS": ("", 0)])
            try Self.fakePlugin("ipam-full", in: plugins, versions: Self.newVersions,
                                answers: ["STATUS": (#"{"cniVersion":"1.1.0","code":50,"msg":"no address left in range 10.78.0.0/24"}"#, 1)])
            try Self.fakePlugin("ipam-locked", in: plugins, versions: Self.newVersions,
                                answers: ["STATUS": (#"{"cniVersion":"1.1.0","code":11,"msg":"lease store locked"}"#, 1)])
            try Self.fakePlugin("ipam-old", in: plugins, versions: Self.oldVersions, answers: [:])
            func config(_ type: String) -> String {
                cni.config("k8s", version: "1.1.0", extra: #""ipam":{"type":"\#(type)","ranges":[[{"subnet":"10.78.0.0/24"}]]}"#)
            }

            let ready = cni.run("STATUS", config("ipam-ready"), ifname: "", path: plugins)
            #expect(ready.status == 0 && ready.stdout.isEmpty, "\(ready)")
            #expect(Self.calls(plugins).contains("STATUS  "), "\(Self.calls(plugins))")
            #expect(Self.stdin(plugins, "ipam-ready", "STATUS") == config("ipam-ready"))

            let full = cni.run("STATUS", config("ipam-full"), ifname: "", path: plugins)
            #expect(full.status == 1 && full.code == 50, "\(full)")
            #expect(full.message.contains("no address left in range 10.78.0.0/24"), "\(full)")

            let locked = cni.run("STATUS", config("ipam-locked"), ifname: "", path: plugins)
            #expect(locked.code == 50 && locked.message.contains("lease store locked"), "\(locked)")

            let missing = cni.run("STATUS", config("ipam-absent"), ifname: "", path: plugins + ":/nonexistent")
            #expect(missing.code == 50, "\(missing)")
            let words = missing.message + " " + (missing.json?["details"]?.stringValue ?? "")
            #expect(words.contains("ipam-absent") && words.contains("CNI_PATH") && words.contains(plugins + ":/nonexistent"), "\(missing)")

            // Without CNI_CONTAINERID (as runtimes send STATUS) and with it.
            let old = cni.run("STATUS", config("ipam-old"), ifname: "", path: plugins)
            #expect(old.status == 0, "\(old)")
            let oldWithID = cni.run("STATUS", config("ipam-old"), containerID: "x", path: plugins)
            #expect(oldWithID.status == 0, "\(oldWithID)")
            #expect(Self.calls(plugins).contains("STATUS x eth0"), "\(Self.calls(plugins))")
        }
    }

    /// libcni's GCNetworkList sends an empty Go slice as null (CRI-O's list for a network
    /// with no live pod): nothing is valid then, as host-local reads it.
    @Test("GC with \"cni.dev/valid-attachments\": null removes every attachment and passes GC on")
    func garbageCollectionNullList() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let (plugins, config) = try Self.gcPlugin(sandbox, cni)
            let add = cni.run("ADD", config, containerID: "stale", netns: try sandbox.makeNamespace().path, path: plugins)
            try #require(add.status == 0, "\(add)")
            let gc = cni.run("GC", String(config.dropLast()) + #","cni.dev/valid-attachments":null,"cni.dev/attachments":null}"#, ifname: "", path: plugins)
            #expect(gc.status == 0 && gc.stdout.isEmpty, "\(gc)")
            #expect(Array(Self.calls(plugins).suffix(2)) == ["DEL stale eth0", "GC  "], "\(Self.calls(plugins))")
            #expect(cni.hostVeths().isEmpty)
            // "If an error is encountered, a plugin should continue" and pass GC on: Berth's
            // own part failing (a state directory that is a file) still reaches the plugin.
            let blocked = sandbox.stateDirectory + "/a-file"
            try #require(FileManager.default.createFile(atPath: blocked, contents: Data()))
            let broken = config.replacingOccurrences(of: #""stateDir":"\#(sandbox.stateDirectory)""#, with: #""stateDir":"\#(blocked)""#)
            try #require(broken != config)
            let failed = cni.run("GC", String(broken.dropLast()) + #","cni.dev/valid-attachments":[]}"#, ifname: "", path: plugins)
            #expect(failed.status == 1, "\(failed)")
            #expect(Self.calls(plugins).filter { $0 == "GC  " }.count == 2, "\(Self.calls(plugins))")
        }
    }

    /// An endpoint row changed outside Berth cannot be judged: a CNI attachment's is kept,
    /// reported, and kept valid for the IPAM plugin's GC (its veth still holds the address);
    /// a `berth attach` endpoint's fails no GC.
    @Test("GC with an unreadable endpoint row: a berth attach endpoint's is kept and fails nothing; a CNI attachment's is kept, reported, its lease not given back and its attachment added to the valid ones the plugin's GC gets")
    func garbageCollectionUnreadableRows() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let (plugins, config) = try Self.gcPlugin(sandbox, cni)
            let gcConfig = String(config.dropLast()) + #","cni.dev/valid-attachments":[]}"#
            let add = cni.run("ADD", config, containerID: "stale", netns: try sandbox.makeNamespace().path, path: plugins)
            try #require(add.status == 0, "\(add)")
            let ns = try #require(try sandbox.makeNamespace().name)
            let attach = sandbox.berth(["attach", "k8s", "--netns", ns, "--id", "cli1"])
            try #require(attach.succeeded, "\(attach)")
            try StateDatabase.execute("UPDATE endpoints SET mac = 'zz' WHERE id = 'cli1'", in: sandbox.stateDirectory)

            let gc = cni.run("GC", gcConfig, ifname: "", path: plugins)
            #expect(gc.status == 0 && gc.stdout.isEmpty, "\(gc)")
            #expect(Array(Self.calls(plugins).suffix(2)) == ["DEL stale eth0", "GC  "], "\(Self.calls(plugins))")
            #expect(Self.stdin(plugins, "ipam-new", "GC") == gcConfig)
            #expect(cni.hostVeths().count == 1, "cli1's veth stays")

            let broken = cni.run("ADD", config, containerID: "broken", netns: try sandbox.makeNamespace().path, path: plugins)
            try #require(broken.status == 0, "\(broken)")
            try StateDatabase.execute("UPDATE endpoints SET mac = 'zz' WHERE id = 'broken-eth0'", in: sandbox.stateDirectory)
            let calls = Self.calls(plugins).count
            let failed = cni.run("GC", gcConfig, ifname: "", path: plugins)
            #expect(failed.status == 1 && failed.message.hasPrefix("endpoint broken-eth0 could not be removed: "), "\(failed)")
            #expect(Array(Self.calls(plugins).dropFirst(calls)) == ["GC  "], "no DEL of its lease: \(Self.calls(plugins))")
            #expect(Self.stdin(plugins, "ipam-new", "GC") == String(gcConfig.dropLast(3)) + #"[{"containerID":"broken","ifname":"eth0"}]}"#)
            #expect(cni.hostVeths().count == 2, "both veths stay")
        }
    }

    /// The spec: a delegated plugin that succeeded is sent DEL before the upper plugin
    /// fails; a result Berth cannot use must not leave its lease held.
    @Test("ADD: an IPAM result Berth cannot use gets DEL before the error, and nothing is attached")
    func unusableResultReleased() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let plugins = try Self.pluginDirectory(sandbox)
            // An interface index without interfaces: not a usable result.
            try Self.fakePlugin("ipam-odd", in: plugins, versions: Self.newVersions,
                                answers: ["ADD": (#"{"cniVersion":"1.0.0","ips":[{"address":"10.78.0.5/24","interface":0}]}"#, 0), "DEL": ("", 0)])
            let config = cni.config("k8s", version: "1.0.0", extra: #""ipam":{"type":"ipam-odd","ranges":[[{"subnet":"10.78.0.0/24"}]]}"#)
            let add = cni.run("ADD", config, containerID: "c1", netns: try sandbox.makeNamespace().path, path: plugins)
            #expect(add.status == 1, "\(add)")
            #expect(add.message.contains("unusable result"), "\(add)")
            #expect(Self.calls(plugins) == ["ADD c1 eth0", "DEL c1 eth0"], "\(Self.calls(plugins))")
            #expect(cni.hostVeths().isEmpty)
        }
    }

    @Test("GC: the removed attachments' leases are given back one by one, then the plugin gets GC with the same stdin; a plugin that predates GC does not fail it; another failure of its GC is reported")
    func garbageCollection() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let plugins = try Self.pluginDirectory(sandbox)
            let answers: [String: (output: String, status: Int)] = ["ADD": (Self.lease, 0), "DEL": ("", 0)]
            try Self.fakePlugin("ipam-new", in: plugins, versions: Self.newVersions, answers: answers.merging(["GC": ("", 0)]) { a, _ in a })
            try Self.fakePlugin("ipam-old", in: plugins, versions: Self.oldVersions, answers: answers)
            try Self.fakePlugin("ipam-failing", in: plugins, versions: Self.newVersions,
                                answers: ["GC": (#"{"cniVersion":"1.1.0","code":11,"msg":"lease store locked"}"#, 1)])
            func config(_ type: String) -> String {
                cni.config("k8s", version: "1.1.0", extra: #""ipam":{"type":"\#(type)","ranges":[[{"subnet":"10.78.0.0/24"}]]}"#)
            }
            func gcConfig(_ type: String) -> String { String(config(type).dropLast()) + #","cni.dev/valid-attachments":[]}"# }

            let add = cni.run("ADD", config("ipam-new"), containerID: "stale", netns: try sandbox.makeNamespace().path, path: plugins)
            try #require(add.status == 0, "\(add)")
            #expect(add.address == "10.78.0.50")
            let gc = cni.run("GC", gcConfig("ipam-new"), ifname: "", path: plugins)
            #expect(gc.status == 0 && gc.stdout.isEmpty, "\(gc)")
            #expect(Array(Self.calls(plugins).suffix(2)) == ["DEL stale eth0", "GC  "], "\(Self.calls(plugins))")
            #expect(Self.stdin(plugins, "ipam-new", "GC") == gcConfig("ipam-new"))
            #expect(cni.hostVeths().isEmpty)

            let again = cni.run("ADD", config("ipam-old"), containerID: "stale2", netns: try sandbox.makeNamespace().path, path: plugins)
            try #require(again.status == 0, "\(again)")
            let oldGC = cni.run("GC", gcConfig("ipam-old"), ifname: "", path: plugins)
            #expect(oldGC.status == 0, "\(oldGC)")
            #expect(Self.calls(plugins).contains("DEL stale2 eth0"), "\(Self.calls(plugins))")
            #expect(cni.hostVeths().isEmpty)

            let failing = cni.run("GC", gcConfig("ipam-failing"), ifname: "", path: plugins)
            #expect(failing.status == 1 && failing.code == 11 && failing.message.contains("lease store locked"), "\(failing)")
        }
    }
}
