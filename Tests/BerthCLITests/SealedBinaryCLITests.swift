import BerthTestSupport
import Foundation
import Testing

/// CVE-2019-5736: a container whose command is `/proc/self/exe` runs, inside it, the binary of
/// the berth process that spawned it. Another process of the container holds that binary
/// through `/proc/PID/exe` and, once nothing runs the file any more (no ETXTBSY), opens it for
/// writing: it must be refused, whatever the container does.
///
/// The test runs copies of the build's `berth` and `berth-cli`, and the container only opens
/// the file (for appending, writing nothing): without the protection it proves the hole
/// without damaging anything but a copy's — unchanged — bytes.
@Suite("berth CLI: a container cannot write the binary that spawned it (kernel)", .enabled(if: try KernelTests.enabled))
struct SealedBinaryCLITests {
    /// The container's command: it waits for the host's binary to run beside it (the process
    /// whose argv[0] is `/proc/self/exe`: the exec has happened, and the process is dumpable
    /// again; the brackets keep grep from finding itself),
    /// holds it open, kills it, waits until the file runs nowhere (ETXTBSY gone: the host's
    /// `berth exec` has ended too), then tries to open it for writing through the held
    /// descriptor and reports what happened.
    static let holder = """
        #!/bin/sh
        while :; do
            set -- $(grep -l '^/proc/self/ex[e]' /proc/[0-9]*/cmdline 2>/dev/null)
            [ -n "$1" ] && break
            sleep 0.05
        done
        p=${1%/cmdline}
        exec 3<"$p/exe"
        echo held
        kill -9 "${p#/proc/}"
        i=0
        while [ -e "$p" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
        i=0
        while :; do
            if r=$( (exec 4>>/proc/self/fd/3) 2>&1 ); then echo writable; break; fi
            case "$r" in *busy*) ;; *) echo "refused: $r"; break ;; esac
            i=$((i+1))
            [ $i -lt 1200 ] || { echo "still busy"; break; }
            sleep 0.05
        done
        echo done
        exec sleep 1000

        """

    /// Copies the loader and the shared libraries `binary` needs into `rootfs`, at their own
    /// paths: the kernel execs the host's binary inside the container, so it loads them from
    /// there (a debug build links the Swift runtime dynamically).
    private func copyLibraries(of binary: String, into rootfs: String) throws {
        let ldd = Command.run(["ldd", binary])
        try #require(ldd.succeeded, "\(ldd)")
        for line in ldd.stdout.split(separator: "\n") {
            let words = line.split(separator: " ").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let library = (words.count >= 3 && words[1] == "=>" ? words[2] : words.first), library.hasPrefix("/") else { continue }
            let directory = rootfs + (library as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: rootfs + library) {
                // The file itself, not a link to it (the loader and most libraries are links).
                let file = URL(fileURLWithPath: library).resolvingSymlinksInPath().path
                try FileManager.default.copyItem(atPath: file, toPath: rootfs + library)
            }
        }
    }

    /// The bytes and modification time of a file.
    private func fingerprint(_ path: String) throws -> (Data, Date?) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let modified = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
        return (data, modified)
    }

    @Test("berth exec c /proc/self/exe: the container cannot open the host binary it runs for writing")
    func execOfSelfExe() throws {
        let build = URL(fileURLWithPath: Command.berthBinary).resolvingSymlinksInPath().deletingLastPathComponent().path
        let copies = NSTemporaryDirectory() + "berth-sealed-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: copies, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: copies) }
        for name in ["berth", "berth-cli"] {
            try FileManager.default.copyItem(atPath: build + "/" + name, toPath: copies + "/" + name)
        }
        let cli = copies + "/berth-cli"
        let before = try fingerprint(cli)
        try withHostSandbox { sandbox in
            let berth = ["nsenter", "--net=\(sandbox.namespace.path)", "--", copies + "/berth"]
            try withRunRootfs(applets: ["grep", "kill"]) { rootfs in
                try copyLibraries(of: cli, into: rootfs.path)
                try Self.holder.write(toFile: rootfs.path + "/hold", atomically: true, encoding: .utf8)
                chmod(rootfs.path + "/hold", 0o755)
                let run = Command.run(berth + ["run", "-d", "--name", "victim", "--network", "none", "--rootfs", rootfs.path, "--", "/hold"],
                                      environment: sandbox.berthEnvironment())
                try #require(run.status == 0, "\(run)")
                defer { Command.run(berth + ["rm", "-f", "victim"], environment: sandbox.berthEnvironment()) }
                // Its detached supervisor (which would spawn it again on a restart) runs its
                // binary from a read-only mount too (ST_RDONLY, 1 in statvfs's f_flag) — or,
                // where the kernel offers no such view (before Linux 5.12, or open_tree or
                // mount_setattr refused), from the sealed memfd copy: F_SEAL_WRITE (8) set.
                let supervisor = try #require(try ContainerCLI.container(sandbox, "victim")?["supervisorPid"] as? Int)
                var filesystem = statvfs()
                let readOnly = statvfs("/proc/\(supervisor)/exe", &filesystem) == 0 && filesystem.f_flag & 1 != 0
                let exeFD = open("/proc/\(supervisor)/exe", O_RDONLY | O_CLOEXEC)
                let seals = exeFD >= 0 ? fcntl(exeFD, 1034 /* F_GET_SEALS */) : -1
                if exeFD >= 0 { close(exeFD) }
                #expect(readOnly || (seals >= 0 && seals & 8 != 0), "the supervisor runs a binary that can be opened for writing")

                // The host's berth-cli, exec'd in the container as its command: its hidden
                // supervisor entry reads stdin to the end, so it runs until the holder kills it.
                let exec = Process()
                exec.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                exec.arguments = berth + ["exec", "-i", "victim", "/proc/self/exe", "_supervise"]
                exec.environment = ProcessInfo.processInfo.environment.merging(sandbox.berthEnvironment()) { _, sandbox in sandbox }
                let stdin = Pipe()
                exec.standardInput = stdin
                exec.standardOutput = FileHandle.nullDevice
                let errors = copies + "/exec.err"
                _ = FileManager.default.createFile(atPath: errors, contents: nil)
                exec.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
                try exec.run()
                defer {
                    try? stdin.fileHandleForWriting.close()
                    exec.waitUntilExit()
                }

                var log = ""
                let finished = ContainerCLI.eventually(90) {
                    log = Command.run(berth + ["logs", "victim"], environment: sandbox.berthEnvironment()).stdout
                    return log.contains("done")
                }
                let execErrors = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
                try #require(finished, "the holder never finished: \(log); berth exec: \(execErrors)")
                #expect(log.contains("held"), "\(log)")
                #expect(!log.contains("writable"), "the container could open the host's binary for writing: \(log)")
                // EROFS from the read-only view, EPERM from the sealed copy.
                #expect(log.contains("refused:") && (log.contains("Read-only file system") || log.contains("Operation not permitted")), "\(log)")
            }
        }
        let after = try fingerprint(cli)
        #expect(after.0 == before.0)
        #expect(after.1 == before.1)
    }
}
