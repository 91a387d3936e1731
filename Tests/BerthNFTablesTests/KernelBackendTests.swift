import BerthCore
import BerthNamespace
import BerthTestSupport
@testable import BerthNFTables
import Foundation
import Testing

@Suite("nftables kernel backend (kernel)", .enabled(if: try KernelTests.enabled))
struct KernelBackendTests {
    @Test("nft list table prints exactly what Berth renders")
    func nftAgrees() throws {
        try withHostSandbox { sandbox in
            let backend = try KernelBackend(namespace: sandbox.namespace)
            try backend.apply(Fixture.publishTransaction("berth-test"))
            let nft = sandbox.run(["nft", "list", "table", "ip", "berth-test"])
            try #require(nft.succeeded, "\(nft)")
            let berth = try backend.dump(.ip, "berth-test")
            #expect(berth == nft.stdout)
            #expect(berth == Fixture.publishText("berth-test"))
            // Rules come back with handles, in order.
            let rules = try #require(try backend.list().table(.ip, "berth-test")?.chains.first?.rules)
            #expect(rules.count == 4)
            #expect(rules.allSatisfy { $0.handle != nil })
        }
    }

    @Test("inet and ip6 tables round-trip through nft")
    func families() throws {
        try withHostSandbox { sandbox in
            let backend = try KernelBackend(namespace: sandbox.namespace)
            let inet = Table(.inet, "berth-inet", comment: "tc")
            let m6 = inet.map("m6", type: [.ipv6Address, .inetProto, .inetService], data: [.ipv6Address, .inetService])
            let ports = inet.set("ports", type: [.inetService], flags: .constant, comment: "sc")
            let chain = inet.chain("c", BaseChain(type: .nat, hook: .prerouting, priority: .dstnat + 3), comment: "cc")
            var tx = Transaction()
            tx.add(.table(inet))
            tx.add(.set(m6))
            tx.add(.set(ports))
            tx.add([Element([.port(443)]), Element([.port(80)])], to: ports)
            tx.add([Element([.ipv6(IPv6Address("fd00::1")!), .tcp, .port(80)], [.ipv6(IPv6Address("fd00::2")!), .port(8080)]),
                    Element([.ipv6(IPv6Address("::1")!), .udp, .port(5)], [.ipv6(IPv6Address("fd00::3")!), .port(5)])], to: m6)
            tx.add(.chain(chain))
            tx.add(.rule(inet.rule(in: "c", [.daddr(CIDR("1.1.1.1/32")!), .l4proto(6), .thDport(80), .dnat(to: IPAddress("2.2.2.2")!, port: 80)])))
            tx.add(.rule(inet.rule(in: "c", [.daddr(CIDR("fd00::1/128")!), .dnat(to: IPAddress("fd00::2")!)])))
            tx.add(.rule(inet.rule(in: "c", [.dnatMap(.ip6, key: [.ip6Daddr, .l4proto, .thDport], map: "m6")])))
            tx.add(.rule(inet.rule(in: "c", [.ctState(.new), .counter()])))
            tx.add(.rule(inet.rule(in: "c", [.saddr(CIDR("10.1.2.0/23")!), .accept])))
            let ip6 = Table(.ip6, "berth6")
            tx.add(.table(ip6))
            tx.add(.chain(ip6.chain("c", BaseChain(type: .nat, hook: .output, priority: .dstnat))))
            tx.add(.rule(ip6.rule(in: "c", [.daddr(CIDR("::1/128")!), .l4proto(6), .thDport(80), .dnat(to: IPAddress("fd00::2")!, port: 8080)])))
            try backend.apply(tx)
            for (family, name) in [("inet", "berth-inet"), ("ip6", "berth6")] {
                let nft = sandbox.run(["nft", "list", "table", family, name])
                try #require(nft.succeeded, "\(nft)")
                #expect(try backend.dump(Family(rawValue: family)!, name) == nft.stdout)
            }
        }
    }

    @Test("create of an existing element fails with EEXIST naming the operation")
    func createExisting() throws {
        try withHostSandbox { sandbox in
            let backend = try KernelBackend(namespace: sandbox.namespace)
            try backend.apply(Fixture.publishTransaction("berth-test"))
            let (_, publish, _, _, _) = Fixture.publishTable("berth-test")
            var tx = Transaction()
            tx.create(.element(Fixture.publishElements[1], in: publish))
            let error = try #require(throws: BerthError.self) { try backend.apply(tx) }
            #expect(error.code == .alreadyExists)
            #expect(error.message == "create element to map ip berth-test publish { 10.0.0.1 . udp . 53 : 172.17.0.3 . 53 }")
            #expect(String(describing: error).contains("File exists"))
        }
    }

    @Test("a batch whose third operation fails leaves nothing of the first two")
    func atomic() throws {
        try withHostSandbox { sandbox in
            let backend = try KernelBackend(namespace: sandbox.namespace)
            let table = Table(.ip, "berth-atomic")
            var tx = Transaction()
            tx.add(.table(table))
            tx.add(.chain(table.chain("c")))
            tx.add(.rule(table.rule(in: "c", [.jump("missing")])))
            let error = try #require(throws: BerthError.self) { try backend.apply(tx) }
            #expect(error.code == .notFound)
            #expect(error.message == "add rule ip berth-atomic c jump missing")
            #expect(try backend.list().table(.ip, "berth-atomic") == nil)
            let nft = sandbox.run(["nft", "list", "ruleset"])
            #expect(nft.succeeded && nft.stdout.isEmpty)
        }
    }

