# firstconnect ADDR PORT FIFO: waits for a line on FIFO, then connects over TCP once (6 s at
# most) and prints the milliseconds since the line came and the outcome: "answered" or the
# errno's name (EHOSTUNREACH, ETIMEDOUT…). Started early: Python takes long to start on a
# loaded host, and the connect must begin the moment the attach is done.
import errno, socket, sys, time
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM)
s.settimeout(6)
open(sys.argv[3]).read()
start = time.monotonic()
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    outcome = "answered"
except socket.timeout:
    outcome = "ETIMEDOUT"
except OSError as e:
    outcome = errno.errorcode.get(e.errno, str(e.errno))
print(round((time.monotonic() - start) * 1000), outcome)
