#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNamespace

/// One client's TCP connection: the frame being read, the answers not yet written.
final class TCPClient {
    /// The connection's registration token: unique for the life of the process.
    let serial: UInt64
    /// The listen address it came in on, and where from.
    let address: IPAddress
    let source: IPAddress
    var framer = DNSStreamFramer()
    var output: [UInt8] = []
    /// Queries sent upstream and not answered yet.
    var inFlight = 0
    /// When it is closed if it has nothing in flight: renewed by each whole frame (not by
    /// a partial one) and when the last query in flight completes; not watched while
    /// queries are in flight.
    var deadline: Int64
    /// The client shut down its side: answer what is in flight, then close.
    var peerClosed = false
    var reading = true
    var writing = false

    init(serial: UInt64, address: IPAddress, source: IPAddress, deadline: Int64) {
        self.serial = serial
        self.address = address
        self.source = source
        self.deadline = deadline
    }
}

extension DNSServer {
    /// The most answer bytes a connection may have waiting: a client that stops reading
    /// is cut off instead of holding memory.
    static let maxClientOutput = 4 * 65537

    func acceptConnections(on fd: Int32, address: IPAddress) {
        while true {
            var peer = SocketAddress()
            let connection = peer.withMutableSockaddr { accept(fd, $0, $1) }
            guard connection >= 0 else {
                let code = errno
                if code == EINTR || code == ECONNABORTED { continue }
                // Out of descriptors or memory, the connection stays queued and the
                // level-triggered loop would report the listener again at once: a busy loop.
                if code != EAGAIN, code != EWOULDBLOCK { pauseAccepting(fd, address: address, Errno(rawValue: code)) }
                return
            }
            acceptPauseLogged = false
            // accept4 is hidden behind _GNU_SOURCE; two fcntl calls per connection are cheap.
            _ = fcntl(connection, F_SETFL, fcntl(connection, F_GETFL) | O_NONBLOCK)
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            guard let source = peer.ipAddress, admittedZone(address: address, source: source) != nil else {
                close(connection)
                continue
            }
            // One source holds at most its share of the connections (RFC 7766 §6.2.2: limit
            // connections per client), so one container cannot lock every network out of
            // TCP. At its share, its own idle connection makes room (RFC 7766 §6.2.3: a
            // server may close idle connections to free resources), else the newcomer is
            // closed. At the global limit, the source holding the most gives one up.
            if clients.values.filter({ $0.source == source }).count >= configuration.maxTCPConnectionsPerSource {
                statistics.rejectedConnections += 1
                guard closeClient(evictingFrom: [source], busyToo: false) else {
                    close(connection)
                    continue
                }
            } else if clients.count >= configuration.maxTCPConnections {
                statistics.rejectedConnections += 1
                closeClient(evictingFrom: largestHolders(), busyToo: true)
            }
            do {
                try register(connection, as: .client)
            } catch {
                DNSLog.write("cannot watch a TCP connection: \(error)")
                continue
            }
            guard let token = roles[connection]?.token else { continue }
            let deadline = MonotonicClock.milliseconds() + Int64(configuration.tcpIdleTimeoutMilliseconds)
            clients[connection] = TCPClient(serial: token, address: address, source: source, deadline: deadline)
            schedule(deadline)
        }
    }

    /// The wait before a listener that could not accept (EMFILE, ENFILE, ENOBUFS, ENOMEM)
    /// is watched again: what it waits for is a descriptor freed, by a connection that
    /// ends or an upstream query answered.
    static let acceptPauseMilliseconds: Int64 = 100

    /// Stops watching a listener whose `accept` failed for want of resources, until
    /// `acceptPauseMilliseconds` have passed (`resumeAccepting`). Logged once until a
    /// connection is accepted again.
    func pauseAccepting(_ fd: Int32, address: IPAddress, _ error: Errno) {
        guard let token = roles[fd]?.token else { return }
        watch(fd, readable: false, writable: false)
        pausedListeners[fd] = token
        statistics.acceptPauses += 1
        let at = MonotonicClock.milliseconds() + Self.acceptPauseMilliseconds
        if acceptResumeAt == nil { acceptResumeAt = at }
        schedule(acceptResumeAt ?? at)
        if !acceptPauseLogged {
            DNSLog.write("cannot accept TCP connections on \(address): \(error); not accepting for \(Self.acceptPauseMilliseconds) ms at a time until it can")
            acceptPauseLogged = true
        }
    }

