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

    /// `exec` must not run a command of a non-privileged container outside its device
    /// allow-list: a cgroup that cannot be found (or, on v1, its devices tree) is refused.
    @Test("entering: a missing cgroup, or a v1 cgroup without its devices tree, is refused unless the devices are not restricted")
    func entering() throws {
        let host = fakeHost(.hybrid)
        let cgroups = try CgroupManager(hierarchy: .hybrid, filesystem: host)
        let missing = try #require(throws: BerthError.self) { try cgroups.entering(id: "c1", restrictDevices: true) }
        #expect(missing.code == .notFound)
        #expect(missing.message.contains("cgroup of container c1 is missing"), "\(missing.message)")
        #expect(try cgroups.entering(id: "c1", restrictDevices: false) == nil, "a privileged container may have none")
        let made = try cgroups.create(id: "c1", limits: ResourceLimits())
        #expect(try cgroups.entering(id: "c1", restrictDevices: true) == made)
        try host.removeDirectory("/sys/fs/cgroup/devices/berth/c1")
        let noDevices = try #require(throws: BerthError.self) { try cgroups.entering(id: "c1", restrictDevices: true) }
        #expect(noDevices.message.contains("devices cgroup of container c1 is missing"), "\(noDevices.message)")
        #expect(noDevices.object == .cgroup("/sys/fs/cgroup/devices/berth/c1"))
        #expect(try cgroups.entering(id: "c1", restrictDevices: false)?.directory(.memory) == "/sys/fs/cgroup/memory/berth/c1")

        let v2 = try CgroupManager(hierarchy: .v2, filesystem: fakeHost(.v2))
        #expect(throws: BerthError.self) { try v2.entering(id: "c2", restrictDevices: true) }
        let unified = try v2.create(id: "c2", limits: ResourceLimits())
        #expect(try v2.entering(id: "c2", restrictDevices: true)?.paths == unified.paths)
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
