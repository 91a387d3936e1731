import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import BerthNFTables
import Testing

/// Detach against the fake kernel: marked before the kernel is touched, unplugged without
/// waiting for the deletion, and finished by gc, detach or an attach of the same id after
/// a failure at any step; gc of endpoints whose veth is gone; reconcile never publishing
/// for an endpoint without its veth.
@Suite("detach policy (fake kernel)")
struct DetachPolicyTests {
    static let steps = ["detach.mark", "detach.unpublish", "detach.unplug", "detach.delete", "detach.forget"]

    /// Network web (10.88.0.0/29: five endpoint addresses) with e1 publishing 8080 and
    /// 5353/udp from ctr1.
    private func host() throws -> FakeHost {
        let host = try FakeHost()
        try host.network(subnet: "10.88.0.0/29")
        try host.attach("ctr1", id: "e1", ports: ["8080:80", "5353:53/udp"])
        return host
    }

    @Test("detach unplugs at once: elements gone, host end down, off the bridge, renamed; container end down, renamed; deletion handed off")
    func unplugsWithoutWaiting() throws {
        let host = try host()
        host.kernel.holdsBackgroundDeletions = true
        let ctr = try host.namespace("ctr1")
        let endpoint = try host.manager.endpoint("e1")
        let veth = try #require(host.kernel.link(endpoint.hostVeth.rawValue))
        let eth0 = try #require(host.kernel.link("eth0", in: ctr))
        let mark = host.kernel.mark
        try host.manager.detach(id: "e1")
        let doomed = try KernelNames.detachedVeth(index: veth.index).rawValue
        let peerDoomed = try KernelNames.detachedVeth(index: eth0.index).rawValue
        // One lookup and one sendmsg on the host, one sendmsg inside (conntrack aside: e1 publishes UDP).
        #expect(host.kernel.operations(since: mark).filter { !$0.contains("conntrack") } == [
            "host: get link \(endpoint.hostVeth)",
            "host: update link #\(veth.index): rename to \(doomed), set down, remove from its master",
            "ctr1: update link #\(eth0.index) in network namespace ctr1: rename to \(peerDoomed), set down",
        ])
        let unplugged = try #require(host.kernel.link(doomed))
        #expect(!unplugged.isUp && unplugged.master == nil && unplugged.alias == "berth-endpoint e1 @f4ce0001")
        #expect(host.kernel.link(endpoint.hostVeth.rawValue) == nil)
        #expect(host.kernel.link("eth0", in: ctr) == nil)
        #expect(host.kernel.link(peerDoomed, in: ctr)?.isUp == false)
        #expect(host.kernel.backgroundDeletions == ["host: \(doomed)"])
        #expect(!host.nftables.ruleset.contains("berth-endpoint e1"))
        #expect(try host.recorded().isEmpty)
        // The same id attaches again at once, in the same namespace, while the old pair waits.
        let again = try host.attach("ctr1", id: "e1", ports: ["8080:80"])
        #expect(again.address?.description == "10.88.0.2" && host.kernel.link("eth0", in: ctr) != nil)
        host.kernel.runBackgroundDeletions()
        #expect(host.kernel.link(doomed) == nil)
        #expect(host.kernel.links(in: ctr).map(\.name) == ["lo", "eth0"])
        #expect(try host.manager.check().isEmpty)
    }

    @Test("a kernel before 6.2 (no rename of a link that is up) gets each end down first, then the rest")
    func olderKernel() throws {
        let host = try host()
        host.kernel.renamesLinksThatAreUp = false
        let ctr = try host.namespace("ctr1")
        let veth = try #require(host.kernel.link(try host.manager.endpoint("e1").hostVeth.rawValue))
        let eth0 = try #require(host.kernel.link("eth0", in: ctr))
        let mark = host.kernel.mark
        try host.manager.detach(id: "e1")
        let doomed = try KernelNames.detachedVeth(index: veth.index).rawValue, peerDoomed = try KernelNames.detachedVeth(index: eth0.index).rawValue
        #expect(host.kernel.operations(since: mark).filter { !$0.contains("conntrack") && !$0.contains("get link") } == [
            "host: update link #\(veth.index): rename to \(doomed), set down, remove from its master",
            "host: set link #\(veth.index) down", "host: remove #\(veth.index) from its master", "host: rename link #\(veth.index) to \(doomed)",
            "ctr1: update link #\(eth0.index) in network namespace ctr1: rename to \(peerDoomed), set down",
            "ctr1: set link #\(eth0.index) down in network namespace ctr1", "ctr1: rename link #\(eth0.index) to \(peerDoomed) in network namespace ctr1",
        ])
        #expect(try host.recorded().isEmpty && host.kernel.link(doomed) == nil && host.kernel.links(in: ctr).map(\.name) == ["lo"])
    }

    @Test("a pair the kernel destroys between the lookup and the unplug (its namespace going away) is no error")
    func pairVanishes() throws {
        let host = try host()
        let veth = try #require(host.kernel.link(try host.manager.endpoint("e1").hostVeth.rawValue))
        host.kernel.refuse("update link #\(veth.index)", errno: FakeErrno.noDevice)
        try host.manager.detach(id: "e1")
        #expect(try host.recorded().isEmpty)
        #expect(!host.nftables.ruleset.contains("berth-endpoint e1"))
    }

    /// ctr1 (CAP_NET_ADMIN in its own namespace) makes a veth pair whose first end takes the
    /// name its eth0 would be renamed to on detach (`vd` and eth0's index, which it sees).
    private func squat(_ host: FakeHost) throws -> (ctr: NetworkNamespace, squatter: String) {
        let ctr = try host.namespace("ctr1")
        let eth0 = try #require(host.kernel.link("eth0", in: ctr))
        let squatter = try KernelNames.detachedVeth(index: eth0.index).rawValue
        host.kernel.addLink(squatter, kind: "veth", in: ctr, up: true, peerName: "squat1")
        return (ctr, squatter)
    }

    @Test("a container that made a link of the name its end would be renamed to cannot block its detach: the pair is deleted at once",
          arguments: [true, false])
    func renameTargetTaken(newerKernel: Bool) throws {
        let host = try host()
        host.kernel.renamesLinksThatAreUp = newerKernel
        host.kernel.holdsBackgroundDeletions = true
        let (ctr, squatter) = try squat(host)
        try host.manager.detach(id: "e1")
        #expect(try host.recorded().isEmpty)
        // Deleted synchronously, not handed off: nothing of the pair is left, on either side.
        #expect(host.kernel.backgroundDeletions.isEmpty)
        #expect(!host.kernel.links().contains { $0.alias?.hasPrefix("berth-endpoint") == true || $0.name.hasPrefix("v") })
        // The container's own links are its own: untouched.
        #expect(host.kernel.links(in: ctr).map(\.name) == ["lo", squatter, "squat1"])
        #expect(!host.nftables.ruleset.contains("berth-endpoint e1"))
        #expect(try host.manager.gc().isEmpty)
        #expect(try host.manager.check().isEmpty)
    }

    @Test("a host link holding the name the host end would be renamed to cannot block its detach, gc or prune: the pair is deleted at once",
          arguments: [true, false])
    func hostRenameTargetTaken(newerKernel: Bool) throws {
        let host = try host()
        host.kernel.renamesLinksThatAreUp = newerKernel
        host.kernel.holdsBackgroundDeletions = true
        let ctr = try host.namespace("ctr1")
        let veth = try #require(host.kernel.link(try host.manager.endpoint("e1").hostVeth.rawValue))
        let squatter = try KernelNames.detachedVeth(index: veth.index).rawValue
        host.kernel.addLink(squatter, kind: "dummy", up: true)
        try host.manager.detach(id: "e1")
        #expect(try host.recorded().isEmpty)
        // Deleted synchronously, not handed off: nothing of the pair is left, on either side.
        #expect(host.kernel.backgroundDeletions.isEmpty)
        #expect(host.kernel.link(veth.name) == nil && !host.kernel.links().contains { $0.alias?.hasPrefix("berth-endpoint") == true })
        #expect(host.kernel.links(in: ctr).map(\.name) == ["lo"])
        #expect(host.kernel.link(squatter)?.kind == "dummy")
        #expect(!host.nftables.ruleset.contains("berth-endpoint e1"))
        // gc, finishing an interrupted detach, takes the same way.
        try host.attach("ctr2", id: "e2")
        let veth2 = try #require(host.kernel.link(try host.manager.endpoint("e2").hostVeth.rawValue))
        host.kernel.addLink(try KernelNames.detachedVeth(index: veth2.index).rawValue, kind: "dummy")
        host.arm("detach.mark")
        _ = refusal { try host.manager.detach(id: "e2") }
        host.disarm()
        #expect(try host.manager.gc().endpoints == ["e2"])
        #expect(try host.recorded().isEmpty && host.kernel.link(veth2.name) == nil)
        #expect(try host.manager.gc().isEmpty)
        #expect(try host.manager.check().isEmpty)
    }

    @Test("gc finishes an interrupted detach whose container end's new name a link of the container holds, and collects the rest")
    func gcRenameTargetTaken() throws {
        let host = try host()
        try host.attach("ctr2", id: "e2")
        let (ctr, squatter) = try squat(host)
        host.arm("detach.mark")
        _ = refusal { try host.manager.detach(id: "e1") }
        host.disarm()
        // e2's namespace goes: gc has it to collect as well.
        host.kernel.destroyNamespace(try host.namespace("ctr2"))
        let report = try host.manager.gc()
        #expect(report.endpoints.sorted() == ["e1", "e2"])
        #expect(try host.recorded().isEmpty)
        #expect(!host.kernel.links().contains { $0.alias?.hasPrefix("berth-endpoint") == true })
        #expect(host.kernel.links(in: ctr).map(\.name) == ["lo", squatter, "squat1"])
        #expect(try host.manager.gc().isEmpty)
    }

    @Test("the detaching mark is committed before the kernel is touched", arguments: steps)
    func markedFirst(_ step: String) throws {
        let host = try host()
        host.arm(step)
        expect(refusal { try host.manager.detach(id: "e1") }, .internalError, ["fail point \(step) reached"])
        host.disarm()
        // Every step but the last left the record, marked; the last rolled back its deletion.
        let endpoint = try host.manager.endpoint("e1")
        #expect(endpoint.isDetaching)
        let problems = try host.manager.check(id: "e1")
        #expect(problems.map(\.description) == ["endpoint e1: attach or detach: interrupted"])
        #expect(problems.first?.repair == .collectGarbage)
        // Reconcile adds nothing for it and says what it cannot do.
        let ruleset = host.nftables.ruleset
        let report = try host.manager.reconcile()
        #expect(report.remaining == problems)
        #expect(host.nftables.ruleset == ruleset)
    }

    @Test("check calls a marked record in progress while another process holds the state lock (an attach or removal under way), interrupted once it is free")
    func markedWhileLocked() throws {
        let host = try host()
        host.arm("detach.mark")
        _ = refusal { try host.manager.detach(id: "e1") }
        host.disarm()
        try host.network("idle", subnet: "10.89.0.0/24")
        host.arm("network.rm.firewall")
        _ = refusal { try host.manager.removeNetwork(named: "idle") }
        host.disarm()
        // Another process's write transaction: it holds the lock, as a running attach does.
        let other = try StateStore(directory: host.stateDirectory)
        let (held, one) = try other.write { _ throws(BerthError) in (try host.manager.check(), try host.manager.check(id: "e1")) }
        #expect(held.map(\.description) == ["network idle: removal: in progress", "endpoint e1: attach or detach: in progress"])
        #expect(held.allSatisfy { $0.repair == .awaitOperation })
        #expect(one.map(\.description) == ["endpoint e1: attach or detach: in progress"])
        let free = try host.manager.check()
        #expect(free.map(\.description) == ["network idle: removal: interrupted", "endpoint e1: attach or detach: interrupted"])
        #expect(free.allSatisfy { $0.repair == .collectGarbage })
    }

    @Test("after a failure at any step of a detach, gc finishes it: no record, no kernel object, lease and ports free",
          arguments: steps, [false, true])
    func gcFinishes(_ step: String, deletionsLost: Bool) throws {
        let host = try host()
        let ctr = try host.namespace("ctr1")
        let before = host.kernel.links().map(\.name)
        // A crash after the hand-off can lose the deletion too: the process never ran.
        host.kernel.holdsBackgroundDeletions = true
        host.arm(step)
        _ = refusal { try host.manager.detach(id: "e1") }
        host.disarm()
        if deletionsLost { host.kernel.dropBackgroundDeletions() } else { host.kernel.runBackgroundDeletions() }
        host.kernel.holdsBackgroundDeletions = false
        let report = try host.manager.gc()
        #expect(report.endpoints == ["e1"])
        host.kernel.runBackgroundDeletions()
        #expect(try host.recorded().isEmpty)
        #expect(host.kernel.links().map(\.name) == before.filter { !$0.hasPrefix("vb") })
        #expect(host.kernel.links(in: ctr).map(\.name) == ["lo"])
        #expect(!host.nftables.ruleset.contains("berth-endpoint"))
        #expect(try host.manager.gc().isEmpty)
        // The /29's five addresses and the ports are free: e1 itself and four more attach.
        try host.attach("ctr1", id: "e1", ports: ["8080:80", "5353:53/udp"])
        for n in 2...5 { try host.attach("ctr\(n)", id: "e\(n)") }
        #expect(try host.recorded().count == 5)
        #expect(try host.manager.check().isEmpty)
    }

    @Test("after a failure at any step, detaching again finishes it", arguments: steps)
    func detachFinishes(_ step: String) throws {
        let host = try host()
        host.arm(step)
        _ = refusal { try host.manager.detach(id: "e1") }
        host.disarm()
        try host.manager.detach(id: "e1")
        #expect(try host.recorded().isEmpty)
        #expect(!host.kernel.links().contains { $0.alias?.hasPrefix("berth-endpoint") == true })
        #expect(try host.manager.gc().isEmpty)
    }

    @Test("after a failure at any step, an attach of the same id finishes the detach and attaches anew", arguments: steps)
    func attachFinishes(_ step: String) throws {
        let host = try host()
        host.arm(step)
        _ = refusal { try host.manager.detach(id: "e1") }
        host.disarm()
        let again = try host.attach("ctr2", id: "e1", ports: ["8080:80"])
        #expect(again.address?.description == "10.88.0.2" && !again.isDetaching)
        #expect(try host.manager.check().isEmpty)
        #expect(try host.manager.gc().isEmpty)
        #expect(host.kernel.links().filter { $0.alias?.hasPrefix("berth-endpoint e1") == true }.count == 1)
    }

    @Test("in a store made before instances, an interrupted detach of an endpoint whose veth carries a tag without the id is finished: its renamed pair goes",
          arguments: ["gc", "detach"])
    func legacyInterruptedDetach(_ finisher: String) throws {
        let host = try FakeHost(legacy: true)
        try host.network(subnet: "10.88.0.0/29")
        let endpoint = try host.attach("ctr1", id: "e1")
        let ctr = try host.namespace("ctr1")
        // What an older Berth made: the veth's tag has no instance id.
        try host.handle.netlink.setAlias(.name(endpoint.hostVeth), to: "berth-endpoint e1")
        let veth = try #require(host.kernel.link(endpoint.hostVeth.rawValue))
        // Interrupted after the unplug: both ends renamed, nothing handed off for deletion.
        host.arm("detach.unplug")
        _ = refusal { try host.manager.detach(id: "e1") }
        host.disarm()
        let doomed = try KernelNames.detachedVeth(index: veth.index).rawValue
        #expect(host.kernel.link(doomed)?.alias == "berth-endpoint e1")
        if finisher == "gc" {
            #expect(try host.manager.gc().endpoints == ["e1"])
        } else {
            try host.manager.detach(id: "e1")
        }
        #expect(try host.recorded().isEmpty)
        #expect(host.kernel.link(doomed) == nil)
        #expect(!host.kernel.links().contains { $0.alias?.hasPrefix("berth-endpoint") == true })
        #expect(host.kernel.links(in: ctr).map(\.name) == ["lo"])
    }

    @Test("gc forgets an endpoint whose veth is gone though its namespace lives, and frees its address and ports")
    func gcWhenVethGone() throws {
        let host = try host()
        let veth = try #require(host.kernel.link(try host.manager.endpoint("e1").hostVeth.rawValue))
        try host.handle.netlink.deleteLink(.index(veth.index))
        let problems = try host.manager.check()
        #expect(problems.first?.description == "endpoint e1: veth \(veth.name): missing" && problems.first?.repair == .collectGarbage)
        // Reconcile cannot bring it back, and never publishes for it.
        var flush = Transaction()
        flush.delete(.table(FirewallLayout.table))
        try host.nftables.apply(flush)
        let report = try host.manager.reconcile()
        #expect(report.remaining.map(\.description).contains("endpoint e1: veth \(veth.name): missing"))
        #expect(!host.nftables.ruleset.contains("berth-endpoint e1"))
        let gc = try host.manager.gc()
        #expect(gc.endpoints == ["e1"])
        #expect(try host.attach("ctr2", id: "e2", ports: ["8080:80"]).address?.description == "10.88.0.2")
    }

    @Test("an endpoint id too long for the nftables comment is refused up front, naming the limit")
    func idLimit() throws {
        let host = try host()
        host.kernel.addNamespace("ctr2")
        let before = host.kernel.snapshot()
        let long = String(repeating: "a", count: AttachOptions.maxIDLength + 1)
        let error = refusal { try host.attach("ctr2", id: long, ports: ["9090:80"]) }
        expect(error, .invalidArgument, ["is 103 bytes, over the limit of 102"], parameter: "id")
        #expect(host.kernel.snapshot() == before)
        let longest = String(repeating: "b", count: AttachOptions.maxIDLength)
        try host.attach("ctr2", id: longest, ports: ["9090:80"])
        #expect(host.nftables.ruleset.contains("berth-endpoint \(longest) @f4ce0001"))
    }
}
