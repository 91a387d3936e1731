@testable import BerthConfine
import BerthCore
import Testing

@Suite("CgroupManager.existing")
struct CgroupExistingTests {
    @Test("v1: only the trees where the container's directory exists; none gives nil")
    func legacy() throws {
        let host = fakeHost(.hybrid)
        let cgroups = try CgroupManager(hierarchy: .hybrid, filesystem: host)
        #expect(cgroups.existing(id: "c1") == nil)
        let made = try cgroups.create(id: "c1", limits: ResourceLimits(pids: 20))
        let found = try #require(cgroups.existing(id: "c1"))
        #expect(found == made)
        #expect(found.directory(.cpuset) == nil, "cpuset is joined only when limited")
        #expect(cgroups.existing(id: "../c1") == nil, "a name, never a path")
        try cgroups.remove(found)
        #expect(cgroups.existing(id: "c1") == nil)
    }

    /// dockerd refuses to start without the devices controller ("Devices cgroup isn't
    /// mounted"): without the allow-list, root in the container keeps CAP_MKNOD and could
    /// open a node of the host's disks. A privileged container needs no restriction.
    @Test("v1 without a devices controller: refused unless the devices are not restricted, nothing made")
    func legacyWithoutDevices() throws {
        let noDevices = CgroupHierarchy.legacy(mounts: [.memory: "/sys/fs/cgroup/memory", .pids: "/sys/fs/cgroup/pids"], unified: nil)
        let host = fakeHost(noDevices)
        let cgroups = try CgroupManager(hierarchy: noDevices, filesystem: host)
        let error = try #require(throws: BerthError.self) { try cgroups.create(id: "c1", limits: ResourceLimits()) }
        #expect(error.code == .unsupported)
        #expect(error.message.contains("no devices controller"), "\(error.message)")
        #expect(cgroups.existing(id: "c1") == nil, "nothing made")
        let privileged = try cgroups.create(id: "c1", limits: ResourceLimits(), restrictDevices: false)
        #expect(privileged.paths.sorted() == ["/sys/fs/cgroup/memory/berth/c1", "/sys/fs/cgroup/pids/berth/c1"])
    }

    @Test("v2: the one directory")
    func unified() throws {
        let cgroups = try CgroupManager(hierarchy: .v2, filesystem: fakeHost(.v2))
        _ = try cgroups.create(id: "c2", limits: ResourceLimits())
        #expect(try #require(cgroups.existing(id: "c2")).paths == ["/sys/fs/cgroup/berth/c2"])
    }

    @Test("check refuses what create would, making nothing")
    func check() throws {
        let host = fakeHost(.hybrid)
        let cgroups = try CgroupManager(hierarchy: .hybrid, filesystem: host)
        let error = #expect(throws: BerthError.self) { try cgroups.check(ResourceLimits(cpusetCPUs: try CPUList(parsing: "64"))) }
        #expect(error?.parameter == "cpusetCPUs")
        #expect(throws: BerthError.self) { try cgroups.check(ResourceLimits(memory: 1024)) }
        #expect(try cgroups.containerIDs().isEmpty)
    }
}
