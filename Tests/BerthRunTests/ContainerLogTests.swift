import BerthCore
@testable import BerthRun
import BerthTestSupport
import Foundation
import Testing

/// A container's log: framed chunks in the state directory, bounded by rotation, read back
/// in order with the stream each chunk came from, followed while it grows.
@Suite("Container log")
struct ContainerLogTests {
    private let id = String(repeating: "c", count: 64)

    private func withState(_ body: (String) throws -> Void) throws {
        let state = NSTemporaryDirectory() + "berth-log-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: state) }
        try body(state)
    }

    private func read(_ state: String, id: String) throws -> [(ContainerLog.Stream, String)] {
        var chunks: [(ContainerLog.Stream, String)] = []
        try ContainerLog.read(state: state, id: id, follow: nil) { stream, bytes in chunks.append((stream, String(decoding: bytes, as: UTF8.self))) }
        return chunks
    }

    @Test("frames are Docker's multiplexed stream: stream byte, three zeros, big-endian length; a partial frame waits")
    func framing() throws {
        let frame = ContainerLog.frame(.stderr, Array("hi\n".utf8)[...], time: nil)
        #expect(frame == [2, 0, 0, 0, 0, 0, 0, 3, 0x68, 0x69, 0x0a])
        var buffer = frame + ContainerLog.frame(.stdout, Array("more".utf8)[...], time: nil).dropLast(2)
        var seen: [String] = []
        #expect(ContainerLog.unframe(&buffer) { _, _, bytes in seen.append(String(decoding: bytes, as: UTF8.self)) })
        #expect(seen == ["hi\n"] && buffer.count == 10)
        var garbage: [UInt8] = [9, 0, 0, 0, 0, 0, 0, 1, 0x41]
        #expect(!ContainerLog.unframe(&garbage) { _, _, _ in })
    }

