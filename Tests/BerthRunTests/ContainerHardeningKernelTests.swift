import BerthConfine
import BerthCore
import BerthRun
import BerthTestSupport
import Foundation
import Synchronization
import Testing

/// capget(2)/capset(2) act on the calling thread only. glibc exports both; Swift cannot call
/// the variadic syscall(), so they are looked up by name.
private typealias CapabilityCall = @convention(c) (UnsafeMutableRawPointer, UnsafeMutableRawPointer) -> Int32

private func capabilityCall(_ name: String) -> CapabilityCall? {
    guard let symbol = dlsym(nil, name) else { return nil }
    return unsafeBitCast(symbol, to: CapabilityCall.self)
}

/// Removes `capability` from this thread's effective, permitted and inheritable sets; false if
/// that failed. The thread must end afterwards (it cannot get it back).
private func dropFromThisThread(capability: Int) -> Bool {
    guard let capget = capabilityCall("capget"), let capset = capabilityCall("capset") else { return false }
    var header: (UInt32, Int32) = (0x2008_0522, 0) // _LINUX_CAPABILITY_VERSION_3, this thread
    var data: [UInt32] = Array(repeating: 0, count: 6) // 2 x { effective, permitted, inheritable }
    let got = withUnsafeMutableBytes(of: &header) { h in data.withUnsafeMutableBytes { capget(h.baseAddress!, $0.baseAddress!) } }
    guard got == 0 else { return false }
    let word = capability / 32, bit = UInt32(1) << UInt32(capability % 32)
    for field in 0..<3 { data[word * 3 + field] &= ~bit }
    return withUnsafeMutableBytes(of: &header) { h in data.withUnsafeMutableBytes { capset(h.baseAddress!, $0.baseAddress!) } } == 0
}

/// Runs `body` on a thread of its own and waits for it: for tests that change a thread's
/// credentials, which must not outlive the test.
private func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: T?
    let thread = Thread {
        result = body()
        done.signal()
    }
    thread.start()
    done.wait()
    return result!
}

private func readlinkErrno(_ path: String) -> Int32 {
    var buffer = [CChar](repeating: 0, count: 4096)
    return readlink(path, &buffer, buffer.count) < 0 ? errno : 0
}

private let capSysPtrace = 19
private let capMknod = 27

/// Set by a watchdog thread, read by the test.
private final class WatchdogFlag: Sendable {
    let value = Atomic<Bool>(false)
}

