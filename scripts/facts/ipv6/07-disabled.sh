#!/usr/bin/env bash
# A host with IPv6 disabled by sysctl (net.ipv6.conf.{all,default}.disable_ipv6=1): what a
# new bridge inherits, what adding a v6 address answers, and that IPv4 networking and an
# ip6 nftables table are unaffected. (`ipv6.disable=1` on the kernel command line removes
# /proc/sys/net/ipv6 altogether; it cannot be tried without a reboot.)
. "$(dirname "$0")/lib.sh"
ip netns add h; x h ip link set lo up
[ "$(x h sysctl -n net.ipv6.conf.default.disable_ipv6)" = 0 ] && ok "a new namespace starts with IPv6 enabled"
x h sysctl -qw net.ipv6.conf.all.disable_ipv6=1
[ "$(x h sysctl -n net.ipv6.conf.default.disable_ipv6)" = 1 ] && ok "writing all.disable_ipv6=1 also sets default.disable_ipv6=1" || fail "default not set"
[ -z "$(ip -n h -6 addr show dev lo)" ] && ok "... and removes lo's ::1" || fail "::1 stays"
ip -n h link add br0 type bridge
[ "$(x h sysctl -n net.ipv6.conf.br0.disable_ipv6)" = 1 ] && ok "a bridge made afterwards inherits disable_ipv6=1" || fail "bridge not disabled"
ip -n h link set br0 up
expect_not "adding an IPv6 address to it is refused" ip -n h addr add fd00:1::1/64 dev br0 nodad
note "kernel: $(cat "$FACT_TMP"/fact.out)"
x h "$PY" - <<'PY' && ok "... with EACCES over rtnetlink" || fail "errno not EACCES"
import socket, struct, os, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
idx = socket.if_nametoindex("br0")
addr = socket.inet_pton(socket.AF_INET6, "fd00:1::1")
attr = struct.pack("=HH", 20, 1) + addr
body = struct.pack("=BBBBI", socket.AF_INET6, 64, 0x02, 0, idx) + attr
s.send(struct.pack("=IHHII", 16 + len(body), 20, 1 | 4 | 0x400 | 0x200, 1, 0) + body)
err = -struct.unpack("=i", s.recv(4096)[16:20])[0]
print("errno", err, os.strerror(err)); sys.exit(0 if err == 13 else 1)
PY
expect "IPv4 on the same bridge works" ip -n h addr add 10.90.0.1/24 dev br0
expect "an ip6 nftables table with nat chains still loads" x h nft -f - <<'NFT'
table ip6 berth {
  map publish_any { type inet_proto . inet_service : ipv6_addr . inet_service; }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local dnat to meta l4proto . th dport map @publish_any
  }
}
NFT
x h sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=1
ip -n h link add br1 type bridge
[ "$(x h sysctl -n net.ipv6.conf.br1.disable_ipv6)" = 1 ] && ok "default.disable_ipv6=1 alone: a new bridge still starts disabled (the key to read before creating one)" || fail "br1"
[ "$(x h sysctl -n net.ipv6.conf.br0.disable_ipv6)" = 0 ] && note "all.disable_ipv6=0 re-enabled existing links (br0 now 0)"
finish
