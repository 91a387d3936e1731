import BerthConfine
import BerthTestSupport
import Foundation
import Testing

/// The device filter in the kernel: loaded, attached to a cgroup2 directory of its own, and
/// enforced on a shell that joins it. Runs wherever a cgroup2 tree is mounted — on this
/// project's hybrid machines the controller-less one at /sys/fs/cgroup/unified, which is
/// enough: device programs need no controller.
@Suite("DeviceProgram (kernel)", .enabled(if: try KernelTests.enabled && DeviceFilterHost.cgroup2 != nil))
struct DeviceProgramKernelTests {
    @Test("a shell in the cgroup may make any node and open null, but not open the kmsg node it made (EPERM)")
    func enforced() throws {
        let root = try #require(DeviceFilterHost.cgroup2)
        let directory = root + "/berth-device-test-" + KernelTests.uniqueSuffix()
        let scratch = NSTemporaryDirectory() + "berth-device-test-" + KernelTests.uniqueSuffix()
        try #require(mkdir(directory, 0o755) == 0, "mkdir \(directory): errno \(errno)")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer {
            // The shell has exited, so the cgroup is empty and goes; the program with it.
            rmdir(directory)
            try? FileManager.default.removeItem(atPath: scratch)
        }
        try KernelCgroupFilesystem().attachDeviceProgram(DeviceProgram(rules: DeviceRule.docker), to: directory)
        let script = """
            echo $$ > \(directory)/cgroup.procs || exit 9
            mknod \(scratch)/kmsg c 1 11 && echo made
            true < \(scratch)/kmsg && echo opened kmsg
            true < /dev/null && echo opened null
            """
        // `true`, not `:`: a redirection that fails on a special built-in ends a POSIX shell.
        let result = Command.run(["sh", "-c", script])
        #expect(result.stdout == "made\nopened null\n", "\(result)")
        #expect(result.stderr.contains("Operation not permitted"), "\(result)")
    }

    @Test("without the program the same shell opens the node (the test can tell)")
    func control() throws {
        let scratch = NSTemporaryDirectory() + "berth-device-test-" + KernelTests.uniqueSuffix()
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let result = Command.run(["sh", "-c", "mknod \(scratch)/kmsg c 1 11 && true < \(scratch)/kmsg && echo opened kmsg"])
        #expect(result.stdout == "opened kmsg\n", "\(result)")
    }
}

enum DeviceFilterHost {
    /// The mount point of a cgroup2 tree, if the host has one.
    static var cgroup2: String? {
        guard let mountinfo = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        for line in mountinfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count, fields[dash + 1] == "cgroup2", fields.count > 4 else { continue }
            return String(fields[4])
        }
        return nil
    }
}
