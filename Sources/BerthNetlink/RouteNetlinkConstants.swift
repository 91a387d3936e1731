import BerthCore

// rtnetlink numbers from the kernel's uapi headers (linux/rtnetlink.h, if_link.h, if_addr.h,
// veth.h). They are kernel ABI and never change; spelling them in Swift keeps C types out of
// the message code and lets the importer's guesses about anonymous enums not matter.

/// rtnetlink message types.
enum RTM {
    static let newLink: UInt16 = 16
    static let delLink: UInt16 = 17
    static let getLink: UInt16 = 18
    static let newAddr: UInt16 = 20
    static let delAddr: UInt16 = 21
    static let getAddr: UInt16 = 22
    static let newRoute: UInt16 = 24
    static let delRoute: UInt16 = 25
    static let getRoute: UInt16 = 26
}

/// Link attributes (IFLA_*).
enum IFLA {
    static let address: UInt16 = 1
    static let ifname: UInt16 = 3
    static let mtu: UInt16 = 4
    static let link: UInt16 = 5
    static let master: UInt16 = 10
    static let operstate: UInt16 = 16
    static let linkinfo: UInt16 = 18
    static let ifalias: UInt16 = 20
    static let afSpec: UInt16 = 26
    static let netNSFD: UInt16 = 28
    static let extMask: UInt16 = 29
    static let numTxQueues: UInt16 = 31
    static let numRxQueues: UInt16 = 32
    static let linkNetNSID: UInt16 = 37

    /// Inside IFLA_LINKINFO.
    static let infoKind: UInt16 = 1
    static let infoData: UInt16 = 2
    static let infoSlaveKind: UInt16 = 4
    static let infoSlaveData: UInt16 = 5
    /// IFLA_BRPORT_MODE inside IFLA_INFO_SLAVE_DATA: hairpin.
    static let brportMode: UInt16 = 4
    /// Inside IFLA_INFO_DATA of a veth.
    static let vethInfoPeer: UInt16 = 1
    /// IFLA_INET6_ADDR_GEN_MODE, inside IFLA_AF_SPEC's AF_INET6 nest.
    static let inet6AddrGenMode: UInt16 = 8
}

/// Address attributes (IFA_*).
enum IFA {
    static let address: UInt16 = 1
    static let local: UInt16 = 2
    static let label: UInt16 = 3
    static let broadcast: UInt16 = 4
    static let flags: UInt16 = 8
}

/// Route attributes (RTA_*).
enum RTA {
    static let dst: UInt16 = 1
    static let oif: UInt16 = 4
    static let gateway: UInt16 = 5
    static let priority: UInt16 = 6
    static let prefsrc: UInt16 = 7
    /// A multipath route's next hops: `struct rtnexthop`s, each followed by its attributes.
    static let multipath: UInt16 = 9
    static let table: UInt16 = 15
}

/// Address families as the kernel numbers them.
enum AddressFamily {
    static let unspec: UInt8 = 0
    static let inet: UInt8 = 2
    static let inet6: UInt8 = 10

    static func of(_ family: IPFamily) -> UInt8 { family == .ipv4 ? inet : inet6 }
    static func family(_ value: UInt8) -> IPFamily? {
        switch value {
        case inet: .ipv4
        case inet6: .ipv6
        default: nil
        }
    }
}

/// Interface flags (IFF_*).
enum IFF {
    static let up: UInt32 = 0x1
    static let loopback: UInt32 = 0x8
    static let running: UInt32 = 0x40
    static let lowerUp: UInt32 = 0x10000
}

/// ARPHRD_LOOPBACK: the hardware type of `lo`.
let arphrdLoopback: UInt16 = 772
/// RTM_F_CLONED: a cached route, not a configured one.
let rtmFlagCloned: UInt32 = 0x200
/// RT_SCOPE_NOWHERE: in a delete request, "match any scope".
let routeScopeNowhere: UInt8 = 255
