import BerthCore
import BerthNetwork

extension CNIRequest {
    /// DEL: removes everything Berth holds for the attachment on this network — its
    /// endpoint (veth, lease, elements) or, chained, its publication, or the elements a
    /// chained ADD left when its record never committed — and gives a delegated lease back.
    /// Works from Berth's state alone, so a second DEL, a DEL of an id never added, without
    /// `prevResult`, with an empty `CNI_NETNS` or a namespace that is gone all succeed. An
    /// attachment of the same container and interface on another network (the id is the
    /// same on every network) is not this DEL's: it is left whole, as if not there.
    /// A failing step does not stop the others; the first failure is reported.
    ///
    /// A container id longer than ADD takes (`CNIAttachment.maxContainerIDLength`) was never
    /// recorded: Berth's part is skipped and only the delegated lease is given back (the
    /// IPAM plugin may have leased before Berth refused the id).
    func del() throws(CNIError) -> JSONValue? {
        var failures: [CNIError] = []
        if env.containerID.utf8.count > CNIAttachment.maxContainerIDLength {
            log.write("DEL \(env.containerID) \(env.ifname): the container id is longer than berth-cni records; only the IPAM plugin's part is released")
        } else {
            do throws(CNIError) { try delBerth() } catch { failures.append(error) }
        }
        if let type = config.ipamType {
            // The lease lives in the IPAM plugin's own store: give it back whatever happened above.
            do throws(CNIError) {
                try releaseIPAM(try IPAMPlugin(type: type, searchPath: env.path))
            } catch {
                failures.append(error)
            }
        }
        guard let first = failures.first else { return nil }
        for later in failures.dropFirst() { log.write("DEL \(attachmentID): also: \(later)") }
        throw first
    }

    /// Berth's part of DEL: the endpoint, else the publication (or a crashed chained ADD's
    /// elements).
    private func delBerth() throws(CNIError) {
        let backend = try backend()
        do throws(BerthError) {
            // An endpoint's id is never a publication's: the publication is looked for
            // (and a crashed chained ADD's elements) only when no endpoint was detached.
            if try backend.detach(id: attachmentID, network: config.name) {
                Trace.mark("cni: detach done")
            } else {
                let leftovers = try backend.unpublish(id: attachmentID, group: config.name)
                if !leftovers.isEmpty { log.write("DEL \(attachmentID): removed leftovers: \(leftovers.joined(separator: "; "))") }
                Trace.mark("cni: unpublish done")
            }
        } catch {
            throw CNIError(error)
        }
    }
}
