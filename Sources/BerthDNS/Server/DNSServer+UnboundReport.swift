#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNamespace

extension DNSServer {
    /// Tells whoever checks the resolver (`berth check`) which listen addresses it could
    /// not bind: `configuration.unboundReportPath` holds one `ADDRESS NETWORK` line each,
    /// and does not exist when every address is bound. Written only when the set changes
    /// (and at start-up, which removes what an earlier resolver left), replaced by a rename
    /// so a reader never sees half of it; never through a symlink.
    func reportUnbound(_ addresses: [IPAddress]) {
        guard let path = configuration.unboundReportPath, addresses != reportedUnbound else { return }
        reportedUnbound = addresses
        guard !addresses.isEmpty else {
            if unlink(path) != 0, errno != ENOENT { DNSLog.write("cannot remove \(path): \(Errno.current)") }
            return
        }
        let text = addresses.map { address in
            "\(address) \(resolver.zone(listeningOn: address).map { resolver.networkName(ofZone: $0) } ?? "-")\n"
        }.joined()
        let temporary = path + ".new"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            DNSLog.write("cannot write \(temporary): \(Errno.current)")
            return
        }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            DNSLog.write("cannot write \(path): \(Errno.current)")
            unlink(temporary)
            return
        }
    }
}
