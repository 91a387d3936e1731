#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writing to the terminal. Errors and the exit are here, for both binaries; the full CLI
/// adds columns and JSON (Sources/berth/Output.swift).
package enum Output {
    /// `berth: MESSAGE` on stderr.
    package static func error(_ message: String) {
        // write(2) on fd 2: unbuffered, and no shared FILE* for strict concurrency to object to.
        let line = Array("berth: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    /// Ends the process with `status`.
    package static func terminate(status: Int32) -> Never {
        exit(status)
    }
}
