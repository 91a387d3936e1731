import BerthRun
import Foundation

/// A throwaway root filesystem: Debian's static busybox as /bin/busybox plus links for the
/// applets the tests use. Removed by `remove()`.
final class BusyboxRootfs {
    let path: String

    static let applets = ["sh", "hostname", "ps", "cat", "true", "false", "sleep", "touch", "pwd", "env", "ls", "echo", "id", "printf", "test", "wc",
                          "nslookup", "wget", "httpd", "mkdir", "mknod", "mkfifo", "rm", "umount", "tty", "ln", "rmdir", "mount"]

    init() throws {
        path = NSTemporaryDirectory() + "berth-rootfs-\(getpid())-\(UUID().uuidString.prefix(8))"
        let fm = FileManager.default
        for dir in ["bin", "tmp", "etc", "root"] {
            try fm.createDirectory(atPath: path + "/" + dir, withIntermediateDirectories: true)
        }
        // A hard link, not a copy: while a copy is being written, a child cloned by a test
        // running in parallel inherits the write descriptor, and exec then fails with
        // ETXTBSY ("Text file busy"). A link never opens the file for writing.
        if link("/bin/busybox", path + "/bin/busybox") != 0 {
            try fm.copyItem(atPath: "/bin/busybox", toPath: path + "/bin/busybox")
        }
        for applet in Self.applets {
            try fm.createSymbolicLink(atPath: path + "/bin/" + applet, withDestinationPath: "busybox")
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A close-on-exec pipe whose write end a test gives to a container as stdout.
final class OutputPipe {
    let read: Int32
    private(set) var write: Int32

    init() throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw POSIXError(.EMFILE) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        read = fds[0]
        write = fds[1]
    }

    /// Closes the parent's write end (after spawning), so EOF comes when the container ends.
    func closeWrite() {
        if write >= 0 { close(write); write = -1 }
    }

    /// Everything written until every write end is closed.
    func readAll() -> String {
        closeWrite()
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = Foundation.read(read, &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            data += buffer[..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }

    deinit {
        closeWrite()
        close(read)
    }
}

/// Live children cloned by the calling thread (zombies included), from procfs.
func childrenOfThisThread() -> Set<Int32> {
    let text = (try? String(contentsOfFile: "/proc/thread-self/children", encoding: .utf8)) ?? ""
    return Set(text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
}

/// Runs `spec` to completion in a fresh busybox rootfs unless the spec names its own; returns
/// the exit status and what it printed on stdout and stderr (small outputs: stderr is read
/// after stdout's EOF).
func run(_ spec: ContainerSpec) throws -> (status: ContainerExit, output: String, errors: String) {
    let out = try OutputPipe()
    let err = try OutputPipe()
    var spec = spec
    spec.stdout = out.write
    spec.stderr = err.write
    let child = try ContainerProcess.spawn(spec)
    out.closeWrite()
    err.closeWrite()
    try child.start()
    let output = out.readAll()
    let errors = err.readAll()
    return (try child.wait(), output, errors)
}

func withRootfs<T>(_ body: (BusyboxRootfs) throws -> T) throws -> T {
    let rootfs = try BusyboxRootfs()
    defer { rootfs.remove() }
    return try body(rootfs)
}
