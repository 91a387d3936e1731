import BerthCore
import BerthNamespace
import BerthNetwork
@testable import BerthRun
import BerthTestSupport
import Foundation
import Testing

/// Name resolution between `berth run` containers through the resolver Berth starts
/// (docs/dns.md): the real `berth-dns` beside the test binary, busybox clients.
@Suite("Name resolution with berth run (kernel)", .enabled(if: try KernelTests.enabled), .serialized)
struct DNSRunKernelTests {
    /// Runs `script` with `sh -c` in a container on `network`; returns what it printed.
    private func client(_ script: String, network: String, rootfs: BusyboxRootfs, manager: NetworkManager) throws -> String {
        let out = try OutputPipe()
        let process = ContainerSpec(command: ["sh", "-c", script], rootfs: rootfs.path, stdout: out.write, stderr: out.write)
        let container = try Container.run(RunOptions(process: process, network: .bridge(network), autoRemove: true), manager: manager)
        out.closeWrite()
        let output = out.readAll()
        _ = try container.wait()
        return output
    }

    private func resolves(_ name: String, network: String, rootfs: BusyboxRootfs, manager: NetworkManager) throws -> String {
        try client("nslookup \(name) 2>&1", network: network, rootfs: rootfs, manager: manager)
    }

    private func server(_ name: String, network: String, rootfs: BusyboxRootfs, manager: NetworkManager) throws -> RunningContainer {
        try Container.run(RunOptions(process: ContainerSpec(command: ["httpd", "-f", "-p", "80", "-h", "/www"], rootfs: rootfs.path),
                                     name: name, network: .bridge(network)), manager: manager)
    }

    @Test("two containers on one network reach each other by name; another network's names stay hidden; a stopped name goes, a restarted one has its new address")
    func containersByName() throws {
        try withHostSandbox { sandbox in
            try withRootfs { rootfs in
                try FileManager.default.createDirectory(atPath: rootfs.path + "/www", withIntermediateDirectories: true)
                try "hello from web\n".write(toFile: rootfs.path + "/www/index.html", atomically: true, encoding: .utf8)
                let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
                var running: [RunningContainer] = []
                defer { for container in running { _ = try? container.stop(timeout: .zero) } }
                let front = try manager.createNetwork(NetworkOptions(name: "front"))
                _ = try manager.createNetwork(NetworkOptions(name: "back"))
                #expect(front.dns)

                let web = try server("web", network: "front", rootfs: rootfs, manager: manager)
                running.append(web)
                let hidden = try server("hidden", network: "back", rootfs: rootfs, manager: manager)
                running.append(hidden)
                let webAddress = try #require(web.endpoint?.address)
                let hiddenAddress = try #require(hidden.endpoint?.address)
                let resolver = try #require(try manager.store.read { tx throws(BerthError) in try tx.resolver() })

                // Its short id is a name too, as in Docker.
                let webShortID = String(web.record.id.prefix(12))
                #expect(web.endpoint?.aliases == [webShortID])
                let output = try client("cat /etc/resolv.conf; nslookup web 2>&1; wget -q -O - http://web/ 2>&1; nslookup hidden 2>&1",
                                        network: "front", rootfs: rootfs, manager: manager)
                #expect(output.contains("nameserver \(try #require(front.gateway))"), "\(output)")
                #expect(output.contains("Address: \(webAddress)"), "\(output)")
                let byID = try resolves(webShortID, network: "front", rootfs: rootfs, manager: manager)
                #expect(byID.contains("Address: \(webAddress)"), "\(byID)")
                #expect(output.contains("hello from web"), "\(output)")
                #expect(!output.contains("\(hiddenAddress)"), "\(output)")

                // Stopped: the detach reloads the resolver, so the name goes at once.
                _ = try web.stop(timeout: .zero)
                var gone = false
                for _ in 0..<10 where !gone {
                    gone = !(try resolves("web", network: "front", rootfs: rootfs, manager: manager)).contains("Address: \(webAddress)")
                    if !gone { usleep(100_000) }
                }
                #expect(gone, "web still resolves after stop")

                // Its old address taken by another container, web comes back elsewhere.
                let filler = try Container.run(RunOptions(process: ContainerSpec(command: ["sleep", "100"], rootfs: rootfs.path),
                                                          name: "filler", network: .bridge("front"), address: webAddress), manager: manager)
                running.append(filler)
                try Container.remove("web", manager: manager)
                let again = try server("web", network: "front", rootfs: rootfs, manager: manager)
                running.append(again)
                let newAddress = try #require(again.endpoint?.address)
                #expect(newAddress != webAddress)
                let after = try resolves("web", network: "front", rootfs: rootfs, manager: manager)
                #expect(after.contains("Address: \(newAddress)") && !after.contains("Address: \(webAddress)"), "\(after)")
                #expect(try manager.store.read { tx throws(BerthError) in try tx.resolver() } == resolver, "one resolver served it all")

                for container in [again, hidden, filler] { _ = try container.stop(timeout: .zero) }
                running = []
                for name in ["web", "hidden", "filler"] { try Container.remove(name, manager: manager) }
                try manager.removeNetwork(named: "front")
                try manager.removeNetwork(named: "back")
                _ = try manager.gc()
                waitGone(resolver)
                #expect(!sandbox.witness(["ss", "-lnu"]).contains(":53 "), "nothing listens on port 53 afterwards")
                #expect(kill(resolver.pid, 0) != 0 || ProcessStartTime(pid: resolver.pid) != resolver.startTime, "the resolver ended")
            }
        }
    }

