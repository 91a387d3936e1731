import BerthCore
import BerthNamespace
import BerthNetwork

extension CNIRequest {
    /// CHECK: verifies what ADD made. As the main plugin: the container's interface,
    /// addresses and default routes (both families on a dual-stack network), the host veth on its bridge, the lease and the published
    /// elements (extra routes or addresses a later plugin added are fine), and that
    /// `prevResult` names the same addresses. Chained: the published elements, and that
    /// the publication forwards to the addresses prevResult names now (one made before
    /// schema 11 forwards to IPv4 alone). 110 listing what is missing or differs.
    ///
    /// An attachment Berth does not record is code 3 (the spec's "Container unknown", which
    /// tells the runtime it need not DEL) only where nothing can be held: no delegated IPAM
    /// plugin (whose lease a DEL gives back) and a network Berth does not run. On a network
    /// Berth runs it is 110, whose DEL and ADD remove what a killed ADD left and give a
    /// delegated lease back. An attachment of the same container and interface on another
    /// network (the id is the same on every network) is not this network's: named, 3 or 110
    /// by the same rule. Main or chained is told by the configuration's keys that only a
    /// main plugin's has (`isMainConfiguration`) or by prevResult, which lists Berth's host
    /// veth when Berth's ADD made it (`listsBerthHostVeth`): a bare `{"type":"berth-cni"}`
    /// on a network the state does not know is never a chained one with nothing to check.
    ///
    /// As the reference bridge plugin: `CNI_NETNS` must open as a network namespace (code 4
    /// otherwise) and be the one the attachment was made in; prevResult's interface named
    /// `CNI_IFNAME` with a sandbox must name `CNI_NETNS` as that sandbox, and when it gives a
    /// MAC, the container's interface must have that MAC (a later plugin such as `tuning`
    /// may have changed it) rather than the one Berth recorded.
    func check() throws(CNIError) -> JSONValue? {
        try require(config.cniVersion.hasCheck, "0.4.0")
        guard let prevResult = config.prevResult else {
            throw CNIError(.invalidConfig, "CHECK needs prevResult", details: "the runtime passes the result of ADD as prevResult")
        }
        let previous = try CNIResult.parse(prevResult, path: "prevResult")
        let namespace = try openedNamespace()
        let container = previous.interfaces.first { $0.name == env.ifname && $0.sandbox != nil }
        var expectedMAC: MACAddress?
        if let text = container?.mac, !text.isEmpty {
            guard let mac = MACAddress(text) else {
                throw CNIError(.invalidConfig, "prevResult's interface \(env.ifname) has MAC \"\(text)\", which is not a MAC address",
                               details: "the runtime passes the result of ADD as prevResult")
            }
            expectedMAC = mac
        }
        let backend = try backend()
        var problems: [String] = []
        if let sandbox = container?.sandbox, sandbox != env.netns {
            problems.append("prevResult puts \(env.ifname) in sandbox \(sandbox), not in CNI_NETNS \(env.netns)")
        }
        func namespaceProblem(recordedPath: String, recorded: NamespaceIdentity) -> [String] {
            namespace.identity == recorded ? []
                : ["CNI_NETNS \(env.netns) (\(namespace.identity)) is not the namespace the attachment was made in (\(recordedPath), \(recorded))"]
        }
        var known = true
        var networkRun = false
        var chained = false
        var publication: PublicationRecord?
        let holder: AttachmentHolder?
        do throws(BerthError) { holder = try backend.holder(of: attachmentID) } catch { throw CNIError(error) }
        if let holder, holder.network != config.name {
            // The id is the container's and interface's, the same on every network.
            let networkRun: Bool
            do throws(BerthError) { networkRun = try backend.network(named: config.name) != nil } catch { throw CNIError(error) }
            throw CNIError(unknownCode(networkRun: networkRun), "berth-cni knows no attachment \(env.containerID) \(env.ifname) on network \(config.name): "
                               + "it has that container's \(env.ifname) on network \(holder.network)",
                           details: "CHECK with network \(holder.network)'s configuration, or DEL it there and ADD it on \(config.name)")
        }
        do throws(BerthError) {
            if let endpoint = try backend.endpoint(id: attachmentID) {
                problems += namespaceProblem(recordedPath: endpoint.namespacePath, recorded: endpoint.namespaceIdentity)
                problems += try backend.verifyEndpoint(id: attachmentID, expectedMAC: expectedMAC)
                for address in endpoint.addresses where !previous.ips.contains(where: { $0.address.address == address }) {
                    problems.append("prevResult does not list the attached address \(address)")
                }
            } else if let found = try backend.publication(id: attachmentID) {
                publication = found
                chained = true
                problems += namespaceProblem(recordedPath: found.namespacePath, recorded: found.namespaceIdentity)
                problems += try backend.verifyPublication(id: attachmentID)
            } else if try backend.network(named: config.name) != nil {
                // Berth is this network's main plugin and has no such endpoint.
                known = false
                networkRun = true
            } else if config.isMainConfiguration || Self.listsBerthHostVeth(previous) {
                // A main plugin's configuration whose network the state does not know — its
                // stateDir changed, or the network was removed: the container is unknown
                // here, never a chained one with nothing to check.
                known = false
            } else {
                chained = true
            }
        } catch {
            throw CNIError(error)
        }
        if chained, publication != nil || !config.portMappings.isEmpty {
            let (address, address6, ports) = try chainedAddresses(previous, ports: try portSpecs())
            if let publication {
                problems += Self.addressProblems(publication, address: address, ipv6Address: address6)
            } else if !ports.isEmpty {
                problems += ["ports \(ports.map { "\($0.hostPorts.map(\.description) ?? "")->\($0.containerPorts)/\($0.protocol)" }.joined(separator: ", ")) are not published"]
            }
        }
        guard known else {
            throw CNIError(unknownCode(networkRun: networkRun), "berth-cni knows no attachment \(env.containerID) \(env.ifname) on network \(config.name)",
                           details: "ADD it first, or DEL and ADD it again")
        }
        if let ipam = try ipamPlugin() {
            _ = try ipam.run(.check, stdin: stdin, environment: environment.dictionary, fallbackStdin: ipamFallbackStdin())
        }
        guard problems.isEmpty else {
            throw CNIError(.attachmentIncomplete, "attachment \(env.containerID) \(env.ifname) is incomplete: \(problems.joined(separator: "; "))",
                           details: "DEL and ADD it again: ADD re-creates what the kernel lost")
        }
        return nil
    }

