#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore

/// A failed system call's errno, printed as the C library names it.
public struct Errno: Error, Sendable, Hashable, CustomStringConvertible {
    /// The errno value.
    public let code: Int32

    public init(_ code: Int32) { self.code = code }

    /// The calling thread's current errno.
    public static var current: Errno { Errno(errno) }

    public var description: String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}

extension BerthError {
    /// Wraps a failed system call, choosing the code and hint from errno so that the
    /// commonest causes (no privilege, missing object) read as what they are.
    public static func system(_ operation: String, _ errno: Errno, privilege: String = "CAP_SYS_ADMIN") -> BerthError {
        switch errno.code {
        case EPERM, EACCES:
            BerthError(.permissionDenied, operation, hint: "run as root or with \(privilege)", cause: errno)
        case ENOENT:
            BerthError(.notFound, operation, cause: errno)
        case EEXIST:
            BerthError(.alreadyExists, operation, cause: errno)
        default:
            BerthError(.system, operation, cause: errno)
        }
    }
}
