import BerthNamespace
import BerthCore
@testable import BerthNetwork
@testable import BerthRun
import Foundation
import Testing

/// Containers that outlive their command (BerthRun's tables at version 3): a store of the
/// previous version opens with its rows, settings come back as given, and the stop flag
/// wins every race against a restart.
@Suite("Container life-cycle state")
struct ContainerLifecycleStateTests {
    private func withStore(_ body: (StateStore, String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "berth-life-\(UUID().uuidString.prefix(8))/state"
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        try body(try StateStore(directory: dir), dir)
    }

    @Test("a store with BerthRun's version 2 tables (a running container of an older berth) opens at version 8, rows and arguments kept")
    func versionTwo() throws {
        try withStore { store, dir in
            // What the previous berth left: its two migrations, and a running container.
            try store.prepare(StateExtension(owner: ContainerSchema.owner, migrations: [ContainerSchema.adoptContainers, ContainerSchema.argumentsTable]))
            let id = String(repeating: "d", count: 64)
            try store.write { tx throws(BerthError) in
                try tx.db().execute("""
                    INSERT INTO containers (id, name, endpoint, network, pid, start_time, supervisor_pid, supervisor_start_time, hostname, rootfs, status, created)
                    VALUES (?, 'legacy', ?, 'berth', 4321, 77, 4320, 76, 'dddddddddddd', '/srv/r', 'running', 1000)
                    """, [.text(id), .text(id)])
                try tx.insertArguments(["sh", "-c", "echo 'a b'", ""], container: id)
            }

            let reopened = try StateStore(directory: dir)
            try reopened.prepare(ContainerSchema.stateExtension)
            #expect(try reopened.read { tx throws(BerthError) in try tx.schemaVersion(of: ContainerSchema.owner) } == 8)
            let row = try #require(try reopened.read { tx throws(BerthError) in try tx.container(id: id) })
            #expect(!row.oomKilled, "a row from before version 4 was not OOM-killed")
            #expect(!row.restartRequested, "a row from before version 5 has no restart under way")
            #expect(row.killAt == nil, "a row from before version 8 has no SIGKILL due")
            #expect(row.name == "legacy" && row.status == .running && row.command == ["sh", "-c", "echo 'a b'", ""])
            #expect(row.process == ProcessIdentity(pid: 4321, startTime: 77) && row.supervisor == ProcessIdentity(pid: 4320, startTime: 76))
            #expect(row.started == 1000 && row.finished == nil && row.exitCode == nil && row.restartCount == 0 && !row.stopRequested)
            // No settings were recorded: it cannot be started again, and says why.
            #expect(row.options == nil)
            try reopened.write { tx throws(BerthError) in try tx.markExited(id: id, exitCode: 137, finished: 1500, oomKilled: true) }
            #expect(try reopened.read { tx throws(BerthError) in try tx.container(id: id) }?.oomKilled == true)
            try reopened.write { tx throws(BerthError) in try tx.markExited(id: id, exitCode: 0, finished: 2000) }
            #expect(try reopened.read { tx throws(BerthError) in try tx.container(id: id) }?.oomKilled == false, "each exit says it anew")
            let claim = #expect(throws: BerthError.self) {
                try reopened.write { tx throws(BerthError) in try tx.claimForStart(id: id, supervisor: ProcessIdentity(pid: 1, startTime: 1)) }
            }
            #expect(claim?.code == .unsupported && claim?.message.contains("older berth") == true)
            // The arguments still go with the row.
            #expect(try reopened.write { tx throws(BerthError) in try tx.deleteContainer(id: id) })
            #expect(try reopened.read { tx throws(BerthError) in try tx.db().queryFirst("SELECT count(*) FROM container_args") { $0.int(0) } } == 0)
        }
    }

