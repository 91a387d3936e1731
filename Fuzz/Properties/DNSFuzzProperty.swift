// What must hold for any bytes the resolver receives: parsing throws or succeeds, never
// traps; a parsed message re-encodes to bytes that parse to the same message (when nothing
// had to be left out); encoding under a 512-byte limit stays under it and still parses; the
// resolver's answer to it encodes and parses; FORMERR is built for whatever has a header;
// and the TCP framer cuts the same bytes, fed in pieces, into the same frames.
// Checked by the libFuzzer harness (Fuzz/dns/main.swift, scripts/fuzz-dns) on new inputs
// and by BerthDNSTests on every file of Fuzz/corpus/dns.
import BerthCore
import BerthDNS

public enum DNSFuzzProperty {
    /// nil when the property holds for `bytes`, else what broke (the first thing).
    public static func violation(_ bytes: [UInt8]) -> String? {
        messageViolation(bytes) ?? framingViolation(bytes)
    }

    /// Two networks' names, so that lookups find answers, miss, and cross zones.
    static let resolver: DNSResolver? = {
        func address(_ text: String) throws(BerthError) -> IPAddress {
            guard let parsed = IPAddress(text) else { throw BerthError(.invalidArgument, "bad fixture address \(text)") }
            return parsed
        }
        do {
            let zone = DNSNetworkZone(
                name: "front", listenAddresses: [try address("10.89.0.1")], subnets: [try CIDR(parsing: "10.89.0.0/24")],
                endpoints: [
                    DNSEndpointNames(name: try DNSName(hostname: "web"), aliases: [try DNSName(hostname: "www")], addresses: [try address("10.89.0.2")]),
                    DNSEndpointNames(name: try DNSName(hostname: "db"), addresses: [try address("10.89.0.3"), try address("fd00::3")]),
                ])
            let other = DNSNetworkZone(
                name: "back", listenAddresses: [try address("10.90.0.1")], subnets: [try CIDR(parsing: "10.90.0.0/24")],
                endpoints: [DNSEndpointNames(name: try DNSName(hostname: "cache"), addresses: [try address("10.90.0.2")])])
            return try DNSResolver(table: DNSTable(networks: [zone, other]))
        } catch {
            return nil
        }
    }()

    static func sameContent(_ a: DNSMessage, _ b: DNSMessage) -> Bool {
        a.header.id == b.header.id && a.header.flags == b.header.flags && a.questions == b.questions && a.answers == b.answers
            && a.authorities == b.authorities && a.additionals == b.additionals && a.edns == b.edns
    }

    static func messageViolation(_ bytes: [UInt8]) -> String? {
        guard let message = try? DNSMessage(parsing: bytes) else {
            if let response = DNSResolver.formatError(for: bytes), response.count != 12 || (try? DNSMessage(parsing: response)) == nil {
                return "FORMERR does not parse"
            }
            return nil
        }
        let encoded = message.encoded()
        let again: DNSMessage
        do { again = try DNSMessage(parsing: encoded) } catch { return "re-encoded message does not parse: \(error)" }
        let complete = again.questions.count == message.questions.count && again.answers.count == message.answers.count
            && again.authorities.count == message.authorities.count && again.additionals.count == message.additionals.count
        if complete, !sameContent(message, again) { return "round trip changed the message" }

        let optSize = message.edns.map { 11 + $0.options.reduce(0) { $0 + 4 + $1.data.count } } ?? 0
        let cut = message.encoded(maxSize: 512)
        if optSize + 12 <= 512, cut.count > 512 { return "encoded(maxSize: 512) gave \(cut.count) bytes" }
        if (try? DNSMessage(parsing: cut)) == nil { return "truncated message does not parse" }

        guard let resolver else { return "the fixture table does not build" }
        for zone in 0..<2 {
            if case .answer(let response) = resolver.resolve(message, zone: zone) {
                let limit = message.senderPayloadSize
                let bytes = response.encoded(maxSize: limit)
                if bytes.count > limit { return "answer over the client's payload size" }
                if (try? DNSMessage(parsing: bytes)) == nil { return "answer does not parse" }
            }
        }
        return nil
    }

    static func framingViolation(_ bytes: [UInt8]) -> String? {
        guard let first = bytes.first else { return nil }
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
        if (wholeFrames == nil) != (pieceFrames == nil) { return "framing error depends on how bytes arrive" }
        if let wholeFrames, let pieceFrames {
            if wholeFrames != pieceFrames { return "frames depend on how bytes arrive" }
            if whole.bytesNeeded != pieces.bytesNeeded { return "framer state depends on how bytes arrive" }
        }
        return nil
    }
}
