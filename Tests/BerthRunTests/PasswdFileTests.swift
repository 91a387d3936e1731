@testable import BerthRun
import BerthTestSupport
import Foundation
import Testing

/// Reading a container's account files from the host: only regular files are ever opened.
@Suite("PasswdFile")
struct PasswdFileTests {
    @Test("reads a regular /etc/group")
    func readsRegularFile() throws {
        let root = try Self.root()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "root:x:0:\nwheel:x:10:root,bob\n".write(toFile: root + "/etc/group", atomically: false, encoding: .utf8)
        #expect(PasswdFile.read(root: root, name: "group") == [["root", "x", "0", ""], ["wheel", "x", "10", "root,bob"]])
    }

    /// Root in a container can make its /etc/group a device node; `berth exec` reads it from
    /// the host. inotify reports every open of the node (an O_PATH look is not an open).
    @Test("a device node in place of /etc/group is never opened", .enabled(if: try KernelTests.enabled, "mknod needs root"))
    func deviceNodeNeverOpened() throws {
        let root = try Self.root()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let node = root + "/etc/group"
        try #require(mknod(node, S_IFCHR | 0o644, dev_t(1 << 8 | 3)) == 0, "mknod: \(errno)") // 1:3, /dev/null's numbers (makedev is a macro)
        let watch = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        try #require(watch >= 0)
        defer { close(watch) }
        try #require(inotify_add_watch(watch, node, UInt32(IN_OPEN)) >= 0)
        #expect(PasswdFile.read(root: root, name: "group").isEmpty)
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = Foundation.read(watch, &buffer, buffer.count)
        #expect(n < 0 && errno == EAGAIN, "the device node was opened (\(n) bytes of inotify events)")
    }

    private static func root() throws -> String {
        let root = NSTemporaryDirectory() + "berth-passwd-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
        return root
    }
}
