import BerthCore
import BerthLab
import BerthTestSupport
import Foundation
import Testing

/// Sysctls in the kernel: which links they reach, what a rollback leaves; and `impair`'s
/// checks, shared with files.
extension LabKernelTests {
    /// A sysctl's value in a node, read with iproute2 (not through Berth).
    static func sysctl(_ lab: LabFixture, _ node: String, _ path: String) -> String {
        lab.run(node, ["cat", "/proc/sys/" + path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("conf/default sysctls reach the lab's own links (written before the links are made); a second up plans nothing")
    func defaultSysctls() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, """
            name: LAB
            nodes:
              a: { sysctls: { net.ipv6.conf.default.hop_limit: 33, net/ipv4/ip_default_ttl: 44 } }
              b: {}
            links:
              - endpoints: [ "a:eth1", "b:eth1" ]

            """)
            let up = lab.lab(["up", lab.file])
            try #require(up.succeeded, "\(up)")
            defer { lab.down() }
            #expect(Self.sysctl(lab, "a", "net/ipv6/conf/eth1/hop_limit") == "33")
            #expect(Self.sysctl(lab, "a", "net/ipv4/ip_default_ttl") == "44")
            lab.expectNothingPlanned()
        }
    }

    @Test("a failed converge puts back the sysctls it wrote", .enabled(if: labFailPointsCompiledIn))
    func rollbackRestoresSysctls() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            let before = Self.sysctl(lab, "r2", "net/ipv4/ip_default_ttl")
            let wanted = before == "33" ? "34" : "33"
            try lab.write(triangleTemplate.replacingOccurrences(of: "sysctls: { net.ipv4.ip_forward: 1 }\n    routes",
                                                                with: "sysctls: { net.ipv4.ip_forward: 1, net.ipv4.ip_default_ttl: \(wanted) }\n    routes"))
            let up = lab.lab(["up", lab.file], environment: ["BERTH_FAILPOINT": "lab.routes"])
            #expect(up.status == 1 && up.stderr.contains("fail point lab.routes"), "\(up)")
            #expect(!before.isEmpty && Self.sysctl(lab, "r2", "net/ipv4/ip_default_ttl") == before)
        }
    }

    @Test("impair refuses jitter without delay, as a file does, and changes nothing")
    func impairJitterWithoutDelay() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            let impair = lab.lab(["impair", lab.name, "h1:eth0", "--jitter", "2ms"])
            #expect(impair.status == 1 && impair.stderr.contains("jitter but no delay"), "\(impair)")
            #expect(!Command.witness(["tc", "-n", lab.namespace("h1"), "qdisc", "show", "dev", "eth0"]).contains("netem"))
        }
    }

    @Test("impair refuses a rate too slow for tbf to hold its burst, as a file does, the burst being one frame of the link's MTU, and changes nothing")
    func impairRateTooSlow() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            let slow = lab.lab(["impair", lab.name, "h1:eth0", "--rate", "500bit"])
            #expect(slow.status == 1 && slow.stderr.contains("below 968bit"), "\(slow)")
            #expect(!Command.witness(["tc", "-n", lab.namespace("h1"), "qdisc", "show", "dev", "eth0"]).contains("tbf"))
            // On a link of MTU 65535 the burst is a 65549-byte frame: 1kbit passes the first check, not the second.
            #expect(Command.run(["ip", "-n", lab.namespace("h1"), "link", "set", "eth0", "mtu", "65535"]).succeeded)
            let big = lab.lab(["impair", lab.name, "h1:eth0", "--rate", "1kbit"])
            #expect(big.status == 1 && big.stderr.contains("below 1928bit"), "\(big)")
            #expect(!Command.witness(["tc", "-n", lab.namespace("h1"), "qdisc", "show", "dev", "eth0"]).contains("tbf"))
        }
    }
}
