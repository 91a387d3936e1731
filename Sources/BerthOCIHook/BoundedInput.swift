#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
import BerthNamespace
import SystemPackage

/// Reads what another program hands Berth — a pipe or a file — never more than a limit, so
/// a runaway or hostile writer cannot make the hook allocate without bound.
public enum BoundedInput {
    /// Reads `descriptor` to its end. More than `limit` bytes is refused (after reading one
    /// byte past the limit, not the rest).
    public static func read(descriptor: Int32, limit: Int, what: String) throws(BerthError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try FileDescriptor(rawValue: descriptor).readToEnd(limit: limit + 1)
        } catch {
            throw BerthError(.system, "cannot read \(what)", object: .file(what), cause: error)
        }
        if bytes.count > limit {
            throw BerthError(.invalidArgument, "\(what) is larger than \(limit) bytes", object: .file(what))
        }
        return bytes
    }

    /// Reads a regular file of at most `limit` bytes.
    public static func readFile(_ path: String, limit: Int) throws(BerthError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            let object = BerthError.Object(.file, path)
            if code == ENOENT { throw BerthError(.notFound, "\(path) does not exist", object: object) }
            if code == EACCES { throw BerthError(.permissionDenied, "\(path) cannot be read: permission denied", object: object) }
            throw BerthError(.system, "cannot open \(path): \(String(cString: strerror(code)))", object: object)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw BerthError(.invalidArgument, "\(path) is not a regular file", object: BerthError.Object(.file, path))
        }
        return try read(descriptor: fd, limit: limit, what: path)
    }

    /// Whether the descriptor is a terminal: a person ran the hook by hand.
    public static func isTerminal(_ descriptor: Int32) -> Bool {
        isatty(descriptor) == 1
    }
}
