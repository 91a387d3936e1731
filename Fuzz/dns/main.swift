// libFuzzer harness for the DNS codec and the resolver engine (scripts/fuzz-dns builds it).
//
// For every input: parsing must throw or succeed, never trap; a parsed message must
// re-encode to bytes that parse to the same message (when nothing had to be left out);
// encoding under a 512-byte limit must stay under it and still parse; the resolver's
// answer to it must encode and parse; FORMERR must be built for whatever has a header; and
// the TCP framer must cut the same bytes, fed in pieces, into the same frames.

import BerthCore
import BerthDNS

let resolver: DNSResolver = {
    func address(_ text: String) -> IPAddress {
        guard let parsed = IPAddress(text) else { fatalError("bad fixture address \(text)") }
        return parsed
    }
    do {
        let zone = DNSNetworkZone(
            name: "front", listenAddresses: [address("10.89.0.1")], subnets: [try CIDR(parsing: "10.89.0.0/24")],
            endpoints: [
                DNSEndpointNames(name: try DNSName(hostname: "web"), aliases: [try DNSName(hostname: "www")], addresses: [address("10.89.0.2")]),
                DNSEndpointNames(name: try DNSName(hostname: "db"), addresses: [address("10.89.0.3"), address("fd00::3")]),
            ])
        let other = DNSNetworkZone(
            name: "back", listenAddresses: [address("10.90.0.1")], subnets: [try CIDR(parsing: "10.90.0.0/24")],
            endpoints: [DNSEndpointNames(name: try DNSName(hostname: "cache"), addresses: [address("10.90.0.2")])])
        return try DNSResolver(table: DNSTable(networks: [zone, other]))
    } catch {
        fatalError("fixture table: \(error)")
    }
}()

func sameContent(_ a: DNSMessage, _ b: DNSMessage) -> Bool {
    a.header.id == b.header.id && a.header.flags == b.header.flags && a.questions == b.questions && a.answers == b.answers
        && a.authorities == b.authorities && a.additionals == b.additionals && a.edns == b.edns
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

func fuzzMessage(_ bytes: [UInt8]) {
    guard let message = try? DNSMessage(parsing: bytes) else {
        if let response = DNSResolver.formatError(for: bytes) {
            check(response.count == 12 && (try? DNSMessage(parsing: response)) != nil, "FORMERR does not parse")
        }
        return
    }
    let encoded = message.encoded()
    let again: DNSMessage
    do { again = try DNSMessage(parsing: encoded) } catch { fatalError("re-encoded message does not parse: \(error)") }
    let complete = again.questions.count == message.questions.count && again.answers.count == message.answers.count
        && again.authorities.count == message.authorities.count && again.additionals.count == message.additionals.count
    if complete { check(sameContent(message, again), "round trip changed the message") }

    let optSize = message.edns.map { 11 + $0.options.reduce(0) { $0 + 4 + $1.data.count } } ?? 0
    let cut = message.encoded(maxSize: 512)
    if optSize + 12 <= 512 { check(cut.count <= 512, "encoded(maxSize: 512) gave \(cut.count) bytes") }
    check((try? DNSMessage(parsing: cut)) != nil, "truncated message does not parse")

    for zone in 0..<2 {
        if case .answer(let response) = resolver.resolve(message, zone: zone) {
            let limit = message.senderPayloadSize
            let bytes = response.encoded(maxSize: limit)
            check(bytes.count <= limit, "answer over the client's payload size")
            check((try? DNSMessage(parsing: bytes)) != nil, "answer does not parse")
        }
    }
}

func fuzzFraming(_ bytes: [UInt8]) {
    guard let first = bytes.first else { return }
    var whole = DNSStreamFramer()
    var pieces = DNSStreamFramer()
    let wholeFrames = try? whole.append(bytes)
    var pieceFrames: [[UInt8]]? = []
    let step = Int(first % 7) + 1
    var index = 0
    while index < bytes.count, pieceFrames != nil {
        let end = min(index + step, bytes.count)
        do { pieceFrames? += try pieces.append(bytes[index..<end]) } catch { pieceFrames = nil }
        index = end
    }
    check((wholeFrames == nil) == (pieceFrames == nil), "framing error depends on how bytes arrive")
    if let wholeFrames, let pieceFrames {
        check(wholeFrames == pieceFrames, "frames depend on how bytes arrive")
        check(whole.bytesNeeded == pieces.bytesNeeded, "framer state depends on how bytes arrive")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    fuzzMessage(bytes)
    fuzzFraming(bytes)
    return 0
}
