import BerthCore
@testable import BerthNetlink
import Testing

/// RTM_NEWROUTE decoding of multipath routes, from bytes as the kernel lays them out: the
/// next hops of RTA_MULTIPATH, and a walk that stops where a length cannot be trusted.
@Suite("Route parsing")
struct RouteParsingTests {
    private func attribute(_ type: UInt16, _ value: [UInt8]) -> [UInt8] {
        var bytes = le16(UInt16(4 + value.count)) + le16(type) + value
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }

    private func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    private func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * UInt32($0))) & 0xFF) } }

    /// A `struct rtnexthop` with `hops` (weight − 1), the link, and a gateway attribute.
    private func hop(_ gateway: [UInt8]?, index: UInt32, hops: UInt8 = 0) -> [UInt8] {
        let attributes = gateway.map { attribute(5, $0) } ?? []
        return le16(UInt16(8 + attributes.count)) + [0, hops] + le32(index) + attributes
    }

    /// A default route of `family` (2 or 10) in the main table carrying `multipath`.
    private func message(family: UInt8, multipath: [UInt8]) -> NetlinkMessage {
        let body: [UInt8] = [family, 0, 0, 0, 254, 4, 0, 1] + le32(0) + attribute(15, le32(254)) + attribute(6, le32(1024))
            + attribute(9, multipath)
        return NetlinkMessage(type: RTM.newRoute, flags: 0, sequence: 1, portID: 0, payload: body)
    }

    @Test("an IPv4 multipath default route: no gateway of its own, each next hop's gateway, link and weight")
    func ipv4() throws {
        let route = try #require(Route(message: message(family: 2, multipath: hop([10, 77, 0, 1], index: 3, hops: 1) + hop([10, 79, 0, 1], index: 5))))
        #expect(route.isDefault && route.gateway == nil && route.linkIndex == nil && route.metric == 1024)
        #expect(route.nextHops == [Route.NextHop(gateway: IPAddress("10.77.0.1"), linkIndex: 3, weight: 2),
                                   Route.NextHop(gateway: IPAddress("10.79.0.1"), linkIndex: 5, weight: 1)])
        #expect(route.gateways == [IPAddress("10.77.0.1"), IPAddress("10.79.0.1")])
        #expect(route.description == "default proto static scope global metric 1024 nexthop via 10.77.0.1 dev #3 weight 2 nexthop via 10.79.0.1 dev #5 weight 1")
    }

    @Test("an IPv6 multipath route, one next hop without a gateway")
    func ipv6() throws {
        let gateway: [UInt8] = [0xFD, 0, 0, 0x77] + [UInt8](repeating: 0, count: 11) + [1]
        let route = try #require(Route(message: message(family: 10, multipath: hop(gateway, index: 4) + hop(nil, index: 6))))
        #expect(route.nextHops == [Route.NextHop(gateway: IPAddress("fd00:77::1"), linkIndex: 4), Route.NextHop(linkIndex: 6)])
        #expect(route.gateways == [IPAddress("fd00:77::1")])
    }

    @Test("a next hop shorter than its header, or running past the attribute, ends the walk; those before it are kept")
    func hostileLengths() throws {
        let good = hop([10, 77, 0, 1], index: 3)
        var short = hop([10, 79, 0, 1], index: 5)
        short[0] = 4
        var long = hop([10, 79, 0, 1], index: 5)
        long[0] = 200
        for tail in [short, long, [0x10, 0]] {
            let route = try #require(Route(message: message(family: 2, multipath: good + tail)))
            #expect(route.nextHops == [Route.NextHop(gateway: IPAddress("10.77.0.1"), linkIndex: 3)])
        }
        let empty = try #require(Route(message: message(family: 2, multipath: [])))
        #expect(empty.nextHops.isEmpty && empty.gateways.isEmpty)
    }
}
