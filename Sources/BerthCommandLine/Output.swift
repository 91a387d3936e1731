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
                // Like `print`, a stdout that refuses the line (EPIPE: the reader went away)
                // does not fail the command.
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

    /// Makes a write to a reader that went away (a closed pipe: `berth attach … | true`, a
    /// runtime that closed its end) fail with EPIPE instead of killing the process with
    /// SIGPIPE: the command's own success decides its exit status, not whether anyone read
    /// its output (an attach that printed its id to no one still made the endpoint, and still
    /// starts its deferred checkpoint). Both `berth` and `berth-cli` call it first thing. Not
    /// inherited by what they start: a container's spawn resets every disposition,
    /// `DetachedSpawn` (berth-dns, checkpoints) resets SIGPIPE, and `resetBrokenPipe()` runs
    /// before an exec of `berth-cli` or `berth-lab`.
    package static func ignoreBrokenPipe() {
        _ = signal(SIGPIPE, SIG_IGN)
    }

    /// SIGPIPE back at its default, for a program this process is about to become.
    package static func resetBrokenPipe() {
        _ = signal(SIGPIPE, SIG_DFL)
    }
}
