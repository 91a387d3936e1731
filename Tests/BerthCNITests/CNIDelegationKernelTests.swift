import BerthCore
import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// Berth with Debian's reference plugins (containernetworking-plugins in /usr/lib/cni).
@Suite("berth-cni with the reference plugins: host-local IPAM, chained behind bridge (kernel)",
       .enabled(if: try KernelTests.enabled
                && Prerequisite.installed(FileManager.default.isExecutableFile(atPath: "/usr/lib/cni/host-local"), "/usr/lib/cni/host-local (containernetworking-plugins)")))
struct CNIDelegationKernelTests {
    @Test("ipam host-local: the address comes from its range, the lease is in its dataDir, DEL gives it back")
    func hostLocal() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let dataDir = sandbox.stateDirectory + "/host-local"
            let ipam = #""ipam":{"type":"host-local","dataDir":"\#(dataDir)","ranges":[[{"subnet":"10.78.0.0/24","rangeStart":"10.78.0.50","gateway":"10.78.0.1"}]]}"#
            let config = cni.config("k8s", extra: ipam + #","runtimeConfig":{"portMappings":[{"hostPort":8082,"containerPort":80}]}"#)
            let container = try sandbox.makeNamespace()
            let server = try EchoServer(in: container, port: 80, banner: "pod")
            defer { server.stop() }
            let add = cni.run("ADD", config, containerID: "pod1", netns: container.path)
            try #require(add.status == 0, "\(add)")
            #expect(add.address == "10.78.0.50")
            #expect(add.json?["ips"]?[0]?["gateway"] == "10.78.0.1")
            #expect(FileManager.default.fileExists(atPath: dataDir + "/k8s/10.78.0.50"))
            #expect(try Probe.request(from: sandbox.namespace, to: "127.0.0.1", port: 8082, payload: "x") == "pod 10.78.0.1 x")
            let check = cni.run("CHECK", CNIHarness.with(prevResult: add.stdout, config), containerID: "pod1", netns: container.path)
            #expect(check.status == 0, "\(check)")

            let del = cni.run("DEL", CNIHarness.with(prevResult: add.stdout, config), containerID: "pod1", netns: container.path)
            #expect(del.status == 0, "\(del)")
            #expect(!FileManager.default.fileExists(atPath: dataDir + "/k8s/10.78.0.50"))
            #expect(cni.hostVeths().isEmpty)
            // A refused attach gives the lease back too.
            let missing = cni.run("ADD", config, containerID: "pod2", netns: "/run/netns/bt-no-such-ns")
            #expect(missing.code == 4)
            #expect(!FileManager.default.fileExists(atPath: dataDir + "/k8s/10.78.0.50"))
            #expect(cni.run("ADD", String(config.dropLast()) + "}", containerID: "pod3", netns: container.path, path: "/nonexistent").code == 111)
            // A failing step of DEL (the IPAM plugin is not found) does not stop the others:
            // the endpoint is gone, the failure is reported once, and a retry finishes.
            let pod5 = cni.run("ADD", config, containerID: "pod5", netns: container.path)
            try #require(pod5.status == 0, "\(pod5)")
            let lease5 = try #require(pod5.address)
            let partial = cni.run("DEL", config, containerID: "pod5", netns: container.path, path: "/nonexistent")
            #expect(partial.status == 1 && partial.code == 111, "\(partial)")
            #expect(partial.stdout.split(separator: "\n").count == 1)
            #expect(cni.hostVeths().isEmpty)
            #expect(!sandbox.berthWitness(["ps"]).contains("pod5-eth0"))
            #expect(FileManager.default.fileExists(atPath: dataDir + "/k8s/" + lease5))
            #expect(cni.run("DEL", config, containerID: "pod5", netns: container.path).status == 0)
            #expect(!FileManager.default.fileExists(atPath: dataDir + "/k8s/" + lease5))
            // GC gives the leases of the attachments it removes back to the IPAM plugin.
            let gcConfig = cni.config("k8s", version: "1.1.0", extra: ipam)
            // STATUS: host-local 1.1.1 predates it (refuses it; its VERSION stops at 1.0.0), so
            // the network decides; a host-local missing from CNI_PATH is code 50.
            let status = cni.run("STATUS", gcConfig, ifname: "")
            #expect(status.status == 0, "\(status)")
            let noPlugin = cni.run("STATUS", gcConfig, ifname: "", path: "/nonexistent")
            #expect(noPlugin.code == 50 && noPlugin.message.contains("host-local"), "\(noPlugin)")
            let again = cni.run("ADD", gcConfig, containerID: "pod4", netns: container.path)
            try #require(again.status == 0, "\(again)")
            let leased = try #require(again.address)
            #expect(FileManager.default.fileExists(atPath: dataDir + "/k8s/" + leased))
            let gc = cni.run("GC", String(gcConfig.dropLast()) + #","cni.dev/valid-attachments":[]}"#)
            #expect(gc.status == 0, "\(gc)")
            #expect(!FileManager.default.fileExists(atPath: dataDir + "/k8s/" + leased))
            #expect(cni.hostVeths().isEmpty)
        }
    }

