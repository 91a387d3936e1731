import BerthCore
import BerthNetlink

// IPv6 as the kernel does it, in the fake (docs/ipv6.md has the facts):
// - an IPv6 address on a link where IPv6 is disabled is refused (EACCES); one without
//   IFA_F_NODAD on a link with accept_dad on starts tentative (the fake has no clock, so
//   it stays so: such an address is never usable at once);
// - IFLA_AF_SPEC {AF_INET6 {IFLA_INET6_ADDR_GEN_MODE}} sets a link's mode, and is refused
//   in a create request (EAFNOSUPPORT);
// - with `generatesLinkLocal`, a link that comes up gets fe80::EUI-64/64 (lo gets ::1)
//   unless IPv6 is disabled on it or its mode is none, tentative as above when the link's
//   accept_dad is on; any link that goes down loses its
//   IPv6 addresses (keep_addr_on_down=0);
// - `ipv6Available = false` is a kernel booted with ipv6.disable=1: no net/ipv6 sysctls,
//   IPv6 addresses and IFLA_AF_SPEC refused with EAFNOSUPPORT.
extension FakeKernel {
    /// EACCES: "IPv6 is disabled on this device".
    static let ipv6Disabled: Int32 = 13
    /// EAFNOSUPPORT.
    static let noAddressFamily: Int32 = 97

    /// Defaults of the IPv6 sysctls the fake knows, per namespace and per link, for keys no
    /// one has written.
    func ipv6SysctlDefault(_ key: String, in state: FakeNamespaceState) -> String? {
        let parts = key.split(separator: "/").map(String.init)
        guard parts.count == 5, parts[0] == "net", parts[1] == "ipv6", parts[2] == "conf" else { return nil }
        let device = parts[3], name = parts[4]
        if device == "all" || device == "default" {
            switch name {
            case "forwarding", "disable_ipv6", "keep_addr_on_down": return "0"
            case "accept_ra", "accept_dad", "autoconf": return "1"
            default: return nil
            }
        }
        guard let link = state.link(named: device) else { return nil }
        switch name {
        case "forwarding": return state.sysctls["net/ipv6/conf/all/forwarding"] ?? "0"
        case "disable_ipv6", "keep_addr_on_down": return "0"
        case "accept_dad", "autoconf": return "1"
        case "addr_gen_mode": return String(link.addressGenerationMode)
        default: return nil
        }
    }

    /// Whether IPv6 is disabled on link `index` (its own key, which a new link copies from
    /// `default` when it is made).
    func isIPv6Disabled(_ index: Int32, in state: FakeNamespaceState) -> Bool {
        guard let name = state.links[index]?.name else { return true }
        return sysctlValue("net/ipv6/conf/\(name)/disable_ipv6", in: state) == "1"
    }

    /// What writing an IPv6 sysctl does beyond storing it: disabling IPv6 on a link drops
    /// its IPv6 addresses; on `all` it also sets `default` and every link.
    func ipv6SysctlWritten(_ key: String, _ value: String, in state: FakeNamespaceState) {
        let parts = key.split(separator: "/").map(String.init)
        guard parts.count == 5, parts[1] == "ipv6", parts[4] == "disable_ipv6", value == "1" else { return }
        if parts[3] == "all" {
            state.sysctls["net/ipv6/conf/default/disable_ipv6"] = "1"
            for link in state.sortedLinks { state.sysctls["net/ipv6/conf/\(link.name)/disable_ipv6"] = "1" }
            state.addresses.removeAll { $0.cidr.family == .ipv6 }
        } else if let link = state.link(named: parts[3]) {
            state.addresses.removeAll { $0.cidr.family == .ipv6 && $0.index == link.index }
        }
        state.refreshConnectedRoutes()
    }

    /// The refusal for an IPv6 address on link `index`, if any.
    func ipv6AddressRefusal(on index: Int32, in state: FakeNamespaceState) -> Int32? {
        if !ipv6Available { return Self.noAddressFamily }
        return isIPv6Disabled(index, in: state) ? Self.ipv6Disabled : nil
    }

    /// Whether a new IPv6 address without IFA_F_NODAD on link `index` goes through DAD.
    func needsDAD(on index: Int32, in state: FakeNamespaceState) -> Bool {
        guard let link = state.links[index], link.kind != "loopback" else { return false }
        return sysctlValue("net/ipv6/conf/\(link.name)/accept_dad", in: state) != "0"
    }

    /// Applies IFLA_AF_SPEC of a change to an existing link.
    func applyAddressFamilySpec(_ attributes: WireAttributes, to link: inout FakeLink) throws(Refusal) {
        guard let spec = attributes.nested(IFLA.afSpec) else { return }
        guard ipv6Available, let inet6 = spec.nested(UInt16(10)) else { throw Refusal(Self.noAddressFamily) }
        if let mode = inet6[IFLA.inet6AddrGenMode]?.first {
            guard mode <= 3 else { throw Refusal(FakeErrno.invalid) }
            link.addressGenerationMode = mode
        }
    }

    /// The kernel's reaction to link `index` going up or down.
    func linkChanged(_ index: Int32, wasUp: Bool, in state: FakeNamespaceState) {
        guard let link = state.links[index], link.isUp != wasUp else { return }
        if !link.isUp {
            let keep = sysctlValue("net/ipv6/conf/\(link.name)/keep_addr_on_down", in: state) == "1"
            if !keep { state.addresses.removeAll { $0.index == index && $0.cidr.family == .ipv6 } }
        } else if generatesLinkLocal, ipv6Available, !isIPv6Disabled(index, in: state), link.addressGenerationMode != 1 {
            let address: CIDR?
            if link.kind == "loopback" {
                address = CIDR("::1/128")
            } else if let mac = link.mac {
                let b = mac.bytes
                let identifier = [b[0] ^ 0x02, b[1], b[2], 0xFF, 0xFE, b[3], b[4], b[5]]
                address = IPv6Address(bytes: [0xFE, 0x80, 0, 0, 0, 0, 0, 0] + identifier).flatMap { try? CIDR(address: .v6($0), prefixLength: 64) }
            } else {
                address = nil
            }
            if let address, !state.addresses.contains(where: { $0.index == index && $0.cidr == address }) {
                // Through DAD like any address without nodad, unless accept_dad is 0 on the link.
                let dad = needsDAD(on: index, in: state) ? AddressFlags.tentative.rawValue : 0
                state.addresses.append(FakeAddress(index: index, cidr: address, flags: AddressFlags.permanent.rawValue | dad))
            }
        }
        state.refreshConnectedRoutes()
    }
}
