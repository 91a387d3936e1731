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
/// Each chunk is framed as Docker's multiplexed attach stream is: one byte for the stream
/// (1 stdout, 2 stderr), three zero bytes, the length as a 32-bit big-endian number, then the
/// bytes; a chunk never spans two files.
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

    /// Frames one chunk.
    static func frame(_ stream: Stream, _ bytes: ArraySlice<UInt8>) -> [UInt8] {
        let count = UInt32(bytes.count)
        return [stream.rawValue, 0, 0, 0, UInt8(count >> 24), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)] + bytes
    }

    /// Splits framed bytes into chunks; the bytes of an incomplete last frame are left in
    /// `buffer`. A frame that cannot be one (an unknown stream, a length over the chunk size)
    /// ends the parse: the rest of the file is not Berth's writing.
    static func unframe(_ buffer: inout [UInt8], _ body: (Stream, ArraySlice<UInt8>) -> Void) -> Bool {
        var offset = 0
        defer { buffer.removeFirst(offset) }
        while buffer.count - offset >= 8 {
            guard let stream = Stream(rawValue: buffer[offset]), buffer[offset + 1] == 0, buffer[offset + 2] == 0, buffer[offset + 3] == 0 else {
                return false
            }
            let count = Int(buffer[offset + 4]) << 24 | Int(buffer[offset + 5]) << 16 | Int(buffer[offset + 6]) << 8 | Int(buffer[offset + 7])
            guard count <= maximumChunk else { return false }
            guard buffer.count - offset - 8 >= count else { break }
            body(stream, buffer[(offset + 8)..<(offset + 8 + count)])
            offset += 8 + count
        }
        return true
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
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .system("open the container log \(path)", Errno(errno)) }
        var st = stat()
        size = fstat(fd, &st) == 0 ? Int(st.st_size) : 0
        self.fd = fd
    }

    /// Appends one chunk (at most `ContainerLog.maximumChunk` bytes). A failed write is
    /// dropped: the container must not stop because its log cannot be written. What a failed
    /// or short write left of its frame is cut off again, so the log stays whole frames; a
    /// file that could not be opened (at a rotation) is tried again at the next write.
    func write(_ stream: ContainerLog.Stream, _ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        let record = ContainerLog.frame(stream, bytes)
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
    static func read(state: String, id: String, follow: (() -> Bool)?, tail: Int? = nil,
                     output: (Stream, ArraySlice<UInt8>) -> Void) throws(BerthError) {
        let dir = directory(state: state, id: id)
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var lines: LogLines?
        func hand(_ stream: Stream, _ bytes: ArraySlice<UInt8>) {
            if lines != nil { lines?.add(stream, bytes, to: output) } else { output(stream, bytes) }
        }
        /// Ends the tail's pass once what the log held at the start is read: its unfinished
        /// lines are handed on, and what follows goes on as it comes.
        func endTail() {
            lines?.finish(to: output)
            lines = nil
        }
        defer { endTail() }
        /// Reads `fd` to its current end; false when the bytes are not a log.
        func drain(_ fd: Int32) -> Bool {
            while true {
                let n = systemRead(fd, &chunk, chunk.count)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return true }
                buffer += chunk[..<n]
                if !unframe(&buffer, hand) { return false }
            }
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
            lines = LogLines(first: max(0, (lines?.count ?? 0) - max(0, tail)))
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
            guard let follow else { return }
            endTail()
            // Asked before looking for a rotation: output written before the container ended is
            // read, whichever file it went to.
            let running = follow()
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
