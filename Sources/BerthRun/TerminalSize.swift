#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A terminal's size in character cells, as `TIOCGWINSZ` reports it.
public struct TerminalSize: Sendable, Hashable, CustomStringConvertible {
    /// Height in character cells (`ws_row`).
    public var rows: UInt16
    /// Width in character cells (`ws_col`).
    public var columns: UInt16

    /// A size of `rows` by `columns` cells.
    public init(rows: UInt16, columns: UInt16) {
        self.rows = rows
        self.columns = columns
    }

    /// The size of the terminal open on `fd`, or nil when it is no terminal (or has no size).
    public static func of(_ fd: Int32) -> TerminalSize? {
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0, size.ws_col > 0 else { return nil }
        return TerminalSize(rows: size.ws_row, columns: size.ws_col)
    }

    /// Gives the terminal open on `fd` (a pseudo-terminal's master) this size; the kernel
    /// then sends SIGWINCH to its foreground process group.
    @discardableResult
    func apply(to fd: Int32) -> Bool {
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        return ioctl(fd, UInt(TIOCSWINSZ), &size) == 0
    }

    public var description: String { "\(columns)x\(rows)" }
}
