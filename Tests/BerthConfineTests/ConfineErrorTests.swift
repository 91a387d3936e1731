import BerthConfine
import BerthCore
import Testing

/// BerthConfine's errors are for every front end: each names the request field at fault
/// (so the CLI can name its own flag for it) and none words a command or a flag itself.
@Suite("BerthConfine errors: parameters, objects, remedies, no CLI text")
struct ConfineErrorTests {
    private static let fs = fakeHost(.hybrid)

    /// What `body` threw; nil if it threw nothing (or something other than a BerthError).
    private static func refusal(_ body: () throws -> Void) -> BerthError? {
        do { try body() } catch { return error as? BerthError }
        return nil
    }

    /// A hybrid host with only the cpu controller mounted.
    private static let cpuOnly: CgroupManager = {
        let hierarchy = CgroupHierarchy.legacy(mounts: [.cpu: "/sys/fs/cgroup/cpu"], unified: nil)
        return try! CgroupManager(hierarchy: hierarchy, filesystem: fakeHost(hierarchy))
    }()

    static let cases: [(String, String, @Sendable () throws -> Void)] = [
        ("memory", "size", { _ = try ResourceLimits.parseBytes("12q", parameter: "memory") }),
        ("memory", "minimum", { try ResourceLimits(memory: 4096).validate() }),
        ("memorySwap", "size", { _ = try ResourceLimits.parseSwap("lots") }),
        ("memorySwap", "needs a memory limit", { try ResourceLimits(memorySwap: .unlimited).validate() }),
        ("memorySwap", "below the memory limit", { try ResourceLimits(memory: 64 << 20, memorySwap: .total(32 << 20)).validate() }),
        ("cpus", "CPU", { _ = try ResourceLimits.parseCPUs("0") }),
        ("cpus", "minimum", { try ResourceLimits(nanoCPUs: 1000).validate() }),
        ("cpus", "CPUs this host has", { _ = try CgroupManager(hierarchy: .hybrid, filesystem: fakeHost(.hybrid)).create(id: "c", limits: ResourceLimits(nanoCPUs: 3_000_000_000)) }),
        ("cpuShares", "shares", { _ = try ResourceLimits.parseCPUShares("1") }),
        ("cpusetCPUs", "backwards", { _ = try CPUList(parsing: "3-1") }),
        ("cpusetCPUs", "not available", { _ = try CgroupManager(hierarchy: .hybrid, filesystem: fakeHost(.hybrid)).create(id: "c", limits: ResourceLimits(cpusetCPUs: CPUList([7]))) }),
        ("pids", "pids limit", { _ = try ResourceLimits.parsePidsLimit("many") }),
        ("pids", "0", { try ResourceLimits(pids: 0).validate() }),
        ("memory", "no memory controller", { _ = try cpuOnly.create(id: "c", limits: ResourceLimits(memory: 32 << 20)) }),
        ("pids", "no pids controller", { _ = try cpuOnly.create(id: "c", limits: ResourceLimits(pids: 20)) }),
        ("capabilities", "unknown capability", { _ = try Capability(parsing: "NET_RAWR") }),
        ("capabilities", "unknown capability", { _ = try CapabilitySet.docker.adjusted(adding: [], dropping: ["CAP_BOGUS"]) }),
        ("securityOptions", "not supported", { _ = try SecurityOption(parsing: "seccomp=/etc/profile.json") }),
        ("securityOptions", "not supported", { _ = try SecurityOption(parsing: "apparmor=unconfined") }),
        ("securityOptions", "invalid security option", { _ = try SecurityOption(parsing: "privileged") }),
        ("parent", "cgroup parent", { _ = try CgroupManager(hierarchy: .hybrid, parent: "../etc", filesystem: fs) }),
        ("id", "container id", { _ = try CgroupManager(hierarchy: .hybrid, filesystem: fs).create(id: "a/b", limits: ResourceLimits()) }),
    ]

    @Test("each refusal names its parameter and its problem, in words no front end has to undo", arguments: cases.indices)
    func parameters(_ index: Int) {
        let (parameter, words, body) = Self.cases[index]
        guard let error = Self.refusal(body) else { Issue.record("\(parameter): nothing thrown"); return }
        #expect(error.parameter == parameter, "\(error)")
        #expect(error.message.contains(words), "\(error)")
        #expect(error.hint != nil || error.remedy != nil || error.code == .invalidArgument, "\(error)")
        for text in [error.message, error.hint, error.remedy?.description].compactMap({ $0 }) {
            #expect(!text.contains("--") && !text.contains("berth ") && !text.contains("docker "), "\(text)")
        }
    }

    @Test("an unknown capability is the object of its error")
    func capabilityObject() {
        let error = Self.refusal { _ = try Capability(parsing: "NET_RAWR") }
        #expect(error?.object == BerthError.Object(.capability, "NET_RAWR"))
    }

    @Test("a cgroup left by a crash is refused as existing, with garbage collection as the remedy")
    func staleCgroup() throws {
        let cgroups = try CgroupManager(hierarchy: .v2, filesystem: fakeHost(.v2))
        _ = try cgroups.create(id: "stale", limits: ResourceLimits())
        let error = Self.refusal { _ = try cgroups.create(id: "stale", limits: ResourceLimits(pids: 5)) }
        #expect(error?.code == .alreadyExists)
        #expect(error?.object == .cgroup("/sys/fs/cgroup/berth/stale"))
        #expect(error?.operation == .createCgroup && error?.remedy == .collectGarbage)
        // What garbage collection then does.
        #expect(try cgroups.removeOrphans(keeping: []) == ["stale"])
        _ = try cgroups.create(id: "stale", limits: ResourceLimits(pids: 5))
    }
}