    @Test("kill -9 the resolver: check reports it, reconcile and the next attach bring it back; gc with no DNS network left stops it")
    func resolverLifecycle() throws {
        try withHostSandbox { sandbox in
            try withRootfs { rootfs in
                let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
                _ = try manager.createNetwork(NetworkOptions(name: "front"))
                _ = try manager.createNetwork(NetworkOptions(name: "plain", dns: false))
                var running: [RunningContainer] = []
                defer { for container in running { _ = try? container.stop(timeout: .zero) } }
                let first = try Container.run(RunOptions(process: ContainerSpec(command: ["sleep", "100"], rootfs: rootfs.path),
                                                         name: "one", network: .bridge("front")), manager: manager)
                running.append(first)
                let started = try #require(try manager.store.read { tx throws(BerthError) in try tx.resolver() })
                #expect(sandbox.run(["ss", "-lnu"]).stdout.contains(":53 "))

                // A LAN peer routing the network to the host cannot query its resolver.
                let front = try manager.network(named: "front")
                let lan = try sandbox.makeLANNeighbor()
                try lan.route(try #require(front.subnet).description)
                let address = try #require(first.endpoint?.address)
                let peer = Command.run(["nsenter", "--net=\(lan.namespace.path)", "--", "timeout", "3", "busybox", "nslookup", "one", "\(try #require(front.gateway))"])
                #expect(!peer.stdout.contains("\(address)"), "\(peer)")
                let inside = try client("nslookup one 2>&1", network: "front", rootfs: rootfs, manager: manager)
                #expect(inside.contains("Address: \(address)"), "the same query from the network is answered: \(inside)")

                kill(started.pid, SIGKILL)
                waitGone(started)
                #expect(try manager.check().contains { $0.object.hasPrefix("resolver") })
                let report = try manager.reconcile()
                #expect(report.restored.contains { $0.object.hasPrefix("resolver") })
                let restarted = try #require(try manager.store.read { tx throws(BerthError) in try tx.resolver() })
                #expect(restarted != started && kill(restarted.pid, 0) == 0)
                #expect(try manager.check().isEmpty)

                kill(restarted.pid, SIGKILL)
                waitGone(restarted)
                let second = try Container.run(RunOptions(process: ContainerSpec(command: ["sleep", "100"], rootfs: rootfs.path),
                                                          name: "two", network: .bridge("front")), manager: manager)
                running.append(second)
                let third = try #require(try manager.store.read { tx throws(BerthError) in try tx.resolver() })
                #expect(third != restarted && kill(third.pid, 0) == 0, "the next attach started it again")

                for container in [first, second] { _ = try container.stop(timeout: .zero) }
                running = []
                for name in ["one", "two"] { try Container.remove(name, manager: manager) }
                try manager.removeNetwork(named: "front")
                _ = try manager.gc()
                waitGone(third)
                #expect(kill(third.pid, 0) != 0 || ProcessStartTime(pid: third.pid) != third.startTime)
                #expect(try manager.store.read { tx throws(BerthError) in try tx.resolver() } == nil)
                #expect(!sandbox.witness(["ss", "-lnu"]).contains(":53 "), "nothing listens afterwards")
                try manager.removeNetwork(named: "plain")
            }
        }
    }

    /// Waits (bounded) until `process` is gone: a signalled process takes a moment to exit.
    private func waitGone(_ process: ResolverProcess) {
        for _ in 0..<100 where ProcessStartTime(pid: process.pid) == process.startTime { usleep(20_000) }
    }
}

/// Field 22 of /proc/PID/stat, or nil once the process is gone or a zombie.
private func ProcessStartTime(pid: Int32) -> UInt64? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { return nil }
    let fields = text[text.index(after: close)...].split(separator: " ")
    guard fields.count > 19, fields[0] != "Z" else { return nil }
    return UInt64(fields[19])
}
