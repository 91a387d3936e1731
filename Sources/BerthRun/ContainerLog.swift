#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
/// read(2) under a name no member here shadows, from Glibc or Musl alike.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
import BerthCore
import BerthNamespace

/// A container's output as its supervisor saw it: stdout and stderr (or its terminal), in
/// the order they came, kept in the state directory until the container is removed.
///
/// Layout: `STATE/containers/ID/container.log`, and `container.log.1` once it rotated.
/// Bounded: when the current file would pass `maximumFileSize`, it becomes
/// `container.log.1` (replacing the previous one) and a new file starts, so a container's log
/// never takes more than twice that (20 MiB). Older output is gone, as with Docker's
/// `max-size`/`max-file` options.
///
/// Each chunk is framed after Docker's multiplexed attach stream: one byte for the stream,
/// three zero bytes, the length of the bytes as a 32-bit big-endian number, then — in a timed
/// frame — when the supervisor read the chunk, as nanoseconds since the Unix epoch
/// (CLOCK_REALTIME) in a 64-bit big-endian two's-complement number, then the bytes. The
/// stream byte says which: 1 stdout, 2 stderr (Docker's, untimed: what Berth wrote before
/// it kept times, still read), 0x11 stdout and 0x12 stderr timed (what it writes now). A
/// chunk never spans two files.
public enum ContainerLog {
    /// Which of the command's outputs a chunk came from.
    public enum Stream: UInt8, Sendable, Hashable {
        /// The command's standard output (stream byte 1).
        case stdout = 1
        /// The command's standard error (stream byte 2).
        case stderr = 2
    }

    /// The size at which a log file rotates.
    public static let maximumFileSize = 10 << 20
    /// The largest chunk: what one read of a pipe or terminal gives.
    static let maximumChunk = 64 << 10

    static let fileName = "container.log"
    static let rotatedName = "container.log.1"

    /// `STATE/containers/ID`.
    static func directory(state: String, id: String) -> String { state + "/containers/" + id }

    /// Removes a container's log (both files and its directory); idempotent.
    static func remove(state: String, id: String) {
        let dir = directory(state: state, id: id)
        unlink(dir + "/" + fileName)
        unlink(dir + "/" + rotatedName)
        ContainerFiles.remove(directory: dir)
        rmdir(dir)
    }

    /// The ids that have a log directory, for garbage collection.
    static func ids(state: String) -> [String] {
        guard let dir = opendir(state + "/containers") else { return [] }
        defer { closedir(dir) }
        var ids: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.utf8.count == 64, name.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) { ids.append(name) }
        }
        return ids
    }

    /// The stream byte's flag for a timed frame.
    static let timedFlag: UInt8 = 0x10

    /// Frames one chunk, with the time it was read (nil: an untimed frame, as Berth wrote
    /// before it kept times).
    static func frame(_ stream: Stream, _ bytes: ArraySlice<UInt8>, time: WallTime?) -> [UInt8] {
        let count = UInt32(bytes.count)
        var record: [UInt8] = []
        record.reserveCapacity(16 + bytes.count)
        record += [stream.rawValue | (time == nil ? 0 : timedFlag), 0, 0, 0,
                   UInt8(count >> 24), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)]
        if let time {
            let bits = UInt64(bitPattern: time.nanoseconds)
            for shift in stride(from: 56, through: 0, by: -8) { record.append(UInt8(bits >> UInt64(shift) & 0xff)) }
        }
        record += bytes
        return record
    }

    /// Splits framed bytes into chunks, each with its time (nil in an untimed frame); the
    /// bytes of an incomplete last frame are left in `buffer`. A frame that cannot be one (an
    /// unknown stream byte, a length over the chunk size) ends the parse: the rest of the file
    /// is not Berth's writing.
    static func unframe(_ buffer: inout [UInt8], _ body: (Stream, WallTime?, ArraySlice<UInt8>) -> Void) -> Bool {
        var offset = 0
        defer { buffer.removeFirst(offset) }
        while buffer.count - offset >= 8 {
            let code = buffer[offset]
            guard let stream = Stream(rawValue: code & ~timedFlag), buffer[offset + 1] == 0, buffer[offset + 2] == 0, buffer[offset + 3] == 0 else {
                return false
            }
            let header = code & timedFlag != 0 ? 16 : 8
            let count = Int(buffer[offset + 4]) << 24 | Int(buffer[offset + 5]) << 16 | Int(buffer[offset + 6]) << 8 | Int(buffer[offset + 7])
            guard count <= maximumChunk else { return false }
            guard buffer.count - offset - header >= count else { break }
            var time: WallTime?
            if header == 16 {
                var bits: UInt64 = 0
                for index in (offset + 8)..<(offset + 16) { bits = bits << 8 | UInt64(buffer[index]) }
                time = WallTime(nanoseconds: Int64(bitPattern: bits))
            }
            body(stream, time, buffer[(offset + header)..<(offset + header + count)])
            offset += header + count
        }
        return true
    }
}

