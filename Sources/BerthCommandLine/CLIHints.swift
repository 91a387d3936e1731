import BerthCore
import BerthNamespace
import BerthNetlink
import BerthNetwork
import BerthRun
import Synchronization

/// How the CLI words a `BerthError`: the library's message and cause, then advice in the
/// CLI's own terms — a command to run, a flag to change — from the error's `remedy`, else the
/// library's `hint`. The library never names a command or a flag; this is the one place
/// that does. Every error berth prints goes through `message(for:)`.
package enum CLIHints {
    /// `MESSAGE[: CAUSE][ (ADVICE)]`, the line berth prints after `berth: `. `netns` is the
    /// namespace the command works in, for an error whose object does not say where it is.
    package static func message(for error: BerthError, netns: String? = commandNamespace.withLock { $0 }) -> String {
        var text = error.message
        // A limit or confinement option's value is refused in the library's words ("invalid
        // memory size"); say which option it came from.
        if let parameter = error.parameter, confinementParameters.contains(parameter) { text = flag(for: parameter) + ": " + text }
        if let cause = error.cause as? BerthError {
            text += ": " + message(for: cause, netns: netns)
        } else if let cause = error.cause {
            text += ": \(cause)"
        }
        if let advice = advice(for: error, netns: netns) { text += " (\(advice))" }
        return text
    }

    /// The advice for an error: its remedy worded for the CLI, else the library's hint.
    package static func advice(for error: BerthError, netns: String?) -> String? {
        // `--network container:NAME`, Docker's shared network namespace.
        if error.code == .unsupported, error.parameter == "network", let object = error.object, object.kind == .container {
            return "run a command in its namespaces with 'berth exec \(object.name) COMMAND', "
                + "or run both containers on one network, where each reaches the other at its address (and by --name where DNS is on)"
        }
        // `berth attach bridge`, `berth network inspect default`: Docker's and Podman's names
        // for their default network, which no Berth network has.
        if error.code == .notFound, let object = error.object, object.kind == .network, ["bridge", "default"].contains(object.name) {
            return "Berth's default network, Docker's '\(object.name)', is named 'berth'; see 'berth network ls'"
        }
        if error.parameter == "usesExistingBridge" {
            return "choose another --bridge, or add --bridge-existing to use that bridge as it is (Berth then never deletes, downs or re-addresses it)"
        }
        guard let remedy = error.remedy else { return error.hint }
        let namespace = error.object?.namespace ?? netns
        switch remedy {
        case .collectGarbage:
            // A network whose create or removal was interrupted: gc removes it.
            if let object = error.object, object.kind == .network {
                return "run 'berth gc' to finish it (that removes network \(object.name)), then 'berth network create' it again if it is still wanted"
            }
            return "run 'berth gc' to remove leftovers"
        case .reconcile:
            return "run 'berth reconcile' to restore what the kernel lost"
        case .detachEndpoints:
            // The ids are the library's message's; a network's are listed by ps.
            if let object = error.object, object.kind == .network {
                return "detach them first with 'berth detach' and their ids, as 'berth ps --network \(object.name)' lists them"
            }
            return "detach them first with 'berth detach' and their ids, as 'berth ps' lists them"
        case .chooseAnother(let parameter):
            // A namespace path that would not outlive the attach (/proc/PID/fd/N, /proc/self/…).
            if parameter == "namespace", error.code == .invalidArgument {
                return "give --netns a name from 'berth netns ls' or /proc/PID/ns/net of the container's process"
            }
            // `berth network create` and `berth netns add` take the name as an argument, not --name.
            if parameter == "name", error.object?.kind == .network { return "choose another name" }
            // Never "remove it": a namespace of that name may be a live container's.
            if parameter == "name", error.object?.kind == .namespace { return "choose another name; see 'berth netns ls'" }
            return "choose another \(flag(for: parameter))"
        case .privilege(let capability):
            // The state directory is its owner's alone (0700): a file permission, not a
            // network capability, stands in the way.
            if let object = error.object, object.kind == .state {
                return "the state directory and its files are their owner's alone (0700, 0600): run as that user or as root "
                    + "(or with \(capability)), or give another --state-dir"
            }
            return "run as root or with \(capability)"
        case .give(let parameter):
            // IPv4 off without IPv6: either half of the request can change.
            if error.parameter == "ipv4", parameter == "ipv6" { return "add --ipv6 for an IPv6-only network, or leave out --ipv4=false" }
            // A gateway without its subnet.
            if error.parameter == "gateway", parameter == "subnet" { return "add --subnet with the IPv4 subnet the gateway is in, or leave out --gateway" }
            if error.parameter == "ipv6Gateway", parameter == "ipv6Subnet" { return "add --subnet with the IPv6 subnet the gateway is in, or leave out --gateway" }
            // An address range or auxiliary address without its subnet.
            if let given = error.parameter, ["ipRange", "ipv6Range", "auxiliaryAddress"].contains(given), parameter == "subnet" || parameter == "ipv6Subnet" {
                return "add --subnet with the \(parameter == "subnet" ? "IPv4" : "IPv6") subnet it is in, or leave out \(flag(for: given))"
            }
            return "add \(flag(for: parameter))"
        case .leaveOut(let parameter):
            // The value given belongs to IPv4, which --ipv4=false turns off.
            if error.parameter == parameter, error.object?.kind == .network, ["subnet", "gateway"].contains(parameter) {
                return "leave out the IPv4 \(flag(for: parameter)), or --ipv4=false"
            }
            return "leave out \(flag(for: parameter))"
        case .listExisting(let kind):
            // A container run with --rm is gone once it ended: nothing to start.
            if error.parameter == "autoRemove", kind == .container { return "it was run with --rm; see 'berth ps -a'" }
            // exec, kill or stats of a stopped container: starting it is the fix, not a listing.
            if error.code == .conflict, let object = error.object, object.kind == .container,
               let operation = error.operation, [.exec, .kill, .stats].contains(operation) {
                return "start it with 'berth start \(object.name)'"
            }
            guard let command = listCommand(kind) else { return remedy.description }
            return "see '\(command)\(namespaced(kind) ? netnsSuffix(namespace) : "")'"
        case .remove(let object):
            // A link name taken (`berth link add eth0 …`): the link holding it may be the
            // host's own eth0, never to be removed for a name; another name is the fix.
            if error.code == .alreadyExists, error.parameter == "name", object.kind == .link {
                return "choose another name; see 'berth link ls\(netnsSuffix(object.namespace ?? namespace))'"
            }
            guard let command = removeCommand(object) else { return remedy.description }
            return "remove it first with '\(command)\(namespaced(object.kind) ? netnsSuffix(object.namespace ?? namespace) : "")'"
        case .stop(let object):
            guard object.kind == .container else { return remedy.description }
            // Removing a running container: Docker offers the forced removal too.
            if error.operation == .remove { return "stop it first with 'berth stop \(object.name)', or remove it by force with 'berth rm -f \(object.name)'" }
            if error.object == object { return "use 'berth restart \(object.name)' to start it again" }
            return "stop it first with 'berth stop \(object.name)'"
        }
    }

    /// The flag (or argument) of a request field, as `berth`'s commands name it.
    package static func flag(for parameter: String) -> String {
        flags[parameter] ?? "--" + parameter
    }

    package static let flags: [String: String] = [
        "interfaceName": "--ifname", "id": "--id", "address": "--ip", "mac": "--mac", "bridge": "--bridge",
        "ipRange": "--ip-range", "ipv6Range": "--ip-range", "auxiliaryAddress": "--aux-address",
        "subnet": "--subnet", "gateway": "--gateway", "ipv6": "--ipv6", "ipv6Subnet": "--subnet", "ipv6Gateway": "--gateway", "ipv6Address": "--ip6", "mtu": "--mtu", "name": "--name", "ports": "-p",
        "namespace": "--netns", "hostname": "--hostname", "rootfs": "--rootfs", "network": "--network",
        "workingDirectory": "--workdir", "environment": "-e", "internal": "--internal", "stateDirectory": "--state-dir",
        "command": "command", "privileged": "--privileged", "usesExistingBridge": "--bridge-existing", "user": "--user", "volumes": "-v",
        "readOnlyRootfs": "--read-only", "terminal": "-t", "interactive": "-i", "restart": "--restart", "stdio": "stdio",
        "stopSignal": "--stop-signal", "stopTimeout": "--stop-timeout",
        "memory": "--memory", "memorySwap": "--memory-swap", "cpus": "--cpus", "cpuShares": "--cpu-shares",
        "cpusetCPUs": "--cpuset-cpus", "cpusetMems": "--cpuset-mems", "pids": "--pids-limit", "capabilities": "--cap-add/--cap-drop",
        "securityOptions": "--security-opt", "seccomp": "--security-opt seccomp=", "noNewPrivileges": "--security-opt no-new-privileges",
        "ulimits": "--ulimit",
    ]

    /// The request fields of `berth run`'s limit and confinement options.
    package static let confinementParameters: Set<String> = [
        "memory", "memorySwap", "cpus", "cpuShares", "cpusetCPUs", "cpusetMems", "pids", "capabilities", "securityOptions",
        "seccomp", "noNewPrivileges", "ulimits",
    ]

    /// What repairs a problem `berth check` or `berth reconcile` reports, as a command.
    package static func repair(_ problem: CheckProblem) -> String {
        switch problem.repair {
        case .reconcile:
            return "run 'berth reconcile'"
        case .collectGarbage:
            guard let endpoint = problem.endpoint else {
                // A network whose create or removal was interrupted.
                return "run 'berth gc' or 'berth network rm \(problem.network)' to finish it (the network is removed)"
            }
            return "it cannot be restored: run 'berth gc' or 'berth detach \(endpoint)' to remove the endpoint"
        case .reattach:
            let id = problem.endpoint ?? "ID"
            return "detach it with 'berth detach \(id)' and attach it again"
        case .recreateBridge:
            return "create the bridge again (Berth did not make it), then run 'berth reconcile'"
        case .removeLink:
            return "remove that link (see 'berth link ls'), then run 'berth reconcile'"
        case .bridgeNameTaken:
            return "Berth never takes over a bridge it did not make: remove the network ('berth network rm \(problem.network)') and create it "
                + "again with another --bridge, or delete that bridge if nothing uses it, then run 'berth reconcile'"
        case .allowInForeignFirewall(let drop):
            return allowForwarding(drop)
        case .replaceForeignTable:
            return "Berth never changes a table object it did not make: move what else the table holds elsewhere, "
                + "delete the table ('nft delete table \(problem.object.hasPrefix("IPv6 ") ? "ip6" : "ip") berth'), "
                + "then run 'berth reconcile' (in each state directory that uses it)"
        case .stopHostListener:
            let id = problem.endpoint ?? "ID"
            return "stop that process or bind it to another port, or publish on another host port ('berth detach \(id)' and attach it again)"
        case .freeResolverAddress:
            return "stop the process that holds port 53 on that address ('ss -lunp'); the resolver listens there by itself once it is free (see berth-dns.log in the state directory)"
        case .recheck:
            return "run 'berth check' again; 'berth gc' keeps it until then"
        case .recheckWithPrivilege:
            return "run 'berth check' again as root (opening another process's namespace takes CAP_SYS_PTRACE); 'berth gc' keeps it until then"
        case .awaitOperation:
            return "another Berth command holds the state lock (its attach, detach, create or removal is under way): run 'berth check' again once it has finished"
        }
    }

    /// What `berth gc` says after a namespace it could not open (`GCReport.unchecked`): its
    /// endpoint or publication is kept; refused, it is opened as root, else just again (a
    /// resource limit may pass).
    package static func kept(_ unchecked: UncheckedNamespace) -> String {
        let advice = unchecked.code == .permissionDenied
            ? "run 'berth gc' again as root: opening another process's namespace takes CAP_SYS_PTRACE"
            : "run 'berth gc' again (kept until it can be opened)"
        return "\(unchecked) (kept; \(advice))"
    }

    /// What `network ls` and `network inspect` say on stderr about a network whose create
    /// or removal did not finish (`NetworkRecord.Phase`): nothing attaches to it until it
    /// is finished, which removes it. Nil for a ready network.
    package static func unfinished(network name: String, phase: NetworkRecord.Phase) -> String? {
        let what: String
        switch phase {
        case .ready: return nil
        case .creating: what = "its create was interrupted"
        case .removing: what = "its removal was interrupted"
        }
        return "network \(name) is not ready: \(what); nothing attaches to it "
            + "(run 'berth gc' or 'berth network rm \(name)' to finish it, which removes the network, "
            + "then 'berth network create' it again if it is still wanted)"
    }

    /// What lets Berth's bridges through another firewall's forward chain, in that
    /// firewall's terms. Accepting all of a bridge's traffic there gives up nothing Berth
    /// enforces: a packet passes every base chain on the hook, Berth's table keeps dropping
    /// what it isolates (traffic between networks, new connections into a bridge that are
    /// not to a published port).
    package static func allowForwarding(_ drop: ForwardDrop) -> String {
        let bridges = drop.bridges
        func each(_ command: (String) -> String) -> String { bridges.map(command).joined(separator: "; ") }
        switch drop.owner {
        case .docker:
            let tool = drop.iptablesCommand
            return "let the bridge through Docker's DOCKER-USER chain: "
                + each { "\(tool) -I DOCKER-USER -i \($0) -j ACCEPT; \(tool) -I DOCKER-USER -o \($0) -j ACCEPT" }
        case .ufw:
            return "let the bridge through ufw: " + each { "ufw route allow in on \($0); ufw route allow out on \($0)" }
        case .firewalld:
            return "put the bridge in firewalld's trusted zone: "
                + each { "firewall-cmd --permanent --zone=trusted --add-interface=\($0)" } + "; firewall-cmd --reload"
        case .iptables:
            let tool = drop.iptablesCommand
            return "accept the bridge's traffic in that chain: "
                + each { "\(tool) -I \(drop.chain) -i \($0) -j ACCEPT; \(tool) -I \(drop.chain) -o \($0) -j ACCEPT" }
        case .nftables:
            return "accept the bridge's traffic in that chain: "
                + each { "nft insert rule \(drop.family) \(drop.table) \(drop.chain) iifname \"\($0)\" accept; nft insert rule \(drop.family) \(drop.table) \(drop.chain) oifname \"\($0)\" accept" }
        }
    }

    /// What to do about a warning, as commands; nil when the warning says it all.
    package static func hint(_ warning: HostWarning) -> String? {
        guard case .forwardDropped(let drop) = warning.kind else { return nil }
        return allowForwarding(drop)
    }

    /// A warning as the CLI prints it on stderr: with what to do about it, if anything.
    package static func warningLine(_ warning: HostWarning) -> String {
        guard let hint = hint(warning) else { return "warning: \(warning)" }
        return "warning: \(warning) (\(hint))"
    }

    /// The command that lists objects of `kind`.
    package static func listCommand(_ kind: BerthError.Object.Kind) -> String? {
        switch kind {
        case .network: "berth network ls"
        case .endpoint: "berth ps"
        // `ps` lists running containers only; a stopped one is named, or looked for, too.
        case .container: "berth ps -a"
        case .namespace: "berth netns ls"
        case .link, .bridge: "berth link ls"
        case .address: "berth addr ls"
        case .route: "berth route ls"
        case .port: "berth ps"
        case BerthError.Object.Kind(rawValue: "lab"): "berth lab ls"
        default: nil
        }
    }

    /// The command that removes `object`.
    package static func removeCommand(_ object: BerthError.Object) -> String? {
        switch object.kind {
        case .network: "berth network rm \(object.name)"
        case .endpoint: "berth detach \(object.name)"
        case .container: "berth rm -f \(object.name)"
        case .namespace: "berth netns del \(object.name)"
        case .link, .bridge: "berth link del \(object.name)"
        default: nil
        }
    }

    /// Kinds that live in a network namespace: their commands take `--netns`.
    package static func namespaced(_ kind: BerthError.Object.Kind) -> Bool {
        kind == .link || kind == .address || kind == .route
    }

    private static func netnsSuffix(_ namespace: String?) -> String {
        namespace.map { " --netns \($0)" } ?? ""
    }

    /// The `--netns` the running command works in (link, addr, route, nft), for an error
    /// whose object does not say where it lives.
    package static let commandNamespace = Mutex<String?>(nil)
}
