import BerthCore
import BerthTestSupport
import Foundation
import Testing

@Suite("berth CLI: network rm of several (kernel)", .enabled(if: try KernelTests.enabled))
struct NetworkRemoveCLITests {
    @Test("network rm goes on past a network with endpoints, removes the others and exits 1 naming the refusal")
    func goesOn() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "busy", "--subnet", "10.9.0.0/24"]).succeeded)
            try #require(sandbox.berth(["network", "create", "idle", "--subnet", "10.9.1.0/24"]).succeeded)
            let ns = try #require(try sandbox.makeNamespace().name)
            try #require(sandbox.berth(["attach", "busy", "--netns", ns, "--id", "e1"]).succeeded)
            let result = sandbox.berth(["network", "rm", "busy", "idle"])
            #expect(result.status == 1 && result.stderr.contains("busy") && result.stderr.contains("e1"), "\(result)")
            #expect(result.stdout == "idle\n")
            let left = sandbox.berth(["network", "ls"]).stdout
            #expect(left.contains("busy") && !left.contains("idle"), "\(left)")
        }
    }
}

@Suite("berth CLI: network rm past a stopped container (kernel)", .enabled(if: try KernelTests.enabled && CgroupControllers.usable))
struct NetworkRemoveStoppedCLITests {
    @Test("a stopped container holds no endpoint: network rm names only the attached endpoint, with 'berth detach' and its id; inspect and ps agree")
    func stoppedContainer() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "ny", "--subnet", "10.9.2.0/24"]).succeeded)
            let run = sandbox.berth(["run", "--name", "sy1", "--network", "ny", "--", "true"])
            try #require(run.succeeded, "\(run)")
            let ns = try #require(try sandbox.makeNamespace().name)
            try #require(sandbox.berth(["attach", "ny", "--netns", ns, "--id", "ep9"]).succeeded)
            let refused = sandbox.berth(["network", "rm", "ny"])
            #expect(refused.status == 1 && refused.stderr == "berth: network ny has 1 endpoint attached: ep9 (detach it first with 'berth detach ep9')\n",
                    "\(refused)")
            let inspect = sandbox.berth(["inspect", "sy1"])
            let settings = try #require(((try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [[String: Any]])?.first?["NetworkSettings"])
                as? [String: Any], "\(inspect)")
            #expect(settings["EndpointID"] as? String == "" && settings["IPAddress"] as? String == "", "\(settings)")
            let row = try #require(try ContainerCLI.container(sandbox, "sy1"))
            #expect(row["endpoint"] is NSNull && row["status"] as? String == "exited", "\(row)")
            #expect(sandbox.berth(["detach", "ep9"]).succeeded)
            let removed = sandbox.berth(["network", "rm", "ny"])
            #expect(removed.status == 0 && removed.stdout == "ny\n", "\(removed)")
            #expect(sandbox.berth(["rm", "sy1"]).succeeded)
        }
    }
}
