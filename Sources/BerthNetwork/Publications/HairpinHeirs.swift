import BerthCore

/// The publications a prune may hand a hairpin element to (`NetworkManager.hairpinHeirs`),
/// indexed once by address: a prune removing many publications would otherwise read and
/// decode every publication again for each one it removes (quadratic, under the state
/// lock). Built from the state's publications at the prune's start, in their order; a
/// removed publication is dropped (`remove`), so the heirs are those the state still holds,
/// as a fresh read in the prune's transaction would find them.
struct HairpinHeirs {
    /// Every publication the index started with, in the state's order.
    private let publications: [PublicationRecord]
    /// The positions in `publications` of those to each address, ascending.
    private var byAddress: [IPAddress: [Int]] = [:]
    /// Positions of publications removed since.
    private var removed: Set<Int> = []
    /// Position by id.
    private let positions: [String: Int]
    /// Firewall views decoded so far, by position: each is decoded once however often it
    /// serves as an heir.
    private var views: [Int: EndpointRecord] = [:]

    init(_ publications: [PublicationRecord]) {
        self.publications = publications
        var positions: [String: Int] = [:]
        for (position, publication) in publications.enumerated() {
            positions[publication.id] = position
            for address in publication.addresses { byAddress[address, default: []].append(position) }
        }
        self.positions = positions
    }

    /// The other publications still held to an address of `publication`, as firewall
    /// views, in the state's order.
    mutating func heirs(of publication: PublicationRecord) throws(BerthError) -> [EndpointRecord] {
        var found: Set<Int> = []
        for address in publication.addresses {
            for position in byAddress[address] ?? [] where !removed.contains(position) && publications[position].id != publication.id {
                found.insert(position)
            }
        }
        var heirs: [EndpointRecord] = []
        heirs.reserveCapacity(found.count)
        for position in found.sorted() {
            if let view = views[position] {
                heirs.append(view)
            } else {
                let view = try publications[position].firewallView()
                views[position] = view
                heirs.append(view)
            }
        }
        return heirs
    }

    /// Notes that the publication `id` is gone from the state.
    mutating func remove(id: String) {
        guard let position = positions[id] else { return }
        removed.insert(position)
        views[position] = nil
    }
}
