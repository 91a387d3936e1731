#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthNamespace
import BerthNetlink
import BerthTestSupport
import Dispatch
import Synchronization
import Testing

/// One socket shared by many threads, as a runtime's threads share a `NetworkManager`'s
/// handle: every request's answers must reach its own caller.
@Suite("NetlinkSocket shared by threads (kernel)", .enabled(if: try KernelTests.enabled))
struct NetlinkSocketConcurrencyKernelTests {
    @Test("8 threads on one RouteNetlink: gets, link dumps and alias changes each get their own answers, none EBUSY")
    func concurrentRequestsGetTheirOwnReplies() throws {
        try withHostSandbox { sandbox in
            let netlink = try RouteNetlink(namespace: sandbox.namespace)
            // bd0…bd7 belong to one worker each (their aliases change); bd8… keep theirs.
            let count = 64, workers = 8, rounds = 60
            try netlink.apply { changes throws(BerthError) in
                for n in 0..<count { try changes.createBridge(named: InterfaceName("bd\(n)")) }
            }
            try netlink.apply { changes throws(BerthError) in
                for n in 0..<count { try changes.setAlias(.name(InterfaceName("bd\(n)")), to: "a\(n)") }
            }
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                func fail(_ text: String) { failures.withLock { $0.append("worker \(worker): \(text)") } }
                do throws(BerthError) {
                    let own = try InterfaceName("bd\(worker)")
                    for round in 0..<rounds {
                        let k = workers + (worker * rounds + round) % (count - workers)
                        let link = try netlink.link(named: "bd\(k)")
                        if link.name != "bd\(k)" || link.alias != "a\(k)" { fail("asked for bd\(k), got \(link.name) (\(link.alias ?? "-"))") }
                        try netlink.setAlias(.name(own), to: "w\(worker)-\(round)")
                        let mine = try netlink.link(named: own.description)
                        if mine.alias != "w\(worker)-\(round)" { fail("own alias \(mine.alias ?? "-") after setting w\(worker)-\(round)") }
                        if round % 6 == 0 {
                            let names = Set(try netlink.links().map(\.name))
                            if names.count != count + 1 || !names.contains("bd\(k)") { fail("a dump of \(names.count) links") }
                        }
                    }
                } catch {
                    fail(error.message)
                }
            }
            #expect(failures.withLock { $0 } == [])
        }
    }
}
