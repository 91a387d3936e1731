# Raw rtnetlink requests for the fact scripts, byte for byte what Berth would send, where
# iproute2 cannot say it: a veth whose peer (born in another namespace) carries
# IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE } }, or that attribute on an existing link.
import os, socket, struct, sys

NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 1, 4, 0x200, 0x400
RTM_NEWLINK = 16
IFLA_IFNAME, IFLA_LINKINFO, IFLA_NET_NS_FD, IFLA_AF_SPEC = 3, 18, 28, 26
IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 1, 2, 1
IFLA_INET6_ADDR_GEN_MODE = 8
NLA_F_NESTED = 0x8000

def attr(kind, data, nested=False):
    length = 4 + len(data)
    return struct.pack("=HH", length, kind | (NLA_F_NESTED if nested else 0)) + data + b"\0" * ((4 - length % 4) % 4)

def ifinfomsg(index=0, flags=0, change=0):
    return struct.pack("=BxHiII", 0, 0, index, flags, change)

def af_spec(mode):
    return attr(IFLA_AF_SPEC, attr(socket.AF_INET6, attr(IFLA_INET6_ADDR_GEN_MODE, bytes([int(mode)])), True), True)

def send(body, flags, *more):
    # Every body is one RTM_NEWLINK message; all of them go in one sendmsg, as Berth batches.
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    bodies = [(body, flags)] + [(b, 0) for b in more]
    msg = b"".join(struct.pack("=IHHII", 16 + len(b), RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | f, seq, 0) + b
                   for seq, (b, f) in enumerate(bodies, 1))
    s.send(msg)
    for _ in bodies:
        reply = s.recv(65536)
        error = struct.unpack("=i", reply[16:20])[0]
        if error:
            print(f"kernel refused: {os.strerror(-error)}")
            sys.exit(1)

def veth(name, peer, netns_path, mode, where):
    # where: "peer" puts IFLA_AF_SPEC in the peer's attributes, "host" in the outer link's.
    fd = os.open(netns_path, os.O_RDONLY)
    peer_attrs = attr(IFLA_IFNAME, peer.encode() + b"\0") + attr(IFLA_NET_NS_FD, struct.pack("=I", fd))
    if where in ("peer", "both"): peer_attrs += af_spec(mode)
    info = attr(IFLA_INFO_KIND, b"veth\0") + attr(IFLA_INFO_DATA, attr(VETH_INFO_PEER, ifinfomsg() + peer_attrs, True), True)
    body = ifinfomsg() + attr(IFLA_IFNAME, name.encode() + b"\0") + attr(IFLA_LINKINFO, info, True)
    if where in ("host", "both"): body += af_spec(mode)
    send(body, NLM_F_CREATE | NLM_F_EXCL)

def addrgenmode(name, mode, up="down"):
    # up "up": address generation mode and IFF_UP in one message (the kernel applies the
    # flags first); "then-up": two messages in one sendmsg, the mode first.
    index = socket.if_nametoindex(name)
    if up == "then-up":
        send(ifinfomsg(index) + af_spec(mode), 0, ifinfomsg(index, 1, 1))
    else:
        flags = 1 if up == "up" else 0
        send(ifinfomsg(index, flags, flags) + af_spec(mode), 0)

if __name__ == "__main__":
    {"veth": veth, "addrgenmode": addrgenmode}[sys.argv[1]](*sys.argv[2:])
