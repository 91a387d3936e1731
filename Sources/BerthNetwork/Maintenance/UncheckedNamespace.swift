public import BerthCore

/// A recorded namespace `gc` could not open for another reason than its being gone, so what
/// lives in it was kept (`GCReport.unchecked`): which endpoint or publication, the path, and
/// why — the error's code, for a front end to advise on, and its words.
public struct UncheckedNamespace: Sendable, Hashable, CustomStringConvertible {
    /// What the namespace holds.
    public enum Owner: String, Sendable, Hashable {
        case endpoint
        case publication
    }

    /// Whether an endpoint's or a publication's namespace.
    public var owner: Owner
    /// The endpoint's or publication's id.
    public var id: String
    /// The namespace's recorded path.
    public var path: String
    /// Why opening it failed: `.permissionDenied` when it was refused (EACCES, EPERM: another
    /// process's `/proc/PID/ns/net` takes CAP_SYS_PTRACE), which the privilege answers;
    /// anything else (`.system`: EMFILE, ENFILE, ENOMEM…) may pass by itself.
    public var code: BerthError.Code
    /// The error, in the library's words.
    public var reason: String

    /// The namespace at `path` of `owner` `id`, which failed to open with `error`.
    public init(owner: Owner, id: String, path: String, error: BerthError) {
        self.init(owner: owner, id: id, path: path, code: error.code, reason: "\(error)")
    }

    /// The namespace at `path` of `owner` `id`, which failed to open with `code`, said as `reason`.
    public init(owner: Owner, id: String, path: String, code: BerthError.Code, reason: String) {
        self.owner = owner
        self.id = id
        self.path = path
        self.code = code
        self.reason = reason
    }

    /// "could not check namespace PATH of endpoint ID: why".
    public var description: String { "could not check namespace \(path) of \(owner.rawValue) \(id): \(reason)" }
}
