#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNamespace

/// A query on its way upstream: which server it is at, and how to answer its client.
final class Forward {
    let query: DNSMessage
    /// The client's bytes, sent upstream verbatim but for the id and an EDNS payload size
    /// over the resolver's own (`cappingPayloadSize`).
    let bytes: [UInt8]
    let client: DNSServer.Client
    /// The client's address, whose share of pending forwards this one counts in.
    let source: IPAddress?
    /// The network (by name: a reload may renumber zones) whose share it counts in.
    let network: String
    let udpLimit: Int
    /// A TCP query goes upstream over TCP (RFC 7766: the client chose TCP for a reason).
    let overTCP: Bool
    let upstreams: [DNSUpstream]
    var attempt = 0
    var upstreamID: UInt16 = 0
    var deadline: Int64 = 0
    /// The last SERVFAIL, REFUSED or NOTIMP an upstream gave, relayed if no server does better.
    var lastFailure: [UInt8]?
    // Over TCP: the frame still to send and the reply being read.
    var connected = false
    var output: [UInt8] = []
    var framer = DNSStreamFramer()

    init(query: DNSMessage, bytes: [UInt8], client: DNSServer.Client, source: IPAddress?, network: String, udpLimit: Int, upstreams: [DNSUpstream]) {
        self.query = query
        self.bytes = bytes
        self.client = client
        self.source = source
        self.network = network
        self.udpLimit = udpLimit
        self.overTCP = !client.isUDP
        self.upstreams = upstreams
    }
}

extension DNSServer {
    /// The most upstreams one query is sent to, in order (glibc's MAXNS).
    static let maxUpstreams = 3

    /// Starts forwarding `bytes` to the zone's upstreams, the first one first. A fresh
    /// socket per attempt gives each query its own random source port as well as a random
    /// id (RFC 5452), and a connected socket takes replies from that server only.
    func forward(_ bytes: [UInt8], query: DNSMessage, zone: Int, client: Client) {
        // A query from one of the resolver's own listen addresses comes from the host (a
        // host process asking the gateway, or a host resolver told to send a domain here).
        // The host has its own resolver, and relaying for it is how a loop through it
        // starts: a name Berth does not hold goes to the host's resolver (127.0.0.53),
        // which sends it back here, and round again until the forward slots run out.
        // REFUSED, as for a query over a share below: the host's resolver tries elsewhere.
        if let source = sourceAddress(of: client), listeners[source] != nil {
            statistics.refusedForwards += 1
            var refused = query.responseSkeleton(code: .refused, payloadSize: configuration.udpPayloadSize)
            refused.header.recursionAvailable = true
            send(refused.encoded(maxSize: 512), to: client)
            return
        }
        // A server that is this resolver would send the query around in a loop.
        // At most three, as glibc reads at most three nameservers (MAXNS): a long list
        // would keep a client waiting for one timeout after another.
        let upstreams = (resolver.upstreams(ofZone: zone) ?? defaultUpstreams).filter {
            !($0.port == configuration.port && listeners[$0.address] != nil)
        }.prefix(Self.maxUpstreams)
        guard !upstreams.isEmpty else {
            statistics.serverFailures += 1
            send(serverFailure(for: query), to: client)
            return
        }
        // Shares of the pending forwards, smallest first: one source address's, then one
        // network's, so that one container, or one network flooding slow names, cannot
        // take every slot and leave the other networks SERVFAIL. Past a share: REFUSED.
        let source = sourceAddress(of: client)
        let network = resolver.networkName(ofZone: zone)
        let overSource = source.map { forwardsBySource[$0, default: 0] >= configuration.maxPendingForwardsPerSource } ?? false
        if overSource || forwardsByNetwork[network, default: 0] >= configuration.maxPendingForwardsPerNetwork(networks: resolver.zones.count) {
            statistics.limitedForwards += 1
            var refused = query.responseSkeleton(code: .refused, payloadSize: configuration.udpPayloadSize)
            refused.header.recursionAvailable = true
            send(refused.encoded(maxSize: 512), to: client)
            return
        }
        guard forwards.count < configuration.maxPendingForwards else {
            statistics.serverFailures += 1
            send(serverFailure(for: query), to: client)
            return
        }
        if let source { forwardsBySource[source, default: 0] += 1 }
        forwardsByNetwork[network, default: 0] += 1
        statistics.forwarded += 1
        if case .tcp(let fd, _) = client, let connection = clients[fd] {
            connection.inFlight += 1
            updateClient(fd)
        }
        let forward = Forward(query: query, bytes: Self.cappingPayloadSize(of: bytes, at: configuration.udpPayloadSize), client: client, source: source, network: network, udpLimit: udpLimit(for: query), upstreams: Array(upstreams))
        startAttempt(forward)
    }

