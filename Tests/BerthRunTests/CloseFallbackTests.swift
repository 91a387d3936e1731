#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CBerthShim
import Testing

/// The children's way of closing what they inherited where close_range is missing (before
/// Linux 5.9) or refused by a seccomp filter: this kernel never takes it by itself.
@Suite("closing descriptors without close_range")
struct CloseFallbackTests {
    @Test("the descriptors /proc/self/fd lists in the range are closed, those outside it stay")
    func listed() throws {
        // Six descriptors at numbers of their own, far above what the test process uses.
        let base: Int32 = 900
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        try #require(null >= 0)
        for offset in 0..<6 { #expect(fcntl(null, F_DUPFD_CLOEXEC, base + Int32(offset)) == base + Int32(offset)) }
        close(null)
        defer { for offset in 0..<6 { close(base + Int32(offset)) } }
        berth_close_listed_descriptors(UInt32(base + 1), UInt32(base + 3))
        let open = (0..<6).map { fcntl(base + Int32($0), F_GETFD) >= 0 }
        #expect(open == [true, false, false, false, true, true])
    }
}
