#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CBerthDNS

/// Keeps the long-running resolver's resident set to what it uses.
///
/// Two things inflate it after start-up and after every reload, neither of which the
/// serving loop needs: heap chunks freed after a table is built (glibc keeps them), and the
/// executable's code and read-only data that start-up touched — argument and table parsing,
/// and the Swift runtime's one-time scan of every protocol conformance record in the binary
/// when it first builds a generic type such as `Dictionary<String, …>`. Those are clean
/// pages of the executable file: the kernel would drop them under memory pressure anyway;
/// asking it to do so now (MADV_PAGEOUT, Linux 5.4+) leaves resident what the loop touches
/// again, which comes back as minor faults from the page cache.
enum ResidentMemory {
    /// Trims, and returns the resident set size in KiB before and after.
    @discardableResult
    static func trim() -> (before: Int, after: Int) {
        let before = residentKiB()
        malloc_trim(0)
        pageOutExecutable()
        return (before, residentKiB())
    }

    /// The resident set size in KiB (/proc/self/statm: size, resident, … in pages).
    static func residentKiB() -> Int {
        guard let statm = try? FileBytes.read(path: "/proc/self/statm", limit: 4096) else { return 0 }
        let fields = statm.split(separator: UInt8(ascii: " "))
        guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
    }

    /// MADV_PAGEOUT on the executable's read-only mappings (code, read-only data).
    private static func pageOutExecutable() {
        var pathBuffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &pathBuffer, pathBuffer.count - 1)
        guard length > 0 else { return }
        let executable = Array(pathBuffer[..<length].map { UInt8(bitPattern: $0) })
        guard let maps = try? FileBytes.read(path: "/proc/self/maps", limit: 1 << 20) else { return }
        // Lines: "start-end perms offset dev inode   path".
        for line in maps.split(separator: UInt8(ascii: "\n")) {
            // (A path with spaces does not match below and is left alone.)
            let fields = line.split(separator: UInt8(ascii: " "))
            guard fields.count == 6, fields[1].first == UInt8(ascii: "r"), fields[1].dropFirst().first == UInt8(ascii: "-"),
                  fields[5].elementsEqual(executable) else { continue }
            let range = fields[0].split(separator: UInt8(ascii: "-"))
            guard range.count == 2, let start = UInt(String(decoding: range[0], as: UTF8.self), radix: 16),
                  let end = UInt(String(decoding: range[1], as: UTF8.self), radix: 16), end > start,
                  let pointer = UnsafeMutableRawPointer(bitPattern: start) else { continue }
            _ = madvise(pointer, Int(end - start), MADV_PAGEOUT)
        }
    }
}
