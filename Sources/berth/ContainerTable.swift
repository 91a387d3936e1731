import Berth

/// How `berth ps` shows containers: in `docker ps`'s columns, or as JSON.
enum ContainerTable {
    static let header = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]

    static func print(_ containers: [ContainerRecord], endpoints: [String: EndpointRecord]) {
        let now = StateClock.now()
        Output.table(header, containers.map { container in
            let endpoint = Self.endpoint(of: container, in: endpoints)
            return [String(container.id.prefix(12)), container.image, command(container), HumanDuration.ago(now - container.created),
                    status(container, now: now), endpoint.map { PortsColumn.text($0.ports) } ?? "", container.name]
        })
    }

    /// A container's endpoint: the one it records (`berth run` on a bridge network) or, for
    /// a lab node's container (network `host`, run inside the node's namespace), the node's
    /// endpoint — a lab names both after the node's namespace, `/run/netns/NAME`.
    static func endpoint(of container: ContainerRecord, in endpoints: [String: EndpointRecord]) -> EndpointRecord? {
        if let id = container.endpointID { return endpoints[id] }
        guard container.network == "host", let endpoint = endpoints[container.name],
              endpoint.namespacePath == NetworkNamespace.runDirectory + "/" + container.name else { return nil }
        return endpoint
    }

    static func json(_ container: ContainerRecord, endpoint: EndpointRecord?) -> JSON {
        .object([
            ("kind", .string("container")), ("id", .string(container.id)), ("name", .string(container.name)),
            ("image", .string(container.image)), ("command", .array(container.command.map(JSON.string))),
            ("status", .string(container.status.rawValue)), ("exitCode", container.exitCode.map { .int($0) } ?? .null),
            ("oomKilled", .bool(container.oomKilled)),
            ("orphaned", .bool(container.status != .exited && !container.isSupervised)),
            ("pid", container.process.map { .int($0.pid) } ?? .null), ("supervisorPid", container.supervisor.map { .int($0.pid) } ?? .null),
            ("network", .string(container.network)), ("hostname", .string(container.hostname)), ("rootfs", .optional(container.rootfs)),
            ("endpoint", .optional(endpoint?.id)), ("ip", .optional(endpoint?.address.map { "\($0)" })),
            ("ip6", .optional(endpoint?.ipv6Address.map { "\($0)" })),
            ("ports", .array(PortOrder.sorted(endpoint?.ports ?? [], specs: container.options?.ports ?? []).map(NetworkJSON.port))), ("created", .int(container.created)),
            ("started", container.started.map { .int($0) } ?? .null), ("finished", container.finished.map { .int($0) } ?? .null),
            ("restartCount", .int(container.restartCount)),
        ])
    }

    /// Docker's quoted command, cut at 20 characters.
    static func command(_ container: ContainerRecord) -> String {
        let text = container.command.joined(separator: " ")
        return "\"" + (text.count > 20 ? text.prefix(19) + "…" : text) + "\""
    }

    /// Docker's STATUS column: `Up 5 seconds`, `Exited (3) 2 minutes ago`, `Restarting (1)
    /// Less than a second ago`, `Created`; Berth adds what Docker has no word for, a
    /// container whose supervisor is gone.
    static func status(_ container: ContainerRecord, now: Int64) -> String {
        let since = { (time: Int64?) in HumanDuration.text(now - (time ?? now)) }
        if container.status != .exited, !container.isSupervised {
            return "Orphaned (its supervisor is gone: 'berth gc' stops it)"
        }
        switch container.status {
        case .created: return "Created"
        case .running: return "Up " + since(container.started)
        case .restarting: return "Restarting (\(container.exitCode ?? 0)) \(since(container.finished)) ago"
        case .exited:
            guard let code = container.exitCode else { return "Created" }
            return "Exited (\(code)) \(since(container.finished)) ago"
        }
    }
}

/// Docker's (go-units') human durations: `Less than a second`, `1 second`, `5 seconds`,
/// `About a minute`, `3 minutes`, `About an hour`, `5 hours`, `3 days`, `2 weeks`, …
enum HumanDuration {
    static func text(_ seconds: Int64) -> String {
        let seconds = max(0, seconds)
        if seconds < 1 { return "Less than a second" }
        if seconds == 1 { return "1 second" }
        if seconds < 60 { return "\(seconds) seconds" }
        let minutes = seconds / 60
        if minutes == 1 { return "About a minute" }
        if minutes < 60 { return "\(minutes) minutes" }
        // go-units rounds hours to the nearest.
        let hours = (seconds + 1800) / 3600
        if hours == 1 { return "About an hour" }
        if hours < 48 { return "\(hours) hours" }
        if hours < 24 * 7 * 2 { return "\(hours / 24) days" }
        if hours < 24 * 30 * 2 { return "\(hours / 24 / 7) weeks" }
        if hours < 24 * 365 * 2 { return "\(hours / 24 / 30) months" }
        return "\(seconds / 3600 / 24 / 365) years"
    }

    /// `5 seconds ago`, as the CREATED column says it.
    static func ago(_ seconds: Int64) -> String { text(seconds) + " ago" }
}

/// Docker's PORTS column (docker/cli's DisplayablePorts, to the letter): mappings sorted by
/// container port; a run of consecutive ports published on the same host port numbers
/// (`-p 8000-8009:8000-8009`) collapses into one range per address and protocol,
/// `0.0.0.0:8000-8009->8000-8009/tcp` (`:::80->80/tcp` for IPv6, unbracketed as Docker
/// prints it); a run cut short is listed as soon as it is, the others after; a mapping to
/// another host port is listed alone, last, as `0.0.0.0:8080->80/tcp` or `[::]:8080->80/tcp`.
enum PortsColumn {
    static func text(_ ports: [PortMappingRecord]) -> String {
        let sorted = ports.sorted { a, b in
            if a.containerPort != b.containerPort { return a.containerPort < b.containerPort }
            if a.hostPort != b.hostPort { return a.hostPort < b.hostPort }
            if a.proto.description != b.proto.description { return a.proto.description < b.proto.description }
            return a.hostAddress.description < b.hostAddress.description
        }
        var groups: [Group] = []
        var open: [String: Int] = [:]
        var singles: [String] = []
        var result: [String] = []
        for port in sorted {
            guard port.hostPort == port.containerPort else {
                // Go's net.JoinHostPort: an IPv6 address in brackets.
                let host = port.hostAddress.family == .ipv6 ? "[\(port.hostAddress)]" : "\(port.hostAddress)"
                singles.append("\(host):\(port.hostPort)->\(port.containerPort)/\(port.proto)")
                continue
            }
            let group = Group(host: "\(port.hostAddress)", proto: "\(port.proto)", first: port.containerPort, last: port.containerPort)
            let key = group.host + "/" + group.proto
            if let index = open[key] {
                if port.containerPort == groups[index].last &+ 1 {
                    groups[index].last = port.containerPort
                    continue
                }
                result.append(groups[index].text)
                groups[index] = group
            } else {
                open[key] = groups.count
                groups.append(group)
            }
        }
        result += groups.map(\.text) + singles
        return result.joined(separator: ", ")
    }

    /// Consecutive ports published on the same numbers.
    private struct Group {
        var host: String
        var proto: String
        var first: UInt16
        var last: UInt16

        var text: String {
            let range = first == last ? "\(first)" : "\(first)-\(last)"
            return "\(host):\(range)->\(range)/\(proto)"
        }
    }
}
