import BerthCore
import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

@Suite("NetworkNamespace (kernel)", .enabled(if: try KernelTests.enabled))
struct NetworkNamespaceKernelTests {
    @Test("a namespace made by Berth is listed by ip netns and deleted cleanly")
    func createdIsSeenByIproute2() throws {
        try withHostSandbox { sandbox in
            let ns = try sandbox.makeNamespace()
            let name = try #require(ns.name)
            #expect(IPWitness.namespaceNames().contains(name))
            #expect(try NetworkNamespace.list().contains(name))
            let reopened = try NetworkNamespace.open(named: name)
            #expect(reopened == ns)
            #expect(reopened != sandbox.namespace)
            try NetworkNamespace.delete(named: name)
            #expect(!IPWitness.namespaceNames().contains(name))
            let gone = #expect(throws: BerthError.self) { try NetworkNamespace.open(named: name) }
            #expect(gone?.code == .notFound && gone?.message == "network namespace /run/netns/\(name) does not exist", "\(String(describing: gone))")
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

    @Test("create runs prepare in the new namespace before it has its name, and leaves nothing when prepare throws")
    func prepareBeforeTheName() throws {
        try withHostSandbox { sandbox in
            let name = "bt-prep-\(KernelTests.uniqueSuffix())"
            var inode: UInt64 = 0
            var named = true
            let ns = try NetworkNamespace.create(named: name) { () throws(BerthError) in
                var st = stat()
                if stat("/proc/thread-self/ns/net", &st) == 0 { inode = UInt64(st.st_ino) }
                // Only the empty file of the first step: no program can open it by name yet.
                named = !NetworkNamespace.isLeftover(named: name) || ((try? NetworkNamespace.open(named: name)) != nil)
            }
            sandbox.adopt(namespaceNamed: name)
            #expect(inode == ns.identity.inode && inode != sandbox.namespace.identity.inode)
            #expect(!named)
            try NetworkNamespace.delete(named: name)

            let failing = "bt-prepf-\(KernelTests.uniqueSuffix())"
            let error = #expect(throws: BerthError.self) {
                try NetworkNamespace.create(named: failing) { () throws(BerthError) in throw BerthError(.kernel, "prepare failed") }
            }
            #expect(error?.message == "prepare failed")
            #expect(!FileManager.default.fileExists(atPath: NetworkNamespace.runDirectory + "/" + failing))
            #expect(!IPWitness.namespaceNames().contains(failing))
        }
    }

    @Test("a namespace made by ip netns add is opened by Berth")
    func openIproute2Namespace() throws {
        try withHostSandbox { sandbox in
            let name = "bt-ipns-\(KernelTests.uniqueSuffix())"
            let added = Command.run(["ip", "netns", "add", name])
            try #require(added.succeeded, "ip netns add: \(added.stderr)")
            sandbox.adopt(namespaceNamed: name)
            let ns = try NetworkNamespace.open(named: name)
            #expect(ns.name == name)
            #expect(try NetworkNamespace.open(nameOrPath: name) == ns)
            #expect(try NetworkNamespace.list().contains(name))
        }
    }

    @Test("open by path, by pid, and by a path that is no namespace")
    func openByPathAndPid() throws {
        try withHostSandbox { sandbox in
            let byPath = try NetworkNamespace.open(path: sandbox.namespace.path)
            #expect(byPath == sandbox.namespace)
            #expect(try NetworkNamespace.open(nameOrPath: sandbox.namespace.path) == sandbox.namespace)
            let mine = try NetworkNamespace.open(pid: getpid())
            #expect(mine == (try NetworkNamespace.open(path: "/proc/self/ns/net")))
            #expect(mine != sandbox.namespace)

            let notNamespace = #expect(throws: BerthError.self) { try NetworkNamespace.open(path: "/etc/hostname") }
            #expect(notNamespace?.code == .invalidArgument)
            #expect(notNamespace?.message.contains("is not a network namespace") == true)
            // A FIFO is refused at once: the open does not wait for a writer.
            let fifo = sandbox.stateDirectory + "/not-a-namespace"
            try #require(mkfifo(fifo, 0o600) == 0)
            let notFIFO = #expect(throws: BerthError.self) { try NetworkNamespace.open(path: fifo) }
            #expect(notFIFO?.code == .invalidArgument && notFIFO?.message.contains("is not a network namespace") == true)
            let otherKind = #expect(throws: BerthError.self) { try NetworkNamespace.open(path: "/proc/self/ns/uts") }
            #expect(otherKind?.code == .invalidArgument)
            let noProcess = #expect(throws: BerthError.self) { try NetworkNamespace.open(pid: 999_999_999) }
            #expect(noProcess?.code == .notFound)
            let negative = #expect(throws: BerthError.self) { try NetworkNamespace.open(pid: -1) }
            #expect(negative?.code == .invalidArgument && negative?.message == "invalid process id -1", "\(String(describing: negative))")
        }
    }

    @Test("deleting or opening a missing namespace is notFound; bad names are refused")
    func missingAndInvalid() throws {
        try withHostSandbox { _ in
            let name = "bt-none-\(KernelTests.uniqueSuffix())"
            let deleted = #expect(throws: BerthError.self) { try NetworkNamespace.delete(named: name) }
            #expect(deleted?.code == .notFound)
            #expect(deleted?.object == .namespace(name))
            #expect(deleted?.remedy == .listExisting(.namespace))
            #expect(deleted.map { !String(describing: $0).contains("berth ") } == true)
            let opened = #expect(throws: BerthError.self) { try NetworkNamespace.open(named: name) }
            #expect(opened?.code == .notFound)
            #expect(opened?.object == .namespace(NetworkNamespace.runDirectory + "/" + name))
            #expect(opened?.remedy == .listExisting(.namespace))
            for bad in ["", "..", "a/b"] {
                let error = #expect(throws: BerthError.self) { try NetworkNamespace.create(named: bad) }
                #expect(error?.code == .invalidArgument)
            }
        }
    }

    @Test("a path that is no namespace is refused without being opened: no device or file sees an open")
    func refusedWithoutOpening() throws {
        try withHostSandbox { sandbox in
            // inotify reports every open of the watched file (IN_OPEN): a device such as a
            // watchdog acts on open, so refusing after opening is too late.
            let file = sandbox.stateDirectory + "/not-a-namespace-file"
            try #require(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
            let watcher = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            try #require(watcher >= 0)
            defer { close(watcher) }
            try #require(inotify_add_watch(watcher, file, UInt32(IN_OPEN)) >= 0)
            let refused = #expect(throws: BerthError.self) { try NetworkNamespace.open(path: file) }
            #expect(refused?.code == .invalidArgument && refused?.message == "\(file) is not a network namespace")
            #expect(refused?.object == .namespace(file))
            var events = [UInt8](repeating: 0, count: 4096)
            let count = read(watcher, &events, events.count)
            #expect(count < 0 && errno == EAGAIN, "the file was opened: \(count) bytes of inotify events")
            // The watch itself works: an open is seen.
            let probe = open(file, O_RDONLY | O_CLOEXEC)
            close(probe)
            #expect(read(watcher, &events, events.count) > 0)
        }
    }

    @Test("a leftover file of an interrupted create is named as such, and delete clears the name for a new create")
    func leftoverFileOfInterruptedCreate() throws {
        try withHostSandbox { sandbox in
            let name = "bt-left-\(KernelTests.uniqueSuffix())"
            // What a create killed between its mount point and its bind mount leaves.
            let path = NetworkNamespace.runDirectory + "/" + name
            try #require(FileManager.default.createFile(atPath: path, contents: nil))
            sandbox.adopt(namespaceNamed: name)
            let leftover = #expect(throws: BerthError.self) { try NetworkNamespace.create(named: name) }
            #expect(leftover?.code == .alreadyExists)
            #expect(leftover?.message == "\(path) is a leftover file of an interrupted namespace create, not a namespace", "\(String(describing: leftover))")
            #expect(leftover?.remedy == .remove(.namespace(name)))
            #expect(try !NetworkNamespace.list().contains(name))
            try NetworkNamespace.delete(named: name)
            let made = try NetworkNamespace.create(named: name)
            #expect(made.name == name)
            #expect(try NetworkNamespace.list().contains(name))
        }
    }

    @Test("creating an existing name fails, and list shows exactly the live namespaces")
    func createTwiceAndList() throws {
        try withHostSandbox { sandbox in
            let ns = try sandbox.makeNamespace()
            let name = try #require(ns.name)
            let again = #expect(throws: BerthError.self) { try NetworkNamespace.create(named: name) }
            #expect(again?.code == .alreadyExists)
            let listed = try NetworkNamespace.list()
            #expect(listed.contains(name) && listed.contains(sandbox.name))
            #expect(listed == listed.sorted())
        }
    }

    @Test("sysctl is read and written inside the namespace, only when the value differs")
    func sysctl() throws {
        try withHostSandbox { sandbox in
            let ns = sandbox.namespace
            let rootBefore = try NetworkNamespace.current().sysctl("net/ipv4/ip_forward")
            // A new namespace inherits IPv4 settings from the initial one: flip whatever it has.
            let initial = try ns.sysctl("net.ipv4.ip_forward")
            #expect(initial == "0" || initial == "1")
            let flipped = initial == "1" ? "0" : "1"
            #expect(try ns.setSysctl("net/ipv4/ip_forward", to: flipped) == true)
            #expect(try ns.setSysctl("net/ipv4/ip_forward", to: flipped) == false)
            #expect(try ns.sysctl("net/ipv4/ip_forward") == flipped)
            #expect(sandbox.run(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == flipped)
            #expect(try NetworkNamespace.current().sysctl("net/ipv4/ip_forward") == rootBefore)
            let bad = #expect(throws: BerthError.self) { try ns.sysctl("kernel/hostname") }
            #expect(bad?.code == .invalidArgument)
            let missing = #expect(throws: BerthError.self) { try ns.sysctl("net/ipv4/conf/nosuch0/forwarding") }
            #expect(missing?.code == .notFound)
        }
    }
}
