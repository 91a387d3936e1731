import Berth

/// How `berth ps` shows containers: in columns like `docker ps`, or as JSON.
enum ContainerTable {
    static func print(_ containers: [ContainerRecord], endpoints: [String: EndpointRecord]) {
        let now = StateClock.now()
        Output.table(["NAME", "COMMAND", "STATUS", "NETWORK", "IP", "PORTS"], containers.map { container in
            let endpoint = container.endpointID.flatMap { endpoints[$0] }
            return [container.name, command(container), status(container, now: now), container.network,
                    endpoint.map { "\($0.address)" } ?? "", endpoint.map(EndpointTable.ports) ?? ""]
        })
    }

    static func json(_ container: ContainerRecord, endpoint: EndpointRecord?) -> JSON {
        .object([
            ("kind", .string("container")), ("id", .string(container.id)), ("name", .string(container.name)),
            ("command", .array(container.command.map(JSON.string))), ("status", .string(container.status.rawValue)),
            ("orphaned", .bool(!supervisorAlive(container))), ("pid", .int(container.pid)), ("supervisorPid", .int(container.supervisorPID)),
            ("network", .string(container.network)), ("hostname", .string(container.hostname)), ("rootfs", .optional(container.rootfs)),
            ("endpoint", .optional(container.endpointID)), ("ip", .optional(endpoint.map { "\($0.address)" })),
            ("ports", .array((endpoint?.ports ?? []).map(NetworkJSON.port))), ("created", .int(container.created)),
        ])
    }

    /// Docker's quoted, shortened command.
    static func command(_ container: ContainerRecord) -> String {
        let text = container.command.joined(separator: " ")
        return "\"" + (text.count > 28 ? text.prefix(27) + "…" : text) + "\""
    }

    static func status(_ container: ContainerRecord, now: Int64) -> String {
        guard supervisorAlive(container) else { return "orphaned ('berth gc' removes it)" }
        guard container.status == .running else { return "Created" }
        let seconds = max(0, now - container.created)
        let age = seconds < 60 ? "\(seconds)s" : seconds < 3600 ? "\(seconds / 60)m" : "\(seconds / 3600)h"
        return "Up \(age)"
    }

    static func supervisorAlive(_ container: ContainerRecord) -> Bool {
        ProcessIdentity(pid: container.supervisorPID, startTime: container.supervisorStartTime).isAlive
    }
}
