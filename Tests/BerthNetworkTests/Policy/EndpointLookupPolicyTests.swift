import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import Testing

/// How the library finds an endpoint by id: exactly, unless the caller asks for a CLI's
/// short forms (`EndpointShortID`).
@Suite("Endpoint lookup by id (fake kernel)")
struct EndpointLookupPolicyTests {
    @Test("endpoint(_:) and check(id:) take an id exactly; the start of a generated id is found only with acceptingShortID")
    func exactUnlessAskedForShortID() throws {
        let host = try FakeHost()
        try host.network()
        host.kernel.addNamespace("c1")
        let generated = try host.manager.attach(AttachOptions(network: "web", namespace: .name("c1")))
        #expect(generated.id.count == 64)
        let short = String(generated.id.prefix(12))

        #expect(refusal { _ = try host.manager.endpoint(short) }?.code == .notFound, "a runtime's id that starts a generated one is not that one")
        #expect(refusal { _ = try host.manager.check(id: short) }?.code == .notFound)
        #expect(try host.manager.endpoint(id: short) == nil)
        #expect(try host.manager.endpoint(short, acceptingShortID: true).id == generated.id)
        #expect(try host.manager.check(id: short, acceptingShortID: true).isEmpty)
        #expect(try host.manager.endpoint(generated.id) == generated)
        #expect(try host.manager.endpoint(id: generated.id) == generated)
        #expect(try host.manager.endpointCounts() == ["web": 1])
    }
}
