#!/bin/bash
# shell-net.sh: the attach a person would write by hand with ip(8) and nft(8), one of the
# peers scripts/bench measures. Each step is one exec; nothing is batched.
#
#   shell-net.sh net BRIDGE GATEWAY/PREFIX SUBNET
#   shell-net.sh attach NETNS BRIDGE HOST_VETH IP/PREFIX GATEWAY HOST_PORT CONTAINER_PORT HANDLE_FILE
#   shell-net.sh detach HOST_VETH HANDLE_FILE
#
# "net" is the untimed network set-up (bridge, forwarding, table ip shellnet whose nat
# prerouting and output hooks jump to chain ports for local destinations). attach adds a
# veth, moves its peer, configures it inside the namespace and appends one DNAT rule,
# keeping the rule handle for detach.
set -euo pipefail

net() {
    local br=$1 gwcidr=$2 subnet=$3
    ip link add "$br" type bridge
    ip addr add "$gwcidr" dev "$br"
    ip link set "$br" up
    echo 1 >/proc/sys/net/ipv4/ip_forward
    nft -f - <<NFT
table ip shellnet {
    chain ports { }
    chain prerouting { type nat hook prerouting priority dstnat; fib daddr type local jump ports; }
    chain output { type nat hook output priority -100; fib daddr type local jump ports; }
    chain postrouting { type nat hook postrouting priority srcnat; ip saddr $subnet ip daddr != $subnet masquerade; }
}
NFT
}

attach() {
    local ns=$1 br=$2 veth=$3 cidr=$4 gw=$5 hport=$6 cport=$7 handle_file=$8 out
    ip link add "$veth" type veth peer name "${veth}c"
    ip link set "${veth}c" netns "$ns"
    ip link set "$veth" master "$br" up
    ip -n "$ns" link set "${veth}c" name eth0
    ip -n "$ns" addr add "$cidr" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" route add default via "$gw"
    out=$(nft --echo --handle add rule ip shellnet ports tcp dport "$hport" dnat to "${cidr%/*}:$cport")
    [[ $out =~ \#\ handle\ ([0-9]+) ]] || { echo "shell-net: nft echoed no handle: $out" >&2; exit 1; }
    echo "${BASH_REMATCH[1]}" >"$handle_file"
}

detach() {
    local veth=$1 handle_file=$2 handle
    read -r handle <"$handle_file"
    nft delete rule ip shellnet ports handle "$handle"
    ip link del "$veth"
    rm -f "$handle_file"
}

case ${1:-} in
    net) shift; (($# == 3)) && net "$@" ;;
    attach) shift; (($# == 8)) && attach "$@" ;;
    detach) shift; (($# == 2)) && detach "$@" ;;
    *) echo "usage: $0 net BRIDGE GATEWAY/PREFIX SUBNET | attach NETNS BRIDGE VETH IP/PREFIX GATEWAY HPORT CPORT HANDLE_FILE | detach VETH HANDLE_FILE" >&2; exit 2 ;;
esac
