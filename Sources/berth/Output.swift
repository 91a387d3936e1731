#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCommandLine

/// write(2) under a name no member here shadows, from Glibc or Musl alike.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }

/// Writing to the terminal: aligned columns like `ip -br` and JSON (errors and the exit are
/// BerthCommandLine's, shared with the lean binary).
extension Output {
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

    /// Writes bytes as they are to `fd` (1 or 2), whole; stops quietly if the reader is gone,
    /// and returns false then.
    @discardableResult
    static func write(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
        var rest = bytes
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return false }
            rest = rest.dropFirst(n)
        }
        return true
    }
}
