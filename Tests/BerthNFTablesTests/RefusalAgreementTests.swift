import BerthCore
import BerthNamespace
import BerthTestSupport
@testable import BerthNFTables
import Testing

/// What the kernel refuses although every module is there (EOPNOTSUPP for what the operation
/// is): the fake refuses the same, and both word it as such, never as a missing module.
enum RefusalScenario {
    static let table = Table(.ip, "berth-refuse")
    static let forward = table.chain("fwd", BaseChain(type: .filter, hook: .forward, priority: .filter))
    static let regular = table.chain("plain")

    /// Each refused transaction's "code: message", after the table and its chains were made.
    static func run(_ backend: any NFTablesBackend) throws -> [String] {
        var setup = Transaction()
        setup.add(.table(table))
        setup.add(.chain(forward))
        setup.add(.chain(regular))
        try backend.apply(setup)
        var refused: [Transaction] = []
        var dnat = Transaction()
        dnat.add(.rule(table.rule(in: forward.name, [.l4proto(6), .dnat(to: IPAddress("10.0.0.2")!, port: 80)])))
        refused.append(dnat)
        var masquerade = Transaction()
        masquerade.add(.rule(table.rule(in: forward.name, [.masquerade])))
        refused.append(masquerade)
        var natForward = Transaction()
        natForward.add(.chain(table.chain("natfwd", BaseChain(type: .nat, hook: .forward, priority: .dstnat))))
        refused.append(natForward)
        var natEarly = Transaction()
        natEarly.add(.chain(table.chain("natraw", BaseChain(type: .nat, hook: .prerouting, priority: .raw))))
        refused.append(natEarly)
        var jumpBase = Transaction()
        jumpBase.add(.rule(table.rule(in: regular.name, [.jump(forward.name)])))
        refused.append(jumpBase)
        var outcomes: [String] = []
        for transaction in refused {
            do {
                try backend.apply(transaction)
                outcomes.append("ok")
            } catch {
                outcomes.append("\(error.code): \(error.message)")
            }
        }
        return outcomes
    }

    static let expected = [
        "invalidArgument: add rule ip berth-refuse fwd meta l4proto tcp dnat to 10.0.0.2:80: dnat only works in a nat chain at prerouting or output, and chain fwd is 'type filter hook forward priority filter; policy accept;'",
        "invalidArgument: add rule ip berth-refuse fwd masquerade: masquerade only works in a nat chain at postrouting, and chain fwd is 'type filter hook forward priority filter; policy accept;'",
        "invalidArgument: add chain ip berth-refuse natfwd: a nat chain cannot hook forward (only prerouting, input, output or postrouting)",
        "invalidArgument: add chain ip berth-refuse natraw: a nat chain needs a priority above -200 (conntrack's), not -300",
        "invalidArgument: add rule ip berth-refuse plain jump fwd: fwd is a base chain; jump and goto lead only to regular chains",
    ]
}

@Suite("nftables refusals for what an operation is")
struct RefusalTests {
    @Test("the fake refuses nat in a filter chain, a nat chain at forward or before conntrack, a jump to a base chain")
    func fakeRefuses() throws {
        let outcomes = try RefusalScenario.run(FakeBackend())
        #expect(outcomes == RefusalScenario.expected)
    }

    @Test("a rule still carrying its handle is refused on add and insert, kept on replace")
    func handleRefused() throws {
        var rule = RefusalScenario.table.rule(in: "plain", [.accept])
        rule.handle = 4
        for verb in ["add", "insert"] {
            var transaction = Transaction()
            if verb == "add" { transaction.add(.rule(rule)) } else { transaction.insert(rule) }
            let error = try #require(transaction.validationError)
            #expect(error.code == .invalidArgument)
            #expect(error.message == "\(verb) rule in chain ip berth-refuse plain carries the handle 4 of a rule read back", "\(error)")
        }
        var replace = Transaction()
        replace.replace(rule)
        #expect(replace.validationError == nil)
    }
}

@Suite("nftables refusals agree (kernel)", .enabled(if: try KernelTests.enabled))
struct RefusalAgreementKernelTests {
    @Test("fake and kernel refuse the same operations with the same error, naming no module")
    func agree() throws {
        try withHostSandbox { sandbox in
            let kernel = try RefusalScenario.run(KernelBackend(namespace: sandbox.namespace))
            #expect(kernel == RefusalScenario.expected)
            #expect(kernel.allSatisfy { !$0.contains("lacks") })
        }
    }
}
