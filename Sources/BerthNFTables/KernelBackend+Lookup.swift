import BerthCore
import BerthNetlink

/// Reading chosen elements by key (NFT_MSG_GETSETELEM without NLM_F_DUMP, as `nft get
/// element` asks), with the generation read first, in one `sendmsg`.
extension KernelBackend {
    /// Keys asked per `sendmsg`: the kernel queues every answer (an element and an ack per
    /// key, about 3 KiB of receive buffer with their skbs) before Berth reads one.
    static let keysPerLookup = 32

    /// One GETSETELEM per key, each acknowledged and tolerating ENOENT (no such element, set
    /// or table: the kernel answers each message on its own, so a missing key costs
    /// nothing else), the first request led by a GETGEN: the kernel handles the messages of
    /// one `sendmsg` in order, so the generation is read before any element. An endpoint
    /// with a few published ports is one round trip, whatever the size of the maps.
    public func elements(withKeysOf wanted: [(Element, NFTSet)]) throws(BerthError) -> (generation: UInt32, found: [(Element, NFTSet)]) {
        var generation: UInt32?
        var found: [(Element, NFTSet)] = []
        var start = 0
        repeat {
            var request = NetlinkRequest()
            if generation == nil { try appendGenerationRequest(to: &request) }
            let end = min(wanted.count, start + Self.keysPerLookup)
            // The sequence of each key's message, in `wanted` order from `start`.
            var sequences: [UInt32] = []
            sequences.reserveCapacity(end - start)
            for index in start..<end {
                let (element, set) = wanted[index]
                let sequence = transport.nextSequence()
                // Only the key goes: a GETSETELEM message carries neither data nor comment.
                request.append(rawMessage: try NFTNL.elementsMessage(set, [element], type: NFTNL.MessageType.getSetElem, flags: NetlinkFlags.ack, sequence: sequence),
                               sequence: sequence, operation: "read element \(element.rendered) of \(set.label)", expectsAck: true,
                               tolerated: [KernelErrno.noEntry], expectsReply: true)
                sequences.append(sequence)
            }
            let replies: [NetlinkMessage]
            do { replies = try transport.transact(request) } catch { throw error.berthError }
            for reply in replies {
                if generation == nil, let id = Self.parseGeneration(reply) {
                    generation = id
                    continue
                }
                guard let offset = sequences.firstIndex(of: reply.sequence) else { continue }
                let set = wanted[start + offset].1
                for element in NFTNL.parseElements(reply, of: set) where element.key == wanted[start + offset].0.key {
                    found.append((element, set))
                }
            }
            guard generation != nil else {
                throw BerthError(.kernel, "read the nftables generation: no NFTA_GEN_ID in the kernel's answer")
            }
            start = end
        } while start < wanted.count
        return (generation ?? 0, found)
    }
}
