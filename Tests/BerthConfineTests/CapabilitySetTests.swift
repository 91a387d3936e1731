import BerthConfine
import BerthCore
import Testing

@Suite("CapabilitySet")
struct CapabilitySetTests {
    @Test("Docker's default set: the 14 capabilities, by kernel number")
    func dockerDefault() {
        #expect(CapabilitySet.docker.members.map(\.name) == [
            "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE", "NET_RAW",
            "SYS_CHROOT", "MKNOD", "AUDIT_WRITE", "SETFCAP",
        ])
        // The mask the C shim gets: bits 0 1 3 4 5 6 7 8 10 13 18 27 29 31.
        #expect(CapabilitySet.docker.rawValue == 0xA804_25FB)
        #expect(!CapabilitySet.docker.contains(.sysAdmin))
        #expect(CapabilitySet.all.members.count == 41)
    }

    @Test("names parse as Docker takes them", arguments: ["NET_RAW", "CAP_NET_RAW", "net_raw", "cap_net_raw", "Cap_Net_Raw"])
    func names(_ text: String) throws {
        #expect(try Capability(parsing: text) == .netRaw)
    }

    @Test("an unknown capability is refused, naming it")
    func unknown() {
        for text in ["NET_FOO", "CAP_", "", "ALL", "41"] {
            #expect(throws: BerthError.self) { try Capability(parsing: text) }
        }
        do {
            _ = try CapabilitySet.docker.adjusted(adding: ["SYS_ADMIN", "NET_FOO"], dropping: [])
            Issue.record("accepted NET_FOO")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("NET_FOO"))
        }
    }

    @Test("add and drop follow Docker: drops first, then adds; ALL on either side")
    func adjust() throws {
        let dropped = try CapabilitySet.docker.adjusted(adding: [], dropping: ["NET_RAW", "cap_mknod"])
        #expect(!dropped.contains(.netRaw) && !dropped.contains(.mknod))
        #expect(dropped.members.count == 12)

        let added = try CapabilitySet.docker.adjusted(adding: ["NET_ADMIN"], dropping: [])
        #expect(added.contains(.netAdmin) && added.members.count == 15)

        // Added and dropped: the addition wins (moby appends capAdd after dropping).
        #expect(try CapabilitySet.docker.adjusted(adding: ["NET_RAW"], dropping: ["NET_RAW"]).contains(.netRaw))

        #expect(try CapabilitySet.docker.adjusted(adding: ["ALL"], dropping: ["SYS_ADMIN"]) == CapabilitySet(CapabilitySet.all.members.filter { $0 != .sysAdmin }))
        #expect(try CapabilitySet.docker.adjusted(adding: ["CHOWN"], dropping: ["all"]) == CapabilitySet([.chown]))
        #expect(try CapabilitySet.docker.adjusted(adding: [], dropping: ["ALL"]) == .none)
    }

    @Test("description lists CAP_ names in kernel order")
    func description() {
        #expect(CapabilitySet([.sysAdmin, .chown, .netRaw]).description == "CAP_CHOWN,CAP_NET_RAW,CAP_SYS_ADMIN")
    }
}
