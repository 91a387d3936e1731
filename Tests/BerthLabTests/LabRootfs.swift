import Foundation

/// A throwaway root filesystem for run nodes: Debian's static busybox as /bin/busybox and
/// links for the applets the tests use, a page in /www. Removed by `remove()`.
final class LabRootfs: @unchecked Sendable {
    let path: String

    static let applets = ["sh", "httpd", "sleep", "cat", "ip", "wget", "hostname", "true"]

    init() throws {
        path = NSTemporaryDirectory() + "berth-lab-rootfs-\(getpid())-\(UUID().uuidString.prefix(8))"
        let fm = FileManager.default
        for dir in ["bin", "tmp", "etc", "www"] {
            try fm.createDirectory(atPath: path + "/" + dir, withIntermediateDirectories: true)
        }
        // A hard link, not a copy: a copy being written while a test in parallel clones a
        // child makes exec fail with ETXTBSY (see BerthRunTests' BusyboxRootfs).
        if link("/bin/busybox", path + "/bin/busybox") != 0 {
            try fm.copyItem(atPath: "/bin/busybox", toPath: path + "/bin/busybox")
        }
        for applet in Self.applets {
            try fm.createSymbolicLink(atPath: path + "/bin/" + applet, withDestinationPath: "busybox")
        }
        try "hello from the lab\n".write(toFile: path + "/www/index.html", atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

func withLabRootfs<T>(_ body: (LabRootfs) throws -> T) throws -> T {
    let rootfs = try LabRootfs()
    defer { rootfs.remove() }
    return try body(rootfs)
}
