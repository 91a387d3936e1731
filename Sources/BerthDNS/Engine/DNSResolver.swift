public import BerthCore

/// What to do with one query.
public enum DNSResolution: Sendable, Hashable {
    /// Send this response.
    case answer(DNSMessage)
    /// The name is not Berth's: send the query's bytes upstream and relay the answer.
    case forward
    /// Say nothing: the bytes are a response, or not even a header.
    case drop
}

/// The resolver's rules, with no I/O: a compiled `DNSTable` and the answer to one query
/// arriving on one network's address. See docs/dns.md, "The engine's rules".
public struct DNSResolver: Sendable {
    /// A network's names, compiled.
    struct Zone: Sendable {
        let name: String
        let subnets: [CIDR]
        /// Lower-cased name → addresses, both families, in table order without repeats.
        let addresses: [DNSName: [IPAddress]]
        /// Address → the name PTR answers with.
        let reverse: [IPAddress: DNSName]
        let upstreams: [DNSUpstream]?
        /// `NETWORK.` when the network's name is a DNS label: the apex of its qualified names.
        let domain: DNSName?
        /// Address → the container it belongs to (`DNSNetworkZone.members`).
        let members: [IPAddress: String]
    }

    let zones: [Zone]
    let zoneByListenAddress: [IPAddress: Int]
    /// Container key → the zones it has an endpoint on, in table order.
    let zonesByMember: [String: [Int]]
    /// Every network's subnets: reverse names inside them are answered here, never forwarded.
    let allSubnets: [CIDR]
    /// TTL of local answers. 0 by default: names change when containers come and go, and a
    /// stopped container's name must stop resolving at once.
    public let ttl: UInt32
    /// The UDP payload size this resolver advertises in its own EDNS records.
    public let payloadSize: UInt16
    /// A number that changes with each table: the SOA serial of negative answers.
    public let serial: UInt32

    public init(table: DNSTable, ttl: UInt32 = 0, payloadSize: UInt16 = 1232, serial: UInt32 = 1) throws(BerthError) {
        try table.validate()
        var zones: [Zone] = []
        var byAddress: [IPAddress: Int] = [:]
        for (index, network) in table.networks.enumerated() {
            var addresses: [DNSName: [IPAddress]] = [:]
            var reverse: [IPAddress: DNSName] = [:]
            let domain = network.domain
            for endpoint in network.endpoints {
                let raw = [endpoint.name] + endpoint.aliases
                // A name under another network's domain answers only in its qualified form:
                // never under that network's apex (`DNSTable.foreignDomainHolder`).
                var names = raw.filter { table.foreignDomainHolder(of: $0, zone: index) == nil }
                if let domain { names += raw.compactMap { $0.appending(domain) } }
                for name in names.map({ $0.lowercased() }) {
                    for address in endpoint.addresses where !(addresses[name]?.contains(address) ?? false) {
                        addresses[name, default: []].append(address)
                    }
                }
                let ptrName = domain.flatMap { endpoint.name.appending($0) } ?? endpoint.name
                for address in endpoint.addresses where reverse[address] == nil {
                    reverse[address] = ptrName
                }
            }
            zones.append(Zone(name: network.name, subnets: network.subnets, addresses: addresses, reverse: reverse,
                              upstreams: network.upstreams, domain: domain?.lowercased(), members: network.members))
            for address in network.listenAddresses { byAddress[address] = index }
        }
        self.zones = zones
        self.zoneByListenAddress = byAddress
        var byMember: [String: [Int]] = [:]
        for (index, zone) in zones.enumerated() {
            for member in Set(zone.members.values) { byMember[member, default: []].append(index) }
        }
        self.zonesByMember = byMember
        self.allSubnets = table.networks.flatMap(\.subnets)
        self.ttl = ttl
        self.payloadSize = max(512, payloadSize)
        self.serial = serial
    }

    /// The zone (network index in the table) served on `address`, if any.
    public func zone(listeningOn address: IPAddress) -> Int? { zoneByListenAddress[address] }

    /// The network name of a zone.
    public func networkName(ofZone zone: Int) -> String { zones[zone].name }

    /// The upstreams configured for a zone, nil for the server's default.
    public func upstreams(ofZone zone: Int) -> [DNSUpstream]? { zones[zone].upstreams }

    /// Whether a query from `source` may be answered on `zone`: only the network's own
    /// subnets are (a LAN peer or another network's container routed to the gateway is not).
    public func admits(source: IPAddress, zone: Int) -> Bool {
        zones[zone].subnets.contains { $0.contains(source) }
    }

    /// The response to bytes that are not a well-formed message: FORMERR when the header is
    /// readable and is a query, nothing otherwise.
    public static func formatError(for bytes: [UInt8]) -> [UInt8]? {
        guard let query = DNSHeader(bytes), !query.isResponse else { return nil }
        var header = DNSHeader(id: query.id)
        header.isResponse = true
        header.opcode = query.opcode
        header.recursionDesired = query.recursionDesired
        header.responseCodeLow = UInt8(DNSResponseCode.formatError.rawValue)
        return header.bytes
    }

