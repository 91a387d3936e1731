public import BerthCore

/// What the hook needs from a bundle's `config.json` (OCI runtime spec, "Configuration"):
/// whether the container has a network namespace of its own, its annotations, and its
/// process's environment (for the docker runtime wrapper).
///
/// Like the state, the file comes from another program: bounded (`maxSize`), strict JSON,
/// unknown members accepted, members Berth uses checked for type.
public struct OCIBundleConfig: Sendable, Hashable {
    /// The container's network namespace as `linux.namespaces` describes it.
    public enum NetworkNamespace: Sendable, Hashable {
        /// No `network` entry: the container shares the runtime's (the host's) namespace.
        case shared
        /// A `network` entry without a path: the runtime makes a new namespace.
        case new
        /// A `network` entry with a path, absolute (a relative one is refused): the container
        /// joins that existing namespace.
        case path(String)
    }

    /// Whether the container has a namespace of its own, a new or an existing one.
    public var networkNamespace: NetworkNamespace
    /// `annotations`; empty when absent.
    public var annotations: OCIAnnotations
    /// `process.env`, `KEY=VALUE` entries; empty when absent.
    public var environment: [String]

    /// A configuration from its parts; no annotations or environment unless given.
    public init(networkNamespace: NetworkNamespace, annotations: OCIAnnotations = [:], environment: [String] = []) {
        self.networkNamespace = networkNamespace
        self.annotations = annotations
        self.environment = environment
    }

    /// The most read from a `config.json`; real ones are a few KiB, tens with a seccomp profile.
    public static let maxSize = 4 << 20

    /// What is built of the file: the three members read below. The rest (mounts,
    /// capabilities, a seccomp profile) is checked as strict JSON and left out.
    public static let read = JSONProjection.members([
        "linux": .members(["namespaces": .all]),
        "annotations": .all,
        "process": .members(["env": .all]),
    ])

    /// Decodes a configuration; `path` only names the file in errors.
    public init(parsing bytes: [UInt8], path: String = "config.json") throws(BerthError) {
        let object = BerthError.Object(.file, path)
        func invalid(_ message: String, _ parameter: String? = nil) -> BerthError {
            BerthError(.invalidArgument, "\(path): \(message)", object: object, parameter: parameter)
        }
        guard bytes.count <= Self.maxSize else { throw invalid("larger than \(Self.maxSize) bytes") }
        let json: JSONValue
        do {
            json = try JSONValue(parsingUTF8: bytes, keeping: Self.read)
        } catch {
            throw BerthError(.invalidArgument, "\(path) is not valid JSON: \(error.message)", object: object)
        }
        guard case .object = json else { throw invalid("not a JSON object") }

        var namespace = NetworkNamespace.shared
        switch json["linux"] {
        case nil, .null?:
            break
        case .object?:
            switch json["linux"]?["namespaces"] {
            case nil, .null?:
                break
            case .array(let entries)?:
                for entry in entries {
                    guard case .object = entry, let type = entry["type"]?.stringValue else {
                        throw invalid("an entry of linux.namespaces is not an object with a string \"type\"", "linux.namespaces")
                    }
                    guard type == "network" else { continue }
                    switch entry["path"] {
                    case nil, .null?: namespace = .new
                    case .string(let text)? where text.isEmpty: namespace = .new
                    case .string(let text)? where !text.hasPrefix("/"):
                        // The spec says MUST be absolute. Taken relative to the bundle, it
                        // would be recorded as it is, and poststop and gc, running elsewhere,
                        // would find no namespace there and remove a live container's endpoint.
                        throw BerthError(.invalidArgument, "\(path): the network namespace's \"path\" \(text) in linux.namespaces is not absolute (the OCI runtime spec requires an absolute path)",
                                         hint: "give the network entry of linux.namespaces an absolute path, such as /run/netns/NAME",
                                         object: object, parameter: "linux.namespaces")
                    case .string(let text)?: namespace = .path(text)
                    default: throw invalid("the network namespace's \"path\" is not a string", "linux.namespaces")
                    }
                }
            default:
                throw invalid("linux.namespaces is not an array", "linux.namespaces")
            }
        default:
            throw invalid("\"linux\" is not an object", "linux")
        }
        networkNamespace = namespace
        do {
            annotations = try OCIState.annotations(json["annotations"], in: path)
        } catch {
            throw BerthError(.invalidArgument, error.message, object: object, parameter: error.parameter)
        }

        var environment: [String] = []
        switch json["process"]?["env"] {
        case nil, .null?:
            break
        case .array(let entries)?:
            for entry in entries {
                guard let text = entry.stringValue else { throw invalid("an entry of process.env is not a string", "process.env") }
                environment.append(text)
            }
        default:
            throw invalid("process.env is not an array", "process.env")
        }
        self.environment = environment
    }
}
