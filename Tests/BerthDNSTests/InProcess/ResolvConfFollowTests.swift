import BerthCore
import BerthTestSupport
import Foundation
import Testing
@testable import BerthDNS

/// A resolv.conf that is a symbolic link pointed elsewhere, on an in-process server
/// (loopback only; the files in a temporary directory).
@Suite("berth-dns upstreams: a resolv.conf link pointed elsewhere is followed", .serialized)
struct ResolvConfFollowTests {
    let block = LoopbackBlock()

    @Test("after the link moves to another directory, a rewrite there reloads without a signal; a link made anew with symlink(2) too")
    func followsRepointedLink() throws {
        let root = NSTemporaryDirectory() + "berth-dns-follow-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        for directory in ["a", "b"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(directory)", withIntermediateDirectories: true)
        }
        try "nameserver 192.0.2.1\n".write(toFile: "\(root)/a/resolv.conf", atomically: true, encoding: .utf8)
        try "nameserver 192.0.2.2\n".write(toFile: "\(root)/b/resolv.conf", atomically: true, encoding: .utf8)
        let link = "\(root)/resolv.conf"
        #expect(symlink("\(root)/a/resolv.conf", link) == 0)

        var configuration = DNSServerConfiguration()
        configuration.port = block.port
        configuration.upstreams = .resolvConf(path: link)
        let server = try InProcessServer(table: DNSTable(networks: [try block.zone("front", 1)]), configuration: configuration)
        let source = server.source
        // Each reload loads the table: the count says a reload happened.
        func reloaded(after count: Int) -> Bool { Poll.wait(seconds: 10) { source.loads > count } }

        // The link pointed at b's file, atomically (a new link renamed over it).
        var before = source.loads
        #expect(symlink("\(root)/b/resolv.conf", "\(root)/resolv.conf.new") == 0)
        #expect(rename("\(root)/resolv.conf.new", link) == 0)
        #expect(reloaded(after: before), "the link's replacement was not seen")

        // b's file rewritten in place: seen only if the watch followed the link to b.
        before = source.loads
        try "nameserver 192.0.2.3\n".write(toFile: "\(root)/b/resolv.conf", atomically: false, encoding: .utf8)
        #expect(reloaded(after: before), "a rewrite of the link's new target was not seen")

        // The link removed and made anew at a's file: symlink(2) alone, no write to close.
        unlink(link)
        before = source.loads
        #expect(symlink("\(root)/a/resolv.conf", link) == 0)
        #expect(reloaded(after: before), "a link made anew was not seen")
        before = source.loads
        try "nameserver 192.0.2.4\n".write(toFile: "\(root)/a/resolv.conf", atomically: false, encoding: .utf8)
        #expect(reloaded(after: before), "a rewrite of the link's target, back in a, was not seen")

        server.stop()
        #expect(server.server.defaultUpstreams.map(\.description) == ["192.0.2.4"])
    }
}
