#!/bin/bash
# docker.sh: Berth's OCI hook under dockerd 20.10 (Debian's docker.io), which has no hook
# option: `berth hook install` writes the runtime wrapper berth-oci-runtime, registered as
# the runtime "berth"; it adds the hooks to the bundle of a container that carries BERTH_*
# variables (docker 20.10 has no --annotation) and hands over to runc. dockerd runs in the
# throwaway host namespace with private data and exec roots. Checks: the page through the
# published port from the host's address, 127.0.0.1 and a LAN peer; a second container
# asking for the same port fails, naming the first; a container without BERTH_* variables
# runs untouched; docker rm -f leaves nothing. Run by scripts/accept-oci-hooks in its fence.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
OH_NAME=docker
W=$(mktemp -d /tmp/berth-oh-docker.XXXXXX)
STATE=$W/state
DOCKER=/usr/bin/docker          # docker.io's client, matching its 20.10 daemon
D=("$DOCKER" -H "unix://$W/docker.sock")
DPID=
# dockerd 20.10 writes /etc/docker/key.json whatever --data-root says, and its
# containerd makes /opt/containerd (/run is the fence's tmpfs already).
remember_absent /etc/docker/key.json /opt/containerd
remember_absent_cgroup docker
# dockerd loads br_netfilter (modprobe, in its own namespace: but a module is the whole
# kernel's), which from then on passes bridged traffic through iptables in every network
# namespace, the machine's own included (bridge-nf-call-iptables=1 is each namespace's
# default). If it was not loaded before, it is unloaded again at exit.
BRNF_LOADED_BEFORE=0
[ -e /sys/module/br_netfilter ] && BRNF_LOADED_BEFORE=1
unload_br_netfilter() {
  ((BRNF_LOADED_BEFORE)) || [ ! -e /sys/module/br_netfilter ] && return 0
  if modprobe -r br_netfilter 2>/dev/null; then
    say "unloaded br_netfilter (dockerd had loaded it)"
  else
    echo "[$OH_NAME] br_netfilter, loaded by dockerd, could not be unloaded (in use: $(cat /sys/module/br_netfilter/refcnt 2>/dev/null) references); it stays loaded until: modprobe -r br_netfilter" >&2
  fi
}
# TERM, 10 s of grace, then KILL (the PID this script started) and wait: cleanup must not
# delete $W under a dockerd that still uses it.
stop_dockerd() {
  local i rc=0 cpid
  [ -n "$DPID" ] || return 0
  kill "$DPID" 2>/dev/null
  for ((i = 0; i < 100; i++)); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$DPID" 2>/dev/null; then
    echo "dockerd $DPID did not exit in 10 s of SIGTERM; sending SIGKILL" >&2
    kill -KILL "$DPID" 2>/dev/null
    rc=1
  fi
  wait "$DPID" 2>/dev/null || true   # its status is not ours (set -e)
  DPID=
  # A killed dockerd leaves the containerd it started (pid file in its exec root) running.
  if ((rc)) && [ -f "$W/exec/containerd/containerd.pid" ]; then
    cpid=$(cat "$W/exec/containerd/containerd.pid")
    case $(tr '\0' ' ' <"/proc/$cpid/cmdline" 2>/dev/null) in containerd\ *) kill -KILL "$cpid" 2>/dev/null ;; esac
  fi
  return "$rc"
}
cleanup() {
  local rc=$?
  set +e
  [ -n "$DPID" ] && "${D[@]}" rm -f $("${D[@]}" ps -aq 2>/dev/null) >/dev/null 2>&1
  stop_dockerd
  # The data root's own mounts (overlay, netns bind mounts) exist only in the fence's mount
  # namespace; lift them before deleting it.
  grep -o " $W/[^ ]*" /proc/self/mountinfo | sort -r | xargs -r umount -l 2>/dev/null
  remove_host
  remove_remembered
  remove_remembered_cgroups
  unload_br_netfilter
  [ -n "${KEEP:-}" ] && echo "[$OH_NAME] kept $W" || rm -rf -- "$W"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_host "oh$$-docker"
# The whole output is read first: `| head -n 1` under pipefail fails when berth writes its
# second line after head has quit (SIGPIPE).
# Berth's state is not in /var/lib/berth, so the wrapper is a script that sets BERTH_STATE_DIR
# and passes it on to the hooks: dockerd's environment lacks it, as a system containerd's would.
INSTALLED=$("$BERTH" hook install --docker-only --runtime-wrapper "$W/bin/berth-oci-runtime" --hook "$HOOK" --state-dir "$STATE")
say "${INSTALLED%%$'\n'*}"
jq -n --arg w "$W/bin/berth-oci-runtime" '{runtimes: {berth: {path: $w}}}' >"$W/daemon.json"
nsenter --net=/run/netns/"$HOSTNS" env -u BERTH_STATE_DIR \
  dockerd --config-file "$W/daemon.json" --data-root "$W/data" --exec-root "$W/exec" --pidfile "$W/dockerd.pid" \
  -H "unix://$W/docker.sock" --bip 10.199.5.1/24 >"$W/dockerd.log" 2>&1 &
DPID=$!
for ((i = 0; i < 150; i++)); do "${D[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
"${D[@]}" version >/dev/null 2>&1 || { tail -n 20 "$W/dockerd.log"; fail "dockerd did not start"; }
say "dockerd $("${D[@]}" version -f '{{.Server.Version}}') (pid $DPID)"
make_rootfs "$W/rootfs"
tar -C "$W/rootfs" -c . | "${D[@]}" import - localhost/bb >/dev/null

web=$("${D[@]}" run -d --name web --runtime berth --network none -e BERTH_PUBLISH=8080:80 localhost/bb httpd -f -p 80 -h /www)
say "docker run -d --runtime berth --network none -e BERTH_PUBLISH=8080:80: ok"
# dockerd's iptables rules set the FORWARD policy to DROP, which also drops what the LAN
# sends to Berth's containers; DOCKER-USER is where docker lets an administrator accept it.
ip netns exec "$HOSTNS" iptables -I DOCKER-USER -o berth0 -j ACCEPT
ip netns exec "$HOSTNS" iptables -I DOCKER-USER -i berth0 -j ACCEPT
say "accepted berth0 in dockerd's DOCKER-USER chain"
[ "$(berth_in_host ps --json | jq -r '.[].id')" = "$web" ] || fail "berth ps: $(berth_in_host ps)"
check_published 8080

if "${D[@]}" run -d --name clash --runtime berth --network none -e BERTH_PUBLISH=8080:80 localhost/bb httpd -f -p 80 -h /www >"$W/clash.log" 2>&1; then
  fail "a second container publishing 8080 started"
fi
grep -q "already published by endpoint ${web:0:12}" "$W/clash.log" || fail "the clash does not name web: $(cat "$W/clash.log")"
say "second container asking for 8080 refused: $(grep -o 'berth-oci-hook: [^\\]*' "$W/clash.log" | head -n 1)"
"${D[@]}" rm -f clash >/dev/null 2>&1 || true
[ "$(berth_in_host ps --json | jq -r '.[].id')" = "$web" ] || fail "after the clash: $(berth_in_host ps)"
check_published 8080

"${D[@]}" run --rm --runtime berth --network none localhost/bb true || fail "a container without BERTH_* variables failed"
[ "$(berth_in_host ps --json | jq length)" = 1 ] || fail "a container without BERTH_* variables was attached"
say "docker run --runtime berth without BERTH_* variables: runs, not attached"

"${D[@]}" rm -f web >/dev/null
say "docker rm -f: ok (poststop hook)"
check_nothing_left
stop_dockerd
say "PASS"
