import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// What `berth network create` refuses of the addresses asked for: a gateway without the
/// subnet of its family (as Docker and Podman), a reserved IPv4 range.
@Suite("berth CLI: network create's gateway and subnet checks (kernel)", .enabled(if: try KernelTests.enabled))
struct NetworkSubnetCLITests {
    @Test("--gateway without --subnet is refused with the hint to give the subnet", arguments: [
        (["--gateway", "10.9.0.1"], "gateway 10.9.0.1 is given without an IPv4 subnet", "add --subnet with the IPv4 subnet the gateway is in"),
        (["--ipv6", "--gateway", "fd00:9::1"], "IPv6 gateway fd00:9::1 is given without an IPv6 subnet", "add --subnet with the IPv6 subnet the gateway is in"),
    ])
    func gatewayWithoutSubnet(args: [String], message: String, hint: String) throws {
        try withHostSandbox { sandbox in
            let create = sandbox.berth(["network", "create", "web"] + args)
            #expect(create.status == 1 && create.stderr.contains(message) && create.stderr.contains(hint), "\(create)")
            #expect(CLIOracle.bridgeNames(sandbox).isEmpty)
        }
    }

    @Test("a reserved subnet is refused naming the range", arguments: ["127.0.0.0/8", "224.1.0.0/16", "0.0.0.0/8", "240.0.0.0/24"])
    func reservedSubnet(subnet: String) throws {
        try withHostSandbox { sandbox in
            let create = sandbox.berth(["network", "create", "web", "--subnet", subnet])
            #expect(create.status == 1 && create.stderr.contains("subnet \(subnet) overlaps"), "\(create)")
            #expect(CLIOracle.bridgeNames(sandbox).isEmpty)
        }
    }
}
