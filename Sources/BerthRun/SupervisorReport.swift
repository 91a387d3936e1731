import BerthCore
import BerthNetwork

/// The one message a detached supervisor sends back on its stdout, as a JSON line: the
/// container it started, or the error that left nothing behind — with every field of the
/// `BerthError`, so the caller words it exactly as if `Container.run` had failed in its own
/// process.
enum SupervisorReport: Sendable {
    /// With what starting it changed for the host (the default network made on first use).
    case started(id: String, name: String, warnings: [HostWarning])
    case failed(BerthError)

    var json: JSONValue {
        switch self {
        case .started(let id, let name, let warnings):
            ["started": ["id": .string(id), "name": .string(name), "warnings": .array(warnings.map(\.reportJSON))]]
        case .failed(let error): ["failed": Self.json(error)]
        }
    }

    init(json: JSONValue) throws(BerthError) {
        if let started = json["started"] {
            let fields = Fields(started, what: "supervisor report")
            var warnings: [HostWarning] = []
            for warning in started["warnings"]?.arrayValue ?? [] { warnings.append(try HostWarning(reportJSON: warning)) }
            self = .started(id: try fields.string("id"), name: try fields.string("name"), warnings: warnings)
        } else if let failed = json["failed"] {
            self = .failed(try Self.error(failed, depth: 0))
        } else {
            throw BerthError(.internalError, "the supervisor's report is neither \"started\" nor \"failed\"")
        }
    }

    // MARK: - BerthError as JSON

    static func json(_ error: BerthError) -> JSONValue {
        var members: [(String, JSONValue)] = [("code", .string(error.code.rawValue)), ("message", .string(error.message))]
        if let hint = error.hint { members.append(("hint", .string(hint))) }
        if let object = error.object { members.append(("object", json(object))) }
        if let operation = error.operation { members.append(("operation", .string(operation.rawValue))) }
        if let parameter = error.parameter { members.append(("parameter", .string(parameter))) }
        if let remedy = error.remedy { members.append(("remedy", json(remedy))) }
        if let cause = error.cause as? BerthError {
            members.append(("cause", ["error": json(cause)]))
        } else if let cause = error.cause {
            members.append(("cause", ["text": .string(String(describing: cause))]))
        }
        return .object(members)
    }

    private static func json(_ object: BerthError.Object) -> JSONValue {
        var members: [(String, JSONValue)] = [("kind", .string(object.kind.rawValue)), ("name", .string(object.name))]
        if let namespace = object.namespace { members.append(("namespace", .string(namespace))) }
        return .object(members)
    }

    private static func json(_ remedy: BerthError.Remedy) -> JSONValue {
        switch remedy {
        case .collectGarbage: ["kind": "collectGarbage"]
        case .reconcile: ["kind": "reconcile"]
        case .detachEndpoints: ["kind": "detachEndpoints"]
        case .remove(let object): ["kind": "remove", "object": json(object)]
        case .stop(let object): ["kind": "stop", "object": json(object)]
        case .chooseAnother(let parameter): ["kind": "chooseAnother", "parameter": .string(parameter)]
        case .privilege(let capability): ["kind": "privilege", "capability": .string(capability)]
        case .listExisting(let kind): ["kind": "listExisting", "objectKind": .string(kind.rawValue)]
        case .give(let parameter): ["kind": "give", "parameter": .string(parameter)]
        case .leaveOut(let parameter): ["kind": "leaveOut", "parameter": .string(parameter)]
        }
    }

    /// Causes nest; a report deeper than this is not one this program wrote.
    private static let maxDepth = 16

    static func error(_ json: JSONValue, depth: Int) throws(BerthError) -> BerthError {
        let fields = Fields(json, what: "supervisor report")
        guard depth < maxDepth, let code = BerthError.Code(rawValue: try fields.string("code")) else { throw fields.malformed("code") }
        var cause: (any Error & Sendable)?
        if let nested = json["cause"] {
            if let error = nested["error"] {
                cause = try self.error(error, depth: depth + 1)
            } else {
                cause = ReportedCause(description: try Fields(nested, what: "supervisor report").string("text"))
            }
        }
        return BerthError(code, try fields.string("message"), hint: json["hint"]?.stringValue,
                          object: try json["object"].map { value throws(BerthError) in try object(value) },
                          operation: json["operation"]?.stringValue.map(BerthError.Operation.init(rawValue:)),
                          parameter: json["parameter"]?.stringValue,
                          remedy: try json["remedy"].map { value throws(BerthError) in try remedy(value) }, cause: cause)
    }

    private static func object(_ json: JSONValue) throws(BerthError) -> BerthError.Object {
        let fields = Fields(json, what: "supervisor report's object")
        return BerthError.Object(BerthError.Object.Kind(rawValue: try fields.string("kind")), try fields.string("name"),
                                 namespace: json["namespace"]?.stringValue)
    }

    private static func remedy(_ json: JSONValue) throws(BerthError) -> BerthError.Remedy {
        let fields = Fields(json, what: "supervisor report's remedy")
        switch try fields.string("kind") {
        case "collectGarbage": return .collectGarbage
        case "reconcile": return .reconcile
        case "detachEndpoints": return .detachEndpoints
        case "remove": return .remove(try object(try fields.value("object")))
        case "stop": return .stop(try object(try fields.value("object")))
        case "chooseAnother": return .chooseAnother(parameter: try fields.string("parameter"))
        case "privilege": return .privilege(try fields.string("capability"))
        case "listExisting": return .listExisting(BerthError.Object.Kind(rawValue: try fields.string("objectKind")))
        case "give": return .give(parameter: try fields.string("parameter"))
        case "leaveOut": return .leaveOut(parameter: try fields.string("parameter"))
        default: throw fields.malformed("kind")
        }
    }
}

/// A cause that crossed a process boundary as text (an errno, a netlink refusal, …).
public struct ReportedCause: Error, Sendable, Hashable, CustomStringConvertible {
    /// The cause as the other process described it.
    public let description: String

    /// A cause described as `description`.
    public init(description: String) {
        self.description = description
    }
}
