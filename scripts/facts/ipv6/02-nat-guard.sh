#!/usr/bin/env bash
# Outbound masquerade of a ULA subnet, hairpin over v6 (with and without br_netfilter's
# bridge-nf-call-ip6tables), the direct-access guard for a v6 subnet routed by a LAN peer,
# and why a global subnet behind that guard needs the outbound masquerade too.
. "$(dirname "$0")/lib.sh"
topology
serve c1 tcp :: 80 c1; serve c1 tcp :: 81 c1-unpublished; serve c2 tcp :: 80 c2
serve lan tcp :: 80 lan

answers() { # answers DESC EXPECTED-PREFIX NS PROTO ADDR PORT
  local d=$1 want=$2; shift 2
  local got; got=$(probe "$@" hello)
  case "$got" in "$want"*) ok "$d: $got";; *) fail "$d: wanted '$want…', got '$got'";; esac
}

x h nft -f - <<'NFT'
table ip6 berth {
  map publish_addr { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }
  map publish_any { type inet_proto . inet_service : ipv6_addr . inet_service;
    elements = { tcp . 8080 : fd00:beef::2 . 80 }
  }
  chain guard { type filter hook prerouting priority raw; policy accept;
  }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept;
    dnat to ip6 daddr . meta l4proto . th dport map @publish_addr
    fib daddr type local dnat to meta l4proto . th dport map @publish_any
  }
  chain output { type nat hook output priority -100; policy accept;
    dnat to ip6 daddr . meta l4proto . th dport map @publish_addr
    fib daddr type local dnat to meta l4proto . th dport map @publish_any
  }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
  }
}
NFT

# Outbound: without masquerade the LAN peer sees the ULA address (it routes back via the
# host here; a real upstream would not), with it the host's.
answers "no masquerade: the LAN peer sees the container's ULA address" "lan fd00:beef::2" c1 tcp fd00:121::2 80
x h nft add rule ip6 berth postrouting ip6 saddr fd00:beef::/64 oifname != br0 masquerade
answers "masquerade 'ip6 saddr fd00:beef::/64 oifname != br0': the LAN peer sees the host's address" "lan fd00:121::1" c1 tcp fd00:121::2 80
answers "... and traffic between containers keeps its source" "c2 fd00:beef::2" c1 tcp fd00:beef::3 80

# Hairpin: a container reaching its own or a sibling's published port through the host.
for brnf in 1 0; do
  if [ -e /proc/sys/net/bridge/bridge-nf-call-ip6tables ]; then
    x h sysctl -qw net.bridge.bridge-nf-call-ip6tables=$brnf
  elif [ $brnf = 1 ]; then note "br_netfilter not loaded: only the bridge-nf-call-ip6tables=0 case runs"; continue; fi
  x h nft flush chain ip6 berth postrouting
  x h nft add rule ip6 berth postrouting ip6 saddr fd00:beef::/64 oifname != br0 masquerade
  expect_not "bridge-nf-call-ip6tables=$brnf, no hairpin masquerade: c1 -> [host v6]:8080 (itself) fails" probe c1 tcp fd00:121::1 8080 x
  x h nft insert rule ip6 berth postrouting ct status dnat ip6 saddr fd00:beef::/64 oifname br0 masquerade
  answers "bridge-nf-call-ip6tables=$brnf, 'ct status dnat ip6 saddr SUBNET oifname br0 masquerade': c1 reaches itself" "c1 fd00:beef::1" c1 tcp fd00:121::1 8080
  answers "bridge-nf-call-ip6tables=$brnf: c2 reaches c1 through the host" "c1 fd00:beef::1" c2 tcp fd00:121::1 8080
done

# Direct access: a LAN peer routing the container /64 via the host.
ip -n lan -6 route add fd00:beef::/64 via fd00:121::1
answers "positive control: without a guard the LAN peer reaches c1:81 (unpublished) directly" "c1-unpublished fd00:121::2" lan tcp fd00:beef::2 81
x h nft add rule ip6 berth guard ip6 daddr fd00:beef::/64 iifname != br0 drop
expect_not "guard 'ip6 daddr SUBNET iifname != BRIDGE drop' at raw: c1:81 (unpublished) unreachable" probe lan tcp fd00:beef::2 81 x
expect_not "guard: c1:80 (published as 8080) unreachable directly" probe lan tcp fd00:beef::2 80 x
answers "guard: the published port still answers" "c1 fd00:121::2" lan tcp fd00:121::1 8080
answers "guard: the host still reaches c1 directly" "c1-unpublished fd00:beef::1" h tcp fd00:beef::2 81
answers "guard: c2 still reaches c1 directly" "c1-unpublished fd00:beef::3" c2 tcp fd00:beef::2 81

# A global subnet on a second bridge (c3 on br1, 2001:db8:1::/64). The LAN peer's default
# route sends the replies to it back via the host.
ip netns add c3; x c3 ip link set lo up
ip -n h link add br1 type bridge
x h sysctl -qw net.ipv6.conf.br1.accept_ra=0
ip -n h link set br1 up
ip -n h addr add 2001:db8:1::1/64 dev br1 nodad
ip -n h link add vbc3 master br1 up type veth peer name eth0 netns c3
x c3 sysctl -qw net.ipv6.conf.eth0.accept_ra=0
ip -n c3 link set eth0 up
ip -n c3 addr add 2001:db8:1::2/64 dev eth0 nodad
ip -n c3 -6 route add default via 2001:db8:1::1
x c3 ping -6 -c1 -W3 2001:db8:1::1 >/dev/null 2>&1 # the first neighbour solicitation may be lost
answers "positive control: no guard, no masquerade: a global subnet is routed, the LAN peer sees its address" "lan 2001:db8:1::2" c3 tcp fd00:121::2 80
x h nft add rule ip6 berth guard ip6 daddr 2001:db8:1::/64 iifname != br1 drop
expect_not "its guard, no outbound masquerade: c3 -> LAN peer fails (the reply to 2001:db8:1::2 arrives on lan0, the guard drops it)" probe c3 tcp fd00:121::2 80 x
x h nft add rule ip6 berth postrouting ip6 saddr 2001:db8:1::/64 oifname != br1 masquerade
answers "guard and 'ip6 saddr 2001:db8:1::/64 oifname != br1 masquerade': the LAN peer sees the host's address" "lan fd00:121::1" c3 tcp fd00:121::2 80
ip -n lan -6 route del default
answers "... with no route back on the LAN peer but its own link (the internet's view)" "lan fd00:121::1" c3 tcp fd00:121::2 80
finish
