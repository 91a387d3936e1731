@testable import berth
import BerthTestSupport
import Foundation
import Testing

/// Usage errors read as every other berth error, `berth: <what> (<fix>)`, on one line, through
/// the built binary: no argument-parser `Error:` prefix, doubled or not, and no usage block.
/// Nothing here touches the kernel or a state: each command is refused before it runs.
@Suite("berth CLI: usage errors")
struct UsageErrorCLITests {
    @Test("an unknown option names itself and the command's help, and exits 64 (125 for run and exec, as docker)")
    func unknownOption() {
        let ps = Command.run([Command.berthBinary, "ps", "--bogus"])
        #expect(ps.status == 64 && ps.stderr == "berth: unknown option '--bogus' (see 'berth ps --help')\n", "\(ps)")
        let ls = Command.run([Command.berthBinary, "network", "ls", "--bogus"])
        #expect(ls.status == 64 && ls.stderr == "berth: unknown option '--bogus' (see 'berth network ls --help')\n", "\(ls)")
        let alias = Command.run([Command.berthBinary, "network", "list", "--bogus"])
        #expect(alias.status == 64 && alias.stderr == "berth: unknown option '--bogus' (see 'berth network ls --help')\n", "\(alias)")
        let run = Command.run([Command.berthBinary, "run", "--netwrok", "x", "--", "true"])
        #expect(run.status == 125 && run.stderr.hasPrefix("berth: unknown option '--netwrok'") && !run.stderr.contains("Error"), "\(run)")
        #expect(run.stderr.hasSuffix("see 'berth run --help')\n") && run.stderr.split(separator: "\n").count == 1, "\(run)")
        let exec = Command.run([Command.berthBinary, "exec", "--bogus", "c1", "true"])
        #expect(exec.status == 125 && exec.stderr == "berth: unknown option '--bogus' (see 'berth exec --help')\n", "\(exec)")
        let missing = Command.run([Command.berthBinary, "port"])
        #expect(missing.status == 64 && missing.stderr.hasPrefix("berth: missing expected argument") && missing.stderr.hasSuffix("(see 'berth port --help')\n"),
                "\(missing)")
    }

    @Test("an unknown subcommand is named, with the subcommands to choose from")
    func unknownSubcommand() {
        let creat = Command.run([Command.berthBinary, "network", "creat", "x"])
        #expect(creat.status == 64, "\(creat)")
        #expect(creat.stderr == "berth: unknown subcommand 'creat' (choose one of: create, rm, prune, ls, inspect; see 'berth network --help')\n", "\(creat)")
        let top = Command.run([Command.berthBinary, "frobnicate"])
        #expect(top.status == 64 && top.stderr == "berth: unknown command 'frobnicate' (see 'berth --help')\n", "\(top)")
        // Help still works, and a known subcommand is not mistaken for an unknown one.
        #expect(Command.run([Command.berthBinary, "network", "--help"]).status == 0)
        #expect(Command.run([Command.berthBinary, "help", "network"]).status == 0)
    }

    @Test("docker habits are answered with berth's way: --format points at --json, run -P at -p, network connect at attach; berth version is --version")
    func dockerHabits() {
        let ps = Command.run([Command.berthBinary, "ps", "--format", "{{.Names}}"])
        #expect(ps.status == 64 && ps.stderr == "berth: unknown option '--format': berth has no Go templates; 'berth ps --json' prints every field, "
                + "which a JSON tool picks from (as jq -r '.[].name'; see 'berth ps --help')\n", "\(ps)")
        let ls = Command.run([Command.berthBinary, "network", "ls", "--format={{.Name}}"])
        #expect(ls.status == 64 && ls.stderr.contains("'berth network ls --json' prints every field"), "\(ls)")
        // Before a name argument, which would otherwise be the complaint.
        let networkInspect = Command.run([Command.berthBinary, "network", "inspect", "--format", "{{.Id}}", "web"])
        #expect(networkInspect.status == 64 && networkInspect.stderr.contains("'berth network inspect --json' prints every field"), "\(networkInspect)")
        let inspect = Command.run([Command.berthBinary, "inspect", "--format", "{{.State.Pid}}", "web"])
        #expect(inspect.status == 64 && inspect.stderr.hasPrefix("berth: unknown option '--format': berth has no Go templates; 'berth inspect' prints JSON"),
                "\(inspect)")
        // A command without --json gets the plain unknown option.
        let rm = Command.run([Command.berthBinary, "rm", "--format", "x"])
        #expect(rm.status == 64 && rm.stderr.hasPrefix("berth: unknown option '--format'") && !rm.stderr.contains("--json"), "\(rm)")
        let publishAll = Command.run([Command.berthBinary, "run", "-P", "--", "true"])
        #expect(publishAll.status == 125 && publishAll.stderr.hasPrefix("berth: publishing all ports (-P) is not supported")
                && publishAll.stderr.contains("-p 8080:80") && !publishAll.stderr.contains("goes after '--'"), "\(publishAll)")
        let connect = Command.run([Command.berthBinary, "network", "connect", "ny", "web"])
        #expect(connect.status == 64 && connect.stderr.hasPrefix("berth: unknown subcommand 'connect': berth attaches endpoints with its own commands")
                && connect.stderr.contains("'berth attach NETWORK --netns /proc/PID/ns/net --ifname eth1'"), "\(connect)")
        let disconnect = Command.run([Command.berthBinary, "network", "disconnect", "ny", "web"])
        #expect(disconnect.status == 64 && disconnect.stderr.contains("'berth detach ID'"), "\(disconnect)")
        let version = Command.run([Command.berthBinary, "version"])
        let flag = Command.run([Command.berthBinary, "--version"])
        #expect(version.status == 0 && version.stdout == flag.stdout && !version.stdout.isEmpty, "\(version) \(flag)")
    }

    @Test("network create --ipv6=false with an IPv6 --subnet (or --ipv6 too) is refused as a contradiction, not made dual-stack")
    func ipv6FalseWithIPv6Subnet() {
        let subnet = Command.run([Command.berthBinary, "network", "create", "ny", "--ipv6=false", "--subnet", "fd00:9::/64"])
        #expect(subnet.status == 64 && subnet.stderr == "berth: --ipv6=false contradicts the IPv6 --subnet fd00:9::/64: an IPv6 value makes the network dual-stack "
                + "(leave out --ipv6=false for IPv6, or the IPv6 --subnet for an IPv4-only network; see 'berth network create --help')\n", "\(subnet)")
        let both = Command.run([Command.berthBinary, "network", "create", "ny", "--ipv6", "--ipv6=false"])
        #expect(both.status == 64 && both.stderr.hasPrefix("berth: --ipv6=false and --ipv6 contradict each other"), "\(both)")
        #expect(NetworkCommand.Create.ipv6Contradiction(subnet: nil, gateway: nil, range: nil, ipv6: false) == nil)
    }

    @Test("berth lab's usage errors read the same way and exit 64; a berth-lab that is not installed exits 127 as a missing berth-cli does")
    func labUsage() throws {
        let frob = Command.run([Command.berthBinary, "lab", "frob"])
        #expect(frob.status == 64, "\(frob)")
        #expect(frob.stderr == "berth lab: unknown subcommand 'frob' (choose one of: up, down, ls, inspect, exec, graph, impair, gc, check; see 'berth lab --help')\n",
                "\(frob)")
        let up = Command.run([Command.berthBinary, "lab", "up"])
        #expect(up.status == 64 && up.stderr == "berth lab: missing expected argument '<file>' (see 'berth lab up --help')\n", "\(up)")
        let option = Command.run([Command.berthBinary, "lab", "ls", "--bogus"])
        #expect(option.status == 64 && option.stderr == "berth lab: unknown option '--bogus' (see 'berth lab ls --help')\n", "\(option)")
        #expect(Command.run([Command.berthBinary, "lab", "--help"]).status == 0)

        // berth alone, without berth-lab beside it.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-lab-missing-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let lone = directory.appendingPathComponent("berth").path
        try FileManager.default.copyItem(atPath: Command.berthBinary, toPath: lone)
        let missing = Command.run([lone, "lab", "ls"])
        #expect(missing.status == 127 && missing.stderr.contains("install berth-lab from the same build beside berth"), "\(missing)")
    }

    @Test("berth lab exec takes everything after the node as the command, its options too (as ip netns exec and berth exec do); a -- before it is dropped")
    func labExecCommand() {
        // A lab with no namespace: each form reaches the lookup of its node, none is a usage error.
        let lab = "uxlab-none-\(getpid())"
        for command in [["ip", "-br", "addr"], ["ip", "addr", "show", "lo"], ["--", "ip", "-br", "addr"], ["--", "--help"]] {
            let exec = Command.run([Command.berthBinary, "lab", "exec", lab, "h1"] + command)
            #expect(exec.status == 1 && exec.stderr == "berth lab: lab \(lab) has no node h1 (no network namespace \(lab)-h1) (check the lab and node names, or bring the lab up)\n",
                    "\(command): \(exec)")
        }
        // --state-dir before the lab; after it, the words are the lab's, the node's and the command's.
        let before = Command.run([Command.berthBinary, "lab", "exec", "--state-dir", "/nonexistent/uxlab", lab, "h1", "ip", "-br", "addr"])
        #expect(before.status == 1 && before.stderr.contains("has no node h1"), "\(before)")
        let between = Command.run([Command.berthBinary, "lab", "exec", lab, "--state-dir", "/nonexistent/uxlab", "h1", "ip"])
        #expect(between.status == 64 && between.stderr
                == "berth lab: --state-dir goes before the lab: berth lab exec [--state-dir DIR] LAB NODE COMMAND [ARG...] (see 'berth lab exec --help')\n",
                "\(between)")
        let none = Command.run([Command.berthBinary, "lab", "exec", lab, "h1"])
        #expect(none.status == 1 && none.stderr == "berth lab: no command to run in node h1 (give the command after the node: berth lab exec LAB NODE COMMAND [ARG...])\n",
                "\(none)")
    }

    @Test("logs -n and stop/restart --timeout read their values as docker's do: -n5, -n=5, --timeout S")
    func logsTailAndTimeout() {
        for words in [["logs", "-nbogus", "web"], ["logs", "-n=bogus", "web"]] {
            let result = Command.run([Command.berthBinary] + words)
            #expect(result.status == 64 && result.stderr.hasPrefix("berth: --tail takes a number of lines or 'all', not 'bogus'"), "\(words): \(result)")
        }
        for command in ["stop", "restart"] {
            let result = Command.run([Command.berthBinary, command, "--timeout", "-5", "web"])
            #expect(result.status == 64 && result.stderr.hasPrefix("berth: --time must be 0 or more seconds, or -1 for no SIGKILL, not -5"),
                    "\(command): \(result)")
            let help = Command.run([Command.berthBinary, command, "--help"])
            #expect(help.stdout.contains("--timeout"), "\(help)")
        }
    }

    @Test("ps -q is an option (ids only), so 'berth rm -f $(berth ps -aq)' works")
    func quietIsKnown() {
        let help = Command.run([Command.berthBinary, "ps", "--help"])
        #expect(help.status == 0 && help.stdout.contains("-q, --quiet"), "\(help)")
    }
}
