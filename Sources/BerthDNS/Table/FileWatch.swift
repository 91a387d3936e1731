#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Sees files rewritten: an inotify watch on each file's directory, for events that name the
/// file. Watching the directory rather than the file sees a file replaced by a rename (the
/// atomic way to rewrite one, and what resolvconf and NetworkManager do), which a watch on
/// the file's old inode would not. A file made anew is seen too (IN_CREATE): a symbolic
/// link made with symlink(2), as `ln -s` after an `rm` does, is never closed after writing.
final class FileWatch {
    /// The inotify descriptor, -1 when inotify is unavailable (the owner then relies on
    /// SIGHUP).
    let descriptor: Int32
    /// Per watch descriptor, the names of the files watched in its directory.
    private var names: [Int32: [[UInt8]]] = [:]

    /// Watches each of `paths` (duplicates and directories watched twice are fine).
    init(paths: [String]) {
        var fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        var names: [Int32: [[UInt8]]] = [:]
        for path in paths where fd >= 0 {
            let slash = path.lastIndex(of: "/")
            let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
            let name = Array((slash.map { String(path[path.index(after: $0)...]) } ?? path).utf8)
            let wd = inotify_add_watch(fd, directory, UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE))
            if wd < 0 {
                close(fd)
                fd = -1
                break
            }
            names[wd, default: []].append(name)
        }
        descriptor = fd
        self.names = names
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Reads every queued event; true when one named a watched file.
    func drain() -> Bool {
        guard descriptor >= 0 else { return false }
        var changed = false
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            guard count > 0 else { return changed }
            // struct inotify_event: wd, mask, cookie, len (4 bytes each, host order), then
            // len bytes of NUL-padded name.
            var offset = 0
            while offset + 16 <= count {
                let (wd, length) = buffer.withUnsafeBytes {
                    ($0.loadUnaligned(fromByteOffset: offset, as: Int32.self), Int($0.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)))
                }
                let nameStart = offset + 16
                let nameEnd = min(nameStart + length, count)
                let name = buffer[nameStart..<nameEnd].prefix { $0 != 0 }
                if names[wd]?.contains(where: { name.elementsEqual($0) }) == true { changed = true }
                offset = nameEnd
            }
        }
    }
}
