import BerthRun
import BerthTestSupport
import Foundation
import Testing

/// One line of /proc/self/mountinfo: where, with which per-mount options, which filesystem.
struct MountEntry {
    let mountPoint: String
    let options: Set<String>
    let fsType: String

    var readOnly: Bool { options.contains("ro") }

    /// The entries of a mountinfo text; for a mount point mounted more than once, the last
    /// (topmost) entry is the one the container sees.
    static func parse(_ text: String) -> [String: MountEntry] {
        var result: [String: MountEntry] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count > 6, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count else { continue }
            let entry = MountEntry(mountPoint: fields[4], options: Set(fields[5].split(separator: ",").map(String.init)), fsType: fields[dash + 1])
            result[entry.mountPoint] = entry
        }
        return result
    }
}

/// The script each container runs: tries the writes Docker's defaults forbid (both harmless
/// if they succeeded: "_" alone selects sysrq's bulk mode and triggers nothing, and
/// ip_forward belongs to the container's own network namespace), then reports what it sees.
/// Each report line starts with a tag the tests look for.
private let probe = """
    printf _ > /proc/sysrq-trigger && echo sysrq:written || echo sysrq:refused
    # A new namespace inherits ip_forward from the initial one: try to flip whatever it is.
    before=$(cat /proc/sys/net/ipv4/ip_forward)
    echo $((1 - before)) > /proc/sys/net/ipv4/ip_forward && echo forward:written || echo forward:refused
    [ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$before" ] && echo forward-value:unchanged || echo forward-value:flipped
    # Only read what is masked: the real /proc/kcore maps all of memory (readable when privileged).
    for f in /proc/kcore /proc/keys /proc/timer_list /proc/interrupts; do
        test -e $f || continue
        test -c $f && echo masked:$f=$(cat $f | wc -c) || echo unmasked:$f
    done
    for dev in $(ls /sys/class/net); do echo net:$dev; done
    echo firmware-entries:$(ls -A /sys/firmware 2>/dev/null | wc -l)
    cat /proc/self/mountinfo
    """

/// What a probe printed: its tagged lines and the mount table.
private struct ProbeReport {
    let tags: [String: [String]]
    let mounts: [String: MountEntry]
    let errors: String

    init(output: String, errors: String) {
        var tags: [String: [String]] = [:]
        for line in output.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":"), !line.contains(" ") else { continue }
            tags[String(line[..<colon]), default: []].append(String(line[line.index(after: colon)...]))
        }
        self.tags = tags
        self.mounts = MountEntry.parse(output)
        self.errors = errors
    }

    func value(_ tag: String) -> String? { tags[tag]?.first }
}

private func probeContainer(rootfs: String?, privileged: Bool = false) throws -> ProbeReport {
    // The rootfs gets its shell from busybox; the host's files have their own /bin/sh.
    let shell = rootfs == nil ? "/bin/sh" : "sh"
    let result = try run(ContainerSpec(command: [shell, "-c", probe], namespaces: .all, rootfs: rootfs, privileged: privileged))
    #expect(result.status == .exited(0), "\(result.errors)")
    return ProbeReport(output: result.output, errors: result.errors)
}

/// The masked files the probe looks at (those of them this kernel has).
private let maskedFiles = ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/interrupts"]

private func hostHas(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

/// The caller's own ip_forward: the tests write only the container's, and check that.
private func callerForwarding() throws -> String {
    try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8)
}

