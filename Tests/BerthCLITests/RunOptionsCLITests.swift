import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `docker run`'s options for servers, through the built binary in a host sandbox: the
/// environment, working directory, user, bind mounts, a read-only root — and the bad inputs
/// that must change nothing.
@Suite("berth run options (kernel)", .enabled(if: try KernelTests.enabled))
struct RunOptionsCLITests {
    @Test("-e, --env-file, -w and -u reach the command; a user name is resolved in the container's /etc/passwd")
    func environmentAndUser() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                let file = rootfs.path + "/../berth-env-\(UUID().uuidString.prefix(8))"
                defer { try? FileManager.default.removeItem(atPath: file) }
                try "# settings\nFROM_FILE=yes\n\n  SPACED=a b=c\nOVERRIDDEN=file\nINHERITED\nABSENT_IN_BERTH\n".write(toFile: file, atomically: true, encoding: .utf8)
                let run = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "--env-file", file, "-e", "OVERRIDDEN=flag", "-e", "PLAIN=1",
                                         "-w", "/tmp", "-u", "bob", "--", "sh", "-c",
                                         "echo \"$FROM_FILE|$SPACED|$OVERRIDDEN|$PLAIN|$INHERITED|${ABSENT_IN_BERTH-unset}|$HOME\"; pwd; id"],
                                        environment: ["INHERITED": "from berth"])
                #expect(run.status == 0, "\(run)")
                let lines = run.stdout.split(separator: "\n").map(String.init)
                #expect(lines == ["yes|a b=c|flag|1|from berth|unset|/home/bob", "/tmp", "uid=1000(bob) gid=1000(bob) groups=50(staff)"], "\(run)")

                let numeric = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "-u", "4242:50", "--", "id"])
                #expect(numeric.stdout == "uid=4242 gid=50(staff) groups=50(staff)\n" || numeric.stdout == "uid=4242 gid=50(staff)\n", "\(numeric)")
            }
        }
    }

    @Test("--env-file saved with a byte order mark sets the name on line 1; one not UTF-8 is refused (125), naming the line, and nothing runs")
    func environmentFileEncoding() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                let file = rootfs.path + "/../berth-env-\(UUID().uuidString.prefix(8))"
                defer { try? FileManager.default.removeItem(atPath: file) }
                try Data([0xEF, 0xBB, 0xBF] + Array("FIRST=1\r\nSECOND=2\r\n".utf8)).write(to: URL(fileURLWithPath: file))
                let run = sandbox.berth(["run", "--rm", "--network", "none", "--rootfs", rootfs.path, "--env-file", file, "--",
                                         "sh", "-c", "echo \"${FIRST-unset} ${SECOND-unset}\""])
                #expect(run.status == 0 && run.stdout == "1 2\n", "\(run)")
                try Data(Array("FIRST=1\nSECOND=caf".utf8) + [0xE9] + Array("\n".utf8)).write(to: URL(fileURLWithPath: file))
                let bad = sandbox.berth(["run", "--rm", "--network", "none", "--rootfs", rootfs.path, "--env-file", file, "--", "true"])
                #expect(bad.status == 125 && bad.stderr.contains("\(file) line 2: not valid UTF-8"), "\(bad)")
                #expect(sandbox.berth(["ps", "-a", "-q"]).stdout.isEmpty)
            }
        }
    }

    /// runc always sets the supplementary groups (the container's, for its user) and a umask
    /// of 022: nothing of the caller's groups or umask reaches the command.
    @Test("without -u root gets the container's groups for root, not berth's; the umask is 022 whatever berth's")
    func groupsAndUmask() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                try "root:x:0:\nwheel:x:10:root\nbob:x:1000:\n".write(toFile: rootfs.path + "/etc/group", atomically: true, encoding: .utf8)
                var argv = sandbox.berthArguments(["run", "--rm", "--rootfs", rootfs.path, "--", "sh", "-c", "grep '^Groups:' /proc/self/status; umask"])
                // berth itself runs with supplementary group 4242 and umask 077.
                argv.insert(contentsOf: ["setpriv", "--groups", "4242", "--", "sh", "-c", "umask 077; exec \"$@\"", "sh"], at: 3)
                let run = Command.run(argv, environment: sandbox.berthEnvironment())
                #expect(run.status == 0, "\(run)")
                let lines = run.stdout.split(separator: "\n")
                let groups = lines.first { $0.hasPrefix("Groups:") }.map { $0.dropFirst("Groups:".count).split(whereSeparator: \.isWhitespace) }
                #expect(groups == ["10"], "\(run)")
                #expect(lines.last == "0022", "\(run)")
            }
        }
    }

    @Test("-v binds a host directory (writes land on the host); :ro refuses writes; --read-only keeps / read-only")
    func volumes() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                let host = NSTemporaryDirectory() + "berth-volume-\(UUID().uuidString.prefix(8))"
                try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: host) }
                try "from the host\n".write(toFile: host + "/note", atomically: true, encoding: .utf8)

                let rw = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "-v", "\(host):/srv/data", "--", "sh", "-c",
                                        "cat /srv/data/note && echo written > /srv/data/back"])
                #expect(rw.status == 0 && rw.stdout == "from the host\n", "\(rw)")
                #expect(try String(contentsOfFile: host + "/back", encoding: .utf8) == "written\n")
                // The mount point was made inside the rootfs, not on the host's /srv.
                #expect(FileManager.default.fileExists(atPath: rootfs.path + "/srv/data"))

                let ro = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "-v", "\(host):/data:ro", "--", "sh", "-c",
                                        "cat /data/note; touch /data/nope"])
                #expect(ro.status == 1 && ro.stdout == "from the host\n" && ro.stderr.contains("Read-only file system"), "\(ro)")
                #expect(!FileManager.default.fileExists(atPath: host + "/nope"))

                let readOnly = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "--read-only", "-v", "\(host):/data", "--", "sh", "-c",
                                              "touch /tmp/x 2>&1; touch /dev/shm/ok && touch /data/ok && echo writable"])
                #expect(readOnly.stdout.contains("Read-only file system") && readOnly.stdout.hasSuffix("writable\n"), "\(readOnly)")
                #expect(!FileManager.default.fileExists(atPath: rootfs.path + "/tmp/x"))
                #expect(FileManager.default.fileExists(atPath: host + "/ok"))
            }
        }
    }

    /// Docker sorts a container's mounts by the depth of their destination (`sortMounts`):
    /// a parent is mounted before what goes below it, whatever order `-v` gave them in.
    @Test("-v d1:/mnt/x -v d2:/mnt: the parent is mounted first, so both volumes are seen")
    func nestedVolumesParentFirst() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                let base = NSTemporaryDirectory() + "berth-nested-\(UUID().uuidString.prefix(8))"
                defer { try? FileManager.default.removeItem(atPath: base) }
                for name in ["d1", "d2"] { try FileManager.default.createDirectory(atPath: base + "/" + name, withIntermediateDirectories: true) }
                try "one\n".write(toFile: base + "/d1/f1", atomically: true, encoding: .utf8)
                try "two\n".write(toFile: base + "/d2/f2", atomically: true, encoding: .utf8)

                let run = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "-v", "\(base)/d1:/mnt/x", "-v", "\(base)/d2:/mnt", "--",
                                         "sh", "-c", "cat /mnt/x/f1 /mnt/f2"])
                #expect(run.status == 0 && run.stdout == "one\ntwo\n", "\(run)")
                // The child's mount point was made in the parent volume: on the host, in d2.
                #expect(FileManager.default.fileExists(atPath: base + "/d2/x"))
            }
        }
    }

    @Test("bad input: an unknown user or group, a missing volume source, -it without a terminal, a bad restart policy — clear errors, nothing left")
    func refusals() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                let before = ContainerCLI.ruleset(sandbox)
                let cases: [([String], String)] = [
                    (["-u", "nosuch"], "unable to find user nosuch: no matching entries in passwd file"),
                    (["-u", "bob:nogroup"], "unable to find group nogroup: no matching entries in group file"),
                    (["-v", "/nonexistent/berth-src:/data"], "volume source /nonexistent/berth-src does not exist"),
                    (["-v", "relative:/data"], "volume source \"relative\" is not an absolute path"),
                    (["-v", "/tmp:/data:rx"], "unsupported option \"rx\""),
                    (["-it"], "the input device is not a TTY"),
                    (["--restart", "sometimes"], "invalid restart policy \"sometimes\""),
                ]
                for detach in [[], ["-d"]] {
                    for (options, message) in cases where !(detach == ["-d"] && options == ["-it"]) {
                        let result = sandbox.berth(["run"] + detach + options + ["--rootfs", rootfs.path, "-p", "7400:70", "--", "true"])
                        #expect(result.status == 125 && result.stderr.contains(message), "\(options): \(result)")
                    }
                }
                #expect(ContainerCLI.nothingRecorded(sandbox))
                #expect(ContainerCLI.vethsGone(sandbox))
                #expect(ContainerCLI.ruleset(sandbox) == before)
                // -t alone needs no terminal (as Docker): the command gets one all the same.
                let tty = sandbox.berth(["run", "--rm", "-t", "--rootfs", rootfs.path, "--", "tty"])
                #expect(tty.status == 0 && tty.stdout == "/dev/pts/0\r\n", "\(tty)")
            }
        }
    }
}
