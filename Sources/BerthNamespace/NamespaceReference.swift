#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore

/// How a caller names a network namespace: by its name under `/run/netns`, by a path, by a
/// process whose namespace it is, or as a namespace it already holds open.
///
/// A value, resolved only when used (`NetworkNamespace.open(_:)`, or a host handle that
/// resolves references against a fake kernel in tests).
public enum NamespaceReference: Sendable, Hashable, CustomStringConvertible {
    /// A name under `/run/netns`, as `ip netns` makes them.
    case name(String)
    /// A path such as `/run/netns/NAME` or `/proc/PID/ns/net`.
    case path(String)
    /// The namespace of process `pid`.
    case pid(Int32)
    /// A namespace already open; using it opens nothing.
    case open(NetworkNamespace)

    /// What `ip netns exec` and `berth attach` accept: a name, or a path when the text
    /// contains a '/'. A relative path is made absolute against the working directory, as
    /// the caller meant it: the path is recorded, and a later `gc` or `check` runs elsewhere.
    public init(nameOrPath text: String) {
        guard text.contains("/") else {
            self = .name(text)
            return
        }
        if !text.hasPrefix("/"), let directory = Self.workingDirectory() {
            self = .path(directory == "/" ? "/" + text : directory + "/" + text)
        } else {
            self = .path(text)
        }
    }

    /// The working directory, nil when it cannot be read (removed, or longer than PATH_MAX).
    private static func workingDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The path this reference opens; for an open namespace, the path it was opened from.
    public var path: String {
        switch self {
        case .name(let name): NetworkNamespace.runDirectory + "/" + name
        case .path(let path): path
        case .pid(let pid): "/proc/\(pid)/ns/net"
        case .open(let namespace): namespace.path
        }
    }

    /// The reference as the caller gave it: the name, the path, `pid N`, or the open
    /// namespace's own description.
    public var description: String {
        switch self {
        case .name(let name): name
        case .path(let path): path
        case .pid(let pid): "pid \(pid)"
        case .open(let namespace): namespace.description
        }
    }
}

extension NetworkNamespace {
    /// Opens the namespace `reference` names; an `.open` reference is returned as it is.
    public static func open(_ reference: NamespaceReference) throws(BerthError) -> NetworkNamespace {
        switch reference {
        case .name(let name): try open(named: name)
        case .path(let path): try open(path: path)
        case .pid(let pid): try open(pid: pid)
        case .open(let namespace): namespace
        }
    }
}