extension ContainerLog {
    /// How many bytes from the start of the log open as `fd` (`size` bytes long) are whole
    /// frames: where the first torn or foreign frame begins, else `size`. Reads only the
    /// headers (one `pread` a frame: some 160 for a full 10 MiB file of 64 KiB chunks).
    static func wholeFrames(_ fd: Int32, size: Int) -> Int {
        var offset = 0
        var header = [UInt8](repeating: 0, count: 8)
        while size - offset >= 8 {
            guard pread(fd, &header, 8, off_t(offset)) == 8, Stream(rawValue: header[0] & ~timedFlag) != nil,
                  header[1] == 0, header[2] == 0, header[3] == 0 else { return offset }
            let length = header[0] & timedFlag != 0 ? 16 : 8
            let count = Int(header[4]) << 24 | Int(header[5]) << 16 | Int(header[6]) << 8 | Int(header[7])
            guard count <= maximumChunk, size - offset - length >= count else { return offset }
            offset += length + count
        }
        return offset
    }
}

/// Appends a container's output to its log, rotating it at `ContainerLog.maximumFileSize`.
/// Used by the supervisor only: one writer per container.
final class ContainerLogWriter {
    private let directory: String
    private let maximumSize: Int
    private var fd: Int32 = -1
    private var size = 0

    /// Opens (creating) the log of container `id` in `state` for appending.
    init(state: String, id: String, maximumSize: Int = ContainerLog.maximumFileSize) throws(BerthError) {
        directory = ContainerLog.directory(state: state, id: id)
        self.maximumSize = maximumSize
        for dir in [state + "/containers", directory] where mkdir(dir, 0o700) != 0 && errno != EEXIST {
            throw .system("create the log directory \(dir)", Errno(errno))
        }
        try openFile()
    }

    deinit { if fd >= 0 { close(fd) } }

    private func openFile() throws(BerthError) {
        let path = directory + "/" + ContainerLog.fileName
        // Read too: an existing log is checked before anything is appended to it.
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .system("open the container log \(path)", Errno(errno)) }
        var st = stat()
        size = fstat(fd, &st) == 0 ? Int(st.st_size) : 0
        // A supervisor killed mid-write (SIGKILL, the OOM killer: a write to a file stops
        // between pages) or a power loss can leave half a frame at the end, and a frame
        // appended after it would be read as its rest: the log would read as damaged until it
        // rotated. What is not whole frames is cut off first, as a failed write's half frame is.
        if size > 0 {
            let whole = ContainerLog.wholeFrames(fd, size: size)
            if whole < size, ftruncate(fd, off_t(whole)) == 0 { size = whole }
        }
        self.fd = fd
    }

    /// Appends one chunk (at most `ContainerLog.maximumChunk` bytes). A failed write is
    /// dropped: the container must not stop because its log cannot be written. What a failed
    /// or short write left of its frame is cut off again, so the log stays whole frames; a
    /// file that could not be opened (at a rotation) is tried again at the next write.
    /// `time`: when the chunk was read; now unless given (a test writes old, untimed frames with nil).
    func write(_ stream: ContainerLog.Stream, _ bytes: ArraySlice<UInt8>, time: WallTime? = .now) {
        guard !bytes.isEmpty else { return }
        let record = ContainerLog.frame(stream, bytes, time: time)
        if fd < 0 { try? openFile() }
        guard fd >= 0 else { return }
        if size > 0, size + record.count > maximumSize {
            rotate()
            guard fd >= 0 else { return }
        }
        if FileIO.writeAll(fd, record) {
            size += record.count
        } else if ftruncate(fd, off_t(size)) != 0 {
            // The half frame stays: the file goes aside (a reader takes the rotated file as
            // far as it reads) and a new one starts.
            rotate()
        }
    }

    /// The current file becomes the rotated one (replacing it); a new one starts, or, if it
    /// cannot be opened, at the next write.
    private func rotate() {
        close(fd)
        fd = -1
        rename(directory + "/" + ContainerLog.fileName, directory + "/" + ContainerLog.rotatedName)
        try? openFile()
    }
}

