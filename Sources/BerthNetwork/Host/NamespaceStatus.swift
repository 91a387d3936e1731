#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
public import BerthNamespace

/// What became of a recorded namespace (`HostHandle.namespaceStatus(path:identity:)`).
public enum NamespaceStatus: Sendable {
    /// It opens, to the recorded namespace.
    case alive(NetworkNamespace)
    /// It is gone: its path does not exist (or its process ended), is not a network
    /// namespace, or leads to another namespace.
    case gone
    /// Whether it lives could not be told: opening it failed otherwise (no permission, too
    /// many open files, no memory). Nothing may be removed on this answer; it is reported.
    case unknown(BerthError)

    /// The namespace, when alive.
    public var namespace: NetworkNamespace? {
        if case .alive(let namespace) = self { return namespace }
        return nil
    }

    /// Whether it is gone for certain.
    public var isGone: Bool {
        if case .gone = self { return true }
        return false
    }

    /// Whether a failure to open a namespace file proves it gone: ENOENT (and ESRCH, a
    /// process that ended), or a file that is not a network namespace. Anything else says
    /// nothing about the namespace.
    static func provesGone(_ error: BerthError) -> Bool {
        if let errno = error.cause as? Errno { return errno.code == ENOENT || errno.code == ESRCH }
        return error.code == .notFound || error.code == .invalidArgument
    }
}
