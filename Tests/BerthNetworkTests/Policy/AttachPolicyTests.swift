import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetlink
import BerthNetwork
import Testing

/// `attach` and `detach` against the fake kernel: the veth pair and what is configured on
/// each side, refusals that change nothing, and rollback at every step.
@Suite("attach and detach policy (fake kernel)")
struct AttachPolicyTests {
    private func webHost(mtu: Int? = nil) throws -> FakeHost {
        let host = try FakeHost()
        try host.network(mtu: mtu)
        return host
    }

    @Test("attach: the host end is on the bridge, up, tagged, hairpin; the peer is born in the namespace, configured there")
    func attachWiresBothEnds() throws {
        let host = try webHost(mtu: 1400)
        let ctr = host.kernel.addNamespace("ctr1")
        let endpoint = try host.attach("ctr1", id: "e1")
        let bridge = try #require(host.kernel.link("brweb"))
        let veth = try #require(host.kernel.link(endpoint.hostVeth.rawValue))
        #expect(endpoint.hostVeth == (try KernelNames.hostVeth(forEndpoint: "e1", instance: FakeHost.instance)))
        #expect(veth.kind == "veth" && veth.isUp && veth.master == bridge.index && veth.hairpin && veth.mtu == 1400)
        #expect(veth.alias == "berth-endpoint e1 @f4ce0001")
        let eth0 = try #require(host.kernel.link("eth0", in: ctr))
        #expect(veth.peer == FakeLink.Peer(namespace: ctr.identity.inode, index: eth0.index))
        #expect(eth0.isUp && eth0.mtu == 1400 && eth0.mac?.description == "02:42:0a:58:00:02")
        #expect(host.kernel.link("lo", in: ctr)?.isUp == true)
        #expect(host.kernel.addresses(in: ctr) == ["10.88.0.2/24 dev eth0"])
        #expect(host.kernel.routes(in: ctr) == ["10.88.0.0/24 dev eth0 proto kernel scope link src 10.88.0.2", "default via 10.88.0.1 dev eth0"])
        #expect(endpoint.namespacePath == "/run/netns/ctr1" && endpoint.namespaceIdentity == ctr.identity)
        #expect(try host.recorded() == ["e1 10.88.0.2"])
    }

