#!/usr/bin/env bash
# Why `-p [::1]:…` cannot work and what a wildcard v6 publish does to ::1 and link-local
# destinations: IPv6 has no route_localnet, and the kernel drops loopback addresses on any
# other device and never forwards a link-local source.
. "$(dirname "$0")/lib.sh"
topology
serve c1 tcp :: 80 c1
serve h tcp ::1 8080 host-loopback
probe h tcp fd00:beef::2 80 warm >/dev/null   # neighbour entries in place
x h nft -f - <<'NFT'
table ip6 berth {
  map publish_addr { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service;
    elements = { ::1 . tcp . 9090 : fd00:beef::2 . 80 }
  }
  map publish_any { type inet_proto . inet_service : ipv6_addr . inet_service;
  }
  chain rawpre { type filter hook prerouting priority raw; policy accept;
    iifname != "lo" ip6 daddr ::1 counter comment "raw-loopback"
    iifname "br0" tcp sport 80 counter comment "br0-reply"
    iifname "lan0" tcp dport 9999 counter comment "raw-forged"
  }
  chain output { type nat hook output priority -100; policy accept;
    dnat to ip6 daddr . meta l4proto . th dport map @publish_addr
    fib daddr type local dnat to meta l4proto . th dport map @publish_any
  }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept;
    ip6 daddr fe80::/10 fib daddr type local counter comment "ll-local"
    fib daddr type local dnat to meta l4proto . th dport map @publish_any
  }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
  }
  chain input { type filter hook input priority filter; policy accept;
    tcp sport 80 counter comment "input-reply"
  }
}
NFT
x c1 nft -f - <<'NFT'
table ip6 t {
  chain pre { type filter hook prerouting priority raw; policy accept;
    tcp dport 80 counter comment "c1-syn"
  }
}
NFT

# 1. A map element for ::1: the SYN leaves with source ::1 and the container drops it.
before=$(nstat_of c1 Ip6InHdrErrors)
expect_not "host -> [::1]:9090 DNATed to the container gets no answer" probe h tcp ::1 9090 x
after=$(nstat_of c1 Ip6InHdrErrors)
[ "$after" -gt "$before" ] && ok "... the container counted the SYN from ::1 as a header error (Ip6InHdrErrors $before -> $after)" \
  || fail "container Ip6InHdrErrors did not grow ($before -> $after)"
[ "$(packets c1 c1-syn)" = 0 ] && ok "... and its prerouting never saw it" || fail "c1 prerouting saw $(packets c1 c1-syn)"

# 2. Masquerading the ::1 source gets the SYN through, but the reply, un-NATed back to ::1
#    on br0, is dropped before input: there is no route_localnet for IPv6.
x h nft add rule ip6 berth postrouting ct status dnat ip6 saddr ::1 masquerade
expect_not "with 'ct status dnat ip6 saddr ::1 masquerade' there is still no answer" probe h tcp ::1 9090 x
[ "$(packets c1 c1-syn)" -ge 1 ] && ok "... the SYN reached the container ($(packets c1 c1-syn))" || fail "SYN did not reach c1"
[ "$(packets h br0-reply)" -ge 1 ] && [ "$(packets h input-reply)" = 0 ] \
  && ok "... its SYN-ACK came back on br0 ($(packets h br0-reply)) and never reached input (un-NATed to ::1)" \
  || fail "reply: br0 $(packets h br0-reply), input $(packets h input-reply)"

# 3. A wildcard publish: `fib daddr type local` is true for ::1 in output, so a wildcard v6
#    element captures host -> [::1]:PORT and the connection hangs, even with a host
#    service listening there; `ip6 daddr ::1 return` first leaves it to the host.
x h nft add element ip6 berth publish_any '{ tcp . 8080 : fd00:beef::2 . 80 }'
expect_not "wildcard tcp/8080: host -> [::1]:8080 is captured and hangs (the host's own listener is not reached)" probe h tcp ::1 8080 x
x h nft insert rule ip6 berth output ip6 daddr ::1 return
got=$(probe h tcp ::1 8080 x)
case "$got" in "host-loopback ::1"*) ok "with 'ip6 daddr ::1 return' first: host -> [::1]:8080 reaches the host's listener: $got";; *) fail "::1 return: $got";; esac

# 4. Link-local: `fib daddr type local` is true for the host's fe80:: address too, but the
#    DNATed packet keeps its link-local source, which the kernel never forwards.
x h nft add element ip6 berth publish_any '{ tcp . 8081 : fd00:beef::2 . 80 }'
serve h tcp :: 8081 host-any
LL=$(ip -n h -6 addr show dev lan0 scope link | awk '/inet6/{print $2}' | cut -d/ -f1)
for _ in $(seq 50); do ip -n h -6 addr show dev lan0 scope link | grep -q tentative || break; sleep 0.1; done
expect_not "LAN -> [host link-local]:8081 with a wildcard publish: DNATed, then not forwarded (no answer)" probe lan tcp "$LL%eth0" 8081 x
[ "$(packets h ll-local)" -ge 1 ] && ok "... fib daddr type local matched the link-local address" || fail "ll fib did not match"
x h nft insert rule ip6 berth prerouting ip6 daddr fe80::/10 return
got=$(probe lan tcp "$LL%eth0" 8081 x)
case "$got" in "host-any fe80:"*) ok "with 'ip6 daddr fe80::/10 return' first: it reaches the host's own listener: $got";; *) fail "ll return: $got";; esac

# The host reaching its own link-local address: output DNAT keeps the link-local source
# (of lan0), which the container cannot answer on br0's segment.
expect_not "host -> [its own lan0 link-local]:8081 with a wildcard publish: captured, no answer" probe h tcp "$LL%lan0" 8081 x
x h nft insert rule ip6 berth output ip6 daddr fe80::/10 return
got=$(probe h tcp "$LL%lan0" 8081 x)
case "$got" in "host-any fe80:"*) ok "with 'ip6 daddr fe80::/10 return' in output too: it reaches the host's listener: $got";; *) fail "output ll return: $got";; esac

# 5. A packet to ::1 from the LAN (forged on a packet socket) never reaches prerouting:
#    the kernel drops loopback destinations on other devices before the hooks.
LANMAC=$(ip -n lan -br link show eth0 | awk '{print $3}'); HMAC=$(ip -n h -br link show lan0 | awk '{print $3}')
x lan "$PY" "$HERE/forge.py" syn eth0 "$HMAC" "$LANMAC" fd00:121::2 fd00:121::1 9999
for _ in $(seq 20); do [ "$(packets h raw-forged)" = 1 ] && break; sleep 0.05; done
[ "$(packets h raw-forged)" = 1 ] && ok "positive control: a SYN forged by the LAN peer to the host's address reaches raw prerouting" || fail "forged SYN not seen"
x h cat /proc/net/snmp6 > "$FACT_TMP"/snmp6.before
x lan "$PY" "$HERE/forge.py" syn eth0 "$HMAC" "$LANMAC" fd00:121::2 ::1 9999
for _ in $(seq 20); do x h cat /proc/net/snmp6 | cmp -s - "$FACT_TMP"/snmp6.before || break; sleep 0.05; done
grew=$(x h cat /proc/net/snmp6 | diff "$FACT_TMP"/snmp6.before - | awk '/^> Ip6In/{print $2"="$3}' | tr '\n' ' ')
[ "$(packets h raw-loopback)" = 0 ] && ok "the same SYN to ::1 never reaches raw prerouting (grew: $grew): no v6 loopback guard is needed" || fail "raw saw ::1 from LAN"
finish