/// Hardening runc and Docker apply beyond namespaces, capabilities and the filter.
@Suite("Container hardening (kernel)", .enabled(if: try KernelTests.enabled))
struct ContainerHardeningKernelTests {
    /// runc's CVE-2024-21626: a directory the parent holds open is reachable from the child
    /// as /proc/self/fd/N until it is closed, and a working directory the container made a
    /// link to it would start the command (or create directories) on the host. The test
    /// holds such a directory open itself, as any embedding runtime may, and links the
    /// rootfs's /app to it: the command must neither read the file there nor create
    /// anything in it.
    @Test("a working directory linked to /proc/self/fd/N never reaches a directory the parent holds open (CVE-2024-21626)")
    func workingDirectoryThroughInheritedDescriptor() throws {
        try withRootfs { rootfs in
            let outside = NSTemporaryDirectory() + "berth-outside-\(getpid())-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: outside) }
            try "host secret\n".write(toFile: outside + "/secret", atomically: false, encoding: .utf8)
            let fd = open(outside, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            try #require(fd >= 0)
            defer { close(fd) }
            try FileManager.default.createSymbolicLink(atPath: rootfs.path + "/app", withDestinationPath: "/proc/self/fd/\(fd)")
            for workdir in ["/app", "/app/sub"] {
                var spec = ContainerSpec(command: ["cat", "secret"], rootfs: rootfs.path)
                spec.workingDirectory = workdir
                let result = Result { try run(spec) }
                if case .success(let ran) = result {
                    #expect(!ran.output.contains("host secret"), "-w \(workdir) started the command in the parent's directory")
                }
                #expect(!FileManager.default.fileExists(atPath: outside + "/sub"), "-w \(workdir) made a directory through the link")
            }
        }
    }

    /// The volumes' detached copies stay open in the child (as /proc/self/fd/N) while their
    /// targets are made: a read-only one must be read-only before any target is, or a
    /// target under a link the rootfs holds (`/a/x`, `/a` → `/proc/self/fd/N`) is made on
    /// the host in the read-only source. N is not known here: every number is tried.
    @Test("a volume's target never leads into a read-only volume's source before it is read-only")
    func volumeTargetIntoReadOnlySource() throws {
        try withRootfs { rootfs in
            let base = NSTemporaryDirectory() + "berth-volumes-\(getpid())-\(UUID().uuidString.prefix(8))"
            let (writable, readOnly) = (base + "/rw", base + "/ro")
            for dir in [writable, readOnly] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            defer { try? FileManager.default.removeItem(atPath: base) }
            let highest = (try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")).compactMap { Int($0) }.max() ?? 64
            for n in 3...(highest + 16) {
                unlink(rootfs.path + "/a")
                try FileManager.default.createSymbolicLink(atPath: rootfs.path + "/a", withDestinationPath: "/proc/self/fd/\(n)")
                var spec = ContainerSpec(command: ["true"], rootfs: rootfs.path)
                // Of equal depth, so attached in this order (BindMount.inMountOrder): the
                // read-only copy is still detached while /a/x is made.
                spec.mounts = [BindMount(source: writable, target: "/a/x"), BindMount(source: readOnly, target: "/b/ro", readOnly: true)]
                _ = try? run(spec)
                let made = FileManager.default.fileExists(atPath: readOnly + "/x")
                #expect(!made, "descriptor \(n): the target was made in the read-only source")
                if made { break }
            }
        }
    }

    /// Where mount_setattr is missing (Linux < 5.12) or refused (a seccomp profile around
    /// berth: EPERM), a read-only volume's copy stays writable until it is attached, while
    /// the targets before it are made: a target under a link to /proc/self/fd/N must then be
    /// refused, not made in that copy — the host directory the user mounted read-only. The
    /// lookup that refuses magic links is openat2's, or (openat2 refused too) berth's own
    /// walk. N is not known here: every number is tried, for a directory's target and a
    /// file's; none may leave anything in the read-only source, and the runs fail saying
    /// why. In a process of its own (an exit test), where no test running beside it opens
    /// descriptors: the copy's number is then the same on every try, and within the range.
    @Test("without mount_setattr, a volume's target under a link to /proc/self/fd/N is refused, never made in a read-only volume's source",
          arguments: [[SystemCall.mountSetattr], [SystemCall.mountSetattr, SystemCall.openat2]])
    func volumeTargetThroughMagicLinkWithoutMountSetattr(refused: [UInt32]) async throws {
        let result = await #expect(processExitsWith: .exitCode(0), observing: [\.standardErrorContent]) { [refused] in
            let (status, report) = Self.magicLinkTargets(refused: refused)
            FileHandle.standardError.write(Data(report.utf8))
            exit(status)
        }
        if let result, result.exitStatus != .exitCode(0) {
            Issue.record("\(String(decoding: result.standardErrorContent, as: UTF8.self))")
        }
    }

    /// The body of volumeTargetThroughMagicLinkWithoutMountSetattr, in the exit test's
    /// process: 0 when nothing was made in the read-only source, no run succeeded and the
    /// refusal was said; else a status of its own and what each try gave.
    private static func magicLinkTargets(refused: [UInt32]) -> (Int32, String) {
        let rootfs: BusyboxRootfs
        do { rootfs = try BusyboxRootfs() } catch { return (10, "rootfs: \(error)") }
        let base = NSTemporaryDirectory() + "berth-magic-\(getpid())-\(UUID().uuidString.prefix(8))"
        // exit() skips defer: removed before the status is returned.
        defer {
            try? FileManager.default.removeItem(atPath: base)
            rootfs.remove()
        }
        let (writable, file, readOnly) = (base + "/rw", base + "/file", base + "/ro")
        do {
            for dir in [writable, readOnly] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            try "from the host\n".write(toFile: file, atomically: false, encoding: .utf8)
        } catch {
            return (11, "set-up: \(error)")
        }
        let root = rootfs.path
        let highest = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int($0) }.max() ?? 64
        let outcomes = onThreadRefusing(refused) { () -> [String] in
            var outcomes: [String] = []
            for n in 3...(highest + 16) {
                unlink(root + "/a")
                guard symlink("/proc/self/fd/\(n)", root + "/a") == 0 else { return ["symlink: errno \(errno)"] }
                for (source, target) in [(writable, "/a/x"), (file, "/a/f")] {
                    var spec = ContainerSpec(command: ["true"], rootfs: root)
                    // Of equal depth, so attached in this order (BindMount.inMountOrder): the
                    // read-only copy is still detached while the target is made.
                    spec.mounts = [BindMount(source: source, target: target), BindMount(source: readOnly, target: "/b/ro", readOnly: true)]
                    do {
                        let ran = try run(spec)
                        outcomes.append("\(n) \(target): ran, \(ran.status)")
                    } catch {
                        outcomes.append("\(n) \(target): \((error as? BerthError)?.message ?? "\(error)")")
                    }
                }
            }
            return outcomes
        }
        guard let outcomes else { return (12, "could not install a filter refusing \(refused) on a thread") }
        let report = outcomes.joined(separator: "\n")
        let made = (try? FileManager.default.contentsOfDirectory(atPath: readOnly)) ?? ["(unreadable)"]
        if !made.isEmpty { return (1, "made in the read-only source: \(made)\n" + report) }
        if outcomes.contains(where: { $0.contains(": ran") }) { return (2, "a run succeeded\n" + report) }
        // The descriptors open in the child (the read-only copy's among them) are named.
        if !outcomes.contains(where: { $0.contains("goes through a link into /proc, which berth does not follow") }) {
            return (3, "no run said why\n" + report)
        }
        return (0, "")
    }

