#!/bin/bash
# podman.sh: Berth's OCI hook under podman 4.3 (runc), from the hooks.d files
# `berth hook install` writes, passed with --hooks-dir. A `--network none` container with
# --annotation berth.publish=8080:80 is served through the published port from the host's
# address, 127.0.0.1 and a LAN peer; a second one asking for the same port fails to start,
# naming the first; a restart (stop + start: createRuntime again, same id) serves again;
# rm -f leaves nothing. Run by scripts/accept-oci-hooks inside its fence.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
OH_NAME=podman
W=$(mktemp -d /tmp/berth-oh-podman.XXXXXX)
STATE=$W/state
# podman's state outside --root/--runroot (/run is the fence's tmpfs already)
remember_absent /var/lib/containers /var/lib/cni /etc/cni/net.d/cni.lock /etc/containers/networks
remember_absent_cgroup libpod_parent
export CONTAINERS_CONF=$W/containers.conf
P=()
cleanup() {
  local rc=$?
  set +e
  if ((${#P[@]})); then
    "${P[@]}" rm -a -f -t 0 >/dev/null 2>&1
    "${P[@]}" rmi -a -f >/dev/null 2>&1
  fi
  # Not `podman system reset`: it also removes the machine's podman networks. The storage's
  # own mounts exist only in the fence's mount namespace; lift them before deleting it.
  grep -o " $W/[^ ]*" /proc/self/mountinfo | sort -r | xargs -r umount -l 2>/dev/null
  remove_host
  remove_remembered
  remove_remembered_cgroups
  [ -n "${KEEP:-}" ] && echo "[$OH_NAME] kept $W" || rm -rf -- "$W"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_host "oh$$-podman"
"$BERTH" hook install --podman-only --hooks-dir "$W/hooks.d" --hook "$HOOK" --state-dir "$STATE" | sed "s/^/[$OH_NAME] /"
# Podman's rootful default rlimits need CAP_SYS_RESOURCE, which this kind of machine lacks;
# there is no systemd or journald.
NOFILE=$(ulimit -Hn); NPROC=$(ulimit -Hu); PIDMAX=$(cat /proc/sys/kernel/pid_max)
[ "$NPROC" = unlimited ] || [ "$NPROC" -gt "$PIDMAX" ] && NPROC=$PIDMAX
cat >"$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = ["nofile=$NOFILE:$NOFILE", "nproc=$NPROC:$NPROC"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
CONF
P=(nsenter --net=/run/netns/"$HOSTNS" podman --root "$W/storage" --runroot "$W/run" --hooks-dir "$W/hooks.d")
say "$(podman --version)"
make_rootfs "$W/rootfs"
tar -C "$W/rootfs" -c . | "${P[@]}" import -q - localhost/bb >/dev/null

web=$("${P[@]}" run -d --name web --network none --annotation berth.publish=8080:80 localhost/bb httpd -f -p 80 -h /www)
say "podman run -d --network none --annotation berth.publish=8080:80: ok"
[ "$(berth_in_host ps --json | jq -r '.[].id')" = "$web" ] || fail "berth ps: $(berth_in_host ps)"
check_published 8080

if "${P[@]}" run -d --name clash --network none --annotation berth.publish=8080:80 localhost/bb httpd -f -p 80 -h /www >"$W/clash.log" 2>&1; then
  fail "a second container publishing 8080 started"
fi
grep -q "already published by endpoint ${web:0:12}" "$W/clash.log" || fail "the clash does not name web: $(cat "$W/clash.log")"
say "second container asking for 8080 refused: $(grep -o 'berth-oci-hook: [^\\]*' "$W/clash.log" | head -n 1)"
"${P[@]}" rm -f clash >/dev/null 2>&1 || true
[ "$(berth_in_host ps --json | jq -r '.[].id')" = "$web" ] || fail "after the clash: $(berth_in_host ps)"
check_published 8080

"${P[@]}" stop -t 0 web >/dev/null
[ "$(berth_in_host ps --json)" = "[]" ] || fail "after podman stop: $(berth_in_host ps)"
"${P[@]}" start web >/dev/null
say "podman stop + start: createRuntime again for the same id"
[ "$(berth_in_host ps --json | jq length)" = 1 ] || fail "after the restart: $(berth_in_host ps)"
check_published 8080

"${P[@]}" rm -f -t 0 web >/dev/null
say "podman rm -f: ok (poststop hook)"
check_nothing_left
say "PASS"
