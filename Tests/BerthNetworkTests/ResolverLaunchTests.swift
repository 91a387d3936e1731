import BerthNamespace
import BerthNetwork
import Testing

@Suite("ResolverLaunch: the resolver's pid line")
struct ResolverLaunchTests {
    @Test("the pid line carries pid and start time and reads back; a line without a start time, or malformed, gives nothing")
    func pidLine() {
        let identity = ProcessIdentity(pid: 4242, startTime: 987_654_321)
        #expect(ResolverLaunch.pidLine(identity) == "pid 4242 987654321")
        #expect(ResolverLaunch.reportedIdentity(in: ["starting", ResolverLaunch.pidLine(identity), "ready"]) == identity)
        for bad in ["pid 4242", "pid 4242 ", "pid 0 5", "pid -1 5", "pid 4242 5 6", "pid x 5", "pid  4242 5"] {
            #expect(ResolverLaunch.reportedIdentity(in: [bad, "ready"]) == nil, "\(bad)")
        }
    }
}