    /// Targets under ordinary links still resolve inside the root filesystem, by openat2 or
    /// (refused) by berth's own walk: absolute and relative links, `..` after a link, a
    /// file's target that is itself a link; a loop is refused.
    @Test("a volume's target under ordinary symbolic links is made where they lead inside the root filesystem; a loop is refused",
          arguments: [[], [SystemCall.openat2]])
    func volumeTargetThroughOrdinaryLinks(refused: [UInt32]) throws {
        try withRootfs { rootfs in
            let host = NSTemporaryDirectory() + "berth-links-\(getpid())-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: host + "/dir", withIntermediateDirectories: true)
            try "in the directory\n".write(toFile: host + "/dir/hello", atomically: false, encoding: .utf8)
            try "a file\n".write(toFile: host + "/file", atomically: false, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: host) }
            let root = rootfs.path
            let fm = FileManager.default
            for dir in ["real", "other/deep", "other/sideways"] { try fm.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true) }
            try fm.createSymbolicLink(atPath: root + "/abs", withDestinationPath: "/real")
            try fm.createSymbolicLink(atPath: root + "/rel", withDestinationPath: "other/deep")
            // `..` after a link goes up from where the link led (/other), not from the text's own
            // place: /other/sideways.
            try fm.createSymbolicLink(atPath: root + "/up", withDestinationPath: "rel/../sideways")
            try "old\n".write(toFile: root + "/other/sideways/existing", atomically: false, encoding: .utf8)
            try fm.createSymbolicLink(atPath: root + "/other/sideways/named", withDestinationPath: "existing")
            try fm.createSymbolicLink(atPath: root + "/loop1", withDestinationPath: "/loop2")
            try fm.createSymbolicLink(atPath: root + "/loop2", withDestinationPath: "loop1")
            let mounts = [BindMount(source: host + "/dir", target: "/abs/made/x"), BindMount(source: host + "/file", target: "/rel/f"),
                          BindMount(source: host + "/file", target: "/up/named")]
            let outcome = onThreadRefusing(refused) { () -> (String, String) in
                let spec = ContainerSpec(command: ["cat", "/real/made/x/hello", "/other/deep/f", "/other/sideways/existing"], rootfs: root, mounts: mounts)
                let ran: String
                do {
                    let result = try run(spec)
                    ran = result.status == .exited(0) ? result.output : "\(result.status): \(result.errors)"
                } catch {
                    ran = "failed: \(error)"
                }
                var looping = ContainerSpec(command: ["true"], rootfs: root)
                looping.mounts = [BindMount(source: host + "/dir", target: "/loop1/x")]
                do {
                    _ = try run(looping)
                    return (ran, "ran")
                } catch {
                    return (ran, (error as? BerthError)?.message ?? "\(error)")
                }
            }
            let (ran, loop) = try #require(outcome, "could not install a filter refusing \(refused) on a thread")
            #expect(ran == "in the directory\na file\na file\n")
            #expect(loop.contains("loops or goes through a link into /proc"), "\(loop)")
            // Made where the links lead, inside the root filesystem.
            #expect(fm.fileExists(atPath: root + "/real/made/x") && fm.fileExists(atPath: root + "/other/deep/f"))
        }
    }

    @Test("no inheritable capabilities, as root or as another user (CVE-2022-24769)")
    func noInheritableCapabilities() throws {
        try withRootfs { rootfs in
            for user in [nil, "1000"] {
                var spec = ContainerSpec(command: ["cat", "/proc/self/status"], rootfs: rootfs.path)
                spec.user = user
                let result = try run(spec)
                #expect(result.status == .exited(0), "\(result.errors)")
                let line = result.output.split(separator: "\n").first { $0.hasPrefix("CapInh:") }
                #expect(line == "CapInh:\t0000000000000000", "user \(user ?? "root"): \(String(describing: line))")
            }
        }
    }

    /// A berth without CAP_SYS_PTRACE (root in a container with docker's default
    /// capabilities) opens the held child's network namespace to attach it: the child may
    /// turn non-dumpable only once released (a non-dumpable process's /proc/PID/ns/* is
    /// refused to a root without CAP_SYS_PTRACE), and while held its new pid namespace has no
    /// other process. A started container's command is dumpable again (its exe readable).
    @Test("a berth without CAP_SYS_PTRACE reaches the held child's network namespace; a started command is dumpable again")
    func heldChildReachable() throws {
        try withRootfs { rootfs in
            let path = rootfs.path
            let (dropped, held, running) = onOwnThread { () -> (Bool, Int32, Int32) in
                guard dropFromThisThread(capability: capSysPtrace) else { return (false, 0, 0) }
                guard let child = try? ContainerProcess.spawn(ContainerSpec(command: ["true"], rootfs: path)),
                      let started = try? Captured(ContainerSpec(command: ["sh", "-c", "echo up; exec sleep 1000"], rootfs: path)) else {
                    return (true, -1, -1)
                }
                defer {
                    child.abort()
                    try? started.process.signal(SIGKILL)
                    _ = try? started.finish()
                }
                _ = started.waitFor("up")
                let namespace = open("/proc/\(child.pid)/ns/net", O_RDONLY | O_CLOEXEC)
                let opened = namespace >= 0 ? Int32(0) : errno
                if namespace >= 0 { close(namespace) }
                return (true, opened, readlinkErrno("/proc/\(started.process.pid)/exe"))
            }
            try #require(dropped, "could not drop CAP_SYS_PTRACE from a thread")
            #expect(held == 0, "the held child's network namespace: errno \(held)")
            #expect(running == 0, "a started container's exe: errno \(running)")
        }
    }

    @Test("a root filesystem whose /proc or /dev is a symbolic link is refused, and nothing is made where it points")
    func symlinkedProcOrDevRefused() throws {
        for name in ["proc", "dev"] {
            try withRootfs { rootfs in
                let outside = NSTemporaryDirectory() + "berth-outside-\(UUID().uuidString.prefix(8))"
                try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: outside) }
                try FileManager.default.createSymbolicLink(atPath: rootfs.path + "/" + name, withDestinationPath: outside)
                let error = #expect(throws: BerthError.self) {
                    _ = try run(ContainerSpec(command: ["true"], rootfs: rootfs.path))
                }
                #expect(error?.message.contains("/\(name) in root filesystem \(rootfs.path) is not a directory") == true, "\(String(describing: error))")
                #expect(error?.parameter == "rootfs")
                #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
            }
        }
    }

    @Test("a read-only volume is read-only all the way down: a mount under its source too")
    func readOnlyVolumeIsRecursive() throws {
        try withRootfs { rootfs in
            let host = NSTemporaryDirectory() + "berth-rvolume-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: host + "/sub", withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: host) }
            // In the tests' own mount namespace (berth_fenced): nothing of it reaches the host.
            try #require(mount("tmpfs", host + "/sub", "tmpfs", 0, "size=64k") == 0, "mount a tmpfs: errno \(errno)")
            defer { umount2(host + "/sub", Int32(MNT_DETACH)) }
            let spec = ContainerSpec(command: ["sh", "-c", "touch /data/top; touch /data/sub/below; echo done"], rootfs: rootfs.path,
                                     mounts: [BindMount(source: host, target: "/data", readOnly: true)])
            let result = try run(spec)
            #expect(result.output == "done\n")
            let refused = result.errors.split(separator: "\n").filter { $0.hasSuffix("Read-only file system") }
            #expect(refused.count == 2, "\(result.errors)")
            #expect(!FileManager.default.fileExists(atPath: host + "/sub/below"))
        }
    }

    /// Everything a terminal sends until every slave is closed (then the master reads EIO).
    private static func drain(_ master: Int32) -> String {
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(master, &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            output += buffer[..<n]
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Root in the container may replace its /dev/ptmx with any node (CVE-2025-52565's
    /// class): an exec with a terminal, which opens it with every capability and before its
    /// device cgroup, must not use it. The devpts instance's own ptmx is taken instead.
    @Test("berth exec -t takes its terminal from the container's devpts, not from a /dev/ptmx the container replaced")
    func execTerminalIgnoresReplacedPtmx() throws {
        try withRootfs { rootfs in
            let container = try Captured(ContainerSpec(command: ["sh", "-c", "rm /dev/ptmx && mknod /dev/ptmx c 1 3 && echo replaced; exec sleep 60"],
                                                       rootfs: rootfs.path))
            defer {
                try? container.process.signal(SIGKILL)
                _ = try? container.finish()
            }
            #expect(container.waitFor("replaced").contains("replaced"))
            let inside = try ContainerProcess.enter(pid: container.process.pid, command: ["tty"], terminal: true)
            let master = try #require(inside.terminal)
            defer { close(master) }
            let output = Self.drain(master)
            #expect(try inside.wait() == .exited(0))
            #expect(output.hasPrefix("/dev/pts/"), "\(output)")
        }
    }

    /// A privileged container can unmount its devpts and leave any node at /dev/pts/ptmx, or
    /// make /dev/pts a link to another devpts: both are refused, never opened.
    @Test("berth exec -t refuses a /dev/pts/ptmx that is not a devpts ptmx, or reached through a link",
          arguments: ["umount /dev/pts && mknod /dev/pts/ptmx c 1 3",
                      "umount /dev/pts && rmdir /dev/pts && mkdir /x && mount -t devpts -o newinstance devpts /x && ln -s /x /dev/pts"])
    func execTerminalRefusesFakePtmx(replace: String) throws {
        try withRootfs { rootfs in
            var spec = ContainerSpec(command: ["sh", "-c", "\(replace) && echo replaced; exec sleep 60"], rootfs: rootfs.path)
            spec.privileged = true
            let container = try Captured(spec)
            defer {
                try? container.process.signal(SIGKILL)
                _ = try? container.finish()
            }
            #expect(container.waitFor("replaced").contains("replaced"))
            let error = #expect(throws: BerthError.self) {
                _ = try ContainerProcess.enter(pid: container.process.pid, command: ["tty"], privileged: true, terminal: true)
            }
            #expect(error?.message.contains("not the pseudo-terminal multiplexer of a devpts filesystem") == true, "\(String(describing: error))")
        }
    }

    /// A file volume's target that exists is mounted on, never opened: a FIFO there would
    /// block the set-up forever (and a device node would be opened by root with every
    /// capability). A watchdog looks for a process in the FIFO every 20 ms while the
    /// container runs and counts only one that is there: a reader (a writing open without
    /// O_NONBLOCK succeeds only when a reader holds the FIFO, ENXIO otherwise) or a writer
    /// (with the FIFO open for reading, an empty read says EAGAIN while a writer holds it,
    /// end of file otherwise). Either open also lets the stuck open go on, so a set-up that
    /// opens the FIFO fails the test rather than hanging it; a slow start counts for nothing.
    @Test("a file volume onto a FIFO in the root filesystem starts the container without opening the FIFO")
    func fileVolumeOntoFIFO() throws {
        try withRootfs { rootfs in
            let host = NSTemporaryDirectory() + "berth-filevolume-\(UUID().uuidString.prefix(8))"
            try "from the host\n".write(toFile: host, atomically: false, encoding: .utf8)
            defer { unlink(host) }
            try #require(mkfifo(rootfs.path + "/target", 0o644) == 0, "mkfifo: errno \(errno)")
            let fifo = rootfs.path + "/target"
            let opened = WatchdogFlag()
            let finished = WatchdogFlag()
            let watching = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                defer { watching.signal() }
                // Watches until the run returns (a stuck open is found, and released, within
                // 20 ms); the deadline only ends the thread should the run never return.
                let deadline = Date().addingTimeInterval(300)
                while !finished.value.load(ordering: .sequentiallyConsistent), Date() < deadline {
                    let writer = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
                    if writer >= 0 {
                        opened.value.store(true, ordering: .sequentiallyConsistent)
                        close(writer)
                    }
                    let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
                    if reader >= 0 {
                        var byte: UInt8 = 0
                        if read(reader, &byte, 1) != 0 { opened.value.store(true, ordering: .sequentiallyConsistent) }
                        close(reader)
                    }
                    usleep(20_000)
                }
            }
            let result = Result { try run(ContainerSpec(command: ["cat", "/target"], rootfs: rootfs.path,
                                                        mounts: [BindMount(source: host, target: "/target")])) }
            finished.value.store(true, ordering: .sequentiallyConsistent)
            watching.wait()
            let seen = opened.value.load(ordering: .sequentiallyConsistent)
            #expect(!seen, "the set-up opened the FIFO")
            let ran = try result.get()
            #expect(ran.status == .exited(0), "\(ran.errors)")
            #expect(ran.output == "from the host\n")
        }
    }

    /// The masks bind the container's null device over the kernel's files: a volume on
    /// /dev/null (or any node root in the container leaves there) must not become what
    /// /proc/interrupts shows (runc's CVE-2025-31133). The device is the one Berth bound,
    /// checked to be char 1:3, taken before any volume is attached.
    @Test("a volume on /dev/null does not become the masks over the kernel's files")
    func masksUseTheNullDevice() throws {
        try withRootfs { rootfs in
            let host = NSTemporaryDirectory() + "berth-nullvolume-\(UUID().uuidString.prefix(8))"
            try "not the null device\n".write(toFile: host, atomically: false, encoding: .utf8)
            defer { unlink(host) }
            let result = try run(ContainerSpec(command: ["sh", "-c", "cat /proc/interrupts; echo end"], rootfs: rootfs.path,
                                               mounts: [BindMount(source: host, target: "/dev/null")]))
            #expect(result.status == .exited(0), "\(result.errors)")
            #expect(result.output == "end\n", "\(result.output)")
        }
    }

    /// The six device nodes the container gets, with the numbers the kernel gives them.
    private static let devices: [(name: String, major: Int, minor: Int)] = [
        ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
    ]

    /// `stat -c '%n %d %i %F %t:%T %a'` of /dev and each device node, inside a container run
    /// from `spec`; by name: (device, inode, type, major:minor in hex, mode in octal).
    private static func deviceStats(_ spec: ContainerSpec) throws -> [String: (dev: String, ino: String, type: String, rdev: String, mode: String)] {
        var spec = spec
        spec.command = ["stat", "-c", "%n|%d|%i|%F|%t:%T|%a", "/dev"] + devices.map { "/dev/" + $0.name }
        let result = try run(spec)
        #expect(result.status == .exited(0), "\(result.errors)")
        var stats: [String: (dev: String, ino: String, type: String, rdev: String, mode: String)] = [:]
        for line in result.output.split(separator: "\n") {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 6 else { continue }
            stats[fields[0]] = (fields[1], fields[2], fields[3], fields[4], fields[5])
        }
        return stats
    }

    /// A host device node's (device, inode), as the container's `stat -c %d %i` prints them.
    private static func hostNode(_ path: String) -> (dev: String, ino: String)? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return (String(st.st_dev), String(st.st_ino))
    }

    /// Bound from the host's /dev, the container's /dev/null would be the host's node: root in
    /// the container (CAP_FOWNER, no user namespace) could chmod or chown the host's
    /// /dev/null, through /dev/null or through a masked path bound from it. runc makes them
    /// with mknod on the new tmpfs. Checked by numbers only (device and inode inside against
    /// outside): nothing here changes any device's mode, even were the nodes still the host's.
    @Test("/dev's device nodes are made on the container's own tmpfs, never the host's bound in")
    func deviceNodesAreTheContainersOwn() throws {
        try withRootfs { rootfs in
            try rootfs.addApplets(["stat"])
            let stats = try Self.deviceStats(ContainerSpec(command: ["true"], rootfs: rootfs.path))
            let dev = try #require(stats["/dev"], "\(stats)")
            for device in Self.devices {
                let path = "/dev/" + device.name
                let node = try #require(stats[path], "\(path): \(stats)")
                #expect(node.dev == dev.dev, "\(path) is not on the container's /dev tmpfs: \(node) vs /dev \(dev)")
                #expect(node.type == "character special file", "\(path): \(node)")
                #expect(node.rdev == String(device.major, radix: 16) + ":" + String(device.minor, radix: 16), "\(path): \(node)")
                #expect(node.mode == "666", "\(path): \(node)")
                if let host = Self.hostNode(path) {
                    #expect(!(node.dev == host.dev && node.ino == host.ino), "\(path) is the host's node")
                }
            }
        }
    }

    /// Where mknod is refused (a berth without CAP_MKNOD: a user namespace, a caller that
    /// dropped it), the host's node is bound in, as before, but read-only: chmod and chown
    /// then fail with EROFS. Checked in the container's mount table, never by a chmod.
    @Test("without CAP_MKNOD the devices are the host's bound read-only")
    func deviceBindsReadOnlyWithoutMknod() throws {
        try withRootfs { rootfs in
            try rootfs.addApplets(["stat"])
            let path = rootfs.path
            let result = onOwnThread { () -> (dropped: Bool, output: String, errors: String) in
                guard dropFromThisThread(capability: capMknod) else { return (false, "", "") }
                // The container cannot keep what its creator no longer has.
                guard let caps = try? CapabilitySet.docker.adjusted(adding: [], dropping: ["MKNOD"]),
                      let ran = try? run(ContainerSpec(command: ["cat", "/proc/self/mountinfo"], rootfs: path, confinement: Confinement(capabilities: caps)))
                else { return (true, "", "the container did not start") }
                return (true, ran.output, ran.errors)
            }
            try #require(result.dropped, "could not drop CAP_MKNOD from a thread")
            let mounts = MountEntry.parse(result.output)
            for device in Self.devices where Self.hostNode("/dev/" + device.name) != nil {
                let mount = mounts["/dev/" + device.name]
                #expect(mount?.readOnly == true, "/dev/\(device.name): \(String(describing: mount)) \(result.errors)")
            }
        }
    }

    @Test("/dev/mqueue is the container's own mqueue filesystem, nosuid, nodev, noexec")
    func messageQueues() throws {
        try withRootfs { rootfs in
            let result = try run(ContainerSpec(command: ["cat", "/proc/self/mountinfo"], rootfs: rootfs.path))
            #expect(result.status == .exited(0), "\(result.errors)")
            let mqueue = MountEntry.parse(result.output)["/dev/mqueue"]
            #expect(mqueue?.fsType == "mqueue", "\(result.output)")
            #expect(mqueue?.options.isSuperset(of: ["nosuid", "nodev", "noexec"]) == true, "\(String(describing: mqueue))")
        }
    }
}
