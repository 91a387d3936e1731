#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation

/// What a test of the deferred WAL checkpoint (`PROGRAM _checkpoint DIR`, started by the
/// CLI's attach and detach, berth-cni and berth-oci-hook) looks at from outside.
public enum DeferredCheckpoints {
    /// The frames in the WAL file at `path` (4 KiB pages): 0 when it is empty or missing.
    public static func frames(ofWALAt path: String) -> Int {
        var info = stat()
        guard stat(path, &info) == 0, info.st_size >= 32 else { return 0 }
        return (Int(info.st_size) - 32) / (24 + 4096)
    }

    /// What a command run with `BERTH_TRACE=1` decided about a due checkpoint, from its trace
    /// lines on stderr (`CheckpointLauncher.startIfDue`).
    public enum Decision: Equatable, Sendable {
        /// It started the checkpoint's process; the WAL held `frames`.
        case started(frames: Int)
        /// A start path left it to the next command; the WAL held `frames`.
        case left(frames: Int)
    }

    /// The decision in `stderr`'s trace lines; nil when the command had no checkpoint due.
    public static func decision(inTrace stderr: String) -> Decision? {
        for line in stderr.split(separator: "\n") {
            guard let open = line.lastIndex(of: "("), line.hasSuffix(" frames)"),
                  let frames = Int(line[line.index(after: open)...].dropLast(" frames)".count)) else { continue }
            if line.contains("checkpoint started: pid ") { return .started(frames: frames) }
            if line.contains("checkpoint due, left to the next command") { return .left(frames: frames) }
        }
        return nil
    }

    /// Whether `decision` is one a container's start path may make with a limit of `limit`
    /// frames (`CheckpointLauncher.startPathFrames`): leave a due checkpoint between the
    /// threshold (64 frames) and the limit, start it at the limit or more. No decision (none
    /// was due) is one too.
    public static func isStartPathDecision(_ decision: Decision?, limit: Int) -> Bool {
        switch decision {
        case .left(let frames)?: frames >= 64 && frames < limit
        case .started(let frames)?: frames >= limit
        case nil: true
        }
    }

    /// The processes running a checkpoint of the state directory `directory`: those whose
    /// arguments after the program are exactly `_checkpoint DIR`.
    public static func processes(directory: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), let bytes = read("/proc/\(entry)/cmdline") else { return nil }
            let words = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            return words.count >= 3 && words[1] == "_checkpoint" && words[2] == directory ? pid : nil
        }
    }

    /// A /proc file's bytes (their size reads as 0, so they are read to the end).
    private static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes += buffer[..<count]
        }
        return bytes
    }
}