    @Test("a container's options are kept whole (command in container_args) and read back equal")
    func settings() throws {
        try withStore { store, _ in
            try store.prepare(ContainerSchema.stateExtension)
            var process = ContainerSpec(command: ["httpd", "-f", "-p", "80"], hostname: "web", rootfs: "/srv/rootfs", environment: ["A=1", "B="],
                                        workingDirectory: "/www")
            process.user = "bob:staff"
            process.mounts = [BindMount(source: "/srv/data", target: "/data", readOnly: true)]
            process.readOnlyRootfs = true
            process.terminal = true
            process.initProcess = true
            let options = RunOptions(process: process, name: "web", network: .bridge("front"),
                                     ports: [try PortSpec(parsing: "8000-8009:8000-8009"), try PortSpec(parsing: "127.0.0.1::53/udp")],
                                     address: try IPv4Address(parsing: "10.9.0.5"), interactive: true, restart: .onFailure(maximumRetries: 5))
            let record = ContainerRecord(id: RecordID.generate(), name: "web", endpointID: nil, network: "front", process: nil, supervisor: nil,
                                         command: process.command, hostname: "web", rootfs: "/srv/rootfs", status: .created, created: 5, options: options)
            try store.write { tx throws(BerthError) in try tx.insertContainer(record) }
            let back = try #require(try store.read { tx throws(BerthError) in try tx.container(id: record.id) })
            #expect(back.options == options)
            #expect(back == record)
            let stored = try store.read { tx throws(BerthError) in
                try tx.db().queryFirst("SELECT settings FROM containers WHERE id = ?", [.text(record.id)]) { $0.text(0) }
            }
            #expect(stored?.contains("httpd") == false, "the command lives in container_args only")
        }
    }

    @Test("a stop asked for wins: no start is recorded and no restart happens; a claim takes only a stopped container")
    func stopFlag() throws {
        try withStore { store, _ in
            try store.prepare(ContainerSchema.stateExtension)
            let me = try ProcessIdentity.current()
            let record = ContainerRecord(id: RecordID.generate(), name: "flag", endpointID: nil, network: "none", process: nil, supervisor: me,
                                         command: ["true"], hostname: "h", rootfs: nil, status: .created, created: 1,
                                         options: RunOptions(process: ContainerSpec(command: ["true"]), network: .none))
            try store.write { tx throws(BerthError) in try tx.insertContainer(record) }
            let child = ProcessIdentity(pid: 999_999, startTime: 1)
            try store.write { tx throws(BerthError) in try tx.markRunning(id: record.id, process: child, started: 10) }
            // Running under a live supervisor (this process): no second start.
            let running = #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in try tx.claimForStart(id: record.id, supervisor: me) }
            }
            #expect(running?.code == .conflict && running?.message == "container flag is already running")

            try store.write { tx throws(BerthError) in
                try tx.requestStop(id: record.id)
                try tx.markExited(id: record.id, exitCode: 1, finished: 20)
            }
            #expect(try !store.write { tx throws(BerthError) in try tx.markRestarting(id: record.id) })
            let late = #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in try tx.markRunning(id: record.id, process: child, started: 30) }
            }
            #expect(late?.code == .conflict)

