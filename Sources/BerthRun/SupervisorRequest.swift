import BerthCore

/// What a detached supervisor is asked to do — run a new container with these options, or
/// start a stopped one again with its own — carried to the new process as JSON on its stdin
/// (an anonymous file), never as arguments to parse again.
///
/// The stdio descriptors of the options are not carried: they are the caller's and mean
/// nothing in another process.
struct SupervisorRequest: Sendable, Hashable {
    enum Work: Sendable, Hashable {
        /// A new container.
        case run(RunOptions)
        /// The stopped container with this id, with the settings it keeps.
        case start(id: String)
    }

    var work: Work
    /// Absolute: the supervisor starts in `/`.
    var stateDirectory: String
    /// The supervisor's `NetworkManager.resolverExecutable`: the caller's.
    var resolverExecutable: String?

    init(_ work: Work, stateDirectory: String, resolverExecutable: String? = nil) {
        self.work = work
        self.stateDirectory = stateDirectory
        self.resolverExecutable = resolverExecutable
    }

    init(options: RunOptions, stateDirectory: String, resolverExecutable: String? = nil) {
        self.init(.run(options), stateDirectory: stateDirectory, resolverExecutable: resolverExecutable)
    }

    var json: JSONValue {
        var members: [(String, JSONValue)] = switch work {
        case .run(let options): [("stateDirectory", .string(stateDirectory)), ("run", options.json())]
        case .start(let id): [("stateDirectory", .string(stateDirectory)), ("start", .string(id))]
        }
        if let resolverExecutable { members.append(("resolverExecutable", .string(resolverExecutable))) }
        return .object(members)
    }

    /// Reads a request; anything missing or of the wrong type is an internal error (the
    /// request comes from this same program).
    init(json: JSONValue) throws(BerthError) {
        let fields = Fields(json, what: "supervisor request")
        if let options = json["run"] {
            work = .run(try RunOptions(json: options, what: "supervisor request"))
        } else if json["start"] != nil {
            work = .start(id: try fields.string("start"))
        } else {
            throw fields.malformed("run")
        }
        stateDirectory = try fields.string("stateDirectory")
        resolverExecutable = try fields.optionalString("resolverExecutable", absent: nil)
    }

    /// The options of a `run` request.
    var options: RunOptions? {
        if case .run(let options) = work { return options }
        return nil
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

    /// A string, nil for null, `absent` when the member is missing (one added later).
    func optionalString(_ key: String, absent: String?) throws(BerthError) -> String? {
        guard object[key] != nil else { return absent }
        return try optionalString(key)
    }

    /// An array of strings, nil when missing or null.
    func optionalStrings(_ key: String) throws(BerthError) -> [String]? {
        guard let value = object[key], !value.isNull else { return nil }
        return try strings(key)
    }

    /// An integer, nil when missing or null.
    func optionalInteger(_ key: String) throws(BerthError) -> Int64? {
        guard let value = object[key], !value.isNull else { return nil }
        return try integer(key)
    }

    /// A Boolean, nil when missing or null.
    func optionalBool(_ key: String) throws(BerthError) -> Bool? {
        guard let value = object[key], !value.isNull else { return nil }
        return try bool(key)
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
