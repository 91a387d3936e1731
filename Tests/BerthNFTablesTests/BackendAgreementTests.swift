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
        return outcome
    }
}

@Suite("nftables backends agree (kernel)", .enabled(if: KernelTests.enabled))
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
            ])
        }
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
