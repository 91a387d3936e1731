import BerthCore
import BerthConfine

/// What a detached supervisor is asked to do: the options of `Supervisor.start` as a value,
/// carried to the new process as JSON on its stdin (an anonymous file), never as arguments
/// to parse again.
///
/// The stdio descriptors of `options.process` are not carried: they are the caller's and
/// mean nothing in another process.
struct SupervisorRequest: Sendable, Hashable {
    var options: RunOptions
    /// Absolute: the supervisor starts in `/`.
    var stateDirectory: String

    var json: JSONValue {
        let process = options.process
        return [
            "stateDirectory": .string(stateDirectory),
            "name": options.name.map(JSONValue.string) ?? .null,
            "network": .string(options.network.description),
            "ports": .array(options.ports.map { .string($0.description) }),
            "address": options.address.map { .string($0.description) } ?? .null,
            "limits": options.limits.json,
            "process": [
                "command": .array(process.command.map(JSONValue.string)),
                "namespaces": .integer(Int64(process.namespaces.rawValue)),
                "hostname": process.hostname.map(JSONValue.string) ?? .null,
                "rootfs": process.rootfs.map(JSONValue.string) ?? .null,
                "environment": .array(process.environment.map(JSONValue.string)),
                "workingDirectory": process.workingDirectory.map(JSONValue.string) ?? .null,
                "privileged": .bool(process.privileged),
                "confinement": process.confinement.json,
            ],
        ]
    }

    init(options: RunOptions, stateDirectory: String) {
        self.options = options
        self.stateDirectory = stateDirectory
    }

    /// Reads a request; anything missing or of the wrong type is an internal error (the
    /// request comes from this same program).
    init(json: JSONValue) throws(BerthError) {
        let fields = Fields(json, what: "supervisor request")
        let process = Fields(try fields.value("process"), what: "supervisor request's process")
        guard let namespaces = Int32(exactly: try process.integer("namespaces")) else {
            throw fields.malformed("namespaces")
        }
        let spec = ContainerSpec(
            command: try process.strings("command"), namespaces: ContainerNamespaces(rawValue: namespaces),
            hostname: try process.optionalString("hostname"), rootfs: try process.optionalString("rootfs"),
            environment: try process.strings("environment"), workingDirectory: try process.optionalString("workingDirectory"),
            privileged: try process.bool("privileged"),
            confinement: try process.decoded("confinement") { value throws(BerthError) in try Confinement(json: value) })
        options = RunOptions(
            process: spec, name: try fields.optionalString("name"), network: try ContainerNetwork(parsing: try fields.string("network")),
            ports: try fields.strings("ports").map { text throws(BerthError) in try PortSpec(parsing: text) },
            address: try fields.optionalString("address").map { text throws(BerthError) in try IPv4Address(parsing: text) },
            limits: try fields.decoded("limits") { value throws(BerthError) in try ResourceLimits(json: value) })
        stateDirectory = try fields.string("stateDirectory")
    }
}

/// Typed access to the members of a JSON object that this program wrote itself.
struct Fields {
    let object: JSONValue
    let what: String

    init(_ object: JSONValue, what: String) {
        self.object = object
        self.what = what
    }

    func malformed(_ key: String) -> BerthError {
        BerthError(.internalError, "\(what): member \"\(key)\" is missing or malformed")
    }

    func value(_ key: String) throws(BerthError) -> JSONValue {
        guard let value = object[key] else { throw malformed(key) }
        return value
    }

    func string(_ key: String) throws(BerthError) -> String {
        guard let text = object[key]?.stringValue else { throw malformed(key) }
        return text
    }

    func optionalString(_ key: String) throws(BerthError) -> String? {
        let value = try value(key)
        if value.isNull { return nil }
        guard let text = value.stringValue else { throw malformed(key) }
        return text
    }

    func strings(_ key: String) throws(BerthError) -> [String] {
        guard let array = object[key]?.arrayValue else { throw malformed(key) }
        var strings: [String] = []
        for element in array {
            guard let text = element.stringValue else { throw malformed(key) }
            strings.append(text)
        }
        return strings
    }

    func integer(_ key: String) throws(BerthError) -> Int64 {
        guard let number = object[key]?.int64Value else { throw malformed(key) }
        return number
    }

    func bool(_ key: String) throws(BerthError) -> Bool {
        guard let flag = object[key]?.boolValue else { throw malformed(key) }
        return flag
    }

    /// A member read by its type's own JSON reader; its error becomes the cause.
    func decoded<T>(_ key: String, _ read: (JSONValue) throws(BerthError) -> T) throws(BerthError) -> T {
        do {
            return try read(try value(key))
        } catch {
            throw BerthError(.internalError, "\(what): member \"\(key)\" is missing or malformed", cause: error)
        }
    }
}
