import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// A running container's endpoint through the commands a new user reaches for: detach
/// refuses it (its stop detaches it), port takes the container's name, ps -q lists ids
/// newest first, check notices a container cut off, inspect points a network at network
/// inspect, and netns del refuses a namespace endpoints still use.
@Suite("berth CLI: containers' endpoints (kernel)", .enabled(if: try KernelTests.enabled))
struct ContainerEndpointCLITests {
    @Test("detach refuses a running container's endpoint, by id or name; port takes its name; ps -q and -a list newest first; check sees it cut off")
    func runningContainer() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                #expect(sandbox.berth(["run", "--name", "aged", "--rootfs", rootfs.path, "--", "true"]).status == 0)
                let run = sandbox.berth(["run", "-d", "--name", "busy", "--rootfs", rootfs.path, "-p", "7200:70", "--", "sleep", "1000"])
                try #require(run.status == 0, "\(run)")
                let id = try #require(try ContainerCLI.container(sandbox, "busy")?["id"] as? String)
                let short = String(id.prefix(12))

                for argument in [id, short] {
                    let refused = sandbox.berth(["detach", argument])
                    #expect(refused.status == 1, "\(refused)")
                    #expect(refused.stderr == "berth: endpoint \(short) belongs to running container busy (stop it first with 'berth stop busy')\n", "\(refused)")
                }
                let byName = sandbox.berth(["detach", "busy"])
                #expect(byName.status == 1 && byName.stderr == "berth: busy is a running container (stop it first with 'berth stop busy')\n", "\(byName)")
                // Still attached: its port by the container's name, as docker port takes it.
                let port = sandbox.berth(["port", "busy"])
                #expect(port.succeeded && port.stdout == "70/tcp -> 0.0.0.0:7200\n", "\(port)")
                #expect(sandbox.berthWitness(["port", "aged"]).isEmpty)
                #expect(sandbox.berth(["check"]).stdout == "ok\n")

                // ids only; every container's with -a, newest first.
                let agedID = try #require(try ContainerCLI.container(sandbox, "aged")?["id"] as? String)
                #expect(sandbox.berth(["ps", "-q"]).stdout == short + "\n")
                #expect(sandbox.berth(["ps", "-aq"]).stdout == short + "\n" + agedID.prefix(12) + "\n")
                let rows = sandbox.berth(["ps", "-a"]).stdout.split(separator: "\n")
                // "aged" sorts before "busy" by name too: only the order of creation puts busy first.
                #expect(rows.count == 3 && rows[1].hasSuffix("busy") && rows[2].hasSuffix("aged"), "\(rows)")

                // An endpoint lost behind the container's back (a hand-edited state): check says so.
                let lost = sandbox.run(["sqlite3", sandbox.stateDirectory + "/state.db",
                                        "PRAGMA foreign_keys = ON; DELETE FROM endpoints WHERE id = '\(id)';"])
                try #require(lost.succeeded, "\(lost)")
                let check = sandbox.berth(["check"])
                #expect(check.status == 1 && check.stderr.contains("container busy runs without its endpoint \(short)")
                        && check.stderr.contains("'berth restart busy'"), "\(check)")
                #expect(sandbox.berth(["rm", "-f", "busy", "aged"]).succeeded)
            }
        }
    }

    @Test("inspect of a network's name says it is one and points at network inspect")
    func inspectNetwork() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24"]).succeeded)
            let inspect = sandbox.berth(["inspect", "web"])
            #expect(inspect.status == 1 && inspect.stdout == "[]\n", "\(inspect)")
            #expect(inspect.stderr == "berth: no container named \"web\": web is a network (see 'berth network inspect web')\n", "\(inspect)")
        }
    }

    @Test("netns del refuses a namespace with endpoints attached, naming them; --force detaches them first")
    func netnsInUse() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24"]).succeeded)
            let name = "bt-del-\(KernelTests.uniqueSuffix())"
            // The sandbox deletes it at the end whatever happens here (a deleted one is no matter).
            sandbox.adopt(namespaceNamed: name)
            try #require(sandbox.berth(["netns", "add", name]).succeeded)
            try #require(sandbox.berth(["attach", "web", "--netns", name, "--id", "e1"]).succeeded)
            let refused = sandbox.berth(["netns", "del", name])
            #expect(refused.status == 1, "\(refused)")
            #expect(refused.stderr == "berth: namespace \(name) has endpoint e1 attached (detach it first with 'berth detach e1', or add --force to detach it and delete it)\n",
                    "\(refused)")
            #expect(sandbox.berth(["netns", "ls"]).stdout.contains(name))
            let forced = sandbox.berth(["netns", "del", "--force", name])
            #expect(forced.succeeded, "\(forced)")
            #expect(!sandbox.berthWitness(["netns", "ls"]).contains(name))
            #expect(!sandbox.berthWitness(["ps"]).contains("e1"))
            // A namespace nothing uses is deleted as before.
            try #require(sandbox.berth(["netns", "add", name]).succeeded)
            #expect(sandbox.berth(["netns", "del", name]).succeeded)
        }
    }

    @Test("netns del --force of a namespace that also holds a running container's endpoint: refused naming the container, and no endpoint detached")
    func netnsForceAllOrNothing() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                // Endpoints are taken in network order: "aaa"'s comes before the default network "berth"'s.
                try #require(sandbox.berth(["network", "create", "aaa", "--subnet", "10.9.0.0/24"]).succeeded)
                let run = sandbox.berth(["run", "-d", "--name", "busy", "--rootfs", rootfs.path, "--", "sleep", "1000"])
                try #require(run.status == 0, "\(run)")
                let pid = try #require(try ContainerCLI.container(sandbox, "busy")?["pid"] as? Int)
                // The container's namespace under a name, as `ip netns attach` gives it one.
                let name = "bt-ctr-\(KernelTests.uniqueSuffix())"
                sandbox.adopt(namespaceNamed: name)
                try #require(sandbox.run(["ip", "netns", "attach", name, "\(pid)"]).succeeded)
                try #require(sandbox.berth(["attach", "aaa", "--netns", name, "--id", "e1", "--ifname", "eth1"]).succeeded)
                let refused = sandbox.berth(["netns", "del", "--force", name])
                #expect(refused.status == 1 && refused.stderr.contains("belongs to running container busy")
                        && refused.stderr.contains("'berth stop busy'"), "\(refused)")
                // Nothing half done: e1 is still attached, its interface still inside, the namespace still named.
                let endpoints = sandbox.berth(["ps", "--json"])
                #expect(endpoints.stdout.contains("\"e1\""), "\(endpoints)")
                #expect(sandbox.run(["ip", "-n", name, "link", "show", "eth1"]).succeeded)
                #expect(sandbox.berth(["netns", "ls"]).stdout.contains(name))
                #expect(sandbox.berth(["rm", "-f", "busy"]).succeeded)
                #expect(sandbox.berth(["detach", "e1"]).succeeded)
            }
        }
    }
}
