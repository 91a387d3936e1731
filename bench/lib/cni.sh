# cni.sh: drives the CNI bridge + host-local + portmap plugins of Debian's
# containernetworking-plugins the way libcni runs a conflist, for scripts/bench.
# Sourced by the harness, so (as with libcni inside containerd or podman) the driver adds
# no process of its own: the timed path is string splicing plus the plugin execs.
#
#   cni_prepare STATE BRIDGE SUBNET GATEWAY   untimed: the per-plugin configurations
#   cni_add STATE ID NETNS_PATH HOST_PORT CONTAINER_PORT
#   cni_del STATE ID NETNS_PATH HOST_PORT CONTAINER_PORT
#
# ADD runs bridge (which runs host-local) and then portmap with the bridge's result as
# prevResult and the port in runtimeConfig.portMappings (portmap declares that
# capability); the last result is cached. DEL runs them in reverse, each with the cached
# result as prevResult, as libcni does.

CNI_PLUGIN_DIR=${CNI_PLUGIN_DIR:-/usr/lib/cni}

cni_prepare() {
    local state=$1 br=$2 subnet=$3 gw=$4
    mkdir -p "$state/cni/cache" "$state/cni/ipam"
    # Each config is kept without its closing brace so runtimeConfig and prevResult can be
    # appended without a JSON tool on the timed path.
    _CNI_BRIDGE='{"cniVersion":"1.0.0","name":"bhnet","type":"bridge","bridge":"'$br'","isGateway":true,"ipMasq":true,'
    _CNI_BRIDGE+='"ipam":{"type":"host-local","dataDir":"'$state'/cni/ipam","ranges":[[{"subnet":"'$subnet'","gateway":"'$gw'"}]],"routes":[{"dst":"0.0.0.0/0"}]}'
    _CNI_PORTMAP='{"cniVersion":"1.0.0","name":"bhnet","type":"portmap","capabilities":{"portMappings":true}'
}

# _cni_exec COMMAND PLUGIN ID NETNS_PATH CONFIG: runs one plugin; its stdout lands in _CNI_OUT.
_cni_exec() {
    _CNI_OUT=$(CNI_COMMAND=$1 CNI_CONTAINERID=$3 CNI_NETNS=$4 CNI_IFNAME=eth0 CNI_PATH=$CNI_PLUGIN_DIR \
        "$CNI_PLUGIN_DIR/$2" <<<"$5") || { echo "cni: $1 $2 failed: $_CNI_OUT" >&2; return 1; }
}

cni_add() {
    local state=$1 id=$2 nspath=$3 hport=$4 cport=$5
    local ports='{"portMappings":[{"hostPort":'$hport',"containerPort":'$cport',"protocol":"tcp"}]}'
    _cni_exec ADD bridge "$id" "$nspath" "$_CNI_BRIDGE}" || return 1
    _cni_exec ADD portmap "$id" "$nspath" "$_CNI_PORTMAP,\"runtimeConfig\":$ports,\"prevResult\":$_CNI_OUT}" || return 1
    printf '%s\n' "$_CNI_OUT" >"$state/cni/cache/$id"
}

cni_del() {
    local state=$1 id=$2 nspath=$3 hport=$4 cport=$5 prev
    local ports='{"portMappings":[{"hostPort":'$hport',"containerPort":'$cport',"protocol":"tcp"}]}'
    # The result spans lines; read -d '' takes the whole file without a subshell.
    IFS= read -r -d '' prev <"$state/cni/cache/$id"
    [[ -n $prev ]] || { echo "cni: no cached result for $id" >&2; return 1; }
    _cni_exec DEL portmap "$id" "$nspath" "$_CNI_PORTMAP,\"runtimeConfig\":$ports,\"prevResult\":$prev}" || return 1
    _cni_exec DEL bridge "$id" "$nspath" "$_CNI_BRIDGE,\"prevResult\":$prev}" || return 1
    : >"$state/cni/cache/$id"
}
