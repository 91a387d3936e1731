#!/usr/bin/env bash
# A container with CAP_NET_RAW forges a router advertisement (new prefix, default route)
# on its bridge: what the host and sibling containers do with it, depending on accept_ra,
# forwarding, addrgenmode and disable_ipv6. Also what all.forwarding=1 does to a host
# that learns its own default route from RAs on its LAN interface.
. "$(dirname "$0")/lib.sh"
topology
# More siblings on br0, each with a different IPv6 setting on its eth0 (peer born down).
sibling() { # sibling NAME: veth on br0, peer eth0 down in NAME
  ip netns add "$1"; x "$1" ip link set lo up
  ip -n h link add "vb$1" master br0 up type veth peer name eth0 netns "$1"
}
sibling c3; ip -n c3 link set eth0 up                                           # IPv6 defaults (control)
sibling c4; x c4 sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1; ip -n c4 link set eth0 up   # v4-only: disable_ipv6
sibling c5; x c5 "$PY" "$HERE/nl.py" addrgenmode eth0 1 then-up                 # v4-only: addrgenmode none alone
sibling c6; x c6 sysctl -qw net.ipv6.conf.eth0.accept_ra=0; x c6 "$PY" "$HERE/nl.py" addrgenmode eth0 1 then-up
for ns in c3 c5; do for _ in $(seq 50); do [ "$(x $ns cat /proc/sys/net/ipv6/conf/eth0/accept_ra)" = 1 ] && break; done; done

state() { ip -n "$1" -6 addr show | grep -v valid_lft | sed 's/ tentative//'; ip -n "$1" -6 route show | sed 's/ expires [0-9]*sec//'; }
forge() { # forge PREFIX: c1 sends an RA from fe80::bad with PREFIX/64 and a router lifetime
  local m; m=$(ip -n c1 -br link show eth0 | awk '{print $3}')
  x c1 "$PY" "$HERE/forge.py" ra eth0 "$m" fe80::bad "$1"
}
wait_for() { for _ in $(seq 50); do "$@" && return 0; sleep 0.02; done; return 1; }
has_prefix() { ip -n "$1" -6 addr show | grep -q "$2"; }
has_route() { ip -n "$1" -6 route show | grep -q "via fe80::bad"; }

# Host with forwarding on (what Berth sets for an IPv6 network), br0 accept_ra=0.
for ns in h c2 c4 c6; do state $ns > "$FACT_TMP"/before.$ns; done
forge fd00:bad::
wait_for has_prefix c3 fd00:bad: && ok "control: c3 (accept_ra=1, IPv6 defaults) takes the forged prefix" || fail "control c3 got no SLAAC address"
wait_for has_route c3 && ok "control: c3 takes the forged default route" || fail "control c3 got no route"
sleep 0.2
for ns in h c2 c4 c6; do
  if state $ns | cmp -s - "$FACT_TMP"/before.$ns; then ok "$ns: IPv6 addresses and routes unchanged"; else fail "$ns changed"; diff "$FACT_TMP"/before.$ns <(state $ns); fi
done
note "h: forwarding=1, br0 accept_ra=0; c2: accept_ra=0 (dual stack); c4: disable_ipv6=1; c6: addrgenmode none + accept_ra=0"
[ -z "$(ip -n c4 -6 addr show dev eth0)" ] && ok "c4 (disable_ipv6=1) has no IPv6 address on eth0" || fail "c4 has an IPv6 address"
has_prefix c5 fd00:bad: && ok "c5 (addrgenmode none, accept_ra=1) still takes a SLAAC address: addrgenmode none is not enough" \
  || fail "c5 took no address"
has_route c5 && ok "... and the default route" || fail "c5 took no route"

# The bridge's accept_ra matters once the host is not forwarding; bridge ports never see it.
x h sysctl -qw net.ipv6.conf.all.forwarding=0 net.ipv6.conf.br0.accept_ra=1
state h > "$FACT_TMP"/before.h
forge fd00:bad:1::
wait_for has_route h && ok "control: forwarding=0 and br0 accept_ra=1: the host takes the container's default route" || fail "host took no route"
ip -n h -6 route show | grep "via fe80::bad" | grep -q "dev br0" && ok "... on br0, not on the bridge ports (vb*)" || fail "route not on br0"
x h ip -6 route flush proto ra; x h ip -6 addr flush dev br0 scope global dynamic; x h ip -6 route del fd00:bad:1::/64 dev br0
x h sysctl -qw net.ipv6.conf.br0.accept_ra=0
state h > "$FACT_TMP"/before.h
forge fd00:bad:2::
sleep 0.3
state h | cmp -s - "$FACT_TMP"/before.h && ok "forwarding=0, br0 accept_ra=0: the host takes nothing" || { fail "host changed"; diff "$FACT_TMP"/before.h <(state h); }

# all.forwarding=1 turns every interface into a router: a LAN router's RA on an interface
# with accept_ra=1 is then ignored (accept_ra=2 is needed) — the host's own v6 default route.
LANMAC=$(ip -n lan -br link show eth0 | awk '{print $3}')
x h sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv6.conf.lan0.accept_ra=1
x lan "$PY" "$HERE/forge.py" ra eth0 "$LANMAC" fe80::1 fd00:cafe::
sleep 0.3
ip -n h -6 route show | grep -q "default.*dev lan0" && fail "forwarding host took the LAN RA" \
  || ok "all.forwarding=1, lan0 accept_ra=1: the host ignores its LAN router's RA"
x h sysctl -qw net.ipv6.conf.lan0.accept_ra=2
x lan "$PY" "$HERE/forge.py" ra eth0 "$LANMAC" fe80::1 fd00:cafe::
wait_for eval 'ip -n h -6 route show | grep -q "default.*dev lan0"' && ok "... with accept_ra=2 it takes it" || fail "accept_ra=2 did not take it"
finish
