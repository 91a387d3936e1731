import BerthTestSupport
import Foundation
import Testing

/// `berth run` and the commands around it as a docker (or podman, or iproute2) user types
/// them, refused before anything runs: nothing here touches the kernel or a state.
@Suite("berth CLI: docker's and iproute2's spellings (usage)")
struct DockerParityUsageTests {
    private func berth(_ arguments: [String]) -> CommandResult {
        Command.run([Command.berthBinary] + arguments)
    }

    @Test("run -h is --hostname's short form, as docker's: -h with no value is a usage error (125), not help and 0; --help is help")
    func hostnameShortForm() {
        let alone = berth(["run", "-h"])
        #expect(alone.status == 125 && alone.stdout.isEmpty && alone.stderr.hasPrefix("berth: missing value for '-h'"), "\(alone)")
        // A value option last (the split before parsing leaves it to argument-parser).
        let last = berth(["run", "--rm", "--name"])
        #expect(last.status == 125 && last.stderr.hasPrefix("berth: missing value for '--name"), "\(last)")
        let help = berth(["run", "--help"])
        #expect(help.status == 0 && help.stdout.contains("-h, --hostname <hostname>"), "\(help)")
    }

    @Test("run --network container:NAME is refused as unsupported, saying what to use instead")
    func containerNetwork() {
        let refused = berth(["run", "--rm", "--network", "container:web", "--", "true"])
        #expect(refused.status == 125 && refused.stdout.isEmpty, "\(refused)")
        #expect(refused.stderr.hasPrefix("berth: network mode \"container:web\" is not supported") && refused.stderr.contains("'berth exec web COMMAND'"),
                "\(refused)")
    }

    @Test("short options take their value joined, as docker's: the value is read (and checked) as the option's, not as a command")
    func joinedShortOptions() {
        for (arguments, reason) in [
            (["run", "-pbogus", "--", "true"], "invalid port mapping \"bogus\""),
            // pflag's -X=VALUE: the value is what follows '=', for every command's short options.
            (["run", "-p=bogus", "--", "true"], "invalid port mapping \"bogus\""),
            (["run", "-m=5x", "--", "true"], "--memory: "),
            (["run", "-m5x", "--", "true"], "--memory: "),
            (["run", "-cx", "--", "true"], "--cpu-shares: "),
            (["run", "-v/tmp:/mnt", "--network", "container:x", "--", "true"], "network mode \"container:x\""),
        ] {
            let result = berth(arguments)
            #expect(result.status == 125 && result.stderr.contains(reason) && !result.stderr.contains("unknown option"), "\(arguments): \(result)")
        }
        // A joined value with '=' (-eFOO=1, -ppublished=…): read as the option's, among run's options only.
        let env = berth(["run", "-eFOO=1", "-ppublished=8080,target=80,host_ip=::", "--", "true"])
        #expect(env.status == 125 && env.stderr.contains("host_ip is not supported"), "\(env)")
        let execEnv = berth(["exec", "-eFOO=1", "-w/tmp", "--state-dir", "/nonexistent-berth-state/x", "web", "true"])
        #expect(execEnv.status == 125 && !execEnv.stderr.contains("unknown option"), "\(execEnv)")
        let attach = berth(["attach", "web", "--netns", "/nonexistent-berth-ns", "-pbogus", "--state-dir", "/nonexistent-berth-state"])
        #expect(attach.status == 1 && attach.stderr.contains("invalid port mapping \"bogus\""), "\(attach)")
        let attachEquals = berth(["attach", "web", "--netns", "/nonexistent-berth-ns", "-p=bogus", "--state-dir", "/nonexistent-berth-state"])
        #expect(attachEquals.status == 1 && attachEquals.stderr.contains("invalid port mapping \"bogus\""), "\(attachEquals)")
        let kill = berth(["kill", "-s=BOGUS", "--state-dir", "/nonexistent-berth-state", "web"])
        #expect(kill.status == 64 && kill.stderr.hasPrefix("berth: invalid signal BOGUS ("), "\(kill)")
    }

    @Test("a misspelled option of run's is named as that option (argument-parser's error, the joined forms being known), never advised to go after '--' (which would run a program of that name: 127)")
    func misspelledOption() {
        for (word, message) in [
            ("--rm=yes", "the flag '--rm' takes true or false after '=', but 'yes' was given"),
            ("-itx", "unknown option '-x'"),
            ("-d=", "the flag '-d' takes true or false after '=', but '' was given"),
            ("--privileged=on", "the flag '--privileged' takes true or false after '=', but 'on' was given"),
            ("-pbogus", "invalid port mapping \"bogus\""),
        ] {
            let result = berth(["run", word, "sh"])
            #expect(result.status == 125 && result.stderr.hasPrefix("berth: " + message) && !result.stderr.contains("goes after '--'"), "\(word): \(result)")
        }
        // A word that is no option of run's keeps the advice.
        let unknown = berth(["run", "--netwrok", "x", "sh"])
        #expect(unknown.status == 125 && unknown.stderr.contains("unknown option '--netwrok' (a command whose name starts with '-' goes after '--'"), "\(unknown)")
    }

    @Test("-p's key=value form refuses host_ip and unknown keys rather than publish on every address")
    func publishKeyValueRefusals() {
        let hostIP = berth(["run", "-p", "published=8080,target=80,host_ip=127.0.0.1", "--", "true"])
        #expect(hostIP.status == 125 && hostIP.stderr.contains("host_ip is not supported") && hostIP.stderr.contains("127.0.0.1:8080:80"), "\(hostIP)")
        let unknown = berth(["run", "-p", "published=8080,target=80,mode=ingress", "--", "true"])
        #expect(unknown.status == 125 && unknown.stderr.contains("unknown key \"mode\""), "\(unknown)")
        let pair = berth(["run", "-p", "published=8080,80", "--", "true"])
        #expect(pair.status == 125 && pair.stderr.contains("invalid publish opts format (should be name=value but got '80')"), "\(pair)")
    }

    @Test("run --net is --network's older spelling (hidden from the help); both at once is a usage error")
    func netAlias() {
        let net = berth(["run", "--net", "container:web", "--", "true"])
        #expect(net.status == 125 && net.stderr.hasPrefix("berth: network mode \"container:web\" is not supported"), "\(net)")
        let both = berth(["run", "--net", "none", "--network", "host", "--", "true"])
        #expect(both.status == 125 && both.stderr.contains("--net and --network are one option"), "\(both)")
        #expect(!berth(["run", "--help"]).stdout.contains("--net "))
    }

    @Test("run --network twice is a usage error naming both and saying how to join another, not the last one silently kept")
    func networkTwice() {
        let twice = berth(["run", "--network", "a", "--network", "b", "--", "true"])
        #expect(twice.status == 125 && twice.stderr.hasPrefix("berth: berth run joins one network, but --network is given 2 times (a, b)")
                && twice.stderr.contains("'berth attach NETWORK --netns /proc/PID/ns/net --ifname eth1'"), "\(twice)")
        let net = berth(["run", "--net", "a", "--net", "b", "--", "true"])
        #expect(net.status == 125 && net.stderr.contains("--net is given 2 times"), "\(net)")
    }

    @Test("addr, route and link written with iproute2's words: the usage error shows the line in berth's options")
    func iproute2Words() {
        let addr = berth(["addr", "add", "10.0.0.2/24", "dev", "eth0"])
        #expect(addr.status == 64 && addr.stderr.contains("(write it as 'berth addr add 10.0.0.2/24 --dev eth0'"), "\(addr)")
        let route = berth(["route", "add", "default", "via", "10.0.0.1", "dev", "eth0", "metric", "5", "table", "main"])
        #expect(route.status == 64 && route.stderr.contains("(write it as 'berth route add default --via 10.0.0.1 --dev eth0 --metric 5 --table main'"),
                "\(route)")
        #expect(route.stderr.hasSuffix("see 'berth route add --help')\n") && route.stderr.split(separator: "\n").count == 1, "\(route)")
        let link = berth(["link", "set", "dev", "eth0", "up", "mtu", "1400"])
        #expect(link.status == 64 && link.stderr.contains("(write it as 'berth link set eth0 --up --mtu 1400'"), "\(link)")
        // A veth's peer: iproute2's words after `peer` are the peer's own.
        for (words, rewritten) in [
            (["link", "add", "v0", "type", "veth", "peer", "name", "v1"], "berth link add v0 --type veth --peer v1"),
            (["link", "add", "v0", "type", "veth", "peer", "v1"], "berth link add v0 --type veth --peer v1"),
            (["link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", "ns1"], "berth link add v0 --type veth --peer v1 --peer-netns ns1"),
            (["link", "add", "br9", "address", "02:00:00:00:00:09", "type", "bridge"], "berth link add br9 --mac 02:00:00:00:00:09 --type bridge"),
            (["link", "set", "dev", "v0", "netns", "ns1", "address", "02:00:00:00:00:01"], "berth link set v0 --move-to ns1 --mac 02:00:00:00:00:01"),
        ] {
            let result = berth(words)
            #expect(result.status == 64 && result.stderr.contains("(write it as '\(rewritten)':"), "\(words): \(result)")
        }
        let table = berth(["route", "ls", "--table", "mian"])
        #expect(table.status == 64 && table.stderr.contains("'mian' is invalid for '--table <TABLE>'"), "\(table)")
    }
}