    @Test("timed frames: stream byte 0x11 or 0x12, the length, then the time as big-endian nanoseconds; old and new frames read in one file")
    func timedFraming() throws {
        let time = WallTime(nanoseconds: 0x0102_0304_0506_0708)
        let timed = ContainerLog.frame(.stdout, Array("hi".utf8)[...], time: time)
        #expect(timed == [0x11, 0, 0, 0, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, 0x68, 0x69])
        #expect(ContainerLog.frame(.stderr, [0x41], time: WallTime(nanoseconds: -1))
            == [0x12, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x41])
        // An old frame, a timed one, an old one, a timed one before the epoch, and half a timed frame.
        let later = ContainerLog.frame(.stdout, Array("later".utf8)[...], time: time)
        var buffer = ContainerLog.frame(.stderr, Array("old\n".utf8)[...], time: nil) + timed
            + ContainerLog.frame(.stdout, Array("old2".utf8)[...], time: nil)
            + ContainerLog.frame(.stderr, [0x41], time: WallTime(nanoseconds: -1)) + later.prefix(12)
        var seen: [String] = []
        #expect(ContainerLog.unframe(&buffer) { stream, time, bytes in
            seen.append("\(stream) \(time?.nanoseconds.description ?? "-") \(String(decoding: bytes, as: UTF8.self))")
        })
        #expect(seen == ["stderr - old\n", "stdout 72623859790382856 hi", "stdout - old2", "stderr -1 A"])
        // The half frame waits for its rest, time included.
        #expect(buffer == Array(later.prefix(12)))
        buffer += later.dropFirst(12)
        seen = []
        #expect(ContainerLog.unframe(&buffer) { _, time, bytes in seen.append("\(time == WallTime(nanoseconds: 0x0102_0304_0506_0708)) \(String(decoding: bytes, as: UTF8.self))") })
        #expect(seen == ["true later"] && buffer.isEmpty)
        // Unknown stream bytes end the parse, timed or not: 0x10 (no stream), 0x13, 0x21, 0x91; so does a timed frame whose zeros are not.
        for code: UInt8 in [0, 3, 0x10, 0x13, 0x21, 0x91] {
            var unknown = ContainerLog.frame(.stdout, [0x41], time: nil) + [code, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x41]
            var count = 0
            #expect(!ContainerLog.unframe(&unknown) { _, _, _ in count += 1 }, "\(code)")
            #expect(count == 1)
        }
        var bad = [0x11, 0, 1, 0, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 9)
        #expect(!ContainerLog.unframe(&bad) { _, _, _ in })
        // A length over the chunk size is no frame of Berth's.
        var long: [UInt8] = [0x11, 0, 0, 0, 0, 1, 0, 1] + [UInt8](repeating: 0, count: 8)
        #expect(!ContainerLog.unframe(&long) { _, _, _ in })
    }

    @Test("the writer times each chunk with the wall clock; a log begun by an older berth reads on, old chunks without a time")
    func writerTimes() throws {
        try withState { state in
            let old = try ContainerLogWriter(state: state, id: id)
            old.write(.stdout, Array("before the upgrade\n".utf8)[...], time: nil)
            let before = WallTime.now
            let writer = try ContainerLogWriter(state: state, id: id)
            writer.write(.stderr, Array("after\n".utf8)[...])
            let after = WallTime.now
            var times: [WallTime?] = []
            var texts: [String] = []
            var buffer = Array(try Data(contentsOf: URL(fileURLWithPath: ContainerLog.directory(state: state, id: id) + "/container.log")))
            #expect(ContainerLog.unframe(&buffer) { _, time, bytes in
                times.append(time)
                texts.append(String(decoding: bytes, as: UTF8.self))
            })
            #expect(texts == ["before the upgrade\n", "after\n"])
            #expect(times.first == .some(nil))
            let written = try #require(times.last ?? nil)
            #expect(before <= written && written <= after)
        }
    }

    @Test("a torn frame at the end of a log (a supervisor killed mid-write) is cut off when the next supervisor opens it: the log reads whole, old chunks and new")
    func tornFrameCutAtOpen() throws {
        try withState { state in
            let first = try ContainerLogWriter(state: state, id: id)
            first.write(.stdout, Array("before\n".utf8)[...])
            first.write(.stderr, Array("also before\n".utf8)[...])
            let path = ContainerLog.directory(state: state, id: id) + "/container.log"
            // Half of a timed 64-byte chunk's frame: its header says more than follows.
            let torn = Array(ContainerLog.frame(.stdout, Array(repeating: 0x78, count: 64)[...], time: .now).prefix(30))
            let handle = try #require(FileHandle(forWritingAtPath: path))
            handle.seekToEndOfFile()
            handle.write(Data(torn))
            handle.closeFile()
            // Appended after a torn frame, a new chunk would be read as the torn one's rest.
            let second = try ContainerLogWriter(state: state, id: id)
            second.write(.stdout, Array("after\n".utf8)[...])
            let chunks = try read(state, id: id)
            #expect(chunks.map(\.1) == ["before\n", "also before\n", "after\n"], "\(chunks)")
            // Foreign bytes at the end go the same way; a log of whole frames is left as it is.
            let whole = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
            _ = try ContainerLogWriter(state: state, id: id)
            #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == whole)
        }
    }

    @Test("written chunks read back in order with their streams; the file and its directory are private")
    func roundTrip() throws {
        try withState { state in
            let writer = try ContainerLogWriter(state: state, id: id)
            writer.write(.stdout, Array("one\n".utf8)[...])
            writer.write(.stderr, Array("two\n".utf8)[...])
            writer.write(.stdout, [][...])
            writer.write(.stdout, Array("three".utf8)[...])
            let chunks = try read(state, id: id)
            #expect(chunks.map(\.1) == ["one\n", "two\n", "three"])
            #expect(chunks.map(\.0) == [.stdout, .stderr, .stdout])
            let attributes = try FileManager.default.attributesOfItem(atPath: ContainerLog.directory(state: state, id: id) + "/container.log")
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            #expect(ContainerLog.ids(state: state) == [id])
            ContainerLog.remove(state: state, id: id)
            #expect(ContainerLog.ids(state: state).isEmpty)
            #expect(try read(state, id: id).isEmpty)
        }
    }

    @Test("the log rotates at its cap: at most two files, the oldest output dropped, the rest read in order")
    func rotation() throws {
        try withState { state in
            let writer = try ContainerLogWriter(state: state, id: id, maximumSize: 100)
            // Each chunk is 16 + 30 bytes: two fit in a file, the third rotates it.
            for index in 0..<7 {
                writer.write(.stdout, Array(String(repeating: "\(index)", count: 29).utf8 + [0x0a])[...])
            }
            let directory = ContainerLog.directory(state: state, id: id)
            let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            #expect(files == ["container.log", "container.log.1"])
            for file in files {
                let size = try #require(try FileManager.default.attributesOfItem(atPath: directory + "/" + file)[.size] as? Int)
                #expect(size <= 100)
            }
            let lines = try read(state, id: id).map { $0.1.first.map(String.init) ?? "" }
            #expect(lines == ["4", "5", "6"])
        }
    }

    @Test("follow: chunks written later are read, across a rotation, until the writer says it stopped")
    func follow() throws {
        try withState { state in
            let writer = try ContainerLogWriter(state: state, id: id, maximumSize: 60)
            writer.write(.stdout, Array("first\n".utf8)[...])
            var seen: [String] = []
            var polls = 0
            try ContainerLog.read(state: state, id: id, follow: {
                // Each poll is the reader caught up: write the next chunk, as a container would.
                polls += 1
                if polls <= 4 {
                    writer.write(.stdout, Array("line \(polls) of the followed log\n".utf8)[...])
                    return true
                }
                return false
            }) { _, bytes in seen.append(String(decoding: bytes, as: UTF8.self)) }
            #expect(seen == ["first\n"] + (1...4).map { "line \($0) of the followed log\n" })
        }
    }

    @Test("tail: the last N lines over both files, each stream's lines whole though the chunks interleave; 0 shows none; follow then goes on")
    func tail() throws {
        try withState { state in
            let writer = try ContainerLogWriter(state: state, id: id, maximumSize: 100)
            writer.write(.stdout, Array("a1\na2\na".utf8)[...])
            writer.write(.stderr, Array("e1\n".utf8)[...])
            writer.write(.stdout, Array("3\na4\n".utf8)[...])
            for index in 0..<3 { writer.write(.stdout, Array("r\(index) \(String(repeating: "x", count: 40))\n".utf8)[...]) }
            writer.write(.stderr, Array("e2 unfinished".utf8)[...])
            let directory = ContainerLog.directory(state: state, id: id)
            #expect(FileManager.default.fileExists(atPath: directory + "/container.log.1"))
            func tail(_ count: Int) throws -> [String] {
                var seen: [String] = []
                try ContainerLog.read(state: state, id: id, follow: nil, tail: count) { stream, bytes in
                    seen.append("\(stream == .stderr ? "E" : "O") " + String(decoding: bytes, as: UTF8.self))
                }
                return seen
            }
            let long = String(repeating: "x", count: 40)
            #expect(try tail(3) == ["O r1 \(long)\n", "O r2 \(long)\n", "E e2 unfinished"])
            #expect(try tail(0).isEmpty)
            // What the rotations dropped (a 100-byte cap keeps one long line a file) is gone from the tail too.
            let all = try tail(100)
            #expect(all == ["O r1 \(long)\n", "O r2 \(long)\n", "E e2 unfinished"], "\(all)")

            // With follow: the last line so far, then what comes.
            var seen: [String] = []
            var polls = 0
            try ContainerLog.read(state: state, id: id, follow: {
                polls += 1
                if polls == 1 { writer.write(.stdout, Array("next\n".utf8)[...]); return true }
                return false
            }, tail: 1) { _, bytes in seen.append(String(decoding: bytes, as: UTF8.self)) }
            #expect(seen == ["e2 unfinished", "next\n"])
        }
    }

    @Test("tail: each stream's lines whole though their chunks interleave, numbered as they end; memory is one unfinished line a stream, whatever N")
    func tailLines() {
        func tail(_ count: Int, _ chunks: [(ContainerLog.Stream, String)]) -> [String] {
            var counter = LogLines(first: nil)
            for (stream, text) in chunks { counter.add(stream, nil, Array(text.utf8)[...]) { _, _ in Issue.record("the counting pass handed on") } }
            counter.finish { _, _ in Issue.record("the counting pass handed on") }
            var lines = LogLines(first: max(0, counter.count - count))
            var seen: [String] = []
            let output = { (stream: ContainerLog.Stream, bytes: ArraySlice<UInt8>) in
                seen.append((stream == .stderr ? "E " : "O ") + String(decoding: bytes, as: UTF8.self))
            }
            for (stream, text) in chunks { lines.add(stream, nil, Array(text.utf8)[...], to: output) }
            lines.finish(to: output)
            return seen
        }
        let chunks: [(ContainerLog.Stream, String)] = [(.stdout, "a"), (.stderr, "e1\ne2\n"), (.stdout, "b\nc\n"), (.stderr, "e3")]
        #expect(tail(3, chunks) == ["O ab\n", "O c\n", "E e3"])
        #expect(tail(4, chunks) == ["E e2\n", "O ab\n", "O c\n", "E e3"])
        #expect(tail(0, chunks).isEmpty)
        #expect(tail(.max, chunks) == ["E e1\n", "E e2\n", "O ab\n", "O c\n", "E e3"])
        let many = (0..<500).map { (ContainerLog.Stream.stdout, "\($0)\n") }
        #expect(tail(2, many) == ["O 498\n", "O 499\n"])
    }

    /// One chunk of 30 bytes (38 framed), `mark` repeated.
    private func line(_ mark: Character) -> ArraySlice<UInt8> { Array((String(repeating: mark, count: 29) + "\n").utf8)[...] }

    @Test("a log file that cannot be opened at a rotation is opened again at the next write, not given up for good")
    func reopenAfterFailedRotation() throws {
        try withState { state in
            let writer = try ContainerLogWriter(state: state, id: id, maximumSize: 100)
            let directory = ContainerLog.directory(state: state, id: id)
            writer.write(.stdout, line("a"))
            try FileManager.default.removeItem(atPath: directory)
            // Into the removed file; then a rotation with no directory to open a new file in.
            writer.write(.stdout, line("b"))
            writer.write(.stdout, line("c"))
            writer.write(.stdout, line("d"))
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            writer.write(.stdout, line("e"))
            #expect(try read(state, id: id).map(\.1) == [String(decoding: line("e"), as: UTF8.self)])
        }
    }

    @Test("a write the disk has no room for leaves no half frame behind: what is written once there is room reads back",
          .enabled(if: try KernelTests.enabled && Self.ownMountNamespace))
    func diskFull() throws {
        try withState { state in
            // Four pages: two for a filler, two for the log.
            let mounted = "size=16k,mode=0700".withCString { mount("berth-log-test", state, "tmpfs", 0, $0) }
            try #require(mounted == 0, "mount a tmpfs: errno \(errno)")
            defer { umount2(state, Int32(MNT_DETACH)) }
            let filler = state + "/filler"
            try #require(FileManager.default.createFile(atPath: filler, contents: Data(count: 8192)))
            let writer = try ContainerLogWriter(state: state, id: id)
            // 3016 bytes each: two fit, the third is cut short, the fourth finds no room.
            for mark in ["1", "2", "3", "4"] {
                writer.write(.stdout, Array(String(repeating: mark, count: 3000).utf8)[...])
            }
            #expect(unlink(filler) == 0)
            writer.write(.stderr, Array("after\n".utf8)[...])
            let chunks = try read(state, id: id)
            #expect(chunks.map { $0.1.first.map(String.init) ?? "" } == ["1", "2", "a"], "\(chunks.map { ($0.0, $0.1.prefix(8)) })")
            #expect(chunks.last?.0 == .stderr)
        }
    }

    /// Whether this process runs in the tests' fence (scripts/lib.sh `berth_fenced`), a mount
    /// namespace of its own: a tmpfs mounted here is seen by no one else and goes with it.
    /// Told by the fence's own tmpfs mounts in /proc/self/mountinfo — comparing namespace
    /// links with PID 1's does not work where PID 1 is beyond the ptrace access check, which
    /// refuses even root the link.
    static var ownMountNamespace: Bool {
        guard let mounts = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return false }
        return mounts.split(separator: "\n").contains { $0.contains(" - tmpfs berth-fence ") }
    }

    @Test("follow: a chunk written to the file just before it rotates is read before the reader moves on to the new one")
    func followAcrossRotation() throws {
        try withState { state in
            let writer = try ContainerLogWriter(state: state, id: id, maximumSize: 100)
            writer.write(.stdout, line("a"))
            var seen: [String] = []
            var polls = 0
            try ContainerLog.read(state: state, id: id, follow: {
                polls += 1
                // The first poll: b into the current file, then c rotates it. Written while the
                // reader has read a and not yet looked for a rotation.
                if polls == 1 {
                    writer.write(.stdout, line("b"))
                    writer.write(.stdout, line("c"))
                    return true
                }
                return polls < 3
            }) { _, bytes in seen.append(String(decoding: bytes, as: UTF8.self)) }
            #expect(seen.map { $0.first.map(String.init) ?? "" } == ["a", "b", "c"])
        }
    }
}
