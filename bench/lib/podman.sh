# podman.sh: section 7 of scripts/bench (--peers). Times `podman run --rm -p 8080:80
# localhost/bb true` with berth-cni as the CNI plugin, with netavark (podman's default),
# with the reference CNI chain (bridge + host-local + portmap + firewall, Debian's
# containernetworking-plugins) and with --network none, REPS times each after one untimed
# warm-up. Runs inside host netns bh-podman, entered with nsenter --net (never `ip netns
# exec`: its /sys remount hides the cgroup mounts podman needs). Storage, run dirs and
# configuration are private; what podman writes outside them is put on tmpfs or removed.

podman_run() {
    local reps=$1 variant j t0 t1 raw=$WORK/raw-podman.csv
    exec 3>>"$OUT/log/podman.log"
    local w=$WORK/podman root
    root=$(cd "$BENCH/.." && pwd)
    mkdir -p "$w/cni-bin" "$w/cni-conf"
    ip link set lo up
    # podman keeps a blob cache in /var/lib/containers whatever --root says.
    local made_varlib=0
    [ -d /var/lib/containers ] || { mkdir -p /var/lib/containers; made_varlib=1; }
    mount -t tmpfs bench-podman /var/lib/containers
    trap 'podman_cleanup '"$made_varlib" EXIT

    cp "$BERTH_CNI" "$w/cni-bin/berth-cni"
    for p in bridge host-local portmap firewall; do ln -sf "/usr/lib/cni/$p" "$w/cni-bin/$p"; done
    cat >"$w/cni-conf/berthnet.conflist" <<JSON
{"cniVersion":"1.0.0","name":"berthnet","plugins":[{"type":"berth-cni","subnet":"10.89.1.0/24","stateDir":"$w/berth","capabilities":{"portMappings":true}}]}
JSON
    cat >"$w/cni-conf/cnibridge.conflist" <<JSON
{"cniVersion":"1.0.0","name":"cnibridge","plugins":[
 {"type":"bridge","bridge":"cnibr0","isGateway":true,"ipMasq":true,"hairpinMode":true,
  "ipam":{"type":"host-local","dataDir":"$w/ipam","routes":[{"dst":"0.0.0.0/0"}],"ranges":[[{"subnet":"10.89.2.0/24","gateway":"10.89.2.1"}]]}},
 {"type":"portmap","capabilities":{"portMappings":true}},
 {"type":"firewall"}]}
JSON
    "$root/scripts/lib/make-rootfs.sh" "$w/rootfs" >&3 2>&3 || return 1
    local nofile nproc pidmax
    nofile=$(ulimit -Hn); nproc=$(ulimit -Hu); pidmax=$(cat /proc/sys/kernel/pid_max)
    { [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pidmax" ]; } && nproc=$pidmax
    for variant in berth-cni netavark cni-bridge none; do
        local backend=cni net=(--network berthnet) ports=(-p 8080:80)
        case $variant in
            netavark) backend=netavark net=() ;;
            cni-bridge) net=(--network cnibridge) ;;
            none) net=(--network none) ports=() ;;
        esac
        export CONTAINERS_CONF=$w/containers-$backend.conf
        cat >"$CONTAINERS_CONF" <<TOML
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
[network]
network_backend = "$backend"
cni_plugin_dirs = ["$w/cni-bin"]
network_config_dir = "$w/cni-conf"
TOML
        PODMAN=(podman --root "$w/storage-$backend" --runroot "$w/run-$backend")
        if ! "${PODMAN[@]}" image exists localhost/bb 2>/dev/null; then
            tar -C "$w/rootfs" -c . | "${PODMAN[@]}" import -q - localhost/bb >&3 2>&3 || return 1
        fi
        "${PODMAN[@]}" run --rm "${net[@]}" "${ports[@]}" localhost/bb true >&3 2>&3 || { echo "podman $variant failed" >&2; return 1; }
        for ((j = 1; j <= reps; j++)); do
            t0=${EPOCHREALTIME/./}
            "${PODMAN[@]}" run --rm "${net[@]}" "${ports[@]}" localhost/bb true >&3 2>&3 || { echo "podman $variant failed" >&2; return 1; }
            t1=${EPOCHREALTIME/./}
            echo "podman,$variant,1,$j,1,run-rm-p,$((t1 - t0))" >>"$raw"
        done
    done
}

podman_cleanup() {
    local made_varlib=$1 backend
    trap - EXIT
    for backend in cni netavark; do
        CONTAINERS_CONF=$WORK/podman/containers-$backend.conf podman --root "$WORK/podman/storage-$backend" \
            --runroot "$WORK/podman/run-$backend" system reset -f >/dev/null 2>&1
    done
    umount /var/lib/containers 2>/dev/null
    ((made_varlib)) && rmdir /var/lib/containers 2>/dev/null
    return 0
}
