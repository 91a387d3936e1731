#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore

extension DNSServer {
    /// Who asked, and how to answer them.
    enum Client {
        /// A datagram to `peer` from the UDP socket of `listen`.
        case udp(listen: IPAddress, peer: SocketAddress)
        /// A frame on the TCP connection `fd`, as long as it is still connection `serial`
        /// (a descriptor number is reused once closed).
        case tcp(fd: Int32, serial: UInt64)

        var isUDP: Bool { if case .udp = self { true } else { false } }
    }

    /// The most datagrams read from one socket per wake-up, so a flood on one network
    /// cannot starve the others or the signals.
    static let datagramsPerWakeup = 64

    func readDatagrams(on fd: Int32, address: IPAddress) {
        for _ in 0..<Self.datagramsPerWakeup {
            var peer = SocketAddress()
            let count = buffer.withUnsafeMutableBytes { raw in
                peer.withMutableSockaddr { recvfrom(fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, $1) }
            }
            guard count >= 0 else { return }
            statistics.udpQueries += 1
            guard let zone = admittedZone(address: address, source: peer.ipAddress) else { continue }
            handleQuery(Array(buffer[0..<count]), zone: zone, client: .udp(listen: address, peer: peer))
        }
    }

    /// The zone served on `address` if `source` belongs to it; counts the refusal otherwise.
    func admittedZone(address: IPAddress, source: IPAddress?) -> Int? {
        guard let zone = resolver.zone(listeningOn: address), let source, resolver.admits(source: source, zone: zone) else {
            statistics.refusedSources += 1
            statistics.dropped += 1
            if configuration.verbose { DNSLog.write("refused a query from \(source.map(\.description) ?? "?") on \(address)") }
            return nil
        }
        return zone
    }

    /// Parses, decides and answers or forwards one query.
    func handleQuery(_ bytes: [UInt8], zone: Int, client: Client) {
        // Several questions are refused on the header alone, before anything is parsed or
        // allocated for them: FORMERR with no question (nothing echoed).
        if let header = DNSHeader(bytes), header.questionCount > 1 {
            if let response = DNSResolver.formatError(for: bytes) {
                statistics.formatErrors += 1
                send(response, to: client)
            } else {
                statistics.dropped += 1
            }
            return
        }
        let query: DNSMessage
        do {
            query = try DNSMessage(parsing: bytes)
        } catch {
            if let response = DNSResolver.formatError(for: bytes) {
                statistics.formatErrors += 1
                send(response, to: client)
            } else {
                statistics.dropped += 1
            }
            if configuration.verbose { DNSLog.write("malformed query (\(error))") }
            return
        }
        switch resolver.resolve(query, zone: zone, source: sourceAddress(of: client), rotation: &answerRotation) {
        case .answer(let response):
            statistics.answeredLocally += 1
            let bytes = response.encoded(maxSize: client.isUDP ? udpLimit(for: query) : 65535)
            if client.isUDP, DNSHeader(bytes)?.isTruncated == true { statistics.truncated += 1 }
            if configuration.verbose { DNSLog.write("\(query.questions.first.map(\.description) ?? "?") -> \(response.responseCode), \(response.answers.count) answer(s)") }
            send(bytes, to: client)
        case .drop:
            statistics.dropped += 1
        case .forward:
            forward(bytes, query: query, zone: zone, client: client)
        }
    }

    /// The largest UDP answer for `query`: the client's payload size, capped at the
    /// server's own (never under 512).
    func udpLimit(for query: DNSMessage) -> Int {
        min(query.senderPayloadSize, max(512, Int(configuration.udpPayloadSize)))
    }

    /// Sends a whole message to a client; a client gone or a full socket loses it, as UDP
    /// would (the client asks again).
    func send(_ message: [UInt8], to client: Client) {
        switch client {
        case .udp(let listen, let peer):
            guard let listener = listeners[listen] else { return }
            _ = message.withUnsafeBytes { raw in
                peer.withSockaddr { sendto(listener.udp, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, $1) }
            }
        case .tcp(let fd, let serial):
            guard let connection = clients[fd], connection.serial == serial,
                  let frame = DNSStreamFramer.frame(message) else { return }
            connection.output += frame
            flush(fd)
        }
    }
}
