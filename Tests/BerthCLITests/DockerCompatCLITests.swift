import BerthTestSupport
import Foundation
import Testing

/// Docker's spellings that scripts use: `network ls -q`, `network create -d bridge`,
/// `port CONTAINER PRIVATE_PORT[/PROTO]`.
@Suite("berth CLI: Docker's spellings (kernel)", .enabled(if: try KernelTests.enabled))
struct DockerCompatCLITests {
    @Test("network ls -q prints the names alone; -q with --json is a usage error")
    func networkQuiet() throws {
        try withHostSandbox { sandbox in
            for (name, subnet) in [("web", "10.9.0.0/24"), ("db", "10.9.1.0/24")] {
                try #require(sandbox.berth(["network", "create", name, "--subnet", subnet]).succeeded)
            }
            let table = sandbox.berth(["network", "ls"]).stdout.split(separator: "\n").dropFirst().map { String($0.split(separator: " ")[0]) }
            for spelling in ["-q", "--quiet"] {
                let quiet = sandbox.berth(["network", "ls", spelling])
                #expect(quiet.succeeded && quiet.stdout == table.map { $0 + "\n" }.joined() && Set(table) == ["web", "db"], "\(quiet)")
            }
            let both = sandbox.berth(["network", "ls", "-q", "--json"])
            #expect(both.status == 64 && both.stdout.isEmpty && both.stderr.contains("--quiet and --json exclude each other"), "\(both)")
        }
    }

    @Test("network create -d/--driver bridge is taken; any other driver is refused naming the one there is, nothing made")
    func networkDriver() throws {
        try withHostSandbox { sandbox in
            #expect(sandbox.berth(["network", "create", "-d", "bridge", "web", "--subnet", "10.9.0.0/24"]).succeeded)
            #expect(sandbox.berth(["network", "create", "db", "--driver=bridge", "--subnet", "10.9.1.0/24"]).succeeded)
            let overlay = sandbox.berth(["network", "create", "--driver", "overlay", "other", "--subnet", "10.9.2.0/24"])
            #expect(overlay.status == 64 && overlay.stderr.contains("network driver 'overlay' is not supported")
                    && overlay.stderr.contains("bridge"), "\(overlay)")
            #expect(!sandbox.berthWitness(["network", "ls"]).contains("other"))
        }
    }

    @Test("port NAME PRIVATE_PORT[/PROTO] prints that port's host addresses alone, as docker port; one not published is an error")
    func portFilter() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24"]).succeeded)
            let ns = try #require(try sandbox.makeNamespace().name)
            try #require(sandbox.berth(["attach", "web", "--netns", ns, "--id", "e1", "-p", "18080:80", "-p", "127.0.0.1:18081:80",
                                        "-p", "15353:53/udp", "-p", "15354:54"]).succeeded)
            let all = sandbox.berth(["port", "e1"])
            #expect(all.succeeded && all.stdout.split(separator: "\n").count == 4, "\(all)")
            let eighty = sandbox.berth(["port", "e1", "80"])
            #expect(eighty.succeeded && Set(eighty.stdout.split(separator: "\n")) == ["0.0.0.0:18080", "127.0.0.1:18081"], "\(eighty)")
            #expect(sandbox.berth(["port", "e1", "80/tcp"]).stdout == eighty.stdout)
            let udp = sandbox.berth(["port", "e1", "53/udp"])
            #expect(udp.succeeded && udp.stdout == "0.0.0.0:15353\n", "\(udp)")
            let json = sandbox.berth(["port", "e1", "54", "--json"])
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]], "\(json)")
            #expect(rows.count == 1 && rows[0]["hostPort"] as? Int == 15354 && rows[0]["containerPort"] as? Int == 54, "\(rows)")
            let missing = sandbox.berth(["port", "e1", "53"])
            #expect(missing.status == 1 && missing.stdout.isEmpty && missing.stderr.hasPrefix("berth: no public port '53/tcp' published for e1"), "\(missing)")
            for bad in ["80/xyz", "http", "0", "70000"] {
                let refused = sandbox.berth(["port", "e1", bad])
                #expect(refused.status == 64 && refused.stderr.contains("invalid port"), "\(bad): \(refused)")
            }
            #expect(sandbox.berth(["detach", "e1"]).succeeded)
        }
    }
}
