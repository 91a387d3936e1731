import BerthCore
import BerthNamespace
import BerthTestSupport
@testable import BerthNFTables
import Testing

/// The same transactions against the fake and the kernel: same dumps, same errors.
enum Scenario {
    struct Outcome: Equatable {
        var dumps: [String] = []
        /// `list(table:)` after each step, rendered ("" when the table is absent).
        var scoped: [String] = []
        var errors: [String] = []
    }

    static func run(_ backend: any NFTablesBackend, table name: String) throws -> Outcome {
        var outcome = Outcome()
        let (table, publish, wild, chains, _) = Fixture.publishTable(name)
        func attempt(_ tx: Transaction) throws {
            do {
                try backend.apply(tx)
                outcome.errors.append("ok")
            } catch {
                outcome.errors.append("\(error.code): \(error.message)")
            }
            outcome.dumps.append(try backend.dump(prefix: name))
            outcome.scoped.append(try backend.list(table: table).map(Renderer.table) ?? "")
        }
        try attempt(Fixture.publishTransaction(name))
        // create of an existing element: EEXIST naming the element.
        var create = Transaction()
        create.create(.element(Fixture.publishElements[0], in: publish))
        try attempt(create)
        // add of an existing identical element is fine; with other data it is refused.
        var same = Transaction()
        same.add(.element(Fixture.publishElements[1], in: publish))
        try attempt(same)
        var clash = Transaction()
        clash.add(.element(Element(Fixture.publishElements[1].key, [.ipv4(Fixture.ip("172.17.0.9")), .port(53)]), in: publish))
        try attempt(clash)
        // delete of a missing element; destroy of one is fine.
        let missing = Element([.ipv4(Fixture.ip("10.9.9.9")), .tcp, .port(1)], [.ipv4(Fixture.ip("172.17.0.2")), .port(1)])
        var delete = Transaction()
        delete.delete(.element(missing, in: publish))
        try attempt(delete)
        var destroy = Transaction()
        destroy.destroy(.element(missing, in: publish))
        destroy.destroy(.element(Fixture.publishElements[2], in: publish))
        try attempt(destroy)
        // Deleting a map a rule uses is refused; flushing it is not.
        var busy = Transaction()
        busy.delete(.set(publish))
        try attempt(busy)
        var flush = Transaction()
        flush.flush(publish)
        flush.flush(chains[3])
        try attempt(flush)
        // A chain that does not exist; a table created twice.
        var noChain = Transaction()
        noChain.add(.rule(table.rule(in: "nosuch", [.accept])))
        try attempt(noChain)
        var twice = Transaction()
        twice.create(.table(table))
        try attempt(twice)
        // Destroy of the whole table, twice.
        var gone = Transaction()
        gone.destroy(.table(table))
        gone.destroy(.table(table))
        _ = wild
        try attempt(gone)
        // Destroy forgives only the missing object itself: in a missing table, an element,
        // a map, a chain or a rule is ENOENT (nf_tables_delsetelem, _delset, _delchain and
        // _delrule look the table up first).
        func rule(in chain: String) -> Rule {
            var rule = table.rule(in: chain, [.accept])
            rule.handle = 1
            return rule
        }
        for object: Transaction.Object in [.element(Fixture.publishElements[0], in: publish), .set(publish), .chain(chains[0]),
                                           .rule(rule(in: chains[0].name))] {
            var orphan = Transaction()
            orphan.destroy(object)
            try attempt(orphan)
        }
        // The table back, empty: an element of a missing map is ENOENT; a rule of a
        // missing chain, and a missing rule, are forgiven.
        var back = Transaction()
        back.add(.table(table))
        try attempt(back)
        var noMap = Transaction()
        noMap.destroy(.element(Fixture.publishElements[0], in: publish))
        try attempt(noMap)
        var noRule = Transaction()
        noRule.destroy(.rule(rule(in: "nosuch")))
        try attempt(noRule)
        return outcome
    }
}

