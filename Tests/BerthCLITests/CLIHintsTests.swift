@testable import berth
import BerthCore
import BerthNamespace
import BerthNetwork
import BerthRun
import Testing

/// The CLI's wording of library errors: the library's message and cause, then advice naming
/// berth's commands and flags, from the error's remedy, else the library's hint.
@Suite("CLIHints")
struct CLIHintsTests {
    private func line(_ error: BerthError, netns: String? = nil) -> String {
        CLIHints.message(for: error, netns: netns)
    }

    @Test("another firewall's forward drop: each owner's own commands for every bridge, in the warning line and as the check repair")
    func foreignForwardDrop() {
        let docker = ForwardDrop(family: "ip", table: "filter", chain: "FORWARD", owner: .docker, bridges: ["br0"])
        #expect(CLIHints.allowForwarding(docker)
            == "let the bridge through Docker's DOCKER-USER chain: iptables -I DOCKER-USER -i br0 -j ACCEPT; iptables -I DOCKER-USER -o br0 -j ACCEPT")
        #expect(CLIHints.repair(CheckProblem(endpoint: nil, network: "", object: "chain FORWARD of table ip filter", problem: "policy drop",
                                             repair: .allowInForeignFirewall(docker))) == CLIHints.allowForwarding(docker))
        let ufw = ForwardDrop(family: "ip6", table: "filter", chain: "FORWARD", owner: .ufw, bridges: ["br0", "br1"])
        #expect(CLIHints.allowForwarding(ufw) == "let the bridge through ufw: ufw route allow in on br0; ufw route allow out on br0; "
                + "ufw route allow in on br1; ufw route allow out on br1")
        let firewalld = ForwardDrop(family: "inet", table: "firewalld", chain: "filter_FORWARD", owner: .firewalld, bridges: ["br0"])
        #expect(CLIHints.warningLine(HostWarning(.forwardDropped(firewalld))).hasSuffix(
            "(put the bridge in firewalld's trusted zone: firewall-cmd --permanent --zone=trusted --add-interface=br0; firewall-cmd --reload)"))
        let plain = ForwardDrop(family: "ip6", table: "filter", chain: "FORWARD", owner: .iptables, bridges: ["br0"])
        #expect(CLIHints.allowForwarding(plain) == "accept the bridge's traffic in that chain: ip6tables -I FORWARD -i br0 -j ACCEPT; ip6tables -I FORWARD -o br0 -j ACCEPT")
        #expect(CLIHints.warningLine(HostWarning(.ipv4ForwardingEnabled)) == "warning: \(HostWarning(.ipv4ForwardingEnabled))")
    }

    @Test("remedies become berth commands")
    func remedies() {
        let leftover = BerthError(.alreadyExists, "host veth vb1 already exists", object: .link("vb1"), operation: .attach, remedy: .collectGarbage)
        #expect(line(leftover) == "host veth vb1 already exists (run 'berth gc' to remove leftovers)")
        #expect(line(BerthError(.kernel, "bridge br0 is missing", remedy: .reconcile))
            == "bridge br0 is missing (run 'berth reconcile' to restore what the kernel lost)")
        #expect(line(BerthError(.conflict, "network web has 2 endpoints", object: .network("web"), remedy: .detachEndpoints))
            == "network web has 2 endpoints (detach them first with 'berth detach' and their ids, as 'berth ps --network web' lists them)")
        #expect(line(BerthError(.permissionDenied, "cannot create bridge br0", remedy: .privilege("CAP_NET_ADMIN")))
            == "cannot create bridge br0 (run as root or with CAP_NET_ADMIN)")
        // A state directory of another user: file permissions, not a network capability.
        #expect(line(BerthError.system("cannot open state directory /var/lib/berth", Errno(13) /* EACCES */, privilege: "CAP_DAC_OVERRIDE", object: .state("/var/lib/berth")))
            == "cannot open state directory /var/lib/berth: Permission denied (the state directory and its files are their owner's alone (0700, 0600): "
            + "run as that user or as root (or with CAP_DAC_OVERRIDE), or give another --state-dir)")
        #expect(line(BerthError(.alreadyExists, "network web already exists", remedy: .remove(.network("web"))))
            == "network web already exists (remove it first with 'berth network rm web')")
        #expect(line(BerthError(.alreadyExists, "container name one is taken", remedy: .remove(.container("one"))))
            == "container name one is taken (remove it first with 'berth rm -f one')")
        // Stopping first: for a removal Docker offers the forced one too; a start of a running
        // container points at restart.
        #expect(line(BerthError(.conflict, "cannot remove container web: it is running", object: .container("web"), operation: .remove,
                                remedy: .stop(.container("web"))))
            == "cannot remove container web: it is running (stop it first with 'berth stop web', or remove it by force with 'berth rm -f web')")
        #expect(line(BerthError(.conflict, "port tcp 0.0.0.0:80 is already published by container other", object: .port("tcp 0.0.0.0:80"),
                                operation: .start, remedy: .stop(.container("other"))))
            == "port tcp 0.0.0.0:80 is already published by container other (stop it first with 'berth stop other')")
        #expect(line(BerthError(.conflict, "container web is already running", object: .container("web"), operation: .start,
                                remedy: .stop(.container("web"))))
            == "container web is already running (use 'berth restart web' to start it again)")
    }

    @Test("a per-process namespace path: the CLI names --netns and what to give it instead")
    func perProcessNamespacePath() {
        let error = #expect(throws: BerthError.self) { try RecordedNamespacePath.requireLasting("/proc/123/fd/7", reference: "/proc/123/fd/7") }
        #expect(error.map { line($0) } == "namespace path /proc/123/fd/7 is a file descriptor of process 123, which names the namespace only while "
            + "that process keeps it open, so it cannot be recorded as a container's namespace: garbage collection would find the namespace "
            + "gone while the container still runs (give --netns a name from 'berth netns ls' or /proc/PID/ns/net of the container's process)")
    }

    @Test("a container removed on exit (autoRemove): the CLI names --rm, which the library does not")
    func autoRemoved() {
        let error = BerthError(.notFound, "container web was removed when it ended, as it was run to be", object: .container("web"), operation: .start,
                               parameter: "autoRemove", remedy: .listExisting(.container))
        #expect(line(error) == "container web was removed when it ended, as it was run to be (it was run with --rm; see 'berth ps -a')")
    }

    @Test("give and leaveOut name the flag to add or to leave out")
    func giveAndLeaveOut() {
        #expect(line(BerthError(.invalidArgument, "using an existing bridge needs the bridge's name", hint: "name the bridge",
                                parameter: "bridge", remedy: .give(parameter: "bridge")))
            == "using an existing bridge needs the bridge's name (add --bridge)")
        #expect(line(BerthError(.invalidArgument, "no IPv4, no IPv6", object: .network("six"), parameter: "ipv4", remedy: .give(parameter: "ipv6")))
            == "no IPv4, no IPv6 (add --ipv6 for an IPv6-only network, or leave out --ipv4=false)")
        #expect(line(BerthError(.invalidArgument, "IPv4 subnet given", object: .network("six"), parameter: "subnet",
                                remedy: .leaveOut(parameter: "subnet")))
            == "IPv4 subnet given (leave out the IPv4 --subnet, or --ipv4=false)")
        #expect(line(BerthError(.invalidArgument, "no MAC here", remedy: .leaveOut(parameter: "mac"))) == "no MAC here (leave out --mac)")
    }

    @Test("every listed kind points at the command that lists it")
    func listExisting() {
        let expected: [(BerthError.Object.Kind, String)] = [
            (.network, "berth network ls"), (.endpoint, "berth ps"), (.container, "berth ps -a"), (.namespace, "berth netns ls"),
            (.link, "berth link ls"), (.bridge, "berth link ls"), (.address, "berth addr ls"), (.route, "berth route ls"),
            (BerthError.Object.Kind(rawValue: "lab"), "berth lab ls"),
        ]
        for (kind, command) in expected {
            #expect(CLIHints.advice(for: BerthError(.notFound, "x", remedy: .listExisting(kind)), netns: nil) == "see '\(command)'", "\(kind)")
        }
        // A kind with no command keeps the library's words.
        #expect(CLIHints.advice(for: BerthError(.notFound, "x", remedy: .listExisting(.file)), netns: nil) == "list the existing files")
    }

    @Test("a container that is not running, for exec, kill or stats: start it; an unknown one: ps -a, which lists stopped ones too")
    func notRunning() {
        for operation in [BerthError.Operation.exec, .kill, .stats] {
            let error = BerthError(.conflict, "container web is not running", object: .container("web"), operation: operation,
                                   remedy: .listExisting(.container))
            #expect(line(error) == "container web is not running (start it with 'berth start web')", "\(operation)")
        }
        #expect(line(BerthError(.notFound, "no container named \"web\"", object: .container("web"), remedy: .listExisting(.container)))
                == "no container named \"web\" (see 'berth ps -a')")
    }

    @Test("gc words a lab garbage collection that failed as every other error")
    func labGarbageFailure() {
        let error = BerthError(.state, "the recorded spec of lab x is not readable JSON", object: .lab("x"), remedy: .collectGarbage)
        #expect(GCCommand.labFailure(error) == "lab garbage collection failed: the recorded spec of lab x is not readable JSON (run 'berth gc' to remove leftovers)")
    }

    @Test("a suggested command looks in the object's namespace, or the command's --netns")
    func namespaces() {
        let inside = BerthError(.notFound, "link eth9 does not exist in network namespace ctr1", object: .link("eth9", namespace: "ctr1"),
                                remedy: .listExisting(.link))
        #expect(line(inside) == "link eth9 does not exist in network namespace ctr1 (see 'berth link ls --netns ctr1')")
        let unsaid = BerthError(.notFound, "no route 10.9.0.0/16", remedy: .listExisting(.route))
        #expect(line(unsaid, netns: "/proc/42/ns/net") == "no route 10.9.0.0/16 (see 'berth route ls --netns /proc/42/ns/net')")
        #expect(line(unsaid) == "no route 10.9.0.0/16 (see 'berth route ls')")
        // Networks and containers live in the state, not in a namespace: no --netns.
        let network = BerthError(.notFound, "no network named \"web\"", remedy: .listExisting(.network))
        #expect(line(network, netns: "ctr1") == "no network named \"web\" (see 'berth network ls')")
        let taken = BerthError(.alreadyExists, "link eth0 exists", object: .link("eth0", namespace: "ctr1"), remedy: .remove(.link("eth0", namespace: "ctr1")))
        #expect(line(taken) == "link eth0 exists (remove it first with 'berth link del eth0 --netns ctr1')")
    }

    @Test("a link name taken by link add (the host's eth0, say) is answered with another name, never with deleting the link")
    func linkNameTaken() {
        let host = BerthError(.alreadyExists, "link eth0 already exists", object: .link("eth0"), parameter: "name", remedy: .remove(.link("eth0")))
        #expect(line(host) == "link eth0 already exists (choose another name; see 'berth link ls')")
        let inside = BerthError(.alreadyExists, "link eth0 already exists in network namespace ctr1", object: .link("eth0", namespace: "ctr1"),
                                parameter: "name", remedy: .remove(.link("eth0", namespace: "ctr1")))
        #expect(line(inside) == "link eth0 already exists in network namespace ctr1 (choose another name; see 'berth link ls --netns ctr1')")
    }

    @Test("chooseAnother names the flag of each request field")
    func flags() {
        let expected = [
            "interfaceName": "--ifname", "id": "--id", "address": "--ip", "mac": "--mac", "bridge": "--bridge", "subnet": "--subnet",
            "gateway": "--gateway", "mtu": "--mtu", "name": "--name", "ports": "-p", "namespace": "--netns", "hostname": "--hostname",
            "rootfs": "--rootfs", "network": "--network", "workingDirectory": "--workdir", "environment": "-e",
        ]
        for (parameter, flag) in expected {
            let error = BerthError(.conflict, "taken", parameter: parameter, remedy: .chooseAnother(parameter: parameter))
            #expect(line(error) == "taken (choose another \(flag))", "\(parameter)")
        }
        // A network's name is an argument of `berth network create`, not --name.
        let network = BerthError(.alreadyExists, "network web exists", object: .network("web"), parameter: "name", remedy: .chooseAnother(parameter: "name"))
        #expect(line(network) == "network web exists (choose another name)")
        // So is a namespace's of `berth netns add`, which may be a live container's: never "remove it".
        let namespace = BerthError(.alreadyExists, "network namespace c1 already exists", object: .namespace("c1"), parameter: "name",
                                   remedy: .chooseAnother(parameter: "name"))
        #expect(line(namespace) == "network namespace c1 already exists (choose another name; see 'berth netns ls')")
        // A field the table does not know is still a flag-shaped word, never dropped.
        #expect(CLIHints.flag(for: "frobnicate") == "--frobnicate")
    }

    @Test("a namespace that could not be checked: the root hint only where permission was refused, else just again")
    func uncheckedNamespaceHints() {
        let limit = CheckProblem(endpoint: "e2", network: "web", object: "network namespace /run/netns/ctr2",
                                 problem: "could not be checked: open network namespace /run/netns/ctr2: Too many open files", repair: .recheck)
        #expect(CLIHints.repair(limit) == "run 'berth check' again; 'berth gc' keeps it until then")
        var refused = limit
        refused.repair = .recheckWithPrivilege
        #expect(CLIHints.repair(refused)
            == "run 'berth check' again as root (opening another process's namespace takes CAP_SYS_PTRACE); 'berth gc' keeps it until then")

        let emfile = UncheckedNamespace(owner: .endpoint, id: "e2", path: "/run/netns/ctr2",
                                        error: BerthError(.system, "open network namespace /run/netns/ctr2: Too many open files"))
        #expect(CLIHints.kept(emfile) == "\(emfile) (kept; run 'berth gc' again (kept until it can be opened))")
        #expect(CLIHints.kept(emfile).hasPrefix("could not check namespace /run/netns/ctr2 of endpoint e2: open network namespace /run/netns/ctr2"))
        let eacces = UncheckedNamespace(owner: .publication, id: "p1", path: "/proc/42/ns/net", code: .permissionDenied, reason: "denied")
        #expect(CLIHints.kept(eacces) == "could not check namespace /proc/42/ns/net of publication p1: denied "
                + "(kept; run 'berth gc' again as root: opening another process's namespace takes CAP_SYS_PTRACE)")
    }

    @Test("without a remedy the library's hint is kept; causes are worded too, recursively")
    func hintsAndCauses() {
        struct Errno: Error, CustomStringConvertible { var description: String { "Operation not permitted" } }
        #expect(line(BerthError(.invalidArgument, "no command given", hint: "give the program to run and its arguments", parameter: "command"))
            == "no command given (give the program to run and its arguments)")
        #expect(line(BerthError(.system, "cannot open /x", cause: Errno())) == "cannot open /x: Operation not permitted")
        let inner = BerthError(.alreadyExists, "host veth vb1 already exists", remedy: .collectGarbage)
        let outer = BerthError(.kernel, "attach failed", hint: "the endpoint was rolled back", cause: inner)
        #expect(line(outer) == "attach failed: host veth vb1 already exists (run 'berth gc' to remove leftovers) (the endpoint was rolled back)")
        // The remedy wins over a hint the library may still carry.
        #expect(line(BerthError(.conflict, "x", hint: "library words", remedy: .collectGarbage)) == "x (run 'berth gc' to remove leftovers)")
    }
}
