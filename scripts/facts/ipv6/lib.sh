# Shared by the IPv6 fact scripts (docs/ipv6.md). Sourced, not run.
#
# Each script builds its own throwaway topology out of named namespaces and checks what the
# kernel does, printing "ok" or "FAIL" per fact. They must run fenced (scripts/facts/ipv6/run
# does that): they refuse to run in the machine's own network namespace.
set -u

# Fails closed: PID 1's namespace link can be unreadable even to root (the ptrace access
# check), so an empty answer is no proof of a namespace of our own; the fence's tmpfs is.
init_net=$(readlink /proc/1/ns/net 2>/dev/null)
if { [ -z "$init_net" ] && ! grep -q ' - tmpfs berth-fence ' /proc/self/mountinfo; } ||
   [ "$(readlink /proc/self/ns/net)" = "$init_net" ]; then
  echo "refusing to run in the machine's network namespace: use scripts/facts/ipv6/run $0" >&2
  exit 2
fi

# The scripts' scratch files (command output, states to compare, echo.py's ready files):
# a directory of their own, removed at exit with the namespaces.
FACT_TMP=$(mktemp -d /tmp/berth-facts.XXXXXX) || exit 2
export FACT_TMP

FAILURES=0
ok()   { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; FAILURES=$((FAILURES + 1)); }
note() { echo "     # $*"; }
# expect DESCRIPTION COMMAND...: the command succeeds.
expect()     { local d=$1; shift; if "$@" >"$FACT_TMP"/fact.out 2>&1; then ok "$d"; else fail "$d"; sed 's/^/       /' "$FACT_TMP"/fact.out; fi; }
# expect_not DESCRIPTION COMMAND...: the command fails.
expect_not() { local d=$1; shift; if "$@" >"$FACT_TMP"/fact.out 2>&1; then fail "$d"; sed 's/^/       /' "$FACT_TMP"/fact.out; else ok "$d"; fi; }
finish() { [ "$FAILURES" = 0 ] && echo "# all facts hold" || echo "# $FAILURES fact(s) did not hold"; exit "$FAILURES"; }

x() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

PY=${PYTHON:-python3}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# serve NS PROTO ADDR PORT BANNER: an echo server answering "BANNER PEER PAYLOAD", in the
# background; its pid goes to SERVERS for cleanup.
SERVERS=""
serve() {
  ip netns exec "$1" "$PY" "$HERE/echo.py" serve "$2" "$3" "$4" "$5" &
  SERVERS="$SERVERS $!"
  # Wait until it listens (the server creates its ready file after bind).
  for _ in $(seq 100); do [ -e "$FACT_TMP/echo-ready-$!" ] && break; sleep 0.02; done
}
# probe NS PROTO ADDR PORT PAYLOAD: prints the answer, fails with none within a second.
probe() { ip netns exec "$1" "$PY" "$HERE/echo.py" probe "$2" "$3" "$4" "$5"; }
stop_servers() { for p in $SERVERS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; rm -f "$FACT_TMP/echo-ready-$p"; done; SERVERS=""; }

# topology: host h (bridge br0 10.90.0.1/24 + fd00:beef::1/64, lan0 192.0.2.1/24 +
# fd00:121::1/64), LAN peer lan (192.0.2.2, fd00:121::2, default routes via h), containers
# c1 and c2 on br0 (10.90.0.2/.3, fd00:beef::2/::3), veth peers born in their namespaces.
topology() {
  for ns in h lan c1 c2; do ip netns add $ns; x $ns ip link set lo up; done
  x h sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  ip -n h link add lan0 type veth peer name eth0 netns lan
  ip -n h addr add 192.0.2.1/24 dev lan0
  ip -n h addr add fd00:121::1/64 dev lan0 nodad
  ip -n h link set lan0 up
  ip -n lan addr add 192.0.2.2/24 dev eth0
  ip -n lan addr add fd00:121::2/64 dev eth0 nodad
  ip -n lan link set eth0 up
  ip -n lan route add default via 192.0.2.1
  ip -n lan -6 route add default via fd00:121::1
  ip -n h link add br0 type bridge
  x h sysctl -qw net.ipv6.conf.br0.accept_ra=0
  ip -n h addr add 10.90.0.1/24 dev br0
  ip -n h addr add fd00:beef::1/64 dev br0 nodad
  ip -n h link set br0 up
  local i=2
  for c in c1 c2; do
    ip -n h link add vb$c master br0 up type veth peer name eth0 netns $c
    ip -n h link set vb$c type bridge_slave hairpin on
    x $c sysctl -qw net.ipv6.conf.eth0.accept_ra=0
    ip -n $c addr add 10.90.0.$i/24 dev eth0
    ip -n $c addr add fd00:beef::$i/64 dev eth0 nodad
    ip -n $c link set eth0 up
    ip -n $c route add default via 10.90.0.1
    ip -n $c -6 route add default via fd00:beef::1
    i=$((i + 1))
  done
}

cleanup() { stop_servers; for ns in $(ip netns list | awk '{print $1}'); do ip netns del "$ns"; done; rm -rf -- "$FACT_TMP"; }
trap cleanup EXIT

# packets NS TAG: the packet count of the counter rule commented TAG in NS's ruleset.
packets() { x "$1" nft list ruleset | awk -v tag="\"$2\"" '$0 ~ ("comment " tag) { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }' | head -1; }
# nstat_of NS COUNTER: a kernel SNMP counter's absolute value in NS.
nstat_of() { x "$1" nstat -az "$2" | awk -v c="$2" '$1 == c { print $2 }'; }
