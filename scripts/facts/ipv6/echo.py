# Echo server and probe for the IPv6 fact scripts: the server answers each request with
# "BANNER PEER PAYLOAD", so a probe sees who answered and which source address it saw.
import os, socket, sys

def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET

def serve(proto, addr, port, banner):
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(family(addr), kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family(addr) == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, int(port)))
    if proto == "tcp":
        s.listen(16)
    # The fact scripts wait for this file (lib.sh's serve), in their scratch directory.
    open(os.path.join(os.environ["FACT_TMP"], f"echo-ready-{os.getpid()}"), "w").close()
    while True:
        if proto == "tcp":
            c, peer = s.accept()
            data = c.recv(4096)
            c.sendall(f"{banner} {peer[0]} ".encode() + data)
            c.close()
        else:
            data, peer = s.recvfrom(4096)
            s.sendto(f"{banner} {peer[0]} ".encode() + data, peer)

def probe(proto, addr, port, payload, source_port=None):
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(family(addr), kind)
    s.settimeout(1.0)
    if source_port:
        s.bind(("::" if family(addr) == socket.AF_INET6 else "0.0.0.0", int(source_port)))
    target = socket.getaddrinfo(addr, int(port), family(addr), kind)[0][4]  # resolves "%eth0" scopes
    try:
        if proto == "tcp":
            s.connect(target)
            s.sendall(payload.encode())
            data = s.recv(4096)
        else:
            s.sendto(payload.encode(), target)
            data, _ = s.recvfrom(4096)
    except OSError as e:
        print(f"no answer: {e}")
        sys.exit(1)
    print(data.decode())

if __name__ == "__main__":
    {"serve": serve, "probe": probe}[sys.argv[1]](*sys.argv[2:])