extension ContainerLog {
    /// Reads the log of container `id` from its start (the rotated file, then the current
    /// one), handing each chunk to `output`. With `follow`, keeps reading what the supervisor
    /// appends, across rotations, for as long as `follow()` says the container runs: once it
    /// says no, what is left is read and the call returns. With `tail`, only the last `tail`
    /// lines of what the log holds when the call starts are handed on (`LogLines`: a pass
    /// that counts them, then one that hands on the last), then what follows.
    ///
    /// With a `filter` that selects by time or prints it, the output is lines (`LogLines`),
    /// each handed on whole once it ends (or the log does), also while following; without
    /// one, chunks are handed on as they were read. A line after `filter.until` ends the
    /// call, and so, while following, does that moment.
    static func read(state: String, id: String, follow: (() -> Bool)?, tail: Int? = nil, filter: LogFilter = LogFilter(),
                     output: (Stream, ArraySlice<UInt8>) -> Void) throws(BerthError) {
        let dir = directory(state: state, id: id)
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var lines: LogLines? = filter.cutsLines ? LogLines(first: 0, filter: filter) : nil
        func hand(_ stream: Stream, _ time: WallTime?, _ bytes: ArraySlice<UInt8>) {
            if lines != nil { lines?.add(stream, time, bytes, to: output) } else { output(stream, bytes) }
        }
        var ended: Bool { lines?.ended ?? false }
        /// Ends the tail's pass once what the log held at the start is read: its unfinished
        /// lines are handed on, and what follows goes on as it comes.
        func endTail() {
            lines?.finish(to: output)
            lines = nil
        }
        defer { endTail() }
        /// Reads `fd` to its current end (or until a line after `filter.until`); false when
        /// the bytes are not a log.
        func drain(_ fd: Int32) -> Bool {
            while !ended {
                let n = systemRead(fd, &chunk, chunk.count)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return true }
                buffer += chunk[..<n]
                if !unframe(&buffer, hand) { return false }
            }
            return true
        }
        let current = dir + "/" + fileName
        // The current file first, then the rotated one: if the current one is still the file
        // opened, the rotated one is the file before it. A rotation in between would have
        // made the file opened first the rotated one, and the file before it lost: try again.
        var fd: Int32 = -1
        var rotated: Int32 = -1
        for attempt in 1...10 {
            fd = open(current, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            rotated = open(dir + "/" + rotatedName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            if attempt == 10 || identity(current) == (fd >= 0 ? identity(fd) : nil) { break }
            for opened in [fd, rotated] where opened >= 0 { close(opened) }
        }
        defer { if fd >= 0 { close(fd) } }
        if let tail {
            // The counting pass, then back to the start of both files for the one that hands on.
            lines = LogLines(first: nil)
            for opened in [rotated, fd] where opened >= 0 {
                _ = drain(opened)
                buffer = []
                lseek(opened, 0, SEEK_SET)
            }
            lines?.finish(to: output)
            lines = LogLines(first: max(0, (lines?.count ?? 0) - max(0, tail)), filter: filter)
        }
        if rotated >= 0 {
            _ = drain(rotated)
            close(rotated)
            buffer = []
        }
        while true {
            if fd >= 0, !drain(fd) {
                throw BerthError(.state, "the log of container \(id) is damaged", hint: "remove the container to start a new log", object: .file(current))
            }
            guard let follow, !ended else { return }
            // Lines to cut stay lines while following; plain output goes on chunk by chunk.
            if !filter.cutsLines { endTail() }
            // Asked before looking for a rotation: output written before the container ended is
            // read, whichever file it went to. Past `until`, following ends as if it had.
            let running = follow() && !(filter.until.map { WallTime.now > $0 } ?? false)
            // Rotated since it was opened: the old file is complete now; what was appended to it
            // since the last read is read, then the new one.
            if let now = identity(current), fd < 0 || identity(fd) != now {
                if fd >= 0 {
                    _ = drain(fd)
                    close(fd)
                }
                fd = open(current, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                buffer = []
                continue
            }
            guard running else {
                if fd >= 0 { _ = drain(fd) }
                return
            }
            Sleep.for(.milliseconds(100))
        }
    }

    private static func identity(_ path: String) -> [UInt64]? {
        var st = stat()
        return stat(path, &st) == 0 ? [UInt64(st.st_dev), UInt64(st.st_ino)] : nil
    }

    private static func identity(_ fd: Int32) -> [UInt64]? {
        var st = stat()
        return fstat(fd, &st) == 0 ? [UInt64(st.st_dev), UInt64(st.st_ino)] : nil
    }
}
