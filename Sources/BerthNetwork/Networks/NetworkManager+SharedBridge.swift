import BerthCore
import BerthNFTables

/// A network of another Berth instance (another state directory) on a bridge, as its rules
/// in Berth's shared table show it: its tag, and the IPv4 subnet its rules name (nil for an
/// internal network, whose rules name only the bridge).
struct ForeignNetwork: Sendable, Hashable {
    var tag: KernelNames.Tag
    var subnet: CIDR?

    /// "network web of another Berth instance (0dd1ce00, another state directory)".
    var description: String {
        let whose = tag.instance.map { "\($0), another state directory" } ?? "an older Berth's, without an instance id"
        return "network \(tag.owner) of another Berth instance (\(whose))"
    }
}

extension NetworkManager {
    /// The networks of other instances on `bridge`: what an adopted bridge may carry besides
    /// this instance's networks, since a bridge Berth did not make bears no tag. Told by
    /// their rules in `ip berth` (every network has rules there naming its bridge), as an
    /// instance sees no other state directory. One table read; an untagged rule is this
    /// instance's when it is a store made before instances and a network of `known` is named.
    func foreignNetworks(on bridge: InterfaceName, instance: StateInstance, known: Set<String>) throws(BerthError) -> [ForeignNetwork] {
        guard let table = try firewall(instance).table() else { return [] }
        var found: [ForeignNetwork] = []
        for rule in table.chains.flatMap(\.rules) {
            guard let tag = KernelNames.Tag(rule.comment), tag.kind == .network else { continue }
            if tag.belongs(to: instance), tag.instance != nil || known.contains(tag.owner) { continue }
            var onBridge = false
            var subnet: CIDR?
            for statement in rule.statements {
                switch statement {
                case .iifname(let name, _), .oifname(let name, _): onBridge = onBridge || name == bridge.rawValue
                case .saddr(let cidr) where cidr.family == .ipv4: subnet = cidr
                default: break
                }
            }
            guard onBridge else { continue }
            if let index = found.firstIndex(where: { $0.tag == tag }) {
                if found[index].subnet == nil { found[index].subnet = subnet }
            } else {
                found.append(ForeignNetwork(tag: tag, subnet: subnet))
            }
        }
        return found
    }

    /// Refuses a network on adopted bridge `bridge` whose IPv4 subnet overlaps that of
    /// another instance's network on the same bridge: each state directory would lease the
    /// same addresses to its containers, and removing either network would take away the
    /// gateway address it added while the other's containers route through it.
    func refuseSharedSubnet(_ subnet: CIDR, bridge: InterfaceName, instance: StateInstance, known: Set<String>) throws(BerthError) {
        guard let other = try foreignNetworks(on: bridge, instance: instance, known: known)
            .first(where: { $0.subnet?.overlaps(subnet) == true }), let theirs = other.subnet else { return }
        throw BerthError(.conflict,
                         "bridge \(bridge) carries \(other.description) on subnet \(theirs), which overlaps \(subnet): "
                             + "both would lease its addresses, and each relies on a gateway address the other may remove",
                         hint: "give a subnet no other instance uses on that bridge, or attach to that network through its own state directory",
                         object: .bridge(bridge.rawValue), parameter: "subnet", remedy: .chooseAnother(parameter: "subnet"))
    }

    /// Whether another instance's network on adopted bridge `bridge` has `gateway` in its
    /// subnet, and so routes its containers through the address this instance added: one
    /// adopted with an overlapping subnet before `refuseSharedSubnet` refused that. Its
    /// removal then keeps the address, which the other instance's containers need.
    func gatewayShared(_ gateway: CIDR, bridge: InterfaceName, instance: StateInstance, tx: StateTransaction) throws(BerthError) -> Bool {
        let known = Set(try tx.networks().map(\.name))
        return try foreignNetworks(on: bridge, instance: instance, known: known).contains { $0.subnet?.contains(gateway.address) == true }
    }
}
