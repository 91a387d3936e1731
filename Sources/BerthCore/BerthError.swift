/// The one error type Berth's API throws: a code to branch on, a message that names the
/// problem and the value at fault, a hint that names the fix, and the underlying cause.
///
/// Modeled on errors that a person reads first and a program inspects second:
/// `description` is what the CLI prints, `code` is what callers switch over.
public struct BerthError: Error, Sendable, CustomStringConvertible {
    /// Broad classes of failure, stable for programs to match on.
    public enum Code: String, Sendable, Hashable, Codable {
        /// A value given by the caller is malformed or out of range.
        case invalidArgument
        /// A named object (namespace, link, network, endpoint) does not exist.
        case notFound
        /// An object to be created already exists.
        case alreadyExists
        /// A resource is held by someone else (a port, an address, a name).
        case conflict
        /// The caller lacks a privilege (usually CAP_NET_ADMIN or CAP_SYS_ADMIN).
        case permissionDenied
        /// The kernel lacks a feature Berth needs (a module, a link type, an expression).
        case unsupported
        /// The kernel refused an operation for another reason.
        case kernel
        /// Berth's recorded state is unreadable or inconsistent.
        case state
        /// A system call failed outside the kernel's networking code (files, mounts, threads).
        case system
        /// A bug in Berth: an invariant did not hold.
        case internalError
    }

    /// What kind of failure this is.
    public let code: Code
    /// What went wrong, naming the value or object at fault.
    public let message: String
    /// How to fix it, when there is something the user can do.
    public let hint: String?
    /// The lower-level error this one wraps, if any.
    public let cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, hint: String? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.cause = cause
    }

    public var description: String {
        var text = message
        if let cause { text += ": \(cause)" }
        if let hint { text += " (\(hint))" }
        return text
    }

    /// Shorthand for the most common failure: a bad value given by the caller.
    public static func invalid(_ message: String, hint: String? = nil) -> BerthError {
        BerthError(.invalidArgument, message, hint: hint)
    }
}
