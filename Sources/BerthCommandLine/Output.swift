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

    /// `text` and a newline on stdout, with write(2). `print` builds an `[Any]` for its
    /// arguments — a generic metadata build at a process's first use, for the one line a
    /// hot command prints (docs/performance.md, perf8) — and goes through stdio's buffer.
    package static func line(_ text: String) {
        var line = text
        line.append("\n")
        line.withUTF8 { bytes in
            guard var next = bytes.baseAddress else { return }
            var left = bytes.count
            while left > 0 {
                let written = write(1, next, left)
                if written < 0, errno == EINTR { continue }
                // Like `print`, a stdout that refuses the line does not fail the command.
                guard written > 0 else { return }
                next += written
                left -= written
            }
        }
    }

    /// Ends the process with `status`.
    package static func terminate(status: Int32) -> Never {
        exit(status)
    }
}
