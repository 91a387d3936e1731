# Hand-made IPv6 packets for the fact scripts, sent on a packet socket (what a process with
# CAP_NET_RAW inside a container can do): a router advertisement, or a TCP SYN to any
# address. Checksums are computed here, so nothing is left to the kernel.
import socket, struct, sys

def checksum(data):
    if len(data) % 2: data += b"\0"
    s = sum(struct.unpack(f"!{len(data)//2}H", data))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ip6(src, dst, nh, payload, hlim=255):
    s, d = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    pseudo = s + d + struct.pack("!I3xB", len(payload), nh)
    return s, d, pseudo

def packet(src, dst, nh, body, csum_offset, hlim=255):
    s, d, pseudo = ip6(src, dst, nh, body)
    c = checksum(pseudo + body)
    body = body[:csum_offset] + struct.pack("!H", c) + body[csum_offset + 2:]
    return struct.pack("!IHBB", 6 << 28, len(body), nh, hlim) + s + d + body

def mac(text): return bytes(int(b, 16) for b in text.split(":"))

def send(ifname, dst_mac, src_mac, pkt):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    s.send(mac(dst_mac) + mac(src_mac) + b"\x86\xdd" + pkt)

def ra(ifname, src_mac, src_ll, prefix, lifetime=1800):
    # Router advertisement: hop limit 64, router lifetime `lifetime` (a default route),
    # source link-layer address, and a /64 prefix with the on-link and autonomous flags.
    body = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, lifetime, 0, 0)
    body += struct.pack("!BB", 1, 1) + mac(src_mac)
    body += struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0) + socket.inet_pton(socket.AF_INET6, prefix)
    send(ifname, "33:33:00:00:00:01", src_mac, packet(src_ll, "ff02::1", 58, body, 2))

def syn(ifname, dst_mac, src_mac, src, dst, dport):
    body = struct.pack("!HHIIBBHHH", 40000, int(dport), 1, 0, 5 << 4, 0x02, 64240, 0, 0)
    send(ifname, dst_mac, src_mac, packet(src, dst, 6, body, 16, hlim=64))

if __name__ == "__main__":
    {"ra": ra, "syn": syn}[sys.argv[1]](*sys.argv[2:])
