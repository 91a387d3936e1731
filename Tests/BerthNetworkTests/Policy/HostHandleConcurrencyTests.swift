import BerthCore
import BerthFakes
import BerthNetlink
import BerthNetwork
import Dispatch
import Synchronization
import Testing

/// A `HostHandle` shared by a runtime's threads: what it opens on first use is opened once.
@Suite("HostHandle shared by threads (fake kernel)")
struct HostHandleConcurrencyTests {
    @Test("16 threads asking at once for conntrack and sock_diag get one object each: each socket is opened once")
    func lazySocketsOpenedOnce() throws {
        for _ in 0..<20 {
            let host = try FakeHost()
            let seen = Mutex<(Set<ObjectIdentifier>, Set<ObjectIdentifier>, [String])>(([], [], []))
            DispatchQueue.concurrentPerform(iterations: 16) { _ in
                do throws(BerthError) {
                    let conntrack = ObjectIdentifier(try host.handle.conntrack)
                    let diagnostics = ObjectIdentifier(try host.handle.socketDiagnostics)
                    seen.withLock { $0.0.insert(conntrack); $0.1.insert(diagnostics) }
                } catch {
                    seen.withLock { $0.2.append(error.message) }
                }
            }
            let (conntracks, diagnostics, errors) = seen.withLock { $0 }
            #expect(errors.isEmpty)
            #expect(conntracks.count == 1 && diagnostics.count == 1)
        }
    }
}
