#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
import BerthNamespace

/// A host file or directory seen at a path inside the container (`docker run -v
/// HOSTDIR:CTRDIR[:ro]`): what the container writes there lands on the host, and with
/// `readOnly` it cannot write at all.
///
/// The source is opened by the caller before the container's process exists and bound
/// through that handle once the process is inside its root filesystem, so no host path is
/// ever resolved inside the container; the target is created there if missing (symlinks on
/// the way resolve inside the container's root, never on the host).
public struct BindMount: Sendable, Hashable, CustomStringConvertible {
    /// Absolute path on the host.
    public var source: String
    /// Absolute path inside the container, not `/`.
    public var target: String
    /// Mount it read-only inside the container (`:ro`).
    public var readOnly: Bool
    /// A file Berth supplies (`/etc/hosts` and its kind, see `ContainerFiles`): mounted only
    /// where it can be, never creating directories in the root filesystem.
    var optional = false

    /// A bind of host path `source` at container path `target`, unchecked: `validate()` checks them.
    public init(source: String, target: String, readOnly: Bool = false) {
        self.source = source
        self.target = target
        self.readOnly = readOnly
    }

    init(source: String, target: String, readOnly: Bool, optional: Bool) {
        self.init(source: source, target: target, readOnly: readOnly)
        self.optional = optional
    }

    /// Docker's `-v` spelling of a bind mount: `SOURCE:TARGET`, then optionally `:ro` or `:rw`
    /// (several options separated by commas; only those two are understood).
    public init(parsing text: String) throws(BerthError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .invalid("invalid volume \"\(text)\"", hint: "write SOURCE:TARGET or SOURCE:TARGET:ro, with absolute paths", parameter: "volumes")
        }
        var readOnly = false
        if parts.count == 3 {
            for option in parts[2].split(separator: ",", omittingEmptySubsequences: false) {
                switch option {
                case "ro": readOnly = true
                case "rw": readOnly = false
                default:
                    throw .invalid("volume \"\(text)\": unsupported option \"\(option)\"", hint: "use ro or rw", parameter: "volumes")
                }
            }
        }
        self.init(source: parts[0], target: parts[1], readOnly: readOnly)
    }

    /// `SOURCE:TARGET` or `SOURCE:TARGET:ro`, as `init(parsing:)` reads it.
    public var description: String { source + ":" + target + (readOnly ? ":ro" : "") }

    /// Checks what can be checked without the container: both paths absolute, a target other
    /// than `/` and `/proc`, a source that exists.
    public func validate() throws(BerthError) {
        guard source.hasPrefix("/") else {
            throw .invalid("volume source \"\(source)\" is not an absolute path", hint: "give the host directory's absolute path (named volumes are not supported)",
                           parameter: "volumes")
        }
        try ContainerSpec.validateAbsolute(target, what: "volume target", parameter: "volumes")
        guard target.utf8.contains(where: { $0 != UInt8(ascii: "/") }) else {
            throw .invalid("volume \(self): the target cannot be \"/\"", hint: "mount it on a directory below /", parameter: "volumes")
        }
        // The container's procfs itself: runc refuses a bind there too. Covered, /proc/self/fd
        // (through which the spawn reaches each attached volume) would be the host
        // directory's, and the container would have no procfs. Paths below /proc (lxcfs's
        // /proc/meminfo) stay allowed.
        guard target.split(separator: "/").filter({ $0 != "." }) != ["proc"] else {
            throw .invalid("volume \(self): the target cannot be /proc, the container's procfs",
                           hint: "mount it elsewhere, such as /host/proc, or on a file below /proc", parameter: "volumes")
        }
        guard !source.utf8.contains(0) else { throw .invalid("volume source \"\(source)\" contains a NUL byte", parameter: "volumes") }
        var st = stat()
        guard stat(source, &st) == 0 else {
            let error = Errno(errno)
            if error.code == ENOENT || error.code == ENOTDIR {
                throw BerthError(.notFound, "volume source \(source) does not exist", hint: "create it first, or give an existing path",
                                 object: .file(source), parameter: "volumes", cause: error)
            }
            throw BerthError.system("inspect volume source \(source)", error).with(object: .file(source), parameter: "volumes")
        }
    }

    /// Two volumes on the same target: Docker's "Duplicate mount point".
    static func validate(_ mounts: [BindMount]) throws(BerthError) {
        var targets = Set<String>()
        for mount in mounts {
            try mount.validate()
            let target = normalized(mount.target)
            guard targets.insert(target).inserted else {
                throw .invalid("duplicate mount point \(target)", hint: "give each volume its own target", parameter: "volumes")
            }
        }
    }

    /// The order the mounts are attached in: by the number of components of the target, fewest
    /// first, as Docker's `sortMounts` — a parent (`/mnt`) before what goes under it
    /// (`/mnt/x`), which it would otherwise hide —; equal depths keep the order given.
    static func inMountOrder(_ mounts: [BindMount]) -> [BindMount] {
        mounts.enumerated()
            .map { (depth: $0.element.target.split(separator: "/").count, index: $0.offset, mount: $0.element) }
            .sorted { ($0.depth, $0.index) < ($1.depth, $1.index) }
            .map(\.mount)
    }

    /// `/a//b/` as `/a/b`.
    static func normalized(_ path: String) -> String {
        "/" + path.split(separator: "/").joined(separator: "/")
    }
}
