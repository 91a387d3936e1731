#!/usr/bin/env bash
# The container's interface: addresses usable at once (nodad, accept_dad=0), and an
# IPv4-only interface with no IPv6 address at all. The veth peer is born down in the
# container's namespace, as Berth makes it.
. "$(dirname "$0")/lib.sh"
for ns in h c; do ip netns add $ns; x $ns ip link set lo up; done
pair() { ip -n h link add "vb$1" up type veth peer name "$1" netns c; }   # the peer starts down
no_v6() { [ -z "$(ip -n c -6 addr show dev "$1")" ]; }
bind6() { x c "$PY" -c "import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM); s.bind(('$1', 0))"; }

# DAD: without nodad an address is tentative and cannot be bound until DAD ends (about
# a second); with IFA_F_NODAD, or accept_dad=0 on the interface, it is usable at once.
pair e1; ip -n c link set e1 up
ip -n c addr add fd00:1::2/64 dev e1
ip -n c -6 addr show dev e1 | grep -q "fd00:1::2/64.*tentative" && ok "without nodad the address starts tentative" || fail "not tentative"
expect_not "... and bind() to it fails at once (EADDRNOTAVAIL)" bind6 fd00:1::2
ip -n c addr add fd00:1::3/64 dev e1 nodad
ip -n c -6 addr show dev e1 | grep "fd00:1::3/64" | grep -q tentative && fail "nodad address tentative" || ok "with nodad (IFA_F_NODAD) it is not tentative"
expect "... and bind() succeeds at once" bind6 fd00:1::3
pair e2; x c sysctl -qw net.ipv6.conf.e2.accept_dad=0; ip -n c link set e2 up
ip -n c addr add fd00:2::2/64 dev e2
ip -n c -6 addr show dev e2 | grep "fd00:2::2/64" | grep -q tentative && fail "accept_dad=0 address tentative" || ok "with accept_dad=0 on the interface an address without nodad is not tentative"

# A link-local address appears when the link is up (and has carrier).
pair e3; ip -n c link set e3 up
for _ in $(seq 50); do [ -n "$(ip -n c -6 addr show dev e3 scope link)" ] && break; sleep 0.02; done
[ -n "$(ip -n c -6 addr show dev e3 scope link)" ] && ok "positive control: a peer set up as is gets a link-local address" || fail "no LL on plain peer"

# IFLA_AF_SPEC at creation is refused, in the peer's attributes or the link's (iproute2's
# `ip link add … addrgenmode none` too): the mode can only be set once the link exists.
expect_not "IFLA_AF_SPEC{AF_INET6{ADDR_GEN_MODE none}} in the veth peer's create attributes is refused" \
  x h "$PY" "$HERE/nl.py" veth vb9 e9 /run/netns/c 1 peer
grep -q "Address family not supported" "$FACT_TMP"/fact.out && note "kernel: $(cat "$FACT_TMP"/fact.out)"
expect_not "... and in the host end's" x h "$PY" "$HERE/nl.py" veth vb9 e9 /run/netns/c 1 host
expect_not "... and from iproute2 (ip link add … addrgenmode none type veth)" ip -n h link add vb9 addrgenmode none type veth peer name e9 netns c

# On the existing (down) peer: addrgenmode none in one message and IFF_UP in the next, in
# one sendmsg: no link-local. In a single message the kernel applies IFF_UP before
# IFLA_AF_SPEC (do_setlink's order), so whether a link-local appears depends on when the
# carrier event runs: with the host end already up it does, often.
ll_races=0
for i in 1 2 3 4 5 6 7 8; do
  pair s$i; x c "$PY" "$HERE/nl.py" addrgenmode s$i 1 up
done
sleep 0.5
for i in 1 2 3 4 5 6 7 8; do no_v6 s$i || ll_races=$((ll_races + 1)); done
note "{AF_SPEC addrgenmode none + IFF_UP} in ONE message: $ll_races of 8 peers got a link-local anyway"
pair e4
x c "$PY" "$HERE/nl.py" addrgenmode e4 1 then-up
sleep 0.5
no_v6 e4 && ok "{AF_SPEC addrgenmode none} then {IFF_UP}, two messages in one sendmsg: up with no IPv6 address (checked after 0.5 s)" || { fail "addrgenmode none"; ip -n c -6 addr show dev e4; }
ip -n c -d link show e4 | grep -q "addrgenmode none" && ok "... ip -d link shows addrgenmode none" || fail "mode not none"
[ "$(x c sysctl -n net.ipv6.conf.e4.accept_ra)" = 1 ] && note "... but accept_ra is still 1 and IPv6 is on: see 05-ra.sh for what an RA does to it"

# disable_ipv6=1 on the down peer before up: no IPv6 at all, and none after an address add.
pair e5
x c sysctl -qw net.ipv6.conf.e5.disable_ipv6=1
ip -n c link set e5 up
sleep 0.5
no_v6 e5 && ok "disable_ipv6=1 written before up: the interface comes up with no IPv6 address" || fail "disable_ipv6"
expect_not "... and an IPv6 address cannot be added to it" ip -n c addr add fd00:5::2/64 dev e5 nodad
note "kernel: $(cat "$FACT_TMP"/fact.out)"
x c grep -q " e5$" /proc/net/if_inet6 && fail "e5 in if_inet6" || ok "... /proc/net/if_inet6 lists nothing for it"
finish