    /// Decides what to do with a parsed query that arrived on `zone` from `source` (nil:
    /// unknown; only the zone's own names are then looked up). A name with several
    /// addresses answers them in table order; see the other form for the rotation.
    public func resolve(_ query: DNSMessage, zone: Int, source: IPAddress? = nil) -> DNSResolution {
        var rotation = DNSAnswerRotation()
        return resolve(query, zone: zone, source: source, rotation: &rotation)
    }

    /// `resolve(_:zone:source:)`, with the answers of a name with several addresses (an
    /// alias shared by several endpoints) started where `rotation` says, which it then
    /// moves on: the server keeps one per table, so successive queries see each address first.
    public func resolve(_ query: DNSMessage, zone: Int, source: IPAddress? = nil, rotation: inout DNSAnswerRotation) -> DNSResolution {
        guard !query.header.isResponse else { return .drop }
        // Without exactly one question nothing is echoed (RFC 1035 allows several; no server
        // answers them, and echoing them would amplify).
        guard query.header.opcode == .query else {
            return .answer(response(to: query, code: .notImplemented, echo: query.questions.count == 1))
        }
        guard query.questions.count == 1, let question = query.questions.first else {
            return .answer(response(to: query, code: .formatError, echo: false))
        }
        if let edns = query.edns, edns.version != 0 {
            return .answer(response(to: query, code: .badVersion))
        }
        // Reverse names of served subnets are never forwarded, whatever the class: one
        // other than IN or ANY is refused where IN would be answered here (they are IN
        // data), and forwarded only where IN would be too.
        let isInternet = question.recordClass == .internet || question.recordClass == .any
        var reverse: DNSResolution?
        if let address = ReverseName.address(from: question.name) {
            reverse = resolveReverse(query, question: question, address: address, zones: askersZones(zone, source: source))
        } else if let (block, below) = ReverseName.block(from: question.name) {
            reverse = resolveReverseBlock(query, question: question, block: block, below: below, zones: askersZones(zone, source: source))
        }
        if let reverse {
            return isInternet || reverse == .forward ? reverse : .answer(response(to: query, code: .refused))
        }
        guard isInternet else { return .forward }
        // Each network's names are its own: a name another network serves is forwarded
        // like any name this one does not, as Docker's resolver and aardvark-dns do. An
        // NXDOMAIN here would let an alias such as api.github.com on one network break
        // that name for every other, and tell other networks what this one holds.
        // The asking container's other networks come next (aardvark-dns answers from every
        // network of the container): still only the asker's own networks.
        let key = question.name.lowercased()
        let asked = askersZones(zone, source: source)
        let answering = asked.first { zones[$0].addresses[key] != nil }
        // `NETWORK.` itself, the apex Berth's negative answers name in their SOA, is Berth's
        // too: forwarded, an upstream's NXDOMAIN for it would deny every NAME.NETWORK below
        // it to a client that caches by RFC 8020.
        let isApex = answering == nil && asked.contains { zones[$0].domain == key }
        guard answering != nil || isApex else { return .forward }
        if question.type == DNSRecordType(rawValue: 251) || question.type == DNSRecordType(rawValue: 252) {
            return .answer(response(to: query, code: .notImplemented)) // IXFR, AXFR: no zone transfers
        }
        guard let answering, let addresses = zones[answering].addresses[key] else {
            // The apex: its SOA, NODATA for any other type.
            guard question.type == .soa || question.type == .any else { return .answer(negative(to: query, code: .noError, apex: key)) }
            var answer = response(to: query, code: .noError)
            answer.answers = [soaRecord(apex: question.name)]
            return .answer(answer)
        }
        let records: [DNSRecord] = addresses.compactMap { address in
            switch (address, question.type) {
            case (.v4(let v4), .a), (.v4(let v4), .any):
                DNSRecord(name: question.name, ttl: ttl, data: .a(v4))
            case (.v6(let v6), .aaaa), (.v6(let v6), .any):
                DNSRecord(name: question.name, ttl: ttl, data: .aaaa(v6))
            default:
                nil
            }
        }
        // A name with no record of the asked type exists all the same: NOERROR, no data.
        guard !records.isEmpty else {
            // The SOA of the zone the name is in (RFC 2308 §3): NETWORK. for NAME.NETWORK,
            // the root for a single-label name.
            let apex = zones[answering].domain.flatMap { question.name.isSubdomain(of: $0) ? $0 : nil } ?? .root
            return .answer(negative(to: query, code: .noError, apex: apex))
        }
        var answer = response(to: query, code: .noError)
        answer.answers = rotation.rotate(records, zone: zone, name: question.name, type: question.type)
        return .answer(answer)
    }

