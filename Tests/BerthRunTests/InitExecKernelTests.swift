import BerthConfine
import BerthRun
import BerthTestSupport
import Foundation
import Testing

/// How PID 1 of an `initProcess` container becomes berth-init: by execveat of the descriptor
/// berth opened, and by nothing else (spawn.c, exec_init).
@Suite("The init's exec of berth-init (kernel)", .enabled(if: try KernelTests.enabled))
struct InitExecKernelTests {
    /// The size of the file `/proc/PID/exe` is (a view or a sealed copy of it has the same).
    private func executableSize(of pid: Int32) throws -> Int {
        let fd = open("/proc/\(pid)/exe", O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0, "open /proc/\(pid)/exe: errno \(errno)")
        defer { close(fd) }
        var info = stat()
        try #require(fstat(fd, &info) == 0)
        return Int(info.st_size)
    }

    /// Starts `sleep 300` under an init with `confinement`, and returns the size of the
    /// init's executable once the start returned (the init has then exec'd berth-init, or
    /// given up and closed its copy of the status pipe); the container is killed after.
    private func initExecutableSize(_ rootfs: BusyboxRootfs, _ confinement: Confinement) throws -> Int {
        var spec = ContainerSpec(command: ["sleep", "300"], rootfs: rootfs.path, confinement: confinement)
        spec.initProcess = true
        let process = try ContainerProcess.spawn(spec)
        do {
            try process.start()
        } catch {
            process.abort()
            throw error
        }
        defer {
            try? process.signal(SIGKILL)
            _ = try? process.wait()
        }
        return try executableSize(of: process.pid)
    }

    /// With the filter refusing execveat (EPERM) and allowing execve, an exec of
    /// /proc/self/fd/N would succeed in this container (its /proc is mounted): the init must
    /// not try it, and runs its loop in place, the test binary's image.
    @Test("PID 1 execs berth-init by execveat only: where the filter refuses execveat it runs the loop in place, with no execve of /proc/self/fd/N")
    func noExecveFallback() throws {
        let own = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let berthInit = (own as NSString).deletingLastPathComponent + "/berth-init"
        var initInfo = stat(), ownInfo = stat()
        try #require(stat(berthInit, &initInfo) == 0, "no \(berthInit): build the package first")
        try #require(stat("/proc/self/exe", &ownInfo) == 0)
        try #require(initInfo.st_size != ownInfo.st_size)
        try withRootfs { rootfs in
            // Docker's profile: berth-init is exec'd.
            #expect(try initExecutableSize(rootfs, Confinement()) == Int(initInfo.st_size))
            var profile = SeccompProfile.docker
            profile.rules = profile.rules.compactMap { rule in
                var rule = rule
                rule.names.removeAll { $0 == "execveat" }
                return rule.names.isEmpty ? nil : rule
            }
            try #require(!profile.rules.contains { $0.names.contains("execveat") } && profile.rules.contains { $0.names.contains("execve") })
            #expect(try initExecutableSize(rootfs, Confinement(seccomp: profile)) == Int(ownInfo.st_size))
        }
    }
}