    @Test("chained behind bridge + host-local: publishes to prevResult's address, prints prevResult unchanged, CHECK and DEL")
    func chained() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let dataDir = sandbox.stateDirectory + "/host-local"
            let bridgeConfig = """
                {"cniVersion":"1.0.0","name":"chain","type":"bridge","bridge":"cnibr0","isGateway":true,"ipMasq":false,\
                "ipam":{"type":"host-local","dataDir":"\(dataDir)","ranges":[[{"subnet":"10.79.0.0/24","gateway":"10.79.0.1"}]],"routes":[{"dst":"0.0.0.0/0"}]}}
                """
            let container = try sandbox.makeNamespace()
            let server = try EchoServer(in: container, port: 80, banner: "chained")
            defer { server.stop() }
            let bridgeAdd = cni.run("ADD", bridgeConfig, containerID: "pod1", netns: container.path, plugin: "/usr/lib/cni/bridge")
            try #require(bridgeAdd.status == 0, "\(bridgeAdd)")
            let config = cni.config("chain", extra: #""runtimeConfig":{"portMappings":[{"hostPort":8083,"containerPort":80,"protocol":"tcp"}]}"#)
            let add = cni.run("ADD", CNIHarness.with(prevResult: bridgeAdd.stdout, config), containerID: "pod1", netns: container.path)
            try #require(add.status == 0, "\(add)")
            #expect(add.json == bridgeAdd.json, "prevResult must come back unchanged")
            let address = try #require(bridgeAdd.address)
            // Tagged with the state's instance, as an endpoint's element is.
            let element = cni.ruleset().split(separator: "\n").first { $0.contains("tcp . 8083 comment \"berth-endpoint pod1-eth0 @") }
            #expect(element?.contains("\" : \(address) . 80") == true, "\(cni.ruleset())")
            #expect(cni.hostVeths().isEmpty, "chained mode makes no veth")
            #expect(try Probe.request(from: sandbox.namespace, to: "127.0.0.1", port: 8083, payload: "a").hasPrefix("chained "))
            #expect(try Probe.request(from: sandbox.namespace, to: "10.79.0.1", port: 8083, payload: "b").hasPrefix("chained "))

            let withPrevious = CNIHarness.with(prevResult: bridgeAdd.stdout, config)
            #expect(cni.run("CHECK", withPrevious, containerID: "pod1", netns: container.path).status == 0)
            try #require(sandbox.run(["nft", "flush", "map", "ip", "berth", "publish_any"]).succeeded)
            let lost = cni.run("CHECK", withPrevious, containerID: "pod1", netns: container.path)
            #expect(lost.code == 110, "\(lost)")
            let reconcile = sandbox.berth(["reconcile"])
            #expect(reconcile.succeeded, "\(reconcile)")
            #expect(cni.run("CHECK", withPrevious, containerID: "pod1", netns: container.path).status == 0, "reconcile restores publications")

            #expect(cni.run("DEL", withPrevious, containerID: "pod1", netns: container.path).status == 0)
            #expect(!cni.ruleset().contains("pod1-eth0"))
            #expect(cni.run("DEL", bridgeConfig, containerID: "pod1", netns: container.path, plugin: "/usr/lib/cni/bridge").status == 0)
            // Without ports, chained ADD only hands prevResult on.
            let bare = cni.run("ADD", CNIHarness.with(prevResult: bridgeAdd.stdout, cni.config("chain")), containerID: "pod2", netns: container.path)
            #expect(bare.status == 0 && bare.json == bridgeAdd.json, "\(bare)")
        }
    }
}
