import BerthCore
import BerthConfine
import BerthNamespace
import BerthNetwork
@testable import BerthRun
import Foundation
import Synchronization
import Testing

/// Garbage collection of orphaned cgroups on a fake cgroup tree: the wait for a process the
/// kernel does not let go is not made under the state's lock, and does not stop the rest.
@Suite("Orphaned cgroups")
struct OrphanCgroupTests {
    /// Whether a write of another `StateStore` got through, set from the fake tree's hook.
    private final class Witnessed: Sendable {
        let wrote = Mutex(false)
    }

    @Test("a cgroup that never empties is waited for outside the state lock, reported, and the cgroups after it are removed")
    func stuckCgroup() throws {
        let dir = NSTemporaryDirectory() + "berth-orphan-\(UUID().uuidString.prefix(8))/state"
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        let manager = try NetworkManager(stateDirectory: dir)
        _ = try manager.containerStore()

        let parent = "/sys/fs/cgroup/berth"
        let fs = FakeCgroupFilesystem()
        fs.seed(directories: [parent + "/a-stuck", parent + "/b-dead"],
                files: [parent + "/a-stuck/cgroup.procs": "4242\n", parent + "/b-dead/cgroup.procs": "4343\n"])
        fs.stick(4242)
        let hierarchy = try CgroupHierarchy.detect(mountinfo: "35 24 0:30 / /sys/fs/cgroup rw,relatime shared:9 - cgroup2 cgroup2 rw\n") { _ in
            "cpu memory pids\n"
        }
        let cgroups = try CgroupManager(hierarchy: hierarchy, filesystem: fs)

        // Another process (an attach, a hook) writes while gc waits on the stuck cgroup.
        let other = try StateStore(directory: dir, lockTimeout: .milliseconds(20))
        let witnessed = Witnessed()
        fs.whenRead { path in
            guard path == parent + "/a-stuck/cgroup.procs", !witnessed.wrote.withLock({ $0 }) else { return }
            if (try? other.write { _ throws(BerthError) in }) != nil { witnessed.wrote.withLock { $0 = true } }
        }

        let failures = Container.removeOrphanedCgroups(manager: manager, cgroups: cgroups, timeout: .milliseconds(300))
        #expect(witnessed.wrote.withLock { $0 }, "every write waited for the state lock gc held while it waited on the stuck cgroup")
        #expect(failures.map(\.object) == [.cgroup(parent + "/a-stuck")], "\(failures)")
        #expect(failures.first?.message.contains("4242") == true, "\(failures)")
        #expect(fs.isDirectory(parent + "/a-stuck"))
        #expect(!fs.isDirectory(parent + "/b-dead"), "the cgroup after the stuck one was left")
        #expect(fs.log.contains("kill 4343") && fs.log.contains("rmdir \(parent)/b-dead"), "\(fs.log)")
    }

    /// An older Berth put a state's containers under a parent keyed on the state's path
    /// alone (`berth` for the default state), which another state at that path shares (a
    /// fence's private /var/lib/berth beside the machine's): gc takes from it only the
    /// cgroups of containers this state records as ended, and from its own parent every one
    /// no container of its own may hold.
    @Test("gc: under an older Berth's parent only this state's ended containers' cgroups go; under its own, every one it does not hold")
    func legacyParent() throws {
        let dir = NSTemporaryDirectory() + "berth-orphan-\(UUID().uuidString.prefix(8))/state"
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        let manager = try NetworkManager(stateDirectory: dir)
        let instance = try manager.store.read { tx throws(BerthError) in try tx.instance() }
        let own = "/sys/fs/cgroup/" + Container.cgroupParent(instance: instance)
        let legacy = "/sys/fs/cgroup/" + Container.legacyCgroupParent(stateDirectory: dir)
        #expect(own != legacy)
        let ended = RecordID.generate(), running = RecordID.generate(), foreign = RecordID.generate(), stray = RecordID.generate()
        try manager.containerStore().write { tx throws(BerthError) in
            try tx.insertContainer(ContainerRecord(id: ended, name: "ended", endpointID: nil, network: "none", process: nil, supervisor: nil,
                                                   command: ["true"], hostname: "e", rootfs: nil, status: .exited, created: 1))
            try tx.insertContainer(ContainerRecord(id: running, name: "running", endpointID: nil, network: "none", process: nil,
                                                   supervisor: try ProcessIdentity.current(), command: ["true"], hostname: "r", rootfs: nil,
                                                   status: .running, created: 1))
        }
        let fs = FakeCgroupFilesystem()
        let paths = [legacy + "/" + ended, legacy + "/" + running, legacy + "/" + foreign, own + "/" + stray]
        fs.seed(directories: paths, files: Dictionary(uniqueKeysWithValues: paths.map { ($0 + "/cgroup.procs", "") }))
        let hierarchy = try CgroupHierarchy.detect(mountinfo: "35 24 0:30 / /sys/fs/cgroup rw,relatime shared:9 - cgroup2 cgroup2 rw\n") { _ in
            "cpu memory pids\n"
        }
        let cgroups = try CgroupManager(hierarchy: hierarchy, parent: Container.cgroupParent(instance: instance), filesystem: fs)
        let failures = Container.removeOrphanedCgroups(manager: manager, cgroups: cgroups,
                                                       legacy: try cgroups.withParent(Container.legacyCgroupParent(stateDirectory: dir)))
        #expect(failures.isEmpty, "\(failures)")
        #expect(!fs.isDirectory(legacy + "/" + ended), "an ended container of this state: its cgroup goes")
        #expect(fs.isDirectory(legacy + "/" + running), "a running container of this state keeps its cgroup")
        #expect(fs.isDirectory(legacy + "/" + foreign), "another state's container under the shared parent was touched: \(fs.log)")
        #expect(!fs.isDirectory(own + "/" + stray), "a cgroup under the state's own parent that nothing holds goes")
    }

}
