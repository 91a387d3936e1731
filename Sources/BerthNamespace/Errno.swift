#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import SystemPackage
public import BerthCore

/// A failed system call's errno: swift-system's `Errno` (printed as the C library names it),
/// under a name every target that imports BerthNamespace reaches without importing
/// SystemPackage itself.
public typealias Errno = SystemPackage.Errno

extension Errno {
    /// The errno value (swift-system's `rawValue`), as Berth's callers spell it.
    public var code: Int32 { rawValue }

    /// The error for errno value `code`.
    public init(_ code: Int32) { self.init(rawValue: code) }

    /// The calling thread's current errno; read it right after the call that failed.
    /// (swift-system keeps its own accessor internal.)
    public static var current: Errno { Errno(rawValue: errno) }
}

/// swift-system's calls throw untyped errors that are always `Errno`; this gives them the type.
func withErrno<T>(_ body: () throws -> T) throws(Errno) -> T {
    do {
        return try body()
    } catch let error as Errno {
        throw error
    } catch {
        // Unreachable: SystemPackage throws nothing else.
        throw Errno(rawValue: EIO)
    }
}

extension BerthError {
    /// Wraps a failed system call, choosing the code and remedy from errno so that the
    /// commonest causes (no privilege, missing object) read as what they are.
    /// `object`, when given, is what the call was about (a namespace, a file), so a front end
    /// can word its advice from it.
    public static func system(_ operation: String, _ errno: Errno, privilege: String = "CAP_SYS_ADMIN",
                              object: BerthError.Object? = nil) -> BerthError {
        switch errno.code {
        case EPERM, EACCES:
            BerthError(.permissionDenied, operation, object: object, remedy: .privilege(privilege), cause: errno)
        case ENOENT:
            BerthError(.notFound, operation, object: object, cause: errno)
        case EEXIST:
            BerthError(.alreadyExists, operation, object: object, cause: errno)
        default:
            BerthError(.system, operation, object: object, cause: errno)
        }
    }
}
