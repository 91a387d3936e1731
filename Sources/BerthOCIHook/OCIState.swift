public import BerthCore

/// The container state a runtime writes to a hook's stdin (OCI runtime spec, "State").
///
/// This is input from another program, so it is decoded as hostile: at most `maxSize` bytes,
/// strict JSON (`JSONValue`'s parser), and only the members Berth uses are read. Unknown
/// members are accepted, because runtimes add their own (crun's `root`); a member Berth uses
/// that has the wrong type, or a missing `id`, is refused with an error naming it.
///
/// Runtimes differ in what they send (samples in Tests/BerthOCIHookTests/Fixtures):
/// `status` is `creating` (runc, podman) or `created` (crun) in `createRuntime`; `pid` is 0
/// (crun) or absent (runc) in `poststop`; `ociVersion` is `1.0` or `1.0.2-dev`. All are
/// accepted as they come; a `pid` of 0 reads as no pid.
public struct OCIState: Sendable, Hashable {
    /// The spec version the runtime speaks, as it wrote it.
    public var ociVersion: String?
    /// The container's id: Berth's endpoint id for it.
    public var id: String
    /// `creating`, `created`, `running` or `stopped` (runtimes use them differently).
    public var status: String?
    /// The container's process on the host, when it has one; nil for an absent or 0 `pid`.
    public var pid: Int32?
    /// The bundle directory, absolute (the hook's working directory is the bundle too).
    public var bundle: String?
    /// The container's annotations; empty when the runtime sent none.
    public var annotations: OCIAnnotations

    /// A state from its fields; `id` is the only one required.
    public init(ociVersion: String? = nil, id: String, status: String? = nil, pid: Int32? = nil, bundle: String? = nil,
                annotations: OCIAnnotations = [:]) {
        self.ociVersion = ociVersion
        self.id = id
        self.status = status
        self.pid = pid
        self.bundle = bundle
        self.annotations = annotations
    }

    /// The most a hook reads from stdin. Real states are under 1 KiB; annotations may be
    /// large (Kubernetes allows 256 KiB of them), so the cap leaves room for those and no more.
    public static let maxSize = 1 << 20

    /// Decodes a state from the bytes a runtime wrote.
    public init(parsing bytes: [UInt8]) throws(BerthError) {
        guard bytes.count <= Self.maxSize else {
            throw Self.invalid("the container state is larger than \(Self.maxSize) bytes")
        }
        let json: JSONValue
        do {
            json = try JSONValue(parsingUTF8: bytes)
        } catch {
            throw BerthError(.invalidArgument, "the container state is not valid JSON: \(error.message)", object: Self.object)
        }
        guard case .object = json else {
            throw Self.invalid("the container state is not a JSON object")
        }
        guard let idValue = json["id"] else {
            throw Self.invalid("the container state has no \"id\"", parameter: "id")
        }
        guard let id = idValue.stringValue, !id.isEmpty else {
            throw Self.invalid("the container state's \"id\" is not a non-empty string", parameter: "id")
        }
        guard id.utf8.count <= Self.maxIDLength, id.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else {
            throw Self.invalid("the container state's \"id\" has spaces or control characters, or is longer than \(Self.maxIDLength) bytes",
                               parameter: "id")
        }
        self.id = id
        ociVersion = try Self.optionalString(json, "ociVersion")
        status = try Self.optionalString(json, "status")
        bundle = try Self.optionalString(json, "bundle")
        // Runtimes send the bundle's absolute path; an empty one would send the hook to
        // /config.json, a file of the host's choosing, and a relative one would be read
        // from whatever the working directory is (a runtime's is the bundle, a person's
        // anything), so the namespace and annotations could be another container's.
        if bundle?.isEmpty == true {
            throw Self.invalid("the container state's \"bundle\" is empty (a runtime sends the bundle directory's absolute path)", parameter: "bundle")
        }
        if let bundle, !bundle.hasPrefix("/") {
            throw Self.invalid("the container state's \"bundle\" \(bundle) is not an absolute path (a runtime sends the bundle directory's absolute path; "
                               + "a relative one would be read from the hook's working directory)", parameter: "bundle")
        }
        switch json["pid"] {
        case nil, .null?:
            pid = nil
        case let value?:
            guard let number = value.int64Value, (0...Int64(Int32.max)).contains(number) else {
                throw Self.invalid("the container state's \"pid\" is not a process id (\(value))", parameter: "pid")
            }
            pid = number == 0 ? nil : Int32(number)
        }
        annotations = try Self.annotations(json["annotations"], in: "the container state")
    }

    /// Ids longer than this are no container's: runtimes use 64 hex digits at most.
    public static let maxIDLength = 1024

    /// A member that must be a string when present (`null` counts as absent).
    static func optionalString(_ json: JSONValue, _ key: String) throws(BerthError) -> String? {
        switch json[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let value?: throw invalid("the container state's \"\(key)\" is not a string (\(value.render().prefix(40)))", parameter: key)
        }
    }

    /// `annotations`: an object whose values are strings, as the spec defines it.
    static func annotations(_ value: JSONValue?, in document: String) throws(BerthError) -> OCIAnnotations {
        switch value {
        case nil, .null?:
            return OCIAnnotations()
        case .object(let members)?:
            var result: [(String, String)] = []
            result.reserveCapacity(members.count)
            for (key, member) in members {
                guard let text = member.stringValue else {
                    throw invalid("\(document)'s annotation \"\(key)\" is not a string", parameter: "annotations")
                }
                result.append((key, text))
            }
            // The parser refused repeated keys.
            return OCIAnnotations(uniquePairs: result)
        case let other?:
            throw invalid("\(document)'s \"annotations\" is not an object (\(other.render().prefix(40)))", parameter: "annotations")
        }
    }

    static let object = BerthError.Object(.file, "container state (stdin)")

    static func invalid(_ message: String, parameter: String? = nil) -> BerthError {
        BerthError(.invalidArgument, message, object: object, parameter: parameter)
    }
}