    /// The query's bytes with the UDP payload size of its OPT record lowered to `limit`
    /// (never under 512), when it is larger: the resolver relays at most its own size over
    /// UDP, so an upstream told the client's 4096 would send answers that arrive
    /// fragmented, only to be replaced by an empty TC answer.
    static func cappingPayloadSize(of bytes: [UInt8], at limit: UInt16) -> [UInt8] {
        let limit = max(512, limit)
        guard let offset = DNSMessage.optClassOffset(in: bytes),
              UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) > limit else { return bytes }
        var bytes = bytes
        bytes[offset] = UInt8(limit >> 8)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: limit)
        return bytes
    }

    /// Sends the query to the current upstream, moving on while sockets fail; answers the
    /// client when no upstream is left.
    private func startAttempt(_ forward: Forward) {
        while forward.attempt < forward.upstreams.count {
            let upstream = forward.upstreams[forward.attempt]
            forward.upstreamID = UInt16.random(in: 0...UInt16.max)
            var message = forward.bytes
            message[0] = UInt8(forward.upstreamID >> 8)
            message[1] = UInt8(truncatingIfNeeded: forward.upstreamID)
            do throws(BerthError) {
                let fd = try connectedSocket(to: upstream, tcp: forward.overTCP)
                if forward.overTCP {
                    forward.connected = false
                    forward.framer = DNSStreamFramer()
                    forward.output = DNSStreamFramer.frame(message) ?? []
                    try register(fd, as: .upstream, readable: true, writable: true)
                } else {
                    let sent = message.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    guard sent == message.count else {
                        let error = BerthError.system("send to \(upstream)", .current)
                        close(fd)
                        throw error
                    }
                    try register(fd, as: .upstream)
                }
                forward.deadline = MonotonicClock.milliseconds() + Int64(configuration.upstreamTimeoutMilliseconds)
                schedule(forward.deadline)
                forwards[fd] = forward
                return
            } catch {
                if configuration.verbose { DNSLog.write("upstream \(upstream): \(error)") }
                forward.attempt += 1
            }
        }
        if let failure = forward.lastFailure {
            finish(forward, reply: failure)
        } else {
            statistics.serverFailures += 1
            finish(forward, message: serverFailure(for: forward.query))
        }
    }

    private func connectedSocket(to upstream: DNSUpstream, tcp: Bool) throws(BerthError) -> Int32 {
        let family = upstream.address.family == .ipv4 ? AF_INET : AF_INET6
        let type = tcp ? SOCK_STREAM : SOCK_DGRAM
        let fd = socket(family, Int32(type.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BerthError.system("open a socket to \(upstream)", .current) }
        let address = SocketAddress(address: upstream.address, port: upstream.port)
        let rc = address.withSockaddr { connect(fd, $0, $1) }
        guard rc == 0 || errno == EINPROGRESS else {
            let error = BerthError.system("connect to \(upstream)", .current)
            close(fd)
            throw error
        }
        return fd
    }

    func serviceUpstream(_ fd: Int32, _ event: EventLoop.Ready) {
        guard let forward = forwards[fd] else { return }
        if forward.overTCP, event.writable, !forward.output.isEmpty {
            let sent = forward.output.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno != EAGAIN, errno != EWOULDBLOCK { upstreamFailed(fd, reason: "TCP send failed: \(Errno.current)") }
                return
            }
            forward.output.removeFirst(sent)
            if forward.output.isEmpty { watch(fd, readable: true, writable: false) }
        }
        guard event.readable || event.failed else { return }
        let wanted = forward.overTCP ? forward.framer.bytesNeeded : buffer.count
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, min(wanted, $0.count), Int32(MSG_DONTWAIT)) }
        if count < 0 {
            // ECONNREFUSED: an ICMP port unreachable on the connected socket.
            if errno != EAGAIN, errno != EWOULDBLOCK { upstreamFailed(fd, reason: "\(Errno.current)") }
            return
        }
        if !forward.overTCP {
            handleReply(fd, forward, Array(buffer[0..<count]))
            return
        }
        guard count > 0 else {
            upstreamFailed(fd, reason: "closed the connection")
            return
        }
        let frames: [[UInt8]]
        do {
            frames = try forward.framer.append(buffer[0..<count])
        } catch {
            upstreamFailed(fd, reason: "sent an empty frame")
            return
        }
        guard let frame = frames.first else { return }
        handleReply(fd, forward, frame)
    }

    /// Relays a reply that answers the question asked under the id sent; retries on
    /// SERVFAIL, REFUSED and NOTIMP, as the next server may do better (Docker does too).
    private func handleReply(_ fd: Int32, _ forward: Forward, _ reply: [UInt8]) {
        guard let header = Self.matchingReplyHeader(reply, id: forward.upstreamID, question: forward.query.questions.first) else {
            statistics.mismatchedReplies += 1
            // Over UDP a stray or spoofed datagram is ignored; a TCP stream that carries
            // one is not trusted further.
            if forward.overTCP { upstreamFailed(fd, reason: "answered another query") }
            return
        }
        let code = DNSResponseCode(rawValue: UInt16(header.responseCodeLow))
        if code == .serverFailure || code == .refused || code == .notImplemented {
            forward.lastFailure = reply
            upstreamFailed(fd, reason: "answered \(code)")
            return
        }
        closeUpstream(fd)
        finish(forward, reply: reply)
    }

    /// The header of `reply` when it is a response under `id` to `question`: the same name
    /// without regard to case (`DNSName ==`, RFC 4343), type and class. Forwarders that
    /// echo the question lower-cased are common (home routers, some dnsmasq set-ups); an
    /// exact match timed every mixed-case lookup through them out into SERVFAIL. The reply
    /// is relayed in the upstream's case, so a client that randomises case (0x20) still
    /// checks it and refuses a forgery that missed its case, as it would from the upstream
    /// directly. A reply without a question counts only when it is FORMERR, SERVFAIL, NOTIMP
    /// or REFUSED. Nil for anything else.
    static func matchingReplyHeader(_ reply: [UInt8], id: UInt16, question: DNSQuestion?) -> DNSHeader? {
        guard let (header, replyQuestion) = try? DNSMessage.header(andFirstQuestionOf: reply),
              header.isResponse, header.id == id else { return nil }
        switch (replyQuestion, question) {
        case (let got?, let asked?):
            guard got.name == asked.name, got.type == asked.type, got.recordClass == asked.recordClass else { return nil }
        case (nil, nil):
            break
        case (nil, _?):
            // Only the error codes a server gives a query it could not read or would not
            // take; an NXDOMAIN without its question would let a forger who guessed the id
            // deny a name it never even saw.
            let code = DNSResponseCode(rawValue: UInt16(header.responseCodeLow))
            guard code == .formatError || code == .serverFailure || code == .notImplemented || code == .refused else { return nil }
        case (_?, nil):
            return nil
        }
        return header
    }

    /// Gives up on the current upstream and tries the next.
    func upstreamFailed(_ fd: Int32, reason: String) {
        guard let forward = forwards[fd] else { return }
        if configuration.verbose { DNSLog.write("upstream \(forward.upstreams[forward.attempt]) \(reason)") }
        closeUpstream(fd)
        forward.attempt += 1
        startAttempt(forward)
    }

    func closeUpstream(_ fd: Int32) {
        guard forwards.removeValue(forKey: fd) != nil else { return }
        unregister(fd)
    }

    /// Relays an upstream's reply under the client's id. A UDP reply larger than the
    /// client can take becomes an empty answer with TC set (the client retries over TCP).
    private func finish(_ forward: Forward, reply: [UInt8]) {
        var reply = reply
        reply[0] = UInt8(forward.query.header.id >> 8)
        reply[1] = UInt8(truncatingIfNeeded: forward.query.header.id)
        if forward.client.isUDP, reply.count > forward.udpLimit,
           let cut = Self.truncatedRelay(of: reply, to: forward.query, payloadSize: configuration.udpPayloadSize, limit: forward.udpLimit) {
            statistics.truncated += 1
            reply = cut
        }
        statistics.relayed += 1
        finish(forward, message: reply)
    }

    /// The empty answer with TC set that stands for an upstream `reply` too large for the
    /// client: the upstream's flags and full response code (the high bits from its OPT
    /// record, as BADCOOKIE needs), the question, no records.
    static func truncatedRelay(of reply: [UInt8], to query: DNSMessage, payloadSize: UInt16, limit: Int) -> [UInt8]? {
        guard let upstream = DNSHeader(reply) else { return nil }
        var code = UInt16(upstream.responseCodeLow)
        if let offset = DNSMessage.optClassOffset(in: reply) { code |= UInt16(reply[offset + 2]) << 4 }
        var cut = query.responseSkeleton(code: DNSResponseCode(rawValue: code), payloadSize: payloadSize)
        cut.header.flags = upstream.flags
        cut.header.isTruncated = true
        return cut.encoded(maxSize: limit)
    }

    private func finish(_ forward: Forward, message: [UInt8]) {
        if let source = forward.source, let pending = forwardsBySource[source] {
            forwardsBySource[source] = pending > 1 ? pending - 1 : nil
        }
        if let pending = forwardsByNetwork[forward.network] {
            forwardsByNetwork[forward.network] = pending > 1 ? pending - 1 : nil
        }
        send(message, to: forward.client)
        if case .tcp(let fd, let serial) = forward.client, let connection = clients[fd], connection.serial == serial {
            connection.inFlight -= 1
            if connection.inFlight == 0 {
                connection.deadline = max(connection.deadline, MonotonicClock.milliseconds() + Int64(configuration.tcpIdleTimeoutMilliseconds))
                schedule(connection.deadline)
            }
            updateClient(fd)
        }
    }

    /// Where a client's query came from.
    func sourceAddress(of client: Client) -> IPAddress? {
        switch client {
        case .udp(_, let peer): peer.ipAddress
        case .tcp(let fd, _): clients[fd]?.source
        }
    }

    func serverFailure(for query: DNSMessage) -> [UInt8] {
        var response = query.responseSkeleton(code: .serverFailure, payloadSize: configuration.udpPayloadSize)
        response.header.recursionAvailable = true
        return response.encoded(maxSize: 512)
    }
}
