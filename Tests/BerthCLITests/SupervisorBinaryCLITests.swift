import BerthTestSupport
import Foundation
import Testing

/// A detached container's supervisor lives as long as the container: it must be the lean
/// `berth`, not `berth-cli` (argument-parser, Foundation), whichever command started it.
@Suite("berth CLI: the detached supervisor's binary (kernel)", .enabled(if: try KernelTests.enabled))
struct SupervisorBinaryCLITests {
    /// The file a process runs (`/proc/PID/exe`), as device and inode: the supervisor runs
    /// its binary through a read-only view of it (SealedExecutable), whose path is not the
    /// file's, but whose inode is.
    private func executable(of pid: Int) -> [UInt64]? { identity("/proc/\(pid)/exe") }

    private func identity(_ path: String) -> [UInt64]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [UInt64(info.st_dev), UInt64(info.st_ino)]
    }

    private func supervisor(_ sandbox: HostSandbox, _ name: String) throws -> Int {
        try #require(try ContainerCLI.container(sandbox, name)?["supervisorPid"] as? Int)
    }

    @Test("run -d, start and restart leave the lean berth beside berth-cli supervising the container")
    func leanSupervisor() throws {
        let lean = try #require(identity(Command.berthBinary))
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                let run = sandbox.berth(["run", "-d", "--name", "svc", "--network", "none", "--rootfs", rootfs.path, "--", "sleep", "1000"])
                try #require(run.status == 0, "\(run)")
                #expect(executable(of: try supervisor(sandbox, "svc")) == lean)

                #expect(sandbox.berth(["restart", "-t", "0", "svc"]).status == 0)
                #expect(executable(of: try supervisor(sandbox, "svc")) == lean)

                #expect(sandbox.berth(["stop", "-t", "0", "svc"]).status == 0)
                #expect(sandbox.berth(["start", "svc"]).status == 0)
                #expect(executable(of: try supervisor(sandbox, "svc")) == lean)
                #expect(sandbox.berth(["rm", "-f", "svc"]).status == 0)
            }
        }
    }
}
