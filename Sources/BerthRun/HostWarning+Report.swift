import BerthCore
import BerthNetwork

/// A `HostWarning` as the detached supervisor's report carries it back to the caller, with
/// all it needs to be worded there (the caller's front end words the advice).
extension HostWarning {
    var reportJSON: JSONValue {
        switch kind {
        case .routerAdvertisementsIgnored(let interface, let gateway):
            ["kind": "routerAdvertisementsIgnored", "interface": .string(interface), "gateway": gateway.map { .string($0.description) } ?? .null]
        case .ipv4ForwardingEnabled: ["kind": "ipv4ForwardingEnabled"]
        case .ipv6ForwardingEnabled: ["kind": "ipv6ForwardingEnabled"]
        case .forwardDropped(let drop):
            ["kind": "forwardDropped", "family": .string(drop.family), "table": .string(drop.table), "chain": .string(drop.chain),
             "owner": .string(drop.owner.rawValue), "bridges": .array(drop.bridges.map { .string($0) })]
        }
    }

    init(reportJSON json: JSONValue) throws(BerthError) {
        let fields = Fields(json, what: "supervisor report's warning")
        switch try fields.string("kind") {
        case "routerAdvertisementsIgnored":
            let gateway = try fields.optionalString("gateway").map { text throws(BerthError) in try IPAddress(parsing: text) }
            self.init(.routerAdvertisementsIgnored(interface: try fields.string("interface"), gateway: gateway))
        case "ipv4ForwardingEnabled": self.init(.ipv4ForwardingEnabled)
        case "ipv6ForwardingEnabled": self.init(.ipv6ForwardingEnabled)
        case "forwardDropped":
            guard let owner = ForwardDrop.Owner(rawValue: try fields.string("owner")) else { throw fields.malformed("owner") }
            self.init(.forwardDropped(ForwardDrop(family: try fields.string("family"), table: try fields.string("table"),
                                                  chain: try fields.string("chain"), owner: owner, bridges: try fields.strings("bridges"))))
        default:
            throw fields.malformed("kind")
        }
    }
}
