#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNamespace

/// Reads small configuration files without Foundation, refusing any larger than a bound.
enum FileBytes {
    static func read(path: String, limit: Int) throws(BerthError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BerthError.system("read \(path)", .current).with(object: .file(path)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = Glibc.read(fd, &chunk, chunk.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw BerthError.system("read \(path)", .current).with(object: .file(path))
            }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
            guard bytes.count <= limit else {
                throw BerthError(.invalidArgument, "\(path) is larger than \(limit) bytes", object: .file(path))
            }
        }
    }
}
