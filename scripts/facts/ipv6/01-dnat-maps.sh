#!/usr/bin/env bash
# IPv6 publishing through DNAT maps, in one `inet` table and in an `ip6` table beside `ip`:
# LAN peer, the host itself (output hook), a published host address, both families on one
# port, and what a v6 packet does with a wildcard element that has only v4 data.
. "$(dirname "$0")/lib.sh"
topology
ip -n h addr add fd00:122::1/64 dev lan0 nodad   # a second host address, not published on
serve c1 tcp :: 80 c1;  serve c1 tcp 0.0.0.0 80 c1v4; serve c1 udp :: 53 c1udp
serve c2 tcp :: 80 c2
serve h tcp :: 7070 host   # the host itself listens on [::]:7070

INET='table inet berth {
  map publish_addr { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
  map publish_any { type inet_proto . inet_service : ipv4_addr . inet_service;
    elements = { tcp . 8080 : 10.90.0.2 . 80, tcp . 7070 : 10.90.0.2 . 80 } }
  map publish_addr6 { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service;
    elements = { fd00:121::1 . tcp . 9090 : fd00:beef::3 . 80 } }
  map publish_any6 { type inet_proto . inet_service : ipv6_addr . inet_service;
    elements = { tcp . 8080 : fd00:beef::2 . 80, udp . 5353 : fd00:beef::2 . 53 } }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept;
    dnat ip to ip daddr . meta l4proto . th dport map @publish_addr
    fib daddr type local dnat ip to meta l4proto . th dport map @publish_any
    dnat ip6 to ip6 daddr . meta l4proto . th dport map @publish_addr6
    fib daddr type local dnat ip6 to meta l4proto . th dport map @publish_any6 
  }
  chain output { type nat hook output priority -100; policy accept;
    dnat ip to ip daddr . meta l4proto . th dport map @publish_addr
    fib daddr type local dnat ip to meta l4proto . th dport map @publish_any
    dnat ip6 to ip6 daddr . meta l4proto . th dport map @publish_addr6
    fib daddr type local dnat ip6 to meta l4proto . th dport map @publish_any6
  }
}'
SPLIT='table ip berth {
  map publish_addr { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
  map publish_any { type inet_proto . inet_service : ipv4_addr . inet_service;
    elements = { tcp . 8080 : 10.90.0.2 . 80, tcp . 7070 : 10.90.0.2 . 80 } }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept;
    dnat ip to ip daddr . meta l4proto . th dport map @publish_addr
    fib daddr type local dnat ip to meta l4proto . th dport map @publish_any 
  }
  chain output { type nat hook output priority -100; policy accept;
    dnat ip to ip daddr . meta l4proto . th dport map @publish_addr
    fib daddr type local dnat ip to meta l4proto . th dport map @publish_any
  }
}
table ip6 berth {
  map publish_addr { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service;
    elements = { fd00:121::1 . tcp . 9090 : fd00:beef::3 . 80 } }
  map publish_any { type inet_proto . inet_service : ipv6_addr . inet_service;
    elements = { tcp . 8080 : fd00:beef::2 . 80, udp . 5353 : fd00:beef::2 . 53 } }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept;
    dnat to ip6 daddr . meta l4proto . th dport map @publish_addr
    fib daddr type local dnat to meta l4proto . th dport map @publish_any 
  }
  chain output { type nat hook output priority -100; policy accept;
    dnat to ip6 daddr . meta l4proto . th dport map @publish_addr
    fib daddr type local dnat to meta l4proto . th dport map @publish_any
  }
}'

answers() { # answers DESC EXPECTED-PREFIX NS PROTO ADDR PORT
  local d=$1 want=$2; shift 2
  local got; got=$(probe "$@" hello)
  case "$got" in "$want"*) ok "$d: $got";; *) fail "$d: wanted '$want…', got '$got'";; esac
}

for layout in INET SPLIT; do
  echo "# layout $layout"
  x h nft -f - <<<"${!layout}" || fail "$layout ruleset loads"
  answers "$layout: LAN -> [host v6]:8080 reaches c1, source is the peer's" "c1 fd00:121::2" lan tcp fd00:121::1 8080
  answers "$layout: LAN -> host v4:8080 reaches c1 over v4 (same port, both families)" "c1v4 192.0.2.2" lan tcp 192.0.2.1 8080
  answers "$layout: host -> its own v6:8080 (output hook)" "c1 fd00:121::1" h tcp fd00:121::1 8080
  answers "$layout: host -> its v6 on the bridge:8080 (output hook)" "c1 fd00:beef::1" h tcp fd00:beef::1 8080
  answers "$layout: LAN -> [fd00:121::1]:9090 (publish on one v6 address) reaches c2" "c2 fd00:121::2" lan tcp fd00:121::1 9090
  expect_not "$layout: LAN -> [fd00:122::1]:9090 (another host address) gets nothing" probe lan tcp fd00:122::1 9090 x
  answers "$layout: LAN -> [host v6]:5353/udp reaches c1" "c1udp fd00:121::2" lan udp fd00:121::1 5353
  answers "$layout: v6 to a port with only a v4 wildcard element (7070) reaches the host's own listener, untouched" "host fd00:121::2" lan tcp fd00:121::1 7070
  answers "$layout: v4 to 7070 is" "c1v4 192.0.2.2" lan tcp 192.0.2.1 7070
  x h nft flush ruleset
done

# nft compiles the inet wildcard rule with no `meta nfproto` before the lookup: a v6
# packet looks up the v4 map and its `nat dnat ip` is skipped (nft_nat_inet_eval).
x h nft flush ruleset
x h nft --debug=netlink -f - <<<"$INET" > "$FACT_TMP"/inet-debug.txt 2>&1
rule=$(awk '/inet berth prerouting/{n++} n==2' "$FACT_TMP"/inet-debug.txt | sed '/^$/q')
if grep -q nfproto <<<"$rule"; then fail "inet wildcard rule has no nfproto"; else ok "inet: 'fib daddr type local dnat ip to meta l4proto . th dport map' compiles without meta nfproto"; fi
rule=$(awk '/inet berth prerouting/{n++} n==1' "$FACT_TMP"/inet-debug.txt | sed '/^$/q')
if grep -q 'meta load nfproto' <<<"$rule"; then ok "inet: the rule keyed by 'ip daddr' gets meta nfproto ipv4 first"; else fail "addr rule has nfproto"; fi
finish
