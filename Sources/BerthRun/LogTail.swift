/// The last lines of a container's log, as `docker logs --tail N` shows them: the log's
/// chunks cut into lines per stream (stdout and stderr interleave, so each keeps its own
/// unfinished line), the last `limit` kept in the order they were completed; what a stream
/// left unfinished at the end counts as a line of its own.
struct LogTail {
    /// How many lines to keep.
    let limit: Int
    private var lines: [(ContainerLog.Stream, [UInt8])] = []
    private var unfinished: [ContainerLog.Stream: [UInt8]] = [:]

    init(limit: Int) { self.limit = max(0, limit) }

    /// Adds a chunk of `stream`.
    mutating func add(_ stream: ContainerLog.Stream, _ bytes: ArraySlice<UInt8>) {
        var rest = bytes
        while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            var line = unfinished.removeValue(forKey: stream) ?? []
            line += rest[...newline]
            keep((stream, line))
            rest = rest[rest.index(after: newline)...]
        }
        if !rest.isEmpty { unfinished[stream, default: []] += rest }
    }

    /// The lines kept, unfinished ones last (stdout's, then stderr's), at most `limit`.
    func finish() -> [(ContainerLog.Stream, [UInt8])] {
        var all = lines
        for stream in [ContainerLog.Stream.stdout, .stderr] {
            if let line = unfinished[stream] { all.append((stream, line)) }
        }
        return Array(all.suffix(limit))
    }

    private mutating func keep(_ line: (ContainerLog.Stream, [UInt8])) {
        guard limit > 0 else { return }
        lines.append(line)
        // Trimmed now and then, not at every line: memory stays within twice the limit.
        if lines.count >= 2 * limit + 64 { lines.removeFirst(lines.count - limit) }
    }
}
