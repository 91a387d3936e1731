import BerthCore

/// Which lines of a container's log are shown, and how: `docker logs --since`, `--until` and
/// `--timestamps`.
///
/// A line's time is when the supervisor read its first chunk. A line from a frame without a
/// time (written by a Berth that kept none) is taken as at Go's zero time, as Docker takes a
/// log entry without one: before any `since` (so hidden), never after an `until` (so shown),
/// and printed as `0001-01-01T00:00:00.000000000Z`.
public struct LogFilter: Sendable, Hashable {
    /// Lines from this moment on (Docker's `--since`): the first line at or after it and every
    /// line after that one (Docker does not check again, as a clock stepped back would hide
    /// later lines).
    public var since: WallTime?
    /// Lines up to this moment (Docker's `--until`): the first line after it ends the output,
    /// and with follow, so does the moment itself.
    public var until: WallTime?
    /// Each line begins with its time and a space (Docker's `--timestamps`).
    public var timestamps: Bool

    public init(since: WallTime? = nil, until: WallTime? = nil, timestamps: Bool = false) {
        self.since = since
        self.until = until
        self.timestamps = timestamps
    }

    /// Whether the log must be cut into lines to be shown: a time to print or to select by.
    var cutsLines: Bool { timestamps || since != nil || until != nil }
}

/// A container's log cut into lines, for `docker logs --tail N` and `LogFilter`: each stream
/// keeps its own unfinished line (stdout and stderr interleave in the log), and lines are
/// numbered in the order they end; what a stream leaves unfinished at the end counts as one
/// more line.
///
/// The tail is read in two passes over the same files, so memory stays at one unfinished
/// line a stream whatever N is: one that only counts (`first` nil), then one that hands on
/// the lines numbered `first` and later that `filter` lets through. The tail is taken first,
/// then filtered, as Docker's json-file and local drivers do (`tailFiles` then the
/// forwarder's since/until checks): `--tail 5 --since 10m` is those of the last 5 lines that
/// are from the last ten minutes.
struct LogLines {
    /// The number of the first line handed on; nil: count only.
    let first: Int?
    let filter: LogFilter
    /// Lines ended so far (after `finish`, unfinished ones included).
    private(set) var count = 0
    /// Whether a line after `filter.until` came: nothing more is handed on.
    private(set) var ended = false
    /// Whether a line at or after `filter.since` came: later ones are not checked.
    private var sinceMet = false
    /// Each stream's unfinished line: its first chunk's time, its length and, when handing
    /// on, its bytes.
    private var unfinished: [ContainerLog.Stream: (time: WallTime?, bytes: [UInt8], length: Int)] = [:]

    /// `first`: see `first`; nil counts.
    init(first: Int?, filter: LogFilter = LogFilter()) {
        self.first = first
        self.filter = filter
    }

    /// The longest line kept whole: a longer one is handed on in pieces of this size, each a
    /// line of its own, as Docker's log drivers cut lines at 16 KiB. So memory stays bounded
    /// while following a command that never prints a newline (a progress bar, binary output).
    static let maximumLine = 16 << 10

    /// The lines of a chunk of `stream` read at `time`; those numbered `first` or later that
    /// the filter lets through go to `output`.
    mutating func add(_ stream: ContainerLog.Stream, _ time: WallTime?, _ bytes: ArraySlice<UInt8>,
                      to output: (ContainerLog.Stream, ArraySlice<UInt8>) -> Void) {
        var rest = bytes
        while !rest.isEmpty {
            let pending = unfinished[stream]
            let length = pending?.length ?? 0
            // Up to a newline, or to the length cap, whichever comes first.
            let room = Self.maximumLine - length
            let newline = rest.prefix(room).firstIndex(of: UInt8(ascii: "\n"))
            let end = newline.map { rest.index(after: $0) } ?? rest.index(rest.startIndex, offsetBy: min(room, rest.count))
            let piece = rest[..<end]
            rest = rest[end...]
            if newline != nil || length + piece.count == Self.maximumLine {
                unfinished[stream] = nil
                if let head = pending?.bytes, !head.isEmpty {
                    hand(stream, pending?.time ?? time, (head + piece)[...], to: output)
                } else {
                    hand(stream, pending?.time ?? time, piece, to: output)
                }
            } else {
                var entry = pending ?? (time, [], 0)
                // The counting pass keeps only the length: where the cap cuts.
                if first != nil { entry.bytes += piece }
                entry.length += piece.count
                unfinished[stream] = entry
            }
        }
    }

    /// Ends the pass: each stream's unfinished line (stdout's first) is a line of its own.
    mutating func finish(to output: (ContainerLog.Stream, ArraySlice<UInt8>) -> Void) {
        for stream in [ContainerLog.Stream.stdout, .stderr] {
            guard let line = unfinished.removeValue(forKey: stream) else { continue }
            hand(stream, line.time, line.bytes[...], to: output)
        }
    }

    /// Numbers one line and hands it on if it is to be shown.
    private mutating func hand(_ stream: ContainerLog.Stream, _ time: WallTime?, _ line: ArraySlice<UInt8>,
                               to output: (ContainerLog.Stream, ArraySlice<UInt8>) -> Void) {
        defer { count += 1 }
        guard let first, count >= first, !ended else { return }
        if let until = filter.until, let time, time > until {
            ended = true
            return
        }
        if let since = filter.since, !sinceMet {
            guard let time, time >= since else { return }
            sinceMet = true
        }
        guard filter.timestamps else { return output(stream, line) }
        var stamped = Array((time?.rfc3339 ?? WallTime.zeroRFC3339).utf8)
        stamped.reserveCapacity(stamped.count + 1 + line.count)
        stamped.append(UInt8(ascii: " "))
        stamped += line
        output(stream, stamped[...])
    }
}