/// The same spellings doing what they say, through the built binary in a host sandbox.
@Suite("berth CLI: docker's and iproute2's spellings (kernel)", .enabled(if: try KernelTests.enabled))
struct DockerParityKernelTests {
    @Test("exec -e NAME takes berth's own value of NAME, as run -e NAME does; a name berth has no value for is dropped")
    func execEnvironmentName() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                let detached = sandbox.berth(["run", "-d", "--name", "envs", "--network", "none", "--rootfs", rootfs.path, "--", "sleep", "1000"])
                try #require(detached.status == 0, "\(detached)")
                let exec = sandbox.berth(["exec", "-e", "BERTH_TEST_FROM_HOST", "-e", "BERTH_TEST_NOT_SET", "envs", "--",
                                          "sh", "-c", "echo ${BERTH_TEST_FROM_HOST-none} ${BERTH_TEST_NOT_SET-unset}"],
                                         environment: ["BERTH_TEST_FROM_HOST": "from the host"])
                #expect(exec.status == 0 && exec.stdout == "from the host unset\n", "\(exec)")
                let run = sandbox.berth(["run", "--rm", "--network", "none", "--rootfs", rootfs.path, "-e", "BERTH_TEST_FROM_HOST", "--",
                                         "sh", "-c", "echo $BERTH_TEST_FROM_HOST"], environment: ["BERTH_TEST_FROM_HOST": "from the host"])
                #expect(run.status == 0 && run.stdout == "from the host\n", "\(run)")
                #expect(sandbox.berth(["rm", "-f", "envs"]).status == 0)
            }
        }
    }

    @Test("run IMAGE COMMAND, as a docker user types it, without --rootfs: 127, saying berth runs no images; with --rootfs, not")
    func noImages() throws {
        let image = sandboxMissingProgram
        try withHostSandbox { sandbox in
            let run = sandbox.berth(["run", "--rm", "--network", "none", image, "sh"])
            #expect(run.status == 127 && run.stderr.hasPrefix("berth: command \"\(image)\" not found")
                    && run.stderr.hasSuffix(" (berth runs no images: the first word is the command; give --rootfs DIR to run it in another root filesystem)\n")
                    && run.stderr.split(separator: "\n").count == 1, "\(run)")
            try withRunRootfs { rootfs in
                let inside = sandbox.berth(["run", "--rm", "--network", "none", "--rootfs", rootfs.path, image, "sh"])
                #expect(inside.status == 127 && !inside.stderr.contains("runs no images"), "\(inside)")
            }
        }
    }

    /// A name no directory of PATH holds, as an image's name would be.
    private var sandboxMissingProgram: String { "berth-test-image-\(getpid())" }

    @Test("run -h NAME sets the hostname and runs the command")
    func hostname() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                let run = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "--network", "none", "-h", "box", "--", "hostname"])
                #expect(run.status == 0 && run.stdout == "box\n", "\(run)")
            }
        }
    }

    @Test("run --network bridge and --network default join Berth's default network, berth; no network of those names is made")
    func dockerDefaultNetworkNames() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                for name in ["bridge", "default"] {
                    let run = sandbox.berth(["run", "-d", "--name", name + "-net", "--rootfs", rootfs.path, "--network", name, "--", "sleep", "1000"])
                    #expect(run.status == 0, "\(run)")
                    let container = try ContainerCLI.container(sandbox, name + "-net")
                    #expect(container?["network"] as? String == "berth" && (container?["ip"] as? String)?.isEmpty == false, "\(String(describing: container))")
                    #expect(sandbox.berth(["rm", "-f", name + "-net"]).status == 0)
                }
                let networks = sandbox.berth(["network", "ls", "-q"])
                #expect(networks.stdout == "berth\n", "\(networks)")
                // attach stays strict (it names networks as 'network create' made them), and says which is the default.
                let ns = try #require(try sandbox.makeNamespace().name)
                let attach = sandbox.berth(["attach", "bridge", "--netns", ns])
                #expect(attach.status == 1 && attach.stderr == "berth: no network named \"bridge\" (Berth's default network, Docker's 'bridge', is named 'berth'; see 'berth network ls')\n",
                        "\(attach)")
            }
        }
    }

    @Test("joined short options run as spelled apart: run -eK=V -w/DIR -uUID -hNAME -vSRC:DST -pPORTS, exec -eK=V -w/DIR, attach -pPORTS, network create -oKEY=VALUE")
    func joinedShortOptions() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs(applets: ["id"]) { rootfs in
                let volume = NSTemporaryDirectory() + "berth-joined-\(getpid())"
                try FileManager.default.createDirectory(atPath: volume, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: volume) }
                try "from the host\n".write(toFile: volume + "/note", atomically: true, encoding: .utf8)
                let run = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "--network", "none", "-eFOO=joined", "-w/tmp", "-u0", "-hbox",
                                         "-v\(volume):/mnt:ro", "--", "sh", "-c", "echo $FOO; pwd; id -u; hostname; cat /mnt/note"])
                #expect(run.status == 0 && run.stdout == "joined\n/tmp\n0\nbox\nfrom the host\n", "\(run)")

                let detached = sandbox.berth(["run", "-d", "--name", "web", "--rootfs", rootfs.path, "-p18081:80", "-p", "published=18082,target=53,protocol=udp",
                                              "-p=18085:85", "--", "sleep", "1000"])
                #expect(detached.status == 0, "\(detached)")
                #expect(sandbox.berth(["port", "web", "80"]).stdout == "0.0.0.0:18081\n")
                #expect(sandbox.berth(["port", "web", "53/udp"]).stdout == "0.0.0.0:18082\n")
                #expect(sandbox.berth(["port", "web", "85"]).stdout == "0.0.0.0:18085\n")
                let exec = sandbox.berth(["exec", "-eBAR=2", "-w/etc", "web", "--", "sh", "-c", "echo $BAR; pwd"])
                #expect(exec.status == 0 && exec.stdout == "2\n/etc\n", "\(exec)")
                #expect(sandbox.berth(["rm", "-f", "web"]).status == 0)

                // attach, read by the lean binary's own parser (HotPath).
                let ns = try #require(try sandbox.makeNamespace().name)
                let attach = sandbox.berth(["attach", "berth", "--netns", ns, "--id", "e1", "-p18083:80", "-p", "published=18084,target=81", "-p=18086:86"])
                #expect(attach.status == 0, "\(attach)")
                #expect(sandbox.berth(["port", "e1", "80"]).stdout == "0.0.0.0:18083\n")
                #expect(sandbox.berth(["port", "e1", "81"]).stdout == "0.0.0.0:18084\n")
                #expect(sandbox.berth(["port", "e1", "86"]).stdout == "0.0.0.0:18086\n")
                #expect(sandbox.berth(["detach", "e1"]).status == 0)

                // network create -oKEY=VALUE, as docker network create -o takes it.
                let network = sandbox.berth(["network", "create", "-ocom.docker.network.bridge.name=brjoined", "--subnet", "10.9.7.0/24", "joined"])
                #expect(network.status == 0, "\(network)")
                #expect(sandbox.run(["ip", "link", "show", "brjoined"]).succeeded)
                #expect(sandbox.berth(["network", "rm", "joined"]).status == 0)
            }
        }
    }

    @Test("network inspect takes several names: an array of those found (--json) or their blocks, an unknown one on stderr after, exit 1")
    func networkInspectSeveral() throws {
        try withHostSandbox { sandbox in
            for (name, subnet) in [("web", "10.9.0.0/24"), ("db", "10.9.1.0/24")] {
                try #require(sandbox.berth(["network", "create", name, "--subnet", subnet]).succeeded)
            }
            let json = sandbox.berth(["network", "inspect", "web", "nope", "db", "--json"])
            let networks = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]], "\(json)")
            #expect(json.status == 1 && networks.compactMap { $0["name"] as? String } == ["web", "db"], "\(json)")
            #expect(json.stderr == "berth: no network named \"nope\" (see 'berth network ls')\n", "\(json)")
            let one = sandbox.berth(["network", "inspect", "db", "--json"])
            let only = try JSONSerialization.jsonObject(with: Data(one.stdout.utf8)) as? [[String: Any]]
            #expect(one.status == 0 && only?.count == 1, "\(one)")
            let text = sandbox.berth(["network", "inspect", "web", "db", "nope"])
            #expect(text.status == 1 && text.stdout.hasPrefix("Name:        web\n") && text.stdout.contains("\n\nName:        db\n"), "\(text)")
            #expect(text.stderr.contains("no network named \"nope\""), "\(text)")
        }
    }

    @Test("route --table takes iproute2's names: main, local and default read as 254, 255 and 253")
    func routeTableNames() throws {
        try withHostSandbox { sandbox in
            for (name, id) in [("main", "254"), ("local", "255"), ("default", "253")] {
                let named = sandbox.berth(["route", "ls", "--table", name, "--json"])
                let numbered = sandbox.berth(["route", "ls", "--table", id, "--json"])
                #expect(named.status == 0 && named.stdout == numbered.stdout, "\(named)\n\(numbered)")
            }
            let local = sandbox.berth(["route", "ls", "--table", "local"])
            #expect(local.stdout.contains("127.0.0.1"), "\(local)")
            try #require(sandbox.run(["ip", "link", "add", "v9", "type", "veth", "peer", "name", "v9p"]).succeeded)
            try #require(sandbox.run(["ip", "link", "set", "v9", "up"]).succeeded)
            try #require(sandbox.run(["ip", "link", "set", "v9p", "up"]).succeeded)
            let add = sandbox.berth(["route", "add", "10.77.0.0/24", "--dev", "v9", "--table", "default"])
            #expect(add.status == 0, "\(add)")
            #expect(sandbox.run(["ip", "route", "show", "table", "253"]).stdout.contains("10.77.0.0/24 dev v9"))
        }
    }
}