    @Test("attach takes three round trips on the host side and one inside: no dump, no second socket on the fast path")
    func attachRoundTrips() throws {
        let host = try webHost()
        host.kernel.addNamespace("ctr1")
        host.nftables.resetCounts()
        let mark = host.kernel.mark
        let endpoint = try host.attach("ctr1", id: "e1")
        let veth = endpoint.hostVeth
        #expect(host.kernel.operations(since: mark) == [
            "host: get link brweb",
            "host: create veth \(veth) with peer eth0 in network namespace ctr1", "host: set alias of \(veth) and addrgenmode none",
            "host: set hairpin on on bridge port \(veth)",
            "ctr1: set link #1 up in network namespace ctr1", "ctr1: set link #2 up in network namespace ctr1",
            "ctr1: add address 10.88.0.2/24 to #2 in network namespace ctr1", "ctr1: add route default via 10.88.0.1 dev #2 in network namespace ctr1",
        ])
        // Without published ports, nftables is never opened.
        #expect(host.nftables.tableReads == 0 && host.nftables.rulesetReads == 0 && host.nftables.applied.count == 1)
    }

    @Test("addresses are leased lowest first, skipping the gateway; a detached endpoint's address is reused")
    func leases() throws {
        let host = try webHost()
        #expect(try host.attach("a", id: "a").address?.description == "10.88.0.2")
        #expect(try host.attach("b", id: "b").address?.description == "10.88.0.3")
        try host.manager.detach(id: "a")
        #expect(try host.attach("c", id: "c").address?.description == "10.88.0.2")
        #expect(try host.attach("d", id: "d", address: "10.88.0.200").address?.description == "10.88.0.200")
    }

    @Test("the namespace may be given by path, by pid or as an open handle; the path is what is recorded")
    func namespaceReferences() throws {
        let host = try webHost()
        let byPID = host.kernel.addNamespace("ctr-pid", pid: 4242)
        let open = host.kernel.addNamespace("ctr-open")
        let a = try host.manager.attach(AttachOptions(network: "web", namespace: .pid(4242), id: "a"))
        let b = try host.manager.attach(AttachOptions(network: "web", namespace: .open(open), id: "b"))
        let c = try host.manager.attach(AttachOptions(network: "web", namespace: .path("/run/netns/ctr-pid"), id: "c", interfaceName: InterfaceName("eth1")))
        #expect(a.namespacePath == "/proc/4242/ns/net" && a.namespaceIdentity == byPID.identity)
        #expect(b.namespacePath == "/run/netns/ctr-open" && b.namespaceIdentity == open.identity)
        #expect(c.namespaceIdentity == byPID.identity)
        #expect(host.kernel.links(in: byPID).map(\.name) == ["lo", "eth0", "eth1"])
    }

    @Test("a second network keeps the first one's default route (appended, not replaced)")
    func secondNetworkKeepsDefaultRoute() throws {
        let host = try webHost()
        try host.network("db", subnet: "10.89.0.0/24")
        let ctr = host.kernel.addNamespace("ctr1")
        try host.attach("ctr1", id: "w")
        try host.attach("ctr1", to: "db", id: "d", interfaceName: "eth1")
        let defaults = host.kernel.routes(in: ctr).filter { $0.hasPrefix("default") }
        #expect(defaults == ["default via 10.88.0.1 dev eth0", "default via 10.89.0.1 dev eth1"])
    }

    @Test("a given MAC and interface name are used as given")
    func givenMACAndName() throws {
        let host = try webHost()
        let ctr = host.kernel.addNamespace("ctr1")
        _ = try host.manager.attach(AttachOptions(network: "web", namespace: .name("ctr1"), mac: MACAddress(parsing: "02:00:00:00:00:aa"),
                                                  interfaceName: InterfaceName("net0")))
        #expect(host.kernel.link("net0", in: ctr)?.mac?.description == "02:00:00:00:00:aa")
    }

    @Test("an id runc accepts with '+' and ',' (its rule is [\\w+,.-]+) is an endpoint id: tagged, published, kept by gc, detached")
    func runcIDCharacters() throws {
        let host = try webHost()
        let before = host.nftables.ruleset
        let id = "web+1,2"
        let endpoint = try host.attach("ctr1", id: id, ports: ["8080:80"])
        let veth = try #require(host.kernel.link(endpoint.hostVeth.rawValue))
        #expect(veth.alias == "berth-endpoint web+1,2 @f4ce0001")
        #expect(KernelNames.Tag(veth.alias)?.owner == id)
        #expect(host.nftables.ruleset.contains(#"tcp . 8080 comment "berth-endpoint web+1,2 @f4ce0001" : 10.88.0.2 . 80"#))
        #expect(try host.recorded() == ["web+1,2 10.88.0.2"])
        // gc reads the tags back as this live endpoint's: nothing removed.
        let report = try host.manager.gc()
        #expect(report.endpoints.isEmpty && report.links.isEmpty && report.firewallObjects.isEmpty, "\(report)")
        #expect(try host.manager.detach(id: id))
        #expect(try host.recorded().isEmpty && host.kernel.link(endpoint.hostVeth.rawValue) == nil && host.nftables.ruleset == before)
    }

    @Test("an id with any other byte is refused naming the allowed set", arguments: ["a b", "a/b", "a@b", "a:b", "a;b", "a\\b", "é"])
    func idOutsideTheSet(id: String) {
        #expect {
            try AttachOptions.validate(id: id)
        } throws: { error in
            guard let error = error as? BerthError else { return false }
            return error.message == "invalid endpoint id \"\(id)\"" && error.hint == "use 1 to 102 letters, digits, '_', '.', '-', '+' or ','" && error.parameter == "id"
        }
    }

    static let badAttaches: [(String, AttachOptions, BerthError.Code, [String], String?)] = [
        ("unknown network", try! AttachOptions(network: "nope", namespace: .name("ctr")), .notFound, ["no network named \"nope\""], "network"),
        ("address outside the subnet", try! AttachOptions(network: "web", namespace: .name("ctr"), address: IPv4Address("10.41.0.5")),
         .invalidArgument, ["address 10.41.0.5 is not inside subnet 10.88.0.0/24"], "address"),
        ("address in use", try! AttachOptions(network: "web", namespace: .name("ctr"), address: IPv4Address("10.88.0.2")),
         .conflict, ["address 10.88.0.2", "already leased to endpoint first"], "address"),
        ("address is the gateway", try! AttachOptions(network: "web", namespace: .name("ctr"), address: IPv4Address("10.88.0.1")),
         .conflict, ["address 10.88.0.1 is the gateway of network \"web\""], "address"),
        ("address is the broadcast address", try! AttachOptions(network: "web", namespace: .name("ctr"), address: IPv4Address("10.88.0.255")),
         .invalidArgument, ["address 10.88.0.255 is the broadcast address of subnet 10.88.0.0/24"], "address"),
        ("the host's namespace", try! AttachOptions(network: "web", namespace: .path("/proc/self/ns/net")),
         .invalidArgument, ["/proc/self/ns/net is the host's own network namespace"], "namespace"),
        ("a namespace that does not exist", try! AttachOptions(network: "web", namespace: .name("never-made")),
         .notFound, ["/run/netns/never-made does not exist"], "namespace"),
        ("duplicate id", try! AttachOptions(network: "web", namespace: .name("ctr"), id: "first"), .alreadyExists, ["endpoint first already exists"], "id"),
        ("invalid id", try! AttachOptions(network: "web", namespace: .name("ctr"), id: "a/b"), .invalidArgument, ["invalid endpoint id \"a/b\""], "id"),
        ("multicast MAC", try! AttachOptions(network: "web", namespace: .name("ctr"), mac: MACAddress("01:00:5e:00:00:01")),
         .invalidArgument, ["MAC address 01:00:5e:00:00:01 cannot be given"], "mac"),
    ]

    @Test("bad attaches are refused naming the value and the request field; kernel and state unchanged", arguments: badAttaches.indices)
    func badAttach(_ index: Int) throws {
        let (label, options, code, fragments, parameter) = Self.badAttaches[index]
        let host = try webHost()
        try host.attach("first-ctr", id: "first")
        host.kernel.addNamespace("ctr")
        let before = host.kernel.snapshot()
        let error = refusal { try host.manager.attach(options) }
        expect(error, code, fragments, parameter: parameter)
        #expect(error?.operation == .attach, "\(label)")
        #expect(host.kernel.snapshot() == before, "\(label) changed the kernel")
        #expect(try host.recorded() == ["first 10.88.0.2"], "\(label)")
    }

    @Test("the machine's initial namespace (/proc/1/ns/net) and the calling process's own are refused, not only the handle's host namespace; kernel and state unchanged")
    func machineNamespacesRefused() throws {
        let host = try webHost()
        // Process 1 in a namespace other than the caller's: a fenced caller's view.
        let initial = host.kernel.addNamespace("init", pid: 1, loopbackUp: true)
        let before = host.kernel.snapshot()
        for reference in [NamespaceReference.pid(1), .path("/proc/1/ns/net")] {
            let error = refusal { try host.manager.attach(AttachOptions(network: "web", namespace: reference)) }
            expect(error, .invalidArgument, ["\(reference) is the machine's initial network namespace"], parameter: "namespace")
        }
        #expect(host.kernel.snapshot() == before)
        #expect(host.kernel.link("eth0", in: initial) == nil)

        // A library caller's handle on another host namespace than its own: its own is refused.
        let other = host.kernel.addNamespace("other-host", loopbackUp: true)
        let manager = NetworkManager(store: try StateStore(directory: host.stateDirectory), host: try HostHandle(kernel: host.kernel, namespace: other))
        _ = try manager.createNetwork(NetworkOptions(name: "inner", subnet: try CIDR(parsing: "10.77.0.0/24")))
        let own = refusal { try manager.attach(AttachOptions(network: "inner", namespace: .path("/proc/thread-self/ns/net"))) }
        expect(own, .invalidArgument, ["/proc/thread-self/ns/net is the calling process's own network namespace"], parameter: "namespace")
        let initialToo = refusal { try manager.attach(AttachOptions(network: "inner", namespace: .pid(1))) }
        expect(initialToo, .invalidArgument, ["is the machine's initial network namespace"], parameter: "namespace")
        #expect(host.kernel.link("eth0") == nil)
        #expect(try host.recorded().isEmpty)
        // A container's namespace is attached as ever.
        host.kernel.addNamespace("ctr")
        #expect(try manager.attach(AttachOptions(network: "inner", namespace: .name("ctr"))).network == "inner")
    }

    /// An anonymous namespace's `/proc/PID/fd/N` (and any path that names the namespace
    /// only for one process) would be recorded, and a `gc` run by another process, or after
    /// the fd is closed, would find it gone and take a running container's endpoint.
    @Test("a per-process namespace path (/proc/PID/fd/N, /proc/self/…, another thread's task path) is refused before anything is made; /proc/PID/ns/net is attached")
    func perProcessNamespacePathRefused() throws {
        let host = try webHost()
        let ctr = host.kernel.addNamespace("ctr", pid: 123)
        let refused = ["/proc/123/fd/7", "/proc/self/fd/7", "/proc/thread-self/fd/7", "/proc/123/task/124/ns/net", "/proc/123/root/run/netns/x",
                       "/run/netns/../../proc/123/fd/7", "ns/ctr", "./ctr"]
        for path in refused { host.kernel.addPath(path, to: ctr) }
        let before = host.kernel.snapshot()
        for path in refused {
            for reference in [NamespaceReference.path(path), .open(try host.kernel.openNamespace(.path(path)))] {
                let error = refusal { try host.manager.attach(AttachOptions(network: "web", namespace: reference, id: "anon", ports: [try PortSpec(parsing: "8080:80")])) }
                expect(error, .invalidArgument, ["namespace path \(path) ", "garbage collection would find the namespace gone"],
                       parameter: "namespace", remedy: .chooseAnother(parameter: "namespace"))
                #expect(error?.hint?.contains("/proc/PID/ns/net") == true)
                #expect(error?.operation == .attach)
            }
        }
        #expect(host.kernel.snapshot() == before)
        #expect(try host.recorded().isEmpty)
        #expect(host.kernel.link("eth0", in: ctr) == nil)
        // The process's own namespace link, directly or through its main thread, is kept.
        host.kernel.addPath("/proc/123/task/123/ns/net", to: ctr)
        let byPid = try host.manager.attach(AttachOptions(network: "web", namespace: .pid(123), id: "bypid"))
        #expect(byPid.namespacePath == "/proc/123/ns/net")
        let byTask = try host.manager.attach(AttachOptions(network: "web", namespace: .path("/proc/123/task/123/ns/net"), id: "bytask",
                                                           interfaceName: InterfaceName("eth1")))
        #expect(byTask.namespacePath == "/proc/123/task/123/ns/net")
    }

    @Test("an interface name the namespace already has is refused naming it; the lease is not kept")
    func interfaceNameTaken() throws {
        let host = try webHost()
        let ctr = host.kernel.addNamespace("ctr1")
        host.kernel.addLink("eth1", kind: "dummy", in: ctr)
        let before = host.kernel.snapshot()
        let error = refusal { try host.attach("ctr1", id: "x", interfaceName: "eth1") }
        expect(error, .alreadyExists, ["interface eth1 already exists in network namespace ctr1"], parameter: "interfaceName",
               remedy: .chooseAnother(parameter: "interfaceName"))
        #expect(host.kernel.snapshot() == before)
        #expect(try host.attach("ctr1", id: "x").address?.description == "10.88.0.2")
    }

    @Test("a host veth left by a crash is named, with garbage collection as the remedy")
    func leftoverVeth() throws {
        let host = try webHost()
        let name = try KernelNames.hostVeth(forEndpoint: "x", instance: FakeHost.instance).rawValue
        host.kernel.addLink(name, kind: "veth", peerName: "leftp")
        let error = refusal { try host.attach("ctr1", id: "x") }
        expect(error, .alreadyExists, ["host veth \(name) of endpoint x already exists"], remedy: .collectGarbage)
        #expect(error?.object == .link(name))
        #expect(try host.recorded().isEmpty)
    }

    @Test("a link of someone else's holding the host veth's name does not keep our tag (the kernel goes on after EEXIST): gc leaves it")
    func foreignLinkKeepsNoTag() throws {
        let host = try webHost()
        let name = try KernelNames.hostVeth(forEndpoint: "x", instance: FakeHost.instance).rawValue
        // Another tool's veth, on no bridge of ours: tagged, gc would delete it.
        host.kernel.addLink(name, kind: "veth", up: true, alias: "uplink of something else", peerName: "otherp")
        let error = refusal { try host.attach("ctr1", id: "x") }
        expect(error, .alreadyExists, ["host veth \(name) of endpoint x already exists"], remedy: .collectGarbage)
        let tag = KernelNames.endpointAlias("x", instance: FakeHost.instance)
        #expect(host.kernel.link(name)?.alias != tag)
        #expect(try host.recorded().isEmpty)
        let report = try host.manager.gc()
        #expect(!report.links.contains(name))
        #expect(host.kernel.link(name) != nil)
    }

    @Test("a creation refused otherwise (no memory) never deletes someone else's link holding the host veth's name, and leaves our tag off it")
    func refusedCreationSparesForeignLink() throws {
        let host = try webHost()
        host.kernel.addNamespace("ctr1")
        let name = try KernelNames.hostVeth(forEndpoint: "x", instance: FakeHost.instance).rawValue
        host.kernel.addLink(name, kind: "veth", up: true, alias: "uplink of something else", peerName: "otherp")
        // ENOMEM: the kernel refuses the creation, then runs the batch's alias and hairpin
        // messages, which name the host end, on that link.
        host.kernel.refuse("create veth \(name)", errno: 12)
        let error = refusal { try host.attach("ctr1", id: "x") }
        #expect(error != nil && error?.code != .alreadyExists)
        let link = try #require(host.kernel.link(name))
        #expect(link.kind == "veth" && link.alias != KernelNames.endpointAlias("x", instance: FakeHost.instance))
        #expect(try host.recorded().isEmpty)
        #expect(!(try host.manager.gc().links.contains(name)))
        #expect(host.kernel.link(name) != nil)
        // Refused on a free name, nothing is left; the next try attaches.
        host.kernel.refuse("create veth", errno: 12)
        try host.handle.netlink.deleteLink(.name(InterfaceName(name)))
        let before = host.kernel.snapshot()
        #expect(throws: BerthError.self) { try host.attach("ctr1", id: "x") }
        #expect(host.kernel.snapshot() == before)
        #expect(try host.attach("ctr1", id: "x").address?.description == "10.88.0.2")
    }

    @Test("an attach failing after any step leaves no veth, no element, no lease", arguments: ["attach.state", "attach.veth", "attach.configure", "attach.publish"])
    func attachRollsBack(point: String) throws {
        let host = try webHost()
        let ctr = host.kernel.addNamespace("ctr1", loopbackUp: true)
        let before = host.kernel.snapshot()
        host.arm(point)
        let error = refusal { try host.attach("ctr1", id: "doomed", ports: ["8080:80", "5353:53/udp"]) }
        expect(error, .internalError, ["fail point \(point) reached"])
        #expect(host.kernel.snapshot() == before)
        #expect(host.kernel.links(in: ctr).map(\.name) == ["lo"])
        #expect(try host.recorded().isEmpty)
        host.disarm()
        #expect(try host.attach("ctr1", id: "doomed", ports: ["8080:80"]).address?.description == "10.88.0.2")
    }

    @Test("a publish batch whose answers were lost (applied, outcome unknown) leaves the attach's record marked, holding its address and port, for gc")
    func outcomeUnknownPublish() throws {
        let host = try webHost()
        host.kernel.addNamespace("ctr1", loopbackUp: true)
        host.nftables.nextApplyError = NetlinkError(errno: Errno(105), operation: "publish", outcomeUnknown: true).berthError
        host.nftables.nextApplyErrorAfterApplying = true
        let error = refusal { try host.attach("ctr1", id: "lost", ports: ["8080:80"]) }
        #expect(error?.outcomeIsUnknown == true, "\(String(describing: error))")
        // The element may be (here: is) in the kernel, DNATing 8080 to 10.88.0.2: neither the
        // address nor the port may go to another container before gc.
        #expect(host.nftables.ruleset.contains("10.88.0.2 . 80"))
        #expect(try host.recorded() == ["lost 10.88.0.2"])
        // A failed attach, not a detach: the words name both, as the mark cannot tell them apart.
        #expect(try host.manager.verifyEndpoint(id: "lost").map(\.description) == ["endpoint lost: attach or detach: interrupted"])
        #expect(try host.manager.check(id: "lost").map(\.description) == ["endpoint lost: attach or detach: interrupted"])
        #expect(try host.attach("ctr2", id: "next").address?.description == "10.88.0.3")
        let taken = refusal { try host.attach("ctr3", id: "port", ports: ["8080:80"]) }
        // The lost attach's record holds the port: the state refuses it as taken by "lost".
        #expect(taken?.code == .conflict && taken?.message.contains("already published by") == true
                    && taken?.message.contains("lost") == true, "\(String(describing: taken))")
        let report = try host.manager.gc()
        #expect(report.endpoints.contains("lost"), "\(report)")
        #expect(!host.nftables.ruleset.contains("10.88.0.2 . 80"))
        #expect(try host.recorded() == ["next 10.88.0.3"])
    }

    @Test("a final COMMIT that fails undoes the kernel work: no veth, no element, no record, the address free")
    func failedCommitRollsBack() throws {
        let host = try webHost()
        let ctr = host.kernel.addNamespace("ctr1", loopbackUp: true)
        _ = try host.attach("other", id: "other", ports: ["9090:90"])
        let before = host.kernel.snapshot()
        let ruleset = host.nftables.ruleset
        host.arm("state.commit")
        let error = refusal { try host.attach("ctr1", id: "doomed", ports: ["8080:80", "5353:53/udp"]) }
        expect(error, .internalError, ["fail point state.commit reached"])
        #expect(host.kernel.snapshot() == before)
        #expect(host.nftables.ruleset == ruleset)
        #expect(host.kernel.links(in: ctr).map(\.name) == ["lo"])
        #expect(try host.recorded() == ["other 10.88.0.2"])
        host.disarm()
        #expect(try host.attach("ctr1", id: "doomed", ports: ["8080:80"]).address?.description == "10.88.0.3")
    }

    @Test("an attach whose undo fails keeps its record, marked: the address stays taken until gc finishes it")
    func failedUndoKeepsTheLease() throws {
        let host = try webHost()
        host.kernel.addNamespace("ctr1", loopbackUp: true)
        host.kernel.addNamespace("ctr2", loopbackUp: true)
        host.arm("attach.publish")
        let name = try KernelNames.hostVeth(forEndpoint: "doomed", instance: FakeHost.instance).rawValue
        host.kernel.refuse("delete link", errno: FakeErrno.permission)
        let error = refusal { try host.attach("ctr1", id: "doomed", ports: ["8080:80"]) }
        expect(error, .internalError, ["fail point attach.publish reached"])
        #expect(host.kernel.link(name) != nil)
        host.disarm()
        #expect(try host.manager.endpoint("doomed").isDetaching)
        #expect(try host.attach("ctr2", id: "next").address?.description == "10.88.0.3")
        let report = try host.manager.gc()
        #expect(report.endpoints == ["doomed"])
        #expect(host.kernel.link(name) == nil)
        #expect(try host.recorded() == ["next 10.88.0.3"])
    }

    @Test("the kernel refusing the address inside the namespace removes the veth pair; nothing is recorded")
    func insideRefusalRollsBack() throws {
        let host = try webHost()
        host.kernel.addNamespace("ctr1", loopbackUp: true)
        let before = host.kernel.snapshot()
        host.kernel.refuse("add address 10.88.0.2/24", errno: FakeErrno.permission)
        let error = refusal { try host.attach("ctr1", id: "e") }
        #expect(error?.code == .permissionDenied)
        #expect(host.kernel.snapshot() == before)
        #expect(try host.recorded().isEmpty)
    }

    @Test("a refused alias (the second message of the batch) still removes the veth the first one made")
    func partialBatchRollsBack() throws {
        let host = try webHost()
        host.kernel.addNamespace("ctr1")
        let before = host.kernel.snapshot()
        host.kernel.refuse("set alias of vb", errno: FakeErrno.invalid)
        #expect(throws: BerthError.self) { try host.attach("ctr1", id: "e") }
        #expect(host.kernel.snapshot() == before)
    }

    @Test("detach removes the veth pair and the record; detaching again, or an unknown id, succeeds")
    func detachIsIdempotent() throws {
        let host = try webHost()
        let ctr = host.kernel.addNamespace("ctr1", loopbackUp: true)
        let before = host.kernel.snapshot()
        try host.attach("ctr1", id: "e")
        try host.manager.detach(id: "e")
        #expect(host.kernel.snapshot() == before)
        #expect(host.kernel.links(in: ctr).map(\.name) == ["lo"])
        let mark = host.kernel.mark
        try host.manager.detach(id: "e")
        try host.manager.detach(id: "never-attached")
        #expect(host.kernel.operations(since: mark).isEmpty)
    }

    @Test("detaching an endpoint whose namespace is gone sends no delete (the kernel removed the pair) and forgets it")
    func detachAfterNamespaceGone() throws {
        let host = try webHost()
        let ctr = host.kernel.addNamespace("ctr1")
        let endpoint = try host.attach("ctr1", id: "e")
        host.kernel.destroyNamespace(ctr)
        #expect(host.kernel.link(endpoint.hostVeth.rawValue) == nil)
        let mark = host.kernel.mark
        try host.manager.detach(id: "e")
        #expect(!host.kernel.operations(since: mark).contains { $0.contains("delete link") })
        #expect(try host.recorded().isEmpty)
    }
}
