#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
/// write(2) under a name no member here shadows, from Glibc or Musl alike.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }

/// Writing to the terminal: aligned columns like `ip -br`, JSON, and errors on stderr.
enum Output {
    /// Prints rows under a header, each column as wide as its widest cell, two spaces apart.
    static func table(_ header: [String], _ rows: [[String]]) {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        for row in [header] + rows {
            var line = ""
            for (i, cell) in row.enumerated() {
                line += cell
                if i < row.count - 1 { line += String(repeating: " ", count: widths[i] - cell.count + 2) }
            }
            print(line)
        }
    }

    static func json(_ value: JSON) {
        print(value.render(pretty: true))
    }

    /// `berth: MESSAGE` on stderr.
    static func error(_ message: String) {
        // write(2) on fd 2: unbuffered, and no shared FILE* for strict concurrency to object to.
        let line = Array("berth: \(message)\n".utf8)
        _ = line.withUnsafeBytes { systemWrite(2, $0.baseAddress, $0.count) }
    }

    /// Writes bytes as they are to `fd` (1 or 2), whole; stops quietly if the reader is gone.
    static func write(_ fd: Int32, _ bytes: ArraySlice<UInt8>) {
        var rest = bytes
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return }
            rest = rest.dropFirst(n)
        }
    }

    /// Ends the process with `status`.
    static func terminate(status: Int32) -> Never {
        exit(status)
    }
}