    /// Watches the paused listeners again once their pause is over (a listener closed
    /// meanwhile, its descriptor maybe reused, is told by its token).
    func resumeAccepting(now: Int64) {
        guard let at = acceptResumeAt else { return }
        guard at <= now else {
            schedule(at)
            return
        }
        for (fd, token) in pausedListeners where roles[fd]?.token == token {
            watch(fd, readable: true, writable: false)
        }
        pausedListeners = [:]
        acceptResumeAt = nil
    }

    func serviceClient(_ fd: Int32, _ event: EventLoop.Ready) {
        // An error or hang-up with reading paused would be reported again and again.
        if event.failed, clients[fd]?.reading == false {
            closeClient(fd)
            return
        }
        if event.writable { flush(fd) }
        if event.readable || event.failed { readClient(fd) }
    }

    /// Reads what the current frame still needs, a few frames per wake-up at most.
    private func readClient(_ fd: Int32) {
        for _ in 0..<4 {
            guard let client = clients[fd], client.reading else { return }
            let wanted = min(client.framer.bytesNeeded, buffer.count)
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, wanted, Int32(MSG_DONTWAIT)) }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
                closeClient(fd)
                return
            }
            if count == 0 {
                client.peerClosed = true
                updateClient(fd)
                return
            }
            let frames: [[UInt8]]
            do {
                frames = try client.framer.append(buffer[0..<count])
            } catch {
                closeClient(fd) // a zero-length frame: not DNS
                return
            }
            // Only a whole frame renews the idle period: a client trickling a frame a byte
            // at a time would otherwise hold its connection forever.
            if !frames.isEmpty {
                client.deadline = MonotonicClock.milliseconds() + Int64(configuration.tcpIdleTimeoutMilliseconds)
                schedule(client.deadline)
            }
            for frame in frames {
                statistics.tcpQueries += 1
                // The table may have changed since the connection was accepted.
                guard let zone = admittedZone(address: client.address, source: client.source) else {
                    closeClient(fd)
                    return
                }
                handleQuery(frame, zone: zone, client: .tcp(fd: fd, serial: client.serial))
            }
            updateClient(fd)
        }
    }

    /// Writes pending answers; closes a connection that errs or hoards.
    func flush(_ fd: Int32) {
        guard let client = clients[fd] else { return }
        var sent = 0
        while sent < client.output.count {
            let count = client.output[sent...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL))
            }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { break }
                closeClient(fd)
                return
            }
            sent += count
        }
        client.output.removeFirst(sent)
        guard client.output.count <= Self.maxClientOutput else {
            closeClient(fd)
            return
        }
        updateClient(fd)
    }

    /// Reads only while under the in-flight limit, writes only with output pending, and
    /// closes once the client is done and answered.
    func updateClient(_ fd: Int32) {
        guard let client = clients[fd] else { return }
        if client.peerClosed, client.inFlight == 0, client.output.isEmpty {
            closeClient(fd)
            return
        }
        let reading = !client.peerClosed && client.inFlight < configuration.maxQueriesPerConnection
        let writing = !client.output.isEmpty
        if reading != client.reading || writing != client.writing {
            client.reading = reading
            client.writing = writing
            watch(fd, readable: reading, writable: writing)
        }
    }

    /// The source addresses that hold the most connections.
    private func largestHolders() -> Set<IPAddress> {
        var counts: [IPAddress: Int] = [:]
        for client in clients.values { counts[client.source, default: 0] += 1 }
        guard let most = counts.values.max() else { return [] }
        return Set(counts.filter { $0.value == most }.keys)
    }

    /// Closes one connection of `sources` to make room: one with nothing in flight first,
    /// among those one with every answer written (closing one with answers still to write
    /// would lose them), then the one idle longest (its idle deadline first); with
    /// `busyToo`, one with queries upstream when none is idle (its answers are lost: the
    /// client asks again). False when nothing was closed.
    @discardableResult
    private func closeClient(evictingFrom sources: Set<IPAddress>, busyToo: Bool) -> Bool {
        let candidates = clients.filter { sources.contains($0.value.source) && (busyToo || $0.value.inFlight == 0) }
        guard let (fd, _) = candidates.min(by: { Self.evictionOrder($0.value) < Self.evictionOrder($1.value) }) else { return false }
        closeClient(fd)
        return true
    }

    /// Lower goes first: idle before busy, nothing left to write before answers waiting,
    /// then the idle deadline that comes first.
    private static func evictionOrder(_ client: TCPClient) -> (Int, Int, Int64, UInt64) {
        (client.inFlight == 0 ? 0 : 1, client.output.isEmpty ? 0 : 1, client.deadline, client.serial)
    }

    func closeClient(_ fd: Int32) {
        guard clients.removeValue(forKey: fd) != nil else { return }
        unregister(fd)
    }
}
