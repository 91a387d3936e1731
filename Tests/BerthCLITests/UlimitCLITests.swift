import BerthTestSupport
import Foundation
import Testing

/// `berth run --ulimit` through the built binary, as `docker run --ulimit`: the limits as the
/// container's processes have them (their /proc/self/limits), for its command, an `exec`, and
/// after a restart; `inspect`'s HostConfig.Ulimits; bad values refused before anything exists.
@Suite("berth run --ulimit (kernel)", .enabled(if: try KernelTests.enabled))
struct UlimitCLITests {
    /// The soft and hard columns of a /proc/PID/limits row ("Max open files  100  200  files").
    static func limits(_ text: String, _ row: String) -> [String] {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(row + "  ") }) else { return [] }
        return line.dropFirst(row.count).split(separator: " ").prefix(2).map(String.init)
    }

    /// The container's limits: nofile 100/200 and no core files (0/0).
    static func expectLimits(_ text: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(limits(text, "Max open files") == ["100", "200"], "\(what): \(text)", sourceLocation: sourceLocation)
        #expect(limits(text, "Max core file size") == ["0", "0"], "\(what): \(text)", sourceLocation: sourceLocation)
    }

    @Test("--ulimit nofile=100:200 --ulimit core=0: the command, an exec and the command after a restart have them; a later --ulimit of a name wins; inspect shows them")
    func applied() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs(applets: ["cat", "sleep"]) { rootfs in
                let flags = ["--ulimit", "nofile=5:6", "--ulimit", "nofile=100:200", "--ulimit", "core=0"]
                let run = sandbox.berth(["run", "--name", "once", "--network", "none"] + flags + ["--rootfs", rootfs.path, "--", "cat", "/proc/self/limits"])
                #expect(run.status == 0, "\(run)")
                Self.expectLimits(run.stdout, "run")
                // A limit not asked for is inherited as it was: berth's own.
                let own = try String(contentsOfFile: "/proc/self/limits", encoding: .utf8)
                #expect(Self.limits(run.stdout, "Max processes") == Self.limits(own, "Max processes") && !Self.limits(own, "Max processes").isEmpty)

                // inspect: Docker's shape and order (by name; Name, Hard, Soft), the exact text.
                let inspect = sandbox.berth(["inspect", "once"])
                #expect(inspect.status == 0, "\(inspect)")
                let array = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [[String: Any]], "\(inspect)")
                let host = try #require(array.first?["HostConfig"] as? [String: Any], "\(inspect)")
                let ulimits = try #require(host["Ulimits"] as? [[String: Any]], "\(host)")
                #expect(ulimits.count == 2 && ulimits[0]["Name"] as? String == "core" && ulimits[0]["Hard"] as? Int == 0 && ulimits[0]["Soft"] as? Int == 0
                        && ulimits[1]["Name"] as? String == "nofile" && ulimits[1]["Hard"] as? Int == 200 && ulimits[1]["Soft"] as? Int == 100, "\(ulimits)")
                let compact = inspect.stdout.filter { !$0.isWhitespace }
                #expect(compact.contains("\"Ulimits\":[{\"Name\":\"core\",\"Hard\":0,\"Soft\":0},{\"Name\":\"nofile\",\"Hard\":200,\"Soft\":100}]"), "\(inspect.stdout)")

                // A detached one: its PID 1, and a command entering it, as Docker's exec gets
                // the container's rlimits.
                try #require(sandbox.berth(["run", "-d", "--name", "held", "--network", "none"] + flags + ["--rootfs", rootfs.path, "--", "sleep", "1000"]).succeeded)
                let first = sandbox.berth(["exec", "held", "cat", "/proc/1/limits"])
                #expect(first.status == 0, "\(first)")
                Self.expectLimits(first.stdout, "PID 1")
                let exec = sandbox.berth(["exec", "held", "cat", "/proc/self/limits"])
                #expect(exec.status == 0, "\(exec)")
                Self.expectLimits(exec.stdout, "exec")
                // Kept with its settings: the command started again by restart has them.
                let oldPid = try #require(try ContainerCLI.container(sandbox, "held")?["pid"] as? Int)
                #expect(sandbox.berth(["restart", "-t", "0", "held"]).succeeded)
                #expect(try ContainerCLI.container(sandbox, "held")?["pid"] as? Int != oldPid)
                let again = sandbox.berth(["exec", "held", "cat", "/proc/1/limits"])
                #expect(again.status == 0, "\(again)")
                Self.expectLimits(again.stdout, "PID 1 after restart")
                Self.expectLimits(sandbox.berth(["exec", "held", "cat", "/proc/self/limits"]).stdout, "exec after restart")

                // Without --ulimit: none, `[]` as Docker prints it.
                try #require(sandbox.berth(["run", "--name", "plain", "--network", "none", "--rootfs", rootfs.path, "--", "true"]).succeeded)
                #expect(sandbox.berth(["inspect", "plain"]).stdout.filter { !$0.isWhitespace }.contains("\"Ulimits\":[]"))
                #expect(sandbox.berth(["rm", "-f", "once", "held", "plain"]).succeeded)
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }

    @Test("a bad --ulimit is a usage error (125) naming the problem and the fix, before anything is made")
    func usageErrors() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                let cases = [
                    ("nofile=200:100", "berth: --ulimit: ulimit nofile: the soft limit 200 is above the hard limit 100 (give a soft limit at most the hard limit; see 'berth run --help')\n"),
                    ("files=1", "berth: --ulimit: unknown ulimit \"files\" (use one of core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack; see 'berth run --help')\n"),
                    ("nofile", "berth: --ulimit: invalid ulimit \"nofile\": no '=' (write NAME=SOFT[:HARD], such as nofile=1024:2048; see 'berth run --help')\n"),
                    ("memlock=64k", "berth: --ulimit: invalid ulimit value \"64k\" in \"memlock=64k\" (give a whole number, or -1 or infinity for unlimited; see 'berth run --help')\n"),
                ]
                for (value, expected) in cases {
                    let run = sandbox.berth(["run", "--name", "bad", "--ulimit", value, "--rootfs", rootfs.path, "--", "true"])
                    #expect(run.status == 125 && run.stderr == expected, "\(value): \(run)")
                }
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }

    @Test("a limit the kernel refuses (nofile above fs.nr_open, even for root) fails the run with 125 before its network is attached: nothing is left")
    func refusedByKernel() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                let nrOpen = try String(contentsOfFile: "/proc/sys/fs/nr_open", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                let above = try #require(Int(nrOpen)) + 1
                let run = sandbox.berth(["run", "--name", "greedy", "--ulimit", "nofile=100:\(above)", "--rootfs", rootfs.path, "--", "true"])
                #expect(run.status == 125, "\(run)")
                // (After the warning that making the default network on first use may print.)
                #expect(run.stderr.hasSuffix("berth: --ulimit: ulimit nofile=100:\(above): the kernel allows at most \(nrOpen) open files (fs.nr_open): "
                                             + "Operation not permitted (give nofile a hard limit of at most \(nrOpen))\n"), "\(run)")
                // On the default bridge network: no endpoint, no veth left behind.
                #expect(try ContainerCLI.containers(sandbox).allSatisfy { $0["status"] as? String != "running" })
                #expect(ContainerCLI.vethsGone(sandbox))
                let ps = sandbox.berth(["ps", "-a", "--json"])
                #expect(!ps.stdout.contains("\"kind\":\"endpoint\"") && !ps.stdout.contains("\"kind\": \"endpoint\""), "\(ps)")
                _ = sandbox.berth(["rm", "-f", "greedy"])
            }
        }
    }
}
