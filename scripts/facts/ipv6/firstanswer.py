# firstanswer ADDR PORT FIFO: waits for a line on FIFO, then sends a datagram every 5 ms
# until one is answered; prints the milliseconds since the line came, or "none" after 3 s.
import socket, sys, time
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.settimeout(0.005)
open(sys.argv[3]).read()
start = time.monotonic()
while time.monotonic() - start < 3:
    try:
        s.sendto(b"x", (sys.argv[1], int(sys.argv[2])))
        s.recvfrom(100)
        print(round((time.monotonic() - start) * 1000))
        sys.exit(0)
    except OSError:
        pass
print("none")
