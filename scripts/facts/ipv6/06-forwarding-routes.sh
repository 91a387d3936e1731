#!/usr/bin/env bash
# Forwarding and routes for IPv6 networks: what must be on for a published port and for
# outbound traffic, and how the kernel treats a second default route and a down link.
. "$(dirname "$0")/lib.sh"
topology
serve c1 tcp :: 80 c1; serve lan tcp :: 80 lan
x h nft -f - <<'NFT'
table ip6 berth {
  chain prerouting { type nat hook prerouting priority dstnat; policy accept;
    ip6 daddr fd00:121::1 tcp dport 8080 dnat to [fd00:beef::2]:80
  }
}
NFT
inbound()  { probe lan tcp fd00:121::1 8080 x; }
outbound() { probe c1 tcp fd00:121::2 80 x; }

expect "all.forwarding=1: LAN -> published port reaches the container" inbound
expect "all.forwarding=1: the container reaches the LAN" outbound
x h sysctl -qw net.ipv6.conf.all.forwarding=0
expect_not "all.forwarding=0: LAN -> published port gets nothing" inbound
expect_not "all.forwarding=0: the container does not reach the LAN" outbound
if [ -e /proc/sys/net/ipv6/conf/lo/force_forwarding ]; then
  # Linux 6.17+: per-interface forwarding, judged on the interface a packet arrives on.
  x h sysctl -qw net.ipv6.conf.br0.force_forwarding=1
  expect_not "force_forwarding=1 on br0 alone: inbound still fails (arrives on lan0)" inbound
  expect_not "... and outbound too (the replies arrive on lan0)" outbound
  x h sysctl -qw net.ipv6.conf.lan0.force_forwarding=1
  expect "force_forwarding=1 on br0 and lan0: inbound works" inbound
  expect "... and outbound" outbound
  [ "$(x h sysctl -n net.ipv6.conf.lan0.forwarding)" = 0 ] && ok "... while lan0's forwarding (router mode, RA handling) stays 0" || fail "lan0 forwarding changed"
  x h sysctl -qw net.ipv6.conf.br0.force_forwarding=0 net.ipv6.conf.lan0.force_forwarding=0
else
  note "no force_forwarding on this kernel (added in Linux 6.17)"
fi
x h sysctl -qw net.ipv6.conf.all.forwarding=1
[ "$(x h sysctl -n net.ipv6.conf.lan0.forwarding)" = 1 ] && ok "writing all.forwarding=1 sets every interface's forwarding (router mode; see 05-ra.sh for RAs)" || fail "lan0 forwarding not set"

# A second IPv6 default route: `append` (NLM_F_APPEND) makes one multipath route, so the
# v4 trick of appending a second network's default route behind the first would spread a
# container's traffic over both networks; a create with NLM_F_EXCL answers EEXIST.
ip netns add m; x m ip link set lo up
for i in 1 2; do ip -n h link add m$i master br0 up type veth peer name e$i netns m; ip -n m addr add fd00:beef::1$i/64 dev e$i nodad; ip -n m link set e$i up; done
ip -n m -6 route add default via fd00:beef::1 dev e1
ip -n m -6 route append default via fd00:beef::1 dev e2
[ "$(ip -n m -6 route show default | grep -c nexthop)" = 2 ] && ok "ip -6 route append default (NLM_F_APPEND) turns the default route into a 2-way multipath route" \
  || { fail "append"; ip -n m -6 route show default; }
ip -n m -6 route del default
ip -n m -6 route add default via fd00:beef::1 dev e1
expect_not "ip -6 route add default (NLM_F_CREATE|NLM_F_EXCL) beside an existing one is refused (EEXIST)" ip -n m -6 route add default via fd00:beef::1 dev e2
grep -q "File exists" "$FACT_TMP"/fact.out && note "kernel: $(cat "$FACT_TMP"/fact.out)"
expect "... while a different metric is a separate route" ip -n m -6 route add default via fd00:beef::1 dev e2 metric 1100
ip -n m link del e1
[ "$(ip -n m -6 route show default)" = "default via fd00:beef::1 dev e2 metric 1100 pref medium" ] \
  && ok "... which is left when the first route's link goes (a detach of the first network)" || { fail "after e1 deleted"; ip -n m -6 route show default; }

# An IPv6 address on a down link has no prefix route until the link comes up.
ip -n m link add d0 type veth peer name d1
ip -n m addr add fd00:3::2/64 dev d0 nodad
[ -z "$(ip -n m -6 route show dev d0)" ] && ok "an address on a down link: no prefix route" || fail "prefix route on down link"
ip -n m link set d1 up; ip -n m link set d0 up
ip -n m -6 route show dev d0 | grep -q "fd00:3::/64 proto kernel metric 256" && ok "... the link up adds 'fd00:3::/64 proto kernel metric 256'" \
  || { fail "no prefix route after up"; ip -n m -6 route show dev d0; }

# Setting a link down drops its IPv6 addresses (keep_addr_on_down=0, the default), unlike
# its IPv4 ones; setting it up again does not bring them back.
ip -n m link add b9 type bridge; ip -n m link set b9 up
ip -n m addr add fd00:9::1/64 dev b9 nodad; ip -n m addr add 10.9.0.1/24 dev b9
ip -n m link set b9 down; ip -n m link set b9 up
[ -z "$(ip -n m -6 addr show dev b9 scope global)" ] && ok "down and up: a bridge loses its IPv6 gateway address (keep_addr_on_down=$(x m sysctl -n net.ipv6.conf.b9.keep_addr_on_down))" || fail "v6 address kept"
ip -n m -4 addr show dev b9 | grep -q 10.9.0.1/24 && ok "... and keeps its IPv4 one" || fail "v4 address lost"
finish