    /// The code of a CHECK whose attachment Berth does not record: 3 (the runtime need not
    /// DEL) only where nothing can be held — no delegated IPAM plugin, which may hold a
    /// lease, and not a network Berth runs, where a killed ADD may have left a veth or
    /// elements — else 110, whose DEL gives them back.
    func unknownCode(networkRun: Bool) -> CNIError.Code {
        networkRun || config.ipam != nil ? .attachmentIncomplete : .unknownContainer
    }

    /// Whether `result` lists a host veth of Berth's (`vb` and 13 hex digits, no sandbox):
    /// the result of Berth's own main-plugin ADD, never of a plugin Berth is chained behind.
    static func listsBerthHostVeth(_ result: CNIResult) -> Bool {
        result.interfaces.contains { ($0.sandbox?.isEmpty ?? true) && KernelNames.isHostVeth($0.name) }
    }

    /// Where `publication` forwards to and the addresses prevResult names differ, each
    /// difference worded: DEL and ADD publish to prevResult's.
    static func addressProblems(_ publication: PublicationRecord, address: IPv4Address?, ipv6Address: IPv6Address?) -> [String] {
        let listed = IPAddress.list(ipv4: address, ipv6: ipv6Address)
        let stored = publication.addresses
        return listed.filter { !stored.contains($0) }.map { "prevResult lists \($0.family.label) address \($0) that publication \(publication.id) does not forward to" }
            + stored.filter { !listed.contains($0) }.map { "publication \(publication.id) forwards to \($0.family.label) address \($0), which prevResult does not list" }
    }
}