@Suite("Kernel files in the container (kernel)", .enabled(if: try KernelTests.enabled))
struct KernelFilesTests {
    /// Checks what every non-privileged container gets, with or without a rootfs.
    private func expectConfined(_ report: ProbeReport) {
        // This machine's kernel has no magic sysrq (nor /proc/kcore): checked where it exists.
        if hostHas("/proc/sysrq-trigger") { #expect(report.value("sysrq") == "refused") }
        #expect(report.value("forward") == "refused")
        // Refused by the read-only mount (EROFS), not only by the missing CAP_NET_ADMIN.
        let forwardError = report.errors.split(separator: "\n").first { $0.contains("ip_forward") }
        #expect(forwardError?.hasSuffix("Read-only file system") == true, "\(report.errors)")
        #expect(report.value("forward-value") == "unchanged")
        // /dev/null bound over them: character devices that read as nothing.
        let masked = maskedFiles.filter(hostHas)
        #expect(!masked.isEmpty)
        #expect(report.tags["masked"] == masked.map { $0 + "=0" }, "\(report.tags)")
        #expect(report.tags["net"] == ["lo"], "\(report.tags)")

        for path in ["/proc/sys", "/proc/sysrq-trigger", "/proc/bus", "/proc/fs", "/proc/irq"] where hostHas(path) {
            let mount = report.mounts[path]
            #expect(mount?.readOnly == true, "\(path): \(String(describing: mount))")
            // The read-only remount keeps what /proc had.
            #expect(mount.map { $0.options.isSuperset(of: ["nosuid", "nodev", "noexec"]) } == true, "\(path)")
        }
        for path in masked {
            // Its own mount, of /dev/null's filesystem: no longer procfs.
            let mount = report.mounts[path]
            #expect(mount != nil && mount?.fsType != "proc", "\(path) not masked: \(String(describing: mount))")
        }
        for path in ["/proc/acpi", "/sys/firmware"] where hostHas(path) {
            let mount = report.mounts[path]
            #expect(mount?.fsType == "tmpfs" && mount?.readOnly == true, "\(path): \(String(describing: mount))")
        }
        #expect(report.value("firmware-entries") == "0")

        let sys = report.mounts["/sys"]
        #expect(sys?.fsType == "sysfs")
        #expect(sys?.readOnly == true)
    }

    @Test("a non-privileged container gets Docker's masked and read-only kernel files and a read-only /sys")
    func confinedWithRootfs() throws {
        let before = try callerForwarding()
        try withRootfs { rootfs in
            let report = try probeContainer(rootfs: rootfs.path)
            expectConfined(report)
        }
        #expect(try callerForwarding() == before)
    }

    @Test("on the host's files the same masking applies, and a fresh read-only /sys replaces the host's")
    func confinedWithoutRootfs() throws {
        let before = try callerForwarding()
        let report = try probeContainer(rootfs: nil)
        expectConfined(report)
        #expect(try callerForwarding() == before)
        // Only the container's mount namespace changed: ours still has the real files.
        var st = stat()
        #expect(stat("/proc/keys", &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG)
    }

    @Test("a privileged container is not masked and its /sys is writable")
    func privileged() throws {
        let before = try callerForwarding()
        try withRootfs { rootfs in
            // Writes ip_forward of its own network namespace (namespaces: .all), never ours.
            let report = try probeContainer(rootfs: rootfs.path, privileged: true)
            #expect(report.value("forward") == "written")
            #expect(report.value("forward-value") == "flipped")
            #expect(report.tags["masked"] == nil)
            #expect(report.tags["unmasked"] == maskedFiles.filter(hostHas), "\(report.tags)")
            #expect(report.mounts["/proc/sys"] == nil)
            #expect(report.mounts["/proc/keys"] == nil)
            #expect(report.mounts["/sys"]?.fsType == "sysfs")
            #expect(report.mounts["/sys"]?.readOnly == false)
            #expect(report.tags["net"] == ["lo"], "\(report.tags)")
        }
        #expect(try callerForwarding() == before)
    }

    /// CVE-2020-8694: RAPL energy counters readable by anyone leak what the CPU computes.
    /// Docker's and runc's masked paths list the directory. This machine's kernel has none.
    @Test("/sys/devices/virtual/powercap is an empty read-only tmpfs in the container",
          .enabled(if: hostHas("/sys/devices/virtual/powercap")))
    func powercapMasked() throws {
        try withRootfs { rootfs in
            let script = "echo entries:$(ls -A /sys/devices/virtual/powercap | wc -l); cat /proc/self/mountinfo"
            let result = try run(ContainerSpec(command: ["sh", "-c", script], rootfs: rootfs.path))
            #expect(result.status == .exited(0), "\(result.errors)")
            #expect(result.output.hasPrefix("entries:0\n"), "\(result.output)")
            let mount = MountEntry.parse(result.output)["/sys/devices/virtual/powercap"]
            #expect(mount?.fsType == "tmpfs" && mount?.readOnly == true, "\(String(describing: mount))")
        }
    }

    /// runc mounts /sys first and the volumes after it: a volume under /sys (Docker's
    /// `-v /sys/fs/cgroup:/sys/fs/cgroup:ro`) is what the container sees there, not hidden
    /// under the fresh sysfs. The masks come last, over both.
    @Test("a volume under /sys is visible in the container, over the fresh sysfs; the masks still apply")
    func volumeUnderSys() throws {
        try withRootfs { rootfs in
            let host = NSTemporaryDirectory() + "berth-sysvolume-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: host) }
            try "from the host\n".write(toFile: host + "/marker", atomically: false, encoding: .utf8)
            let script = "cat /sys/fs/cgroup/marker; echo firmware-entries:$(ls -A /sys/firmware 2>/dev/null | wc -l); cat /proc/self/mountinfo"
            let result = try run(ContainerSpec(command: ["sh", "-c", script], rootfs: rootfs.path,
                                               mounts: [BindMount(source: host, target: "/sys/fs/cgroup", readOnly: true)]))
            #expect(result.status == .exited(0), "\(result.errors)")
            #expect(result.output.hasPrefix("from the host\nfirmware-entries:0\n"), "\(result.output)")
            let mounts = MountEntry.parse(result.output)
            #expect(mounts["/sys"]?.fsType == "sysfs" && mounts["/sys"]?.readOnly == true, "\(String(describing: mounts["/sys"]))")
            #expect(mounts["/sys/fs/cgroup"]?.readOnly == true, "\(String(describing: mounts["/sys/fs/cgroup"]))")
            if hostHas("/sys/firmware") {
                #expect(mounts["/sys/firmware"]?.fsType == "tmpfs", "\(String(describing: mounts["/sys/firmware"]))")
            }
        }
    }

    @Test("berth exec sees the container's masks: they live in its mount namespace")
    func enterSeesMasks() throws {
        try withRootfs { rootfs in
            let container = try ContainerProcess.spawn(ContainerSpec(command: ["sleep", "60"], rootfs: rootfs.path))
            try container.start()
            defer {
                try? container.signal(SIGKILL)
                _ = try? container.wait()
            }
            let out = try OutputPipe()
            let inside = try ContainerProcess.enter(pid: container.pid, command: ["sh", "-c", "test -c /proc/keys && echo masked"], stdout: out.write)
            out.closeWrite()
            let output = out.readAll()
            #expect(try inside.wait() == .exited(0))
            #expect(output == "masked\n")
        }
    }
}
