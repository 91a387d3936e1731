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