    @Test("the generation guard refuses a batch when the ruleset moved on")
    func generationGuard() throws {
        try withHostSandbox { sandbox in
            let backend = try KernelBackend(namespace: sandbox.namespace)
            let before = try backend.generation()
            var first = Transaction()
            first.add(.table(Table(.ip, "berth-gen")))
            try backend.apply(first, generation: before)
            #expect(try backend.generation() != before)
            var second = Transaction()
            second.add(.table(Table(.ip, "berth-gen2")))
            let error = try #require(throws: BerthError.self) { try backend.apply(second, generation: before) }
            #expect(error.code == .conflict)
            var attempts = 0
            try backend.applyGuarded { ruleset in
                attempts += 1
                var tx = Transaction()
                if ruleset.table(.ip, "berth-gen") != nil { tx.add(.table(Table(.ip, "berth-gen2"))) }
                return tx
            }
            #expect(attempts == 1)
            #expect(try backend.list().table(.ip, "berth-gen2") != nil)
        }
    }

    @Test("a concatenated DNAT map forwards a TCP connection to a container")
    func dnatForwards() throws {
        try withHostSandbox { sandbox in
            let container = try sandbox.makeNamespace()
            let ctrName = try #require(container.name)
            let host = "vh\(KernelTests.uniqueSuffix())".prefix(15)
            for argv in [
                ["ip", "link", "add", String(host), "type", "veth", "peer", "name", "eth0", "netns", ctrName],
                ["ip", "addr", "add", "172.31.0.1/24", "dev", String(host)],
                ["ip", "link", "set", String(host), "up"],
                ["ip", "addr", "add", "10.77.0.1/32", "dev", "lo"],
            ] {
                let r = sandbox.run(argv)
                try #require(r.succeeded, "\(argv): \(r)")
            }
            for argv in [["ip", "-n", ctrName, "addr", "add", "172.31.0.2/24", "dev", "eth0"],
                         ["ip", "-n", ctrName, "link", "set", "eth0", "up"],
                         ["ip", "-n", ctrName, "link", "set", "lo", "up"],
                         ["ip", "-n", ctrName, "route", "add", "default", "via", "172.31.0.1"]] {
                let r = Command.run(argv)
                try #require(r.succeeded, "\(argv): \(r)")
            }
            let server = try EchoServer(in: container, port: 8080, banner: "from-container")
            defer { server.stop() }

            let table = Table(.ip, "berth-dnat")
            let publish = table.map("publish", type: [.ipv4Address, .inetProto, .inetService], data: [.ipv4Address, .inetService])
            var tx = Transaction()
            tx.add(.table(table))
            tx.add(.set(publish))
            tx.add(.chain(table.chain("output", BaseChain(type: .nat, hook: .output, priority: .dstnat))))
            tx.add(.rule(table.rule(in: "output", [.dnatMap(.ip, key: [.ipDaddr, .l4proto, .thDport], map: "publish")])))
            tx.add(.element(Element([.ipv4(Fixture.ip("10.77.0.1")), .tcp, .port(9090)], [.ipv4(Fixture.ip("172.31.0.2")), .port(8080)]), in: publish))
            try KernelBackend(namespace: sandbox.namespace).apply(tx)

            let reply = try Probe.request(from: sandbox.namespace, to: "10.77.0.1", port: 9090)
            #expect(reply.contains("from-container"))
            // A key that is not in the map is not forwarded.
            #expect(throws: (any Error).self) { try Probe.request(from: sandbox.namespace, to: "10.77.0.1", port: 9091, timeout: 0.5) }
        }
    }

    @Test("numbers: 1,000-element transaction, one element into 10,000, one-element transaction with socket open/close")
    func numbers() throws {
        try withHostSandbox { sandbox in
            let table = Table(.ip, "berth-bench")
            let map = table.map("publish", type: [.ipv4Address, .inetProto, .inetService], data: [.ipv4Address, .inetService])
            func elements(_ range: Range<Int>, base: UInt32) -> [Element] {
                range.map { i in
                    Element([.ipv4(IPv4Address(base + UInt32(i / 60000))), .tcp, .port(UInt16(1 + i % 60000))],
                            [.ipv4(IPv4Address(0xAC11_0002)), .port(80)])
                }
            }
            let backend = try KernelBackend(namespace: sandbox.namespace)
            var setup = Transaction()
            setup.add(.table(table))
            setup.add(.set(map))
            try backend.apply(setup)

            func ms(_ body: () throws -> Void) rethrows -> Double {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            }
            func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

            var thousand: [Double] = []
            for run in 0..<5 {
                var tx = Transaction()
                tx.flush(map)
                tx.add(elements(0..<1000, base: 0x0A00_0000 + UInt32(run) << 8), to: map)
                thousand.append(try ms { try backend.apply(tx) })
            }
            var big = Transaction()
            big.flush(map)
            big.add(elements(0..<10000, base: 0x0A01_0000), to: map)
            let tenThousand = try ms { try backend.apply(big) }
            let listed = try backend.list().table(.ip, "berth-bench")?.sets.first?.elements.count
            #expect(listed == 10000)

            var one: [Double] = []
            for i in 0..<20 {
                var tx = Transaction()
                tx.add(elements(i..<(i + 1), base: 0x0B00_0000), to: map)
                one.append(try ms { try backend.apply(tx) })
            }
            var withSocket: [Double] = []
            for i in 0..<20 {
                var tx = Transaction()
                tx.add(elements(i..<(i + 1), base: 0x0C00_0000), to: map)
                withSocket.append(try ms { try KernelBackend(namespace: sandbox.namespace).apply(tx) })
            }
            print("""
            nft numbers (ms): 1000 elements in one transaction median \(median(thousand)) of \(thousand.map { Int($0 * 10) })/10; \
            10000 elements in one transaction \(tenThousand); \
            1 element into a map of 10000 median \(median(one)); \
            1-element transaction incl. socket open/close median \(median(withSocket))
            """)
        }
    }
}
