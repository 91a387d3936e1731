import BerthCore
import BerthNamespace
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("NamespaceReference")
struct NamespaceReferenceTests {
    @Test("text with a '/' is a path, anything else a name under /run/netns")
    func parsing() {
        #expect(NamespaceReference(nameOrPath: "ctr1") == .name("ctr1"))
        #expect(NamespaceReference(nameOrPath: "/proc/42/ns/net") == .path("/proc/42/ns/net"))
        // A relative path is made absolute where it is given: it is recorded, and gc runs
        // from another directory.
        var buffer = [CChar](repeating: 0, count: 4097)
        let cwd = getcwd(&buffer, buffer.count).map { String(cString: $0) } ?? ""
        #expect(NamespaceReference(nameOrPath: "./ctr1") == .path(cwd + "/./ctr1"))
        #expect(NamespaceReference(nameOrPath: "ns/ctr1") == .path(cwd + "/ns/ctr1"))
    }

    @Test("each reference says where it leads and reads as the caller gave it")
    func pathsAndDescriptions() {
        #expect(NamespaceReference.name("ctr1").path == "/run/netns/ctr1")
        #expect(NamespaceReference.name("ctr1").description == "ctr1")
        #expect(NamespaceReference.path("/proc/7/ns/net").path == "/proc/7/ns/net")
        #expect(NamespaceReference.pid(7).path == "/proc/7/ns/net")
        #expect(NamespaceReference.pid(7).description == "pid 7")
    }

    @Test("the caller's own namespace opens by path and by pid without privilege, and an open reference is itself")
    func opensOwnNamespace() throws {
        let byPath = try NetworkNamespace.open(.path("/proc/self/ns/net"))
        let byPID = try NetworkNamespace.open(.pid(getpid()))
        #expect(byPath == byPID)
        #expect(try NetworkNamespace.open(.open(byPath)) === byPath)
    }

    @Test("a missing name or process is not found, naming it")
    func missing() {
        let name = #expect(throws: BerthError.self) { try NetworkNamespace.open(.name("bt-never-made-\(getpid())")) }
        #expect(name?.code == .notFound)
        #expect(name?.message.contains("bt-never-made") == true)
        let pid = #expect(throws: BerthError.self) { try NetworkNamespace.open(.pid(-1)) }
        #expect(pid?.code == .invalidArgument)
    }
}