@Suite("nftables backends agree (kernel)", .enabled(if: try KernelTests.enabled))
struct BackendAgreementTests {
    @Test("fake and kernel give the same dumps and errors for the same transactions")
    func agree() throws {
        try withHostSandbox { sandbox in
            let name = "berth-agree"
            let fake = try Scenario.run(FakeBackend(), table: name)
            let kernel = try Scenario.run(KernelBackend(namespace: sandbox.namespace), table: name)
            #expect(fake.errors == kernel.errors)
            #expect(fake.dumps == kernel.dumps)
            #expect(fake.scoped == kernel.scoped)
            // Reading the one table gives what the whole listing holds for it, at every step.
            #expect(kernel.scoped == kernel.dumps)
            #expect(fake.errors == [
                "ok",
                "alreadyExists: create element to map ip berth-agree publish { 10.0.0.1 . tcp . 8080 comment \"c1\" : 172.17.0.2 . 80 }",
                "ok",
                "alreadyExists: add element to map ip berth-agree publish { 10.0.0.1 . udp . 53 : 172.17.0.9 . 53 }",
                "notFound: delete element from map ip berth-agree publish { 10.9.9.9 . tcp . 1 : 172.17.0.2 . 1 }",
                "ok",
                "kernel: delete map ip berth-agree publish",
                "ok",
                "notFound: add rule ip berth-agree nosuch accept",
                "alreadyExists: create table ip berth-agree",
                "ok",
                "notFound: destroy element from map ip berth-agree publish { 10.0.0.1 . tcp . 8080 comment \"c1\" : 172.17.0.2 . 80 }",
                "notFound: destroy map ip berth-agree publish",
                "notFound: destroy chain ip berth-agree prerouting",
                "notFound: destroy rule ip berth-agree prerouting handle 1",
                "ok",
                "notFound: destroy element from map ip berth-agree publish { 10.0.0.1 . tcp . 8080 comment \"c1\" : 172.17.0.2 . 80 }",
                "ok",
            ])
        }
    }

    @Test("reading elements by key: the same elements, data and comments from fake and kernel; missing keys, maps and tables hold none")
    func elementsByKey() throws {
        try withHostSandbox { sandbox in
            let name = "berth-keys"
            let fake = try Self.readKeys(FakeBackend(), table: name)
            let kernel = try Self.readKeys(KernelBackend(namespace: sandbox.namespace), table: name)
            #expect(fake == kernel)
            #expect(fake == [
                "",
                "publish 10.0.0.1 . udp . 53 : 172.17.0.3 . 53, publish 10.0.0.1 . tcp . 8080 comment \"c1\" : 172.17.0.2 . 80",
                "publish 9.0.0.1 . tcp . 1 : 172.17.0.3 . 1",
                "40 of 40, first wild tcp . 1000 comment \"r\" : 172.17.0.9 . 1000",
            ])
        }
    }

    @Test("a table deleted and made again numbers its rules from the start again, in both backends")
    func handlesRestart() throws {
        try withHostSandbox { sandbox in
            func handles(_ backend: any NFTablesBackend) throws -> [UInt64] {
                let table = Table(.ip, "berth-handles")
                var out: [UInt64] = []
                for _ in 0..<2 {
                    try backend.apply(Fixture.publishTransaction(table.name))
                    let read = try #require(try backend.list(table: table))
                    out += read.chains.flatMap { $0.rules.compactMap(\.handle) }
                    var gone = Transaction()
                    gone.delete(.table(table))
                    try backend.apply(gone)
                }
                return out
            }
            let fake = try handles(FakeBackend())
            let kernel = try handles(KernelBackend(namespace: sandbox.namespace))
            #expect(fake == kernel)
            #expect(fake.count == 26 && Array(fake.prefix(13)) == Array(fake.suffix(13)), "\(fake)")
        }
    }

    /// Reads keys of `table` as the steps of `elementsByKey` ask, each key only (no data
    /// or comment asked), and checks the generation comes from before the read.
    static func readKeys(_ backend: any NFTablesBackend, table name: String) throws -> [String] {
        let (_, publish, wild, _, _) = Fixture.publishTable(name)
        var out: [String] = []
        func read(_ wanted: [(Element, NFTSet)]) throws -> [(Element, NFTSet)] {
            let before = try backend.generation()
            let (generation, found) = try backend.elements(withKeysOf: wanted.map { (Element($0.0.key), $0.1) })
            #expect(generation == before)
            return found
        }
        func text(_ found: [(Element, NFTSet)]) -> String { found.map { "\($0.1.name) \($0.0.rendered)" }.joined(separator: ", ") }
        // No table yet.
        out.append(text(try read([(Fixture.publishElements[0], publish)])))
        try backend.apply(Fixture.publishTransaction(name))
        let missing = Element([.ipv4(Fixture.ip("10.9.9.9")), .tcp, .port(1)])
        out.append(text(try read([(missing, publish), (Fixture.publishElements[1], publish), (Fixture.publishElements[0], publish)])))
        var noMap = publish
        noMap.name = "nosuch"
        out.append(text(try read([(Fixture.publishElements[0], noMap), (Fixture.publishElements[2], publish), (missing, publish)])))
        // More keys than one request of the kernel's asks, missing ones among them.
        let range = (0..<40).map { Element([.tcp, .port(UInt16(1000 + $0))], [.ipv4(Fixture.ip("172.17.0.9")), .port(UInt16(1000 + $0))], comment: "r") }
        var add = Transaction()
        add.add(range, to: wild)
        try backend.apply(add)
        var wanted: [(Element, NFTSet)] = []
        for (index, element) in range.enumerated() {
            wanted.append((element, wild))
            if index % 7 == 0 { wanted.append((Element([.udp, .port(UInt16(1000 + index))]), wild)) }
        }
        let found = try read(wanted)
        out.append("\(found.count) of \(range.count), first \(found.first.map { "\($0.1.name) \($0.0.rendered)" } ?? "none")")
        #expect(found.map(\.0) == range)
        return out
    }

    @Test("destroy emulation (for kernels before 6.3) matches native destroy")
    func emulatedDestroy() throws {
        try withHostSandbox { sandbox in
            let name = "berth-emu"
            let native = try Scenario.run(KernelBackend(namespace: sandbox.namespace), table: name)
            let emulated = try Scenario.run(KernelBackend(namespace: sandbox.namespace, destroyMode: .emulated), table: name)
            #expect(native == emulated)
        }
    }
}
