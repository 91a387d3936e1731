# netavark.sh: drives Debian's netavark the way podman does, for scripts/bench. Podman
# chooses the address itself (its own IPAM, not measured) and passes it in static_ips;
# the network travels in network_info. One exec per operation, JSON on stdin.
#
#   netavark_run setup|teardown STATE NETNS_PATH ID BRIDGE SUBNET GATEWAY IP HOST_PORT CONTAINER_PORT

NETAVARK=${NETAVARK:-/usr/lib/podman/netavark}
# Podman's network ids are 64 hex digits; a constant keeps a subshell off the timed path.
_NETAVARK_NET_ID=b3e7000000000000000000000000000000000000000000000000000000000001

netavark_run() {
    local op=$1 state=$2 nspath=$3 id=$4 br=$5 subnet=$6 gw=$7 ip=$8 hport=$9 cport=${10} opts
    opts='{"container_id":"'$id'","container_name":"'$id'",'
    opts+='"port_mappings":[{"host_ip":"","container_port":'$cport',"host_port":'$hport',"range":1,"protocol":"tcp"}],'
    opts+='"networks":{"bhnet":{"static_ips":["'$ip'"],"interface_name":"eth0"}},'
    opts+='"network_info":{"bhnet":{"name":"bhnet","id":"'$_NETAVARK_NET_ID'","driver":"bridge",'
    opts+='"network_interface":"'$br'","subnets":[{"subnet":"'$subnet'","gateway":"'$gw'"}],'
    opts+='"ipv6_enabled":false,"internal":false,"dns_enabled":false,"ipam_options":{"driver":"host-local"}}}}'
    # WRAP: empty, or the harness's /usr/bin/time prefix when it samples peak RSS.
    "${WRAP[@]}" "$NETAVARK" --config "$state/netavark" "$op" "$nspath" <<<"$opts" >/dev/null
}
