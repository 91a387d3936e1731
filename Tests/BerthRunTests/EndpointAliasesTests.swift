@testable import BerthRun
import Testing

/// The names `berth run` gives a container's endpoint: its short id is one on a network
/// with DNS on, as Docker and podman answer it.
@Suite("berth run: endpoint aliases")
struct EndpointAliasesTests {
    let id = "3f4e8a9b2c1d" + String(repeating: "0", count: 52)

    @Test("on a network with DNS on, the short id follows the network aliases; without DNS nothing is added")
    func shortIDAlias() {
        #expect(Container.endpointAliases([], id: id, name: "web", dns: true) == ["3f4e8a9b2c1d"])
        #expect(Container.endpointAliases(["api", "www"], id: id, name: "web", dns: true) == ["api", "www", "3f4e8a9b2c1d"])
        #expect(Container.endpointAliases(["api"], id: id, name: "web", dns: false) == ["api"])
        #expect(Container.endpointAliases([], id: id, name: "web", dns: false) == [])
        // The default name (berth-SHORTID) is not the short id: both are names.
        #expect(Container.endpointAliases([], id: id, name: Container.defaultName(id: id), dns: true) == ["3f4e8a9b2c1d"])
    }

    @Test("a container named as its short id, or with it as an alias already, gets it once (the attach refuses an alias equal to the name)")
    func noDuplicate() {
        #expect(Container.endpointAliases([], id: id, name: "3F4E8A9B2C1D", dns: true) == [])
        #expect(Container.endpointAliases(["3f4e8a9b2c1d"], id: id, name: "web", dns: true) == ["3f4e8a9b2c1d"])
    }
}
