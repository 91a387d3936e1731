import BerthCore
@testable import BerthRun
import Foundation
import Testing

/// `docker logs --timestamps/--since/--until` over a container's log: lines timed by their
/// first chunk, selected by that time, and combined with `--tail` as Docker does.
@Suite("Log filter")
struct LogFilterTests {
    private let id = String(repeating: "d", count: 64)
    private let second: Int64 = 1_000_000_000

    /// The moment `seconds` after 2026-12-03T07:08:00Z.
    private func at(_ seconds: Int64, _ nanoseconds: Int64 = 0) -> WallTime { WallTime(seconds: 1_796_281_680 + seconds, nanoseconds: nanoseconds) }

    /// The lines `chunks` make under `filter` after a tail of `tail`, as "O text" or "E text".
    private func lines(_ chunks: [(ContainerLog.Stream, WallTime?, String)], tail: Int? = nil, _ filter: LogFilter) -> [String] {
        var first = 0
        if let tail {
            var counter = LogLines(first: nil)
            for (stream, time, text) in chunks { counter.add(stream, time, Array(text.utf8)[...]) { _, _ in Issue.record("the counting pass handed on") } }
            counter.finish { _, _ in Issue.record("the counting pass handed on") }
            first = max(0, counter.count - tail)
        }
        var lines = LogLines(first: first, filter: filter)
        var seen: [String] = []
        let output = { (stream: ContainerLog.Stream, bytes: ArraySlice<UInt8>) in
            seen.append((stream == .stderr ? "E " : "O ") + String(decoding: bytes, as: UTF8.self))
        }
        for (stream, time, text) in chunks { lines.add(stream, time, Array(text.utf8)[...], to: output) }
        lines.finish(to: output)
        return seen
    }

    @Test("a line longer than 16 KiB is handed on in 16 KiB pieces, as Docker's drivers cut it, and counted the same way by the tail's first pass: following output with no newline holds at most 16 KiB")
    func longLinesCut() {
        let chunk = Array(repeating: UInt8(ascii: "x"), count: 10_000)[...]
        var shown = LogLines(first: 0, filter: LogFilter(timestamps: true))
        var counter = LogLines(first: nil)
        var sizes: [Int] = []
        for _ in 0..<4 {
            shown.add(.stdout, at(1), chunk) { _, bytes in sizes.append(bytes.count) }
            counter.add(.stdout, at(1), chunk) { _, _ in }
        }
        // 40,000 bytes so far: two whole pieces out, 7,232 held. Each piece carries its time
        // (31 bytes: 30 of the time and a space).
        #expect(sizes == [31 + 16_384, 31 + 16_384])
        shown.add(.stdout, at(2), Array("yy\n".utf8)[...]) { _, bytes in sizes.append(bytes.count) }
        counter.add(.stdout, at(2), Array("yy\n".utf8)[...]) { _, _ in }
        #expect(sizes == [31 + 16_384, 31 + 16_384, 31 + 7_235])
        #expect(counter.count == 3 && shown.count == 3)
    }

