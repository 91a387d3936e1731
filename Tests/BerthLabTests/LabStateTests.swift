import BerthCore
@testable import BerthLab
import BerthLabFile
import BerthNetlink
import BerthNetwork
import Foundation
import Testing

/// Labs in the shared state store: specs as JSON, records, the schema extension. No kernel.
@Suite("lab state")
struct LabStateTests {
    static let full = """
    name: full
    nodes:
      r1: { sysctls: { net.ipv4.ip_forward: 1 } }
      h1: { routes: [ "default via 10.0.1.1", "10.9.0.0/16 dev eth0 metric 5" ] }
      web:
        network: lan
        publish: [ "8080:80", "127.0.0.1:5353:53/udp", "9000-9001:90-91" ]
        run: { rootfs: /srv/rootfs, cmd: [ httpd, -f, -p, "80" ], env: { A: "1", EMPTY: ~ }, workdir: /www, privileged: true }
    networks:
      lan: { subnet: 10.0.9.0/24, gateway: 10.0.9.254 }
      back: { internal: true }
    links:
      - endpoints: [ "r1:eth1", "h1:eth0" ]
        addresses: [ [ 10.0.1.1/24, "fd00:1::1/64" ], 10.0.1.2/24 ]
        mtu: 1400
        rate: 40gbit
        netem: { delay: 20ms, jitter: 2ms, loss: 0.5%, duplicate: 1% }
      - endpoints: [ { node: r1, interface: eth2, mac: "02:00:00:00:00:01" }, "web:eth1" ]
    """

    @Test("a spec reads back from its JSON equal, but for file positions")
    func jsonRoundTrip() throws {
        let spec = try LabFileParser.parse(Self.full, source: "full.yaml")
        let back = try LabSpec(json: JSONValue(parsing: spec.json.render()))
        #expect(back == Self.withoutLocations(spec))
        #expect(back.node("web")?.run?.environment == ["A=1", "EMPTY="])
        #expect(back.node("web")?.publish.map(\.description) == ["8080:80/tcp", "127.0.0.1:5353:53/udp", "9000-9001:90-91/tcp"])
        #expect(back.links[0].endpoints[0].impairment.rate?.rate.bitsPerSecond == 40_000_000_000)
    }

    static func withoutLocations(_ spec: LabSpec) -> LabSpec {
        var spec = spec
        spec.nameLocation = nil
        for i in spec.nodes.indices {
            spec.nodes[i].location = nil
            spec.nodes[i].run?.location = nil
            for j in spec.nodes[i].routes.indices { spec.nodes[i].routes[j].location = nil }
            for j in spec.nodes[i].sysctls.indices { spec.nodes[i].sysctls[j].location = nil }
        }
        for i in spec.links.indices {
            spec.links[i].location = nil
            for j in spec.links[i].endpoints.indices { spec.links[i].endpoints[j].location = nil }
        }
        for i in spec.networks.indices { spec.networks[i].location = nil }
        return spec
    }
}
