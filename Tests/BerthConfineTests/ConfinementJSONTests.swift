import BerthConfine
import BerthCore
import Testing

/// Confinement and limits cross a process boundary (a detached supervisor's request) and will
/// be kept in state: what is written must read back equal, and anything else must be refused.
@Suite("Confinement and ResourceLimits as JSON")
struct ConfinementJSONTests {
    /// Renders and parses again, as the receiving process does.
    private func reread(_ value: JSONValue) throws -> JSONValue { try JSONValue(parsing: value.render()) }

    @Test("confinements read back equal: Docker's default, unconfined, adjusted, no_new_privs, a profile of its own")
    func confinementRoundTrip() throws {
        let custom = SeccompProfile(defaultAction: .errno(38), rules: [
            SeccompRule(["read", "write"]),
            SeccompRule(["socket"], .errno(97), conditions: [SeccompCondition(0, .equal32(40)), SeccompCondition(1, .below32(3))]),
            SeccompRule(["personality"], conditions: [SeccompCondition(0, .equal(0xFFFF_FFFF_FFFF_FFFF))], architectures: [.x86_64, .i386]),
            SeccompRule(["clone"], conditions: [SeccompCondition(5, .maskedEqual(mask: 0x8000_0000_7E02_0000, value: 0))],
                        requires: CapabilitySet([.sysAdmin]), excludedBy: CapabilitySet([.netAdmin, .sysPtrace])),
            SeccompRule(["ioctl"], .killProcess, conditions: [SeccompCondition(2, .above32(0xFFFF_FFFE))], architectures: []),
        ])
        let values = [
            Confinement(),
            Confinement(seccomp: nil),
            Confinement.privileged,
            Confinement(capabilities: try CapabilitySet.docker.adjusted(adding: ["NET_ADMIN"], dropping: ["NET_RAW"]), noNewPrivileges: true),
            Confinement(capabilities: CapabilitySet(rawValue: UInt64.max), seccomp: custom),
            Confinement(capabilities: .none, seccomp: SeccompProfile(defaultAction: .allow, rules: [])),
        ]
        for value in values {
            #expect(try Confinement(json: reread(value.json)) == value)
        }
        #expect(Confinement().json.render() == #"{"capabilities":\#(CapabilitySet.docker.rawValue),"seccomp":"docker","noNewPrivileges":false}"#)
        #expect(Confinement(seccomp: nil).json["seccomp"] == .null)
        // A profile of its own is written whole, and compiles the same after the trip.
        let back = try Confinement(json: reread(Confinement(seccomp: custom).json))
        #expect(try back.seccompProgram() == Confinement(seccomp: custom).seccompProgram())
    }

    @Test("limits read back equal, none or all, huge values and unlimited swap included")
    func limitsRoundTrip() throws {
        let values = [
            ResourceLimits(),
            ResourceLimits(memory: 32 << 20, memorySwap: .total(64 << 20), nanoCPUs: 500_000_000, cpuShares: 512,
                           cpusetCPUs: CPUList([0, 1, 2, 5]), cpusetMems: CPUList([0]), pids: 20),
            ResourceLimits(memory: UInt64.max, memorySwap: .unlimited),
            ResourceLimits(cpusetCPUs: CPUList([])),
        ]
        for value in values {
            #expect(try ResourceLimits(json: reread(value.json)) == value)
        }
        #expect(ResourceLimits(memory: 1 << 20, memorySwap: .unlimited, pids: 20).json.render()
            == #"{"memory":1048576,"memorySwap":"unlimited","nanoCPUs":null,"cpuShares":null,"cpusetCPUs":null,"cpusetMems":null,"pids":20}"#)
        // Absent members are no limit.
        #expect(try ResourceLimits(json: ["pids": 5]) == ResourceLimits(pids: 5))
    }

    @Test("anything but what was written is refused, naming the member", arguments: [
        (#"[]"#, "confinement", "not a JSON object"),
        (#"{"capabilities":1,"seccomp":"docker","noNewPrivileges":false,"apparmor":"x"}"#, "confinement", "\"apparmor\""),
        (#"{"capabilities":1,"noNewPrivileges":false}"#, "confinement", "\"seccomp\""),
        (#"{"capabilities":"ALL","seccomp":null,"noNewPrivileges":false}"#, "confinement", "\"capabilities\""),
        (#"{"capabilities":1,"seccomp":null,"noNewPrivileges":1}"#, "confinement", "\"noNewPrivileges\""),
        (#"{"capabilities":1,"seccomp":"unconfined","noNewPrivileges":false}"#, "seccomp", "not a JSON object"),
        (#"{"capabilities":1,"seccomp":{"defaultAction":"deny","rules":[]},"noNewPrivileges":false}"#, "seccomp", "\"defaultAction\""),
        (#"{"capabilities":1,"seccomp":{"defaultAction":4096,"rules":[]},"noNewPrivileges":false}"#, "seccomp", "\"defaultAction\""),
        (#"{"capabilities":1,"seccomp":{"defaultAction":1,"rules":[{"names":["read"],"action":"allow","conditions":[{"index":6,"test":"equal","value":0}],"architectures":null,"requires":0,"excludedBy":0}]},"noNewPrivileges":false}"#,
         "seccomp", "\"index\""),
        (#"{"capabilities":1,"seccomp":{"defaultAction":1,"rules":[{"names":["read"],"action":"allow","conditions":[{"index":0,"test":"equal32","value":4294967296}],"architectures":null,"requires":0,"excludedBy":0}]},"noNewPrivileges":false}"#,
         "seccomp", "\"value\""),
        (#"{"capabilities":1,"seccomp":{"defaultAction":1,"rules":[{"names":["read"],"action":"allow","conditions":[{"index":0,"test":"equal","value":1,"mask":1}],"architectures":null,"requires":0,"excludedBy":0}]},"noNewPrivileges":false}"#,
         "seccomp", "\"mask\""),
        (#"{"capabilities":1,"seccomp":{"defaultAction":1,"rules":[{"names":["read"],"action":"allow","conditions":[],"architectures":["mips"],"requires":0,"excludedBy":0}]},"noNewPrivileges":false}"#,
         "seccomp", "\"architectures\""),
    ] as [(String, String, String)])
    func badConfinement(_ text: String, _ parameter: String, _ named: String) throws {
        let error = #expect(throws: BerthError.self) { try Confinement(json: JSONValue(parsing: text)) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.parameter == parameter)
        #expect(error?.message.contains(named) == true, "\(String(describing: error))")
    }

    @Test("limits of the wrong type or unknown are refused", arguments: [
        #"{"memory":"32m"}"#, #"{"memorySwap":"none"}"#, #"{"cpusetCPUs":"3-1"}"#, #"{"cpusetCPUs":7}"#, #"{"pids":1.5}"#, #"{"blkioWeight":10}"#, #"7"#,
    ])
    func badLimits(_ text: String) throws {
        let error = #expect(throws: BerthError.self) { try ResourceLimits(json: JSONValue(parsing: text)) }
        #expect(error?.code == .invalidArgument && error?.parameter == "limits", "\(String(describing: error))")
    }
}
