/// A container's log cut into lines, for `docker logs --tail N`: each stream keeps its own
/// unfinished line (stdout and stderr interleave in the log), and lines are numbered in the
/// order they end; what a stream leaves unfinished at the end counts as one more line.
///
/// The tail is read in two passes over the same files, so memory stays at one unfinished
/// line a stream whatever N is: one that only counts (`first` nil), then one that hands on
/// the lines numbered `first` and later.
struct LogLines {
    /// The number of the first line handed on; nil: count only.
    let first: Int?
    /// Lines ended so far (after `finish`, unfinished ones included).
    private(set) var count = 0
    /// Each stream's unfinished line: its bytes when handing on, empty when only counting.
    private var unfinished: [ContainerLog.Stream: [UInt8]] = [:]

    /// `first`: see `first`; nil counts.
    init(first: Int?) { self.first = first }

    /// The lines of a chunk of `stream`; those numbered `first` or later go to `output`.
    mutating func add(_ stream: ContainerLog.Stream, _ bytes: ArraySlice<UInt8>, to output: (ContainerLog.Stream, ArraySlice<UInt8>) -> Void) {
        var rest = bytes
        while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            let head = unfinished.removeValue(forKey: stream)
            if let first, count >= first {
                if let head, !head.isEmpty { output(stream, (head + rest[...newline])[...]) } else { output(stream, rest[...newline]) }
            }
            count += 1
            rest = rest[rest.index(after: newline)...]
        }
        guard !rest.isEmpty else { return }
        if first == nil { unfinished[stream] = unfinished[stream] ?? [] } else { unfinished[stream, default: []] += rest }
    }

    /// Ends the pass: each stream's unfinished line (stdout's first) is a line of its own.
    mutating func finish(to output: (ContainerLog.Stream, ArraySlice<UInt8>) -> Void) {
        for stream in [ContainerLog.Stream.stdout, .stderr] {
            guard let line = unfinished.removeValue(forKey: stream) else { continue }
            if let first, count >= first { output(stream, line[...]) }
            count += 1
        }
    }
}
