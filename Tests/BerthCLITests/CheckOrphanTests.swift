@testable import berth
import BerthCore
import BerthNamespace
import BerthRun
import Testing

/// `berth check` reports what `ps` shows as Orphaned, as a problem `gc` fixes.
@Suite("berth check: orphaned containers")
struct CheckOrphanTests {
    @Test("a container not exited whose supervisor is gone is a problem naming 'berth gc'; exited or supervised ones are not")
    func orphans() throws {
        func record(_ name: String, _ status: ContainerRecord.Status, supervisor: ProcessIdentity?) -> ContainerRecord {
            ContainerRecord(id: String(repeating: "e", count: 64), name: name, endpointID: nil, network: "none", process: nil,
                            supervisor: supervisor, command: ["sleep", "1d"], hostname: name, rootfs: nil, status: status, created: 1)
        }
        let me = try ProcessIdentity.current()
        let orphan = record("sy1", .running, supervisor: nil)
        let found = CheckCommand.orphaned([orphan, record("done", .exited, supervisor: nil), record("alive", .running, supervisor: me)])
        #expect(found.map(\.name) == ["sy1"])
        #expect(CheckCommand.orphanLine(orphan) == "container sy1 is orphaned: its supervisor is gone, so nothing reaps its command or releases its network "
                + "(run 'berth gc' to stop it; it is kept, exited, for 'berth rm')")
    }
}