    @Test("timestamps: each line begins with its first chunk's time, nine digits, UTC; a line without one with Go's zero time")
    func timestamps() {
        let chunks: [(ContainerLog.Stream, WallTime?, String)] = [
            (.stdout, nil, "old\n"), (.stdout, at(0, 120_000_000), "a1\npart"), (.stderr, at(1), "e1\n"), (.stdout, at(2), "ial\nlast"),
        ]
        #expect(lines(chunks, LogFilter(timestamps: true)) == [
            "O 0001-01-01T00:00:00.000000000Z old\n",
            "O 2026-12-03T07:08:00.120000000Z a1\n",
            "E 2026-12-03T07:08:01.000000000Z e1\n",
            "O 2026-12-03T07:08:00.120000000Z partial\n",
            "O 2026-12-03T07:08:02.000000000Z last",
        ])
        // Without timestamps, the same lines bare.
        #expect(lines(chunks, LogFilter(since: at(-100))) == ["O a1\n", "E e1\n", "O partial\n", "O last"])
    }

    @Test("since and until select by a line's time, both inclusive; a line without a time is before any since and after no until")
    func selection() {
        let chunks: [(ContainerLog.Stream, WallTime?, String)] = [
            (.stdout, nil, "old\n"), (.stdout, at(10), "ten\n"), (.stderr, at(20), "twenty\n"), (.stdout, at(30), "thirty\n"),
        ]
        #expect(lines(chunks, LogFilter(since: at(20))) == ["E twenty\n", "O thirty\n"])
        #expect(lines(chunks, LogFilter(since: at(20, 1))) == ["O thirty\n"])
        #expect(lines(chunks, LogFilter(until: at(20))) == ["O old\n", "O ten\n", "E twenty\n"])
        #expect(lines(chunks, LogFilter(since: at(10), until: at(20))) == ["O ten\n", "E twenty\n"])
        #expect(lines(chunks, LogFilter(since: at(40))).isEmpty)
        #expect(lines(chunks, LogFilter(until: at(-1))) == ["O old\n"])
        // A line that began before since is not shown though it ended after it; one begun in a later chunk is.
        #expect(lines([(.stdout, at(5), "be"), (.stdout, at(25), "gun\nafter\n")], LogFilter(since: at(20))) == ["O after\n"])
        #expect(lines([(.stdout, at(5), "be"), (.stdout, at(25), "gun\n"), (.stdout, at(26), "after\n")], LogFilter(since: at(20)))
            == ["O after\n"])
    }

    @Test("as Docker's forwarder: once a line met since, later ones are not checked; the first line after until ends the output")
    func clockSteps() {
        // The wall clock stepped back between lines.
        let chunks: [(ContainerLog.Stream, WallTime?, String)] = [
            (.stdout, at(10), "a\n"), (.stdout, at(30), "b\n"), (.stdout, at(15), "c\n"), (.stdout, at(40), "d\n"), (.stdout, at(5), "e\n"),
        ]
        #expect(lines(chunks, LogFilter(since: at(20))) == ["O b\n", "O c\n", "O d\n", "O e\n"])
        #expect(lines(chunks, LogFilter(until: at(20))) == ["O a\n"])
        var ended = LogLines(first: 0, filter: LogFilter(until: at(20)))
        ended.add(.stdout, at(30), Array("late\n".utf8)[...]) { _, _ in Issue.record("a line after until was handed on") }
        #expect(ended.ended)
    }

    @Test("tail first, then the filters, as Docker's json-file driver: the last N lines of the log, those of them selected")
    func tailThenFilter() {
        let chunks: [(ContainerLog.Stream, WallTime?, String)] = (0..<10).map { (.stdout, at(Int64($0) * 10), "line \($0)\n") }
        #expect(lines(chunks, tail: 3, LogFilter(since: at(50))) == ["O line 7\n", "O line 8\n", "O line 9\n"])
        #expect(lines(chunks, tail: 3, LogFilter(since: at(85))) == ["O line 9\n"])
        #expect(lines(chunks, tail: 3, LogFilter(until: at(50))).isEmpty)
        #expect(lines(chunks, tail: 20, LogFilter(since: at(30), until: at(50), timestamps: true)) == [
            "O 2026-12-03T07:08:30.000000000Z line 3\n", "O 2026-12-03T07:08:40.000000000Z line 4\n", "O 2026-12-03T07:08:50.000000000Z line 5\n",
        ])
    }

    private func withState(_ body: (String) throws -> Void) throws {
        let state = NSTemporaryDirectory() + "berth-logfilter-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: state) }
        try body(state)
    }

    @Test("read: old and timed frames over a rotation, filtered and stamped; tail with filters; follow keeps lines whole")
    func read() throws {
        try withState { state in
            let writer = try ContainerLogWriter(state: state, id: id, maximumSize: 100)
            writer.write(.stdout, Array("old line\n".utf8)[...], time: nil)
            for index in 0..<6 { writer.write(index % 2 == 0 ? .stdout : .stderr, Array("line \(index) of the log\n".utf8)[...], time: at(Int64(index))) }
            #expect(FileManager.default.fileExists(atPath: ContainerLog.directory(state: state, id: id) + "/container.log.1"))
            func read(tail: Int? = nil, _ filter: LogFilter) throws -> [String] {
                var seen: [String] = []
                try ContainerLog.read(state: state, id: id, follow: nil, tail: tail, filter: filter) { stream, bytes in
                    seen.append((stream == .stderr ? "E " : "O ") + String(decoding: bytes, as: UTF8.self))
                }
                return seen
            }
            // A 100-byte cap keeps two or three frames a file: what is left of the log is lines 2 to 5, the old line gone.
            #expect(try read(LogFilter(timestamps: true)) == (2..<6).map { "\($0 % 2 == 0 ? "O" : "E") 2026-12-03T07:08:0\($0).000000000Z line \($0) of the log\n" })
            #expect(try read(LogFilter(since: at(3), until: at(4))) == ["E line 3 of the log\n", "O line 4 of the log\n"])
            #expect(try read(tail: 2, LogFilter(until: at(4))) == ["O line 4 of the log\n"])

            // Follow: a line written in two chunks is handed on whole, with its first chunk's time.
            var seen: [String] = []
            var polls = 0
            try ContainerLog.read(state: state, id: id, follow: {
                polls += 1
                if polls == 1 { writer.write(.stdout, Array("fol".utf8)[...], time: at(10)) }
                if polls == 2 { writer.write(.stdout, Array("lowed\n".utf8)[...], time: at(11)) }
                return polls < 3
            }, filter: LogFilter(since: at(5), timestamps: true)) { _, bytes in seen.append(String(decoding: bytes, as: UTF8.self)) }
            #expect(seen == ["2026-12-03T07:08:05.000000000Z line 5 of the log\n", "2026-12-03T07:08:10.000000000Z followed\n"])
        }
    }

    @Test("follow with until: a line after it ends the read at once; so does the moment passing while the container runs")
    func followUntil() throws {
        try withState { state in
            let writer = try ContainerLogWriter(state: state, id: id)
            writer.write(.stdout, Array("before\n".utf8)[...])
            var seen: [String] = []
            var polls = 0
            try ContainerLog.read(state: state, id: id, follow: {
                polls += 1
                if polls == 2 { writer.write(.stdout, Array("after\n".utf8)[...], time: .now.adding(nanoseconds: 3600 * second)) }
                return true
            }, filter: LogFilter(until: .now.adding(nanoseconds: 60 * second))) { _, bytes in seen.append(String(decoding: bytes, as: UTF8.self)) }
            #expect(seen == ["before\n"] && polls == 2)

            // No more output, the container still running: the read ends once until passes.
            let quiet = String(repeating: "e", count: 64)
            try ContainerLogWriter(state: state, id: quiet).write(.stdout, Array("before\n".utf8)[...])
            let until = WallTime.now.adding(nanoseconds: 300_000_000)
            seen = []
            let started = MonotonicClock.now
            try ContainerLog.read(state: state, id: quiet, follow: { true }, filter: LogFilter(until: until)) { _, bytes in
                seen.append(String(decoding: bytes, as: UTF8.self))
            }
            #expect(seen == ["before\n"])
            #expect(WallTime.now > until && MonotonicClock.now - started < .seconds(5))
        }
    }
}