            // Exited but still supervised (its supervisor releasing the network): no start yet.
            let stopping = #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in try tx.claimForStart(id: record.id, supervisor: me) }
            }
            #expect(stopping?.code == .conflict && stopping?.message == "container flag is still stopping")
            try store.write { tx throws(BerthError) in try tx.clearSupervisor(id: record.id, if: me) }

            // A new start clears the flag and the count, and says who supervises.
            let claimed = try store.write { tx throws(BerthError) in try tx.claimForStart(id: record.id, supervisor: me) }
            #expect(claimed.status == .created && !claimed.stopRequested && claimed.restartCount == 0 && claimed.supervisor == me)
            #expect(try store.write { tx throws(BerthError) in try tx.markRestarting(id: record.id) })
            let row = try #require(try store.read { tx throws(BerthError) in try tx.container(id: record.id) })
            #expect(row.status == .restarting && row.restartCount == 1 && row.exitCode == 1 && row.finished == 20 && row.process == nil)
        }
    }

    /// A container row for the clean-up tests: no network, so releasing it touches no kernel.
    private func orphanRow(_ name: String, status: ContainerRecord.Status, supervisor: ProcessIdentity?, autoRemove: Bool = false) -> ContainerRecord {
        var options = RunOptions(process: ContainerSpec(command: ["sleep", "60"]), name: name, network: .none)
        options.autoRemove = autoRemove
        return ContainerRecord(id: RecordID.generate(), name: name, endpointID: nil, network: "none",
                               process: status == .exited ? nil : ProcessIdentity(pid: 999_998, startTime: 1), supervisor: supervisor,
                               command: ["sleep", "60"], hostname: name, rootfs: nil, status: status, created: 1, options: options)
    }

    @Test("an orphan's clean-up acts only on the row it read: one started meanwhile is left as its new supervisor has it, and one claimed refuses a start")
    func orphanClaim() throws {
        let dir = NSTemporaryDirectory() + "berth-orphan-\(UUID().uuidString.prefix(8))/state"
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        let manager = try NetworkManager(stateDirectory: dir)
        let store = try manager.containerStore()
        let dead = ProcessIdentity(pid: 999_999, startTime: 1)     // no process has this start time
        let me = try ProcessIdentity.current()

        // gc (or a start's clean-up) read X orphaned; meanwhile `berth start X` claimed it.
        for status in [ContainerRecord.Status.running, .exited] {
            let orphan = orphanRow("raced-\(status)", status: status, supervisor: dead)
            try store.write { tx throws(BerthError) in try tx.insertContainer(orphan) }
            let stale = try Container.find(orphan.name, manager: manager)
            #expect(!stale.isSupervised)
            _ = try store.write { tx throws(BerthError) in try tx.claimForStart(id: orphan.id, supervisor: me) }
            if status == .exited {
                #expect(try !Container.finishOrphan(stale, removes: false, manager: manager))
            } else {
                _ = try Container.reapOrphan(stale, manager: manager)
            }
            let row = try #require(try store.read { tx throws(BerthError) in try tx.container(id: orphan.id) })
            #expect(row.status == .created && row.supervisor == me, "the new start's row was taken by a stale clean-up: \(row.status)")
            #expect(try Container.removeOrphans(manager: manager).isEmpty, "a supervised container is no orphan")
        }

        // A stale --rm row is not deleted once started again.
        let removable = orphanRow("rm-raced", status: .exited, supervisor: nil, autoRemove: true)
        try store.write { tx throws(BerthError) in try tx.insertContainer(removable) }
        let staleRemovable = try Container.find("rm-raced", manager: manager)
        _ = try store.write { tx throws(BerthError) in try tx.claimForStart(id: removable.id, supervisor: me) }
        #expect(try !Container.finishOrphan(staleRemovable, removes: true, manager: manager))
        #expect(try store.read { tx throws(BerthError) in try tx.container(id: removable.id) } != nil)

        // Claimed by a reaper (a live process), an orphan refuses a start until it is released.
        let orphan = orphanRow("claimed", status: .running, supervisor: dead)
        try store.write { tx throws(BerthError) in try tx.insertContainer(orphan) }
        let claimed = try store.write { tx throws(BerthError) in try tx.claimOrphan(orphan, reaper: me) }
        #expect(claimed?.supervisor == me)
        #expect(try store.write { tx throws(BerthError) in try tx.claimOrphan(orphan, reaper: me) } == nil, "claimed once only")
        let refused = #expect(throws: BerthError.self) {
            try store.write { tx throws(BerthError) in try tx.claimForStart(id: orphan.id, supervisor: ProcessIdentity(pid: 1, startTime: 1)) }
        }
        #expect(refused?.code == .conflict)

        // A real orphan is still reaped: exited 255 (no exit seen), unsupervised.
        let lost = orphanRow("lost", status: .running, supervisor: dead)
        try store.write { tx throws(BerthError) in try tx.insertContainer(lost) }
        let handled = try Container.removeOrphans(manager: manager)
        #expect(handled.map(\.name) == ["lost"])
        let left = try #require(try store.read { tx throws(BerthError) in try tx.container(id: lost.id) })
        #expect(left.status == .exited && left.exitCode == 255 && left.supervisor == nil)
    }

    /// `berth restart` of a `--rm` container whose start then fails (a port another container
    /// took meanwhile): the start's supervisor gives it up (`unsupervise`) without its command
    /// having run. Before, the start's claim had cleared the restart's mark already, and the
    /// next gc deleted the container.
    @Test("a restart's mark lasts until the command runs: a start that fails first leaves the --rm container for start or rm, and gc keeps it")
    func restartMarkKept() throws {
        let dir = NSTemporaryDirectory() + "berth-mark-\(UUID().uuidString.prefix(8))/state"
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        let manager = try NetworkManager(stateDirectory: dir)
        let store = try manager.containerStore()
        let me = try ProcessIdentity.current()
        let kept = orphanRow("again", status: .exited, supervisor: nil, autoRemove: true)
        try store.write { tx throws(BerthError) in try tx.insertContainer(kept) }
        func row() throws -> ContainerRecord? { try store.read { tx throws(BerthError) in try tx.container(id: kept.id) } }

        try store.write { tx throws(BerthError) in try tx.requestStop(id: kept.id, restarting: true) }
        let claimed = try store.write { tx throws(BerthError) in try tx.claimForStart(id: kept.id, supervisor: me) }
        #expect(claimed.restartRequested && !claimed.stopRequested)
        try Container.unsupervise(claimed, manager: manager)
        let failed = try #require(try row())
        #expect(failed.status == .exited && failed.restartRequested && failed.supervisor == nil, "\(failed)")
        #expect(try Container.removeOrphans(manager: manager).isEmpty)
        #expect(try row() != nil, "gc removed a --rm container whose restart's start failed")

        // A start whose command runs clears it: the next end removes the container as usual.
        _ = try store.write { tx throws(BerthError) in try tx.claimForStart(id: kept.id, supervisor: me) }
        try store.write { tx throws(BerthError) in try tx.markRunning(id: kept.id, process: ProcessIdentity(pid: 999_997, startTime: 1), started: 5) }
        #expect(try row()?.restartRequested == false)
        // A plain stop after a restart's takes the mark back: the end it causes removes it.
        try store.write { tx throws(BerthError) in try tx.requestStop(id: kept.id, restarting: true) }
        try store.write { tx throws(BerthError) in try tx.requestStop(id: kept.id) }
        #expect(try row()?.restartRequested == false)
    }

    @Test("a stop records when its SIGKILL is due with the flag (none for -1); a new start clears it")
    func killDeadline() throws {
        try withStore { store, _ in
            try store.prepare(ContainerSchema.stateExtension)
            let me = try ProcessIdentity.current()
            let record = ContainerRecord(id: RecordID.generate(), name: "due", endpointID: nil, network: "none", process: nil, supervisor: nil,
                                         command: ["true"], hostname: "h", rootfs: nil, status: .exited, created: 1,
                                         options: RunOptions(process: ContainerSpec(command: ["true"]), network: .none))
            try store.write { tx throws(BerthError) in try tx.insertContainer(record) }
            func row() throws -> ContainerRecord? { try store.read { tx throws(BerthError) in try tx.container(id: record.id) } }
            try store.write { tx throws(BerthError) in try tx.requestStop(id: record.id, killAt: 123_456) }
            #expect(try row()?.killAt == 123_456 && row()?.stopRequested == true)
            try store.write { tx throws(BerthError) in try tx.requestStop(id: record.id) }
            #expect(try row()?.killAt == nil, "stop -t -1 sends no SIGKILL")
            try store.write { tx throws(BerthError) in try tx.requestStop(id: record.id, killAt: 7) }
            let claimed = try store.write { tx throws(BerthError) in try tx.claimForStart(id: record.id, supervisor: me) }
            #expect(claimed.killAt == nil)
            #expect(try row()?.killAt == nil && row()?.stopRequested == false)
            #expect(Container.milliseconds(.seconds(10)) == 10_000 && Container.milliseconds(.microseconds(1500)) == 2)
        }
    }

    @Test("after a reboot (another boot recorded), the earlier boot's containers are exited 255 and unsupervised before anything reads them; nothing is signalled")
    func reboot() throws {
        let dir = NSTemporaryDirectory() + "berth-reboot-\(UUID().uuidString.prefix(8))/state"
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        // What the earlier boot left: identities that now name a live, unrelated process (this one).
        let me = try ProcessIdentity.current()
        let raw = try StateStore(directory: dir)
        try raw.prepare(ContainerSchema.stateExtension)
        var running = orphanRow("up", status: .running, supervisor: me)
        running.process = me
        let restarting = orphanRow("again", status: .restarting, supervisor: me)
        var stopped = orphanRow("down", status: .exited, supervisor: me)
        stopped.exitCode = 3
        try raw.write { tx throws(BerthError) in
            for row in [running, restarting, stopped] { try tx.insertContainer(row) }
            _ = try tx.db().execute("INSERT INTO container_boot (singleton, boot) VALUES (1, 'an-earlier-boot')")
        }

        let manager = try NetworkManager(stateDirectory: dir)
        let boot = try #require(manager.host.bootID)
        let rows = Dictionary(uniqueKeysWithValues: try Container.list(manager: manager).map { ($0.name, $0) })
        for name in ["up", "again"] {
            let row = try #require(rows[name])
            #expect(row.status == .exited && row.exitCode == 255 && row.finished != nil && row.process == nil && row.supervisor == nil, "\(name): \(row)")
        }
        let down = try #require(rows["down"])
        #expect(down.status == .exited && down.exitCode == 3 && down.supervisor == nil)
        #expect(try manager.store.read { tx throws(BerthError) in try tx.containerBoot() } == boot)
        // Nothing is left to reap: gc signals no one (this process is still here to say so).
        #expect(try Container.removeOrphans(manager: manager).isEmpty)

        // This boot's rows are left alone; a store with no boot recorded only records it.
        try manager.store.write { tx throws(BerthError) in
            #expect(try tx.settleContainers(boot: boot, now: 9) == 0)
            _ = try tx.db().execute("DELETE FROM container_boot")
            try tx.insertContainer(orphanRow("fresh", status: .running, supervisor: me))
            #expect(try tx.settleContainers(boot: boot, now: 9) == 0)
        }
        #expect(try Container.find("fresh", manager: manager).status == .running)
        #expect(try manager.store.read { tx throws(BerthError) in try tx.containerBoot() } == boot)
    }

    @Test("after a reboot, a container waiting to restart (no process, its last end recorded) keeps that end, as gc records it; one mid-run gets 255")
    func rebootWhileRestarting() throws {
        try withStore { store, _ in
            try store.prepare(ContainerSchema.stateExtension)
            var waiting = orphanRow("waiting", status: .restarting, supervisor: nil)
            waiting.process = nil
            waiting.exitCode = 7
            waiting.finished = 5
            // Restarting with a command again (its process recorded): its end went unseen.
            var rerun = orphanRow("rerun", status: .restarting, supervisor: nil)
            rerun.exitCode = 7
            rerun.finished = 5
            var unknown = orphanRow("unknown", status: .restarting, supervisor: nil)
            unknown.process = nil
            try store.write { tx throws(BerthError) in
                for row in [waiting, rerun, unknown] { try tx.insertContainer(row) }
                _ = try tx.db().execute("INSERT INTO container_boot (singleton, boot) VALUES (1, 'an-earlier-boot')")
                #expect(try tx.settleContainers(boot: "this-boot", now: 9) == 3)
            }
            let rows = try store.read { tx throws(BerthError) in try tx.containers() }
            let byName = Dictionary(uniqueKeysWithValues: rows.map { ($0.name, $0) })
            let kept = try #require(byName["waiting"])
            #expect(kept.status == .exited && kept.exitCode == 7 && kept.finished == 5 && kept.process == nil, "\(kept)")
            for name in ["rerun", "unknown"] {
                let row = try #require(byName[name])
                #expect(row.status == .exited && row.exitCode == 255 && row.finished == 9 && row.process == nil, "\(name): \(row)")
            }
        }
    }

}
