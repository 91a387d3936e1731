# berth-cni.sh: drives berth-cni the way libcni runs a one-plugin conflist, for
# scripts/bench. Sourced by the harness, so (as with libcni inside containerd or podman)
# the driver adds no process of its own: the timed path is string splicing plus one exec.
#
#   berth_cni_prepare STATE BRIDGE SUBNET GATEWAY   untimed: the network and the config
#   berth_cni_add STATE ID NETNS_PATH HOST_PORT CONTAINER_PORT
#   berth_cni_del STATE ID NETNS_PATH HOST_PORT CONTAINER_PORT
#
# ADD gets the port in runtimeConfig.portMappings (the capability libcni fills in) and its
# result is cached; DEL gets the same config with the cached result as prevResult.

berth_cni_prepare() {
    local state=$1 br=$2 subnet=$3 gw=$4
    mkdir -p "$state/berth-cni/cache"
    # The network exists beforehand, as for the CLI method: ADD measures the attach.
    BERTH_STATE_DIR=$state/berth "$BERTH" network create bhnet --subnet "$subnet" --gateway "$gw" --bridge "$br" --dns false || return 1
    # Kept without its closing brace so runtimeConfig and prevResult can be appended.
    _BCNI_CONF='{"cniVersion":"1.0.0","name":"bhnet","type":"berth-cni","bridge":"'$br'","subnet":"'$subnet'","gateway":"'$gw'","stateDir":"'$state'/berth"'
}

# _bcni_exec COMMAND ID NETNS_PATH CONFIG OUTFILE: one plugin run, its stdout into OUTFILE.
# A redirection, not $(...): command substitution forks a copy of this shell around the
# plugin, a process libcni (which reads the plugin's stdout through a pipe) does not add.
_bcni_exec() {
    CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=$3 CNI_IFNAME=eth0 CNI_PATH=${BERTH_CNI%/*} \
        "${WRAP[@]}" "$BERTH_CNI" <<<"$4" >"$5" || { echo "berth-cni: $1 failed: $(cat "$5")" >&2; return 1; }
}

berth_cni_add() {
    local state=$1 id=$2 nspath=$3 hport=$4 cport=$5
    _bcni_exec ADD "$id" "$nspath" "$_BCNI_CONF"',"runtimeConfig":{"portMappings":[{"hostPort":'$hport',"containerPort":'$cport',"protocol":"tcp"}]}}' \
        "$state/berth-cni/cache/$id"
}

berth_cni_del() {
    local state=$1 id=$2 nspath=$3 hport=$4 cport=$5 prev
    IFS= read -r -d '' prev <"$state/berth-cni/cache/$id"
    [[ -n $prev ]] || { echo "berth-cni: no cached result for $id" >&2; return 1; }
    _bcni_exec DEL "$id" "$nspath" "$_BCNI_CONF"',"runtimeConfig":{"portMappings":[{"hostPort":'$hport',"containerPort":'$cport',"protocol":"tcp"}]},"prevResult":'"$prev"'}' \
        "$state/berth-cni/cache/$id"
}
