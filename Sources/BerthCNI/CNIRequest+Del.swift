import BerthCore
import BerthNetwork

extension CNIRequest {
    /// DEL: removes everything Berth holds for the attachment on this network — its
    /// endpoint (veth, lease, elements) or, chained, its publication, or the elements a
    /// chained ADD left when its record never committed — and gives a delegated lease back
    /// (kept when Berth's part failed and Berth still records the id: see `leaseKept`).
    /// Works from Berth's state alone, so a second DEL, a DEL of an id never added, without
    /// `prevResult`, with an empty `CNI_NETNS` or a namespace that is gone all succeed. An
    /// attachment of the same container and interface on another network (the id is the
    /// same on every network) is not this DEL's: it is left whole, as if not there.
    /// A failing step does not stop the others; the first failure is reported.
    ///
    /// An attachment whose id is longer than ADD takes (`CNIAttachment.fits`) was never
    /// recorded: Berth's part is skipped and only the delegated lease is given back (the
    /// IPAM plugin may have leased before Berth refused the id).
    func del() throws(CNIError) -> JSONValue? {
        var failures: [CNIError] = []
        var backend: BerthBackend?
        if !CNIAttachment.fits(containerID: env.containerID, ifname: env.ifname) {
            log.write("DEL \(env.containerID) \(env.ifname): the attachment id CONTAINERID-IFNAME is over \(CNIAttachment.maxIDLength) bytes, so Berth never recorded it; only the IPAM plugin's part is released")
        } else {
            do throws(CNIError) {
                let state = try self.backend()
                backend = state
                try delBerth(state)
            } catch {
                failures.append(error)
            }
        }
        if let type = config.ipamType {
            // The lease lives in the IPAM plugin's own store: given back when Berth's part
            // is done, or failed with nothing of Berth's recording the id (as after a failed ADD).
            if !failures.isEmpty, let reason = leaseKept(backend) {
                log.write("DEL \(attachmentID): kept the \(type) lease: \(reason)")
            } else {
                do throws(CNIError) {
                    try releaseIPAM(try IPAMPlugin(type: type, searchPath: env.path))
                } catch {
                    failures.append(error)
                }
            }
        }
        guard let first = failures.first else { return nil }
        for later in failures.dropFirst() { log.write("DEL \(attachmentID): also: \(later)") }
        throw first
    }

    /// Why the delegated lease stays after Berth's part of DEL failed, as `failedAdd` keeps
    /// it: Berth still records the id on this network and its namespace may live (its
    /// address may be in use; the next DEL or a GC finishes the record and gives the lease
    /// back then), or its state cannot be read. nil when nothing of Berth's on this network
    /// records the id, or the recorded namespace is gone: a runtime that does not retry DEL
    /// (podman's CNI backend) would otherwise leave the lease taken for good, as `berth gc`
    /// forgets the endpoint but knows nothing of the plugin's lease.
    private func leaseKept(_ backend: BerthBackend?) -> String? {
        guard let backend else { return "Berth's state could not be opened" }
        do throws(BerthError) {
            guard let holder = try backend.holder(of: attachmentID), holder.network == config.name else { return nil }
            if !holder.isPublication, try backend.namespaceGone(ofEndpoint: attachmentID) { return nil }
            return "Berth still records the attachment"
        } catch {
            return "Berth's state could not be read: \(CNIError(error))"
        }
    }

    /// Berth's part of DEL: the endpoint, else the publication (or a crashed chained ADD's
    /// elements).
    private func delBerth(_ backend: BerthBackend) throws(CNIError) {
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