    /// The zones whose names a query on `zone` from `source` gets, in order: the zone's own,
    /// then the asking container's other networks' (aardvark-dns answers from every network
    /// of the container) — still only the asker's own networks.
    private func askersZones(_ zone: Int, source: IPAddress?) -> [Int] {
        guard let source, let member = zones[zone].members[source] else { return [zone] }
        return [zone] + (zonesByMember[member] ?? []).filter { $0 != zone }
    }

    private func resolveReverse(_ query: DNSMessage, question: DNSQuestion, address: IPAddress, zones asked: [Int]) -> DNSResolution {
        let subnet = servedSubnet { $0.contains(address) }
        let apex = subnet.map { ReverseName.zoneName(of: ReverseName.zone(of: $0)) }
            ?? (address.family == .ipv4 ? ReverseName.inAddrArpa : ReverseName.ip6Arpa)
        if let target = asked.lazy.compactMap({ self.zones[$0].reverse[address] }).first {
            guard question.type == .ptr || question.type == .any else { return .answer(negative(to: query, code: .noError, apex: apex)) }
            var answer = response(to: query, code: .noError)
            answer.answers = [DNSRecord(name: question.name, ttl: ttl, data: .ptr(target))]
            return .answer(answer)
        }
        // An address of any Berth network (this one's unused ones, or another network's)
        // is Berth's business: answered here so that it never leaks upstream.
        if subnet != nil {
            return .answer(negative(to: query, code: .nameError, apex: apex))
        }
        return .forward
    }

    /// A reverse name that is not one address: a block (`0.89.10.in-addr.arpa.`), maybe
    /// with labels below it that no address has. At, under or above a served subnet's
    /// reverse zone it is answered here and never forwarded (as RFC 6303 has local zones
    /// answered locally): the zone's apex has its SOA; a block holding an endpoint of the
    /// networks in `asked` — those whose addresses `resolveReverse` answers the asker for,
    /// so a name never has NXDOMAIN above it (RFC 8020) — or on the way down to a subnet,
    /// is an empty non-terminal
    /// (NODATA); anything else under the zone does not exist (NXDOMAIN).
    private func resolveReverseBlock(_ query: DNSMessage, question: DNSQuestion, block: CIDR, below: Bool, zones asked: [Int]) -> DNSResolution {
        guard let subnet = servedSubnet(where: { $0.overlaps(block) }) else { return .forward }
        let reverseZone = ReverseName.zone(of: subnet)
        let inZone = block.prefixLength >= reverseZone.prefixLength
        // The SOA of the subnet's zone; above it, of the name itself (a local zone of its own).
        let apex = inZone ? ReverseName.zoneName(of: reverseZone) : question.name
        if below {
            // Labels under a block that no address continues: nothing there, if it is ours.
            guard inZone else { return .forward }
            return .answer(negative(to: query, code: .nameError, apex: apex))
        }
        if block.prefixLength == reverseZone.prefixLength, question.type == .soa || question.type == .any {
            var answer = response(to: query, code: .noError)
            answer.answers = [soaRecord(apex: apex)]
            return .answer(answer)
        }
        let exists = block.prefixLength <= reverseZone.prefixLength || block.prefixLength < subnet.prefixLength
            || asked.contains { self.zones[$0].reverse.keys.contains { block.contains($0) } }
        return .answer(negative(to: query, code: exists ? .noError : .nameError, apex: apex))
    }

    /// The most specific served subnet that `matches`.
    private func servedSubnet(where matches: (CIDR) -> Bool) -> CIDR? {
        allSubnets.filter(matches).max { $0.prefixLength < $1.prefixLength }
    }

    /// An authoritative response with recursion available (the resolver forwards); with
    /// `echo` false, without the question section.
    private func response(to query: DNSMessage, code: DNSResponseCode, echo: Bool = true) -> DNSMessage {
        var response = query.responseSkeleton(code: code, payloadSize: payloadSize)
        if !echo { response.questions = [] }
        response.header.isAuthoritative = code == .noError || code == .nameError
        response.header.recursionAvailable = true
        return response
    }

    /// NXDOMAIN or NODATA with the SOA of the zone at `apex` (RFC 2308 §3), whose minimum is
    /// the local TTL, so that a caching client keeps the negative answer no longer than a
    /// positive one.
    private func negative(to query: DNSMessage, code: DNSResponseCode, apex: DNSName) -> DNSMessage {
        var answer = response(to: query, code: code)
        answer.authorities = [soaRecord(apex: apex)]
        return answer
    }

    private func soaRecord(apex: DNSName) -> DNSRecord {
        let soa = DNSSOA(primaryServer: Self.serverName, responsible: Self.hostmaster, serial: serial,
                         refresh: 3600, retry: 600, expire: 86400, minimum: ttl)
        return DNSRecord(name: apex, ttl: ttl, data: .soa(soa))
    }

    static let serverName = DNSName(trustedWire: [9] + Array("berth-dns".utf8) + [0])
    static let hostmaster = DNSName(trustedWire: [10] + Array("hostmaster".utf8) + [9] + Array("berth-dns".utf8) + [0])
}
