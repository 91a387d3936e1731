import BerthCore
import BerthNetwork

extension CNIRequest {
    /// GC (CNI 1.1): removes every attachment of this network that is not in
    /// `cni.dev/valid-attachments` — CNI endpoints with their veths, leases and elements,
    /// publications, and leftovers of a crashed ADD (a main plugin's veth on the bridge, the
    /// elements of an ADD of either mode killed before its record committed) — gives each
    /// removed endpoint's delegated lease back, and passes GC on to the delegated IPAM
    /// plugin. Valid attachments, and endpoints that are not CNI attachments (`berth
    /// attach`'s on a network of the same name), are untouched; what was removed goes to
    /// the log. A CNI endpoint whose row cannot be decoded is kept, reported as a failure,
    /// and added to the valid attachments the IPAM plugin's GC gets (`ipamGCStdin`), so
    /// that its lease is not freed under it.
    func gc() throws(CNIError) -> JSONValue? {
        try require(config.cniVersion.hasGCAndStatus, "1.1.0")
        guard let valid = config.validAttachments else {
            throw CNIError(.invalidConfig, "GC needs \"cni.dev/valid-attachments\"",
                           details: "without the list of valid attachments every attachment would look stale; the runtime passes it")
        }
        let keeping = Set(valid.map { CNIAttachment.endpointID(containerID: $0.containerID, ifname: $0.ifname) })
        // The spec: on an error, go on and remove as much as possible, and always pass GC on
        // to the delegated plugin; the first failure is returned at the end (as DEL does).
        var failure: CNIError?
        var pruned = CNIPruneResult(endpoints: [], removed: [], leftovers: [], unjudged: [], failure: nil)
        do throws(CNIError) {
            let backend = try backend()
            do throws(BerthError) {
                pruned = try backend.prune(network: config.name, keeping: keeping)
            } catch {
                throw CNIError(error)
            }
        } catch {
            failure = error
        }
        // A failure past the endpoints' removal: they are gone, and their leases go back below.
        if let error = pruned.failure { failure = failure ?? CNIError(error) }
        if !pruned.removed.isEmpty { log.write("GC \(config.name): removed \(pruned.removed.joined(separator: ", "))") }
        if !pruned.leftovers.isEmpty { log.write("GC \(config.name): removed leftovers: \(pruned.leftovers.joined(separator: "; "))") }
        let ipam: IPAMPlugin?
        do throws(CNIError) {
            ipam = try ipamPlugin()
        } catch {
            throw failure ?? error
        }
        guard let ipam else {
            if let failure { throw failure }
            return nil
        }
        for endpoint in pruned.endpoints {
            let ifname = endpoint.interfaceName.rawValue
            guard let containerID = CNIAttachment.containerID(endpointID: endpoint.id, ifname: ifname) else { continue }
            do throws(CNIError) {
                try releaseIPAM(ipam, overrides: ["CNI_CONTAINERID": containerID, "CNI_IFNAME": ifname, "CNI_NETNS": ""])
            } catch {
                failure = failure ?? error
            }
        }
        // Then the plugin's own GC, with the same stdin (the valid attachments, and the
        // attachments kept unjudged): one that implements it (host-local 1.5 and later) also
        // frees leases Berth never recorded, such as an ADD's killed between the lease and the
        // attach. One that predates GC (Debian 12's host-local 1.1.1) has nothing to do; that
        // never fails the GC.
        do throws(CNIError) {
            _ = try ipam.runUnlessUnknown(.gc, stdin: ipamGCStdin(keepingAlso: pruned.unjudged), environment: environment.dictionary)
        } catch {
            failure = failure ?? error
        }
        if let failure { throw failure }
        return nil
    }

    /// The IPAM plugin's GC stdin: this GC's own, with `attachments` appended to its list of
    /// valid attachments (`cni.dev/valid-attachments`, and `cni.dev/attachments` when given
    /// too; a `null` list is an empty one). Those are CNI endpoints the prune kept because
    /// their rows cannot be decoded: their veth and address stay in use, so their leases
    /// must stay too, or the IPAM plugin would hand the address to the next ADD. Exactly
    /// stdin as received when there are none (the usual GC).
    func ipamGCStdin(keepingAlso attachments: [CNIPruneResult.Attachment]) -> [UInt8] {
        guard !attachments.isEmpty, let json = try? CNIInput.parse(stdin), case .object(let members) = json else { return stdin }
        let added = attachments.map { JSONValue.object([("containerID", .string($0.containerID)), ("ifname", .string($0.ifname))]) }
        let lists: Set<String> = ["cni.dev/valid-attachments", "cni.dev/attachments"]
        return Array(JSONValue.object(members.map { key, value in
            guard lists.contains(key) else { return (key, value) }
            if case .array(let elements) = value { return (key, .array(elements + added)) }
            return value.isNull ? (key, .array(added)) : (key, value)
        }).render().utf8)
    }
}
