import BerthCore
import BerthNetwork

extension CNIRequest {
    /// DEL: removes everything Berth holds for the attachment — its endpoint (veth, lease,
    /// elements) or, chained, its publication — and gives a delegated lease back. Works
    /// from Berth's state alone, so a second DEL, a DEL of an id never added, without
    /// `prevResult`, with an empty `CNI_NETNS` or a namespace that is gone all succeed.
    /// A failing step does not stop the others; the first failure is reported.
    func del() throws(CNIError) -> JSONValue? {
        var failures: [CNIError] = []
        do throws(CNIError) {
            let backend = try backend()
            for step in [("detach", { () throws(BerthError) in try backend.detach(id: attachmentID) }),
                         ("unpublish", { () throws(BerthError) in try backend.unpublish(id: attachmentID) })] {
                do throws(BerthError) {
                    try step.1()
                    Trace.mark("cni: \(step.0) done")
                } catch {
                    failures.append(CNIError(error))
                }
            }
        } catch {
            failures.append(error)
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
}
