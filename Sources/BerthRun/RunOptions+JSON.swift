import BerthCore
import BerthConfine

/// `RunOptions` as JSON: how a detached supervisor receives them and how a container keeps
/// its settings for a later start (the `settings` column of `containers`).
///
/// Every field but the stdio descriptors, which mean nothing outside the process that holds
/// them. Members added after the first version are optional and default to what an older
/// berth did (resource limits and confinement came that way), so settings stored earlier
/// still read.
extension RunOptions {
    /// The options as a JSON object; without `command` when it is stored elsewhere (a
    /// container's command lives in `container_args`).
    func json(includingCommand: Bool = true) -> JSONValue {
        var process: [(String, JSONValue)] = []
        if includingCommand { process.append(("command", .array(self.process.command.map(JSONValue.string)))) }
        let spec = self.process
        process += [
            ("namespaces", .integer(Int64(spec.namespaces.rawValue))),
            ("hostname", spec.hostname.map(JSONValue.string) ?? .null),
            ("rootfs", spec.rootfs.map(JSONValue.string) ?? .null),
            ("environment", .array(spec.environment.map(JSONValue.string))),
            ("workingDirectory", spec.workingDirectory.map(JSONValue.string) ?? .null),
            ("privileged", .bool(spec.privileged)),
            ("user", spec.user.map(JSONValue.string) ?? .null),
            ("mounts", .array(spec.mounts.map { ["source": .string($0.source), "target": .string($0.target), "readOnly": .bool($0.readOnly)] })),
            ("readOnlyRootfs", .bool(spec.readOnlyRootfs)),
            ("terminal", .bool(spec.terminal)),
            ("init", .bool(spec.initProcess)),
            ("confinement", spec.confinement.json),
            ("ulimits", .array(spec.ulimits.map { ["name": .string($0.name), "soft": .integer($0.soft), "hard": .integer($0.hard)] })),
        ]
        return [
            "name": name.map(JSONValue.string) ?? .null,
            "network": .string(network.description),
            "ports": .array(ports.map { .string($0.description) }),
            "address": address.map { .string($0.description) } ?? .null,
            "ipv6Address": ipv6Address.map { .string($0.description) } ?? .null,
            "mac": mac.map { .string($0.description) } ?? .null,
            "interactive": .bool(interactive),
            "restart": .string(restart.description),
            "autoRemove": .bool(autoRemove),
            "limits": limits.json,
            "networkAliases": .array(networkAliases.map(JSONValue.string)),
            "stopSignal": stopSignal.map { .integer(Int64($0)) } ?? .null,
            "stopTimeout": stopTimeout.map { .integer(Int64($0)) } ?? .null,
            "process": .object(process),
        ]
    }

    /// Reads options written by `json`; `command` replaces a missing `process.command`.
    /// Anything missing or of the wrong type is an internal error naming the member (this
    /// program wrote it).
    init(json: JSONValue, command: [String]? = nil, what: String = "container settings") throws(BerthError) {
        let fields = Fields(json, what: what)
        let process = Fields(try fields.value("process"), what: what + "' process")
        guard let namespaces = Int32(exactly: try process.integer("namespaces")) else {
            throw process.malformed("namespaces")
        }
        let argv: [String]
        if let command { argv = command } else { argv = try process.strings("command") }
        var spec = ContainerSpec(
            command: argv, namespaces: ContainerNamespaces(rawValue: namespaces),
            hostname: try process.optionalString("hostname"), rootfs: try process.optionalString("rootfs"),
            environment: try process.strings("environment"), workingDirectory: try process.optionalString("workingDirectory"),
            privileged: try process.bool("privileged"))
        spec.user = try process.optionalString("user", absent: nil)
        for mount in process.object["mounts"]?.arrayValue ?? [] {
            let fields = Fields(mount, what: what + "' mount")
            spec.mounts.append(BindMount(source: try fields.string("source"), target: try fields.string("target"), readOnly: try fields.bool("readOnly")))
        }
        spec.readOnlyRootfs = try process.optionalBool("readOnlyRootfs") ?? false
        spec.terminal = try process.optionalBool("terminal") ?? false
        // Absent in the settings of an older berth: no init, as it ran.
        spec.initProcess = try process.optionalBool("init") ?? false
        // Absent (settings of an older berth): Docker's defaults, as it ran with. Present but
        // unreadable: refused, never replaced by defaults.
        if process.object["confinement"] != nil {
            spec.confinement = try process.decoded("confinement") { value throws(BerthError) in try Confinement(json: value) }
        }
        // Absent (settings of an older berth): none, the caller's limits, as it ran with.
        if let member = process.object["ulimits"], member.arrayValue == nil { throw process.malformed("ulimits") }
        for value in process.object["ulimits"]?.arrayValue ?? [] {
            let fields = Fields(value, what: what + "' ulimit")
            guard let resource = Ulimit.Resource(rawValue: try fields.string("name")) else { throw fields.malformed("name") }
            let limit = Ulimit(resource, soft: try fields.integer("soft"), hard: try fields.integer("hard"))
            do { try limit.validate() } catch { throw fields.malformed("soft") }
            spec.ulimits.append(limit)
        }
        self.init(
            process: spec, name: try fields.optionalString("name"), network: try ContainerNetwork(parsing: try fields.string("network")),
            ports: try fields.strings("ports").map { text throws(BerthError) in try PortSpec(parsing: text) },
            address: try fields.optionalString("address").map { text throws(BerthError) in try IPv4Address(parsing: text) },
            interactive: try fields.optionalBool("interactive") ?? false,
            restart: try fields.optionalString("restart", absent: nil).map { text throws(BerthError) in try RestartPolicy(parsing: text) } ?? .no,
            autoRemove: try fields.optionalBool("autoRemove") ?? false,
            limits: fields.object["limits"] == nil ? ResourceLimits()
                : try fields.decoded("limits") { value throws(BerthError) in try ResourceLimits(json: value) })
        // Absent in the settings of an older berth: none asked for.
        ipv6Address = try fields.optionalString("ipv6Address", absent: nil).map { text throws(BerthError) in try IPv6Address(parsing: text) }
        // Absent in the settings of an older berth: the default MAC address.
        mac = try fields.optionalString("mac", absent: nil).map { text throws(BerthError) in try MACAddress(parsing: text) }
        // Absent in the settings of an older berth: no aliases.
        if fields.object["networkAliases"] != nil { networkAliases = try fields.strings("networkAliases") }
        // Absent in the settings of an older berth: SIGTERM, then SIGKILL after 10 s, as it stopped.
        if let number = try fields.optionalInteger("stopSignal") {
            guard let signal = Int32(exactly: number), (1...ContainerSignal.highest).contains(signal) else { throw fields.malformed("stopSignal") }
            stopSignal = signal
        }
        if let seconds = try fields.optionalInteger("stopTimeout") {
            guard let timeout = Int(exactly: seconds), timeout >= -1 else { throw fields.malformed("stopTimeout") }
            stopTimeout = timeout
        }
    }
}
