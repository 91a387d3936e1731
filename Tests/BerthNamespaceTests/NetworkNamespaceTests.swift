import BerthCore
import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

@Suite("NetworkNamespace (kernel)", .enabled(if: KernelTests.enabled))
struct NetworkNamespaceKernelTests {
    @Test("a namespace made by Berth is listed by ip netns and deleted cleanly")
    func createdIsSeenByIproute2() throws {
        try withHostSandbox { sandbox in
            let ns = try sandbox.makeNamespace()
            let name = try #require(ns.name)
            let listed = Command.run(["ip", "netns", "list"])
            #expect(listed.stdout.contains(name))
            #expect(try NetworkNamespace.list().contains(name))
            let reopened = try NetworkNamespace.open(named: name)
            #expect(reopened == ns)
            #expect(reopened != sandbox.namespace)
            try NetworkNamespace.delete(named: name)
            #expect(!Command.run(["ip", "netns", "list"]).stdout.contains(name))
            #expect(throws: BerthError.self) { try NetworkNamespace.open(named: name) }
        }
    }

    @Test("a socket opened in a namespace stays there; the calling thread does not move")
    func socketInsideNamespace() throws {
        try withHostSandbox { sandbox in
            let before = try NetworkNamespace.current()
            let fd = try sandbox.namespace.openSocket(domain: AF_INET, type: Int32(SOCK_DGRAM.rawValue), protocol: 0)
            defer { close(fd) }
            // SIOCGSKNS (0x894C) returns an fd of the socket's namespace.
            let nsfd = ioctl(fd, 0x894C)
            #expect(nsfd >= 0)
            var st = stat()
            fstat(nsfd, &st)
            close(nsfd)
            #expect(UInt64(st.st_ino) == sandbox.namespace.identity.inode)
            #expect(try NetworkNamespace.current() == before)
        }
    }
}
