# Shared by the OCI hook acceptance scripts (scripts/oci-hook/*.sh). Sourced, not run.
# They run real runtimes inside the fence scripts/accept-oci-hooks sets up (private
# netns, tmpfs /run and /var/lib/berth), each in its own throwaway "host" namespace entered
# with nsenter --net (never `ip netns exec` for a runtime: it remounts /sys and hides the
# cgroup mounts).

OH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$OH_DIR/../.." && pwd)
BERTH=${BERTH_BIN:-$ROOT/.build/debug/berth}
HOOK=${BERTH_OCI_HOOK_BIN:-$(dirname "$BERTH")/berth-oci-hook}
PAGE="hello from busybox httpd"

say() { echo "[$OH_NAME] $*"; }
fail() { echo "[$OH_NAME] FAIL: $*" >&2; exit 1; }

# Runtimes leave state outside the private directories they are given (/etc/docker/key.json,
# /opt/containerd, /var/lib/containers/cache, ...): note which of these do not exist yet and
# delete exactly those at exit.
OH_ABSENT=()
remember_absent() { local p; for p in "$@"; do [ -e "$p" ] || OH_ABSENT+=("$p"); done; }
remove_remembered() { local p; for p in "${OH_ABSENT[@]}"; do rm -rf -- "$p"; done; }
# The same for the parent cgroups an engine makes (docker, libpod_parent): in every v1
# hierarchy (and the hybrid layout's unified/), or at the root of a unified cgroup2 mount;
# removed with rmdir, deepest first, which only ever removes empty ones.
OH_CGROUPS=()
remember_absent_cgroup() {
  local d
  if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
    [ -e "/sys/fs/cgroup/$1" ] || OH_CGROUPS+=("/sys/fs/cgroup/$1")
    return 0
  fi
  for d in /sys/fs/cgroup/*/; do [ -e "$d$1" ] || OH_CGROUPS+=("$d$1"); done
}
remove_remembered_cgroups() {
  local p
  for p in "${OH_CGROUPS[@]}"; do [ -d "$p" ] && find "$p" -depth -type d -exec rmdir {} + 2>/dev/null; done
  return 0
}

# A busybox rootfs with /www/index.html, for bundles and image imports.
make_rootfs() {
  local dir=$1 applet
  mkdir -p "$dir"/bin "$dir"/etc "$dir"/proc "$dir"/sys "$dir"/dev "$dir"/tmp "$dir"/run "$dir"/www "$dir"/root "$dir"/var
  chmod 1777 "$dir"/tmp
  cp /bin/busybox "$dir"/bin/busybox
  for applet in sh httpd ls cat ip sleep true; do ln -sf busybox "$dir/bin/$applet"; done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$dir"/etc/passwd
  printf 'root:x:0:\n' >"$dir"/etc/group
  : >"$dir"/etc/hosts
  : >"$dir"/etc/resolv.conf
  echo "$PAGE" >"$dir"/www/index.html
}

# The throwaway host: a named netns with lo up and a LAN link to a peer namespace, so the
# published port is fetched at the host's own LAN address (nat output path) and from the
# peer (nat prerouting path), besides 127.0.0.1.
HOST_IP=198.51.100.1
PEER_IP=198.51.100.2
make_host() {
  HOSTNS=$1
  PEERNS=$1-lan
  ip netns add "$HOSTNS"
  ip netns add "$PEERNS"
  ip -n "$HOSTNS" link set lo up
  ip -n "$PEERNS" link set lo up
  ip -n "$HOSTNS" link add lan0 type veth peer name lan0 netns "$PEERNS"
  ip -n "$HOSTNS" addr add "$HOST_IP/24" dev lan0
  ip -n "$PEERNS" addr add "$PEER_IP/24" dev lan0
  ip -n "$HOSTNS" link set lan0 up
  ip -n "$PEERNS" link set lan0 up
  # The peer reaches containers behind the host only through published ports.
  ip -n "$PEERNS" route add default via "$HOST_IP"
}
remove_host() {
  ip netns del "${PEERNS:-}" 2>/dev/null
  ip netns del "${HOSTNS:-}" 2>/dev/null
  return 0
}

# The state of Berth the hooks use, and the CLI pointed at it in the host namespace.
berth_in_host() { nsenter --net=/run/netns/"$HOSTNS" env BERTH_STATE_DIR="$STATE" "$BERTH" "$@"; }

# get NS URL: GET with retries (the container's httpd may still be starting): 50 tries 0.1 s
# apart, each bounded to 1 s: about 5 s while the port refuses, up to about 55 s if it
# accepts and does not answer.
get() {
  local ns=$1 url=$2 body="" i
  for ((i = 0; i < 50; i++)); do
    body=$(ip netns exec "$ns" curl -sS --max-time 1 "$url" 2>/dev/null) && [ "$body" = "$PAGE" ] && { echo "$body"; return 0; }
    sleep 0.1
  done
  echo "${body:-no answer}"
  return 1
}

# The page through a published host port, from the host's address, 127.0.0.1 and the LAN.
check_published() {
  local port=$1 url
  for url in "http://127.0.0.1:$port/" "http://$HOST_IP:$port/"; do
    get "$HOSTNS" "$url" >/dev/null || fail "GET $url from the host: $(get "$HOSTNS" "$url")"
    say "GET $url from the host: ok"
  done
  get "$PEERNS" "http://$HOST_IP:$port/" >/dev/null || fail "GET http://$HOST_IP:$port/ from the LAN peer failed"
  say "GET http://$HOST_IP:$port/ from the LAN peer: ok"
}

# Nothing of Berth's left in the host: no vb… veth, no map element, no endpoint (lease).
check_nothing_left() {
  local links veths ruleset elements endpoints i
  # (A witness that fails fails the check: its silence is not "nothing left".)
  for ((i = 0; i < 100; i++)); do   # the kernel reaps a dead namespace's veth asynchronously
    links=$(ip -n "$HOSTNS" -o link show type veth) || fail "ip -n $HOSTNS link show failed"
    veths=$(grep -c ': vb' <<<"$links" || true)
    [ "$veths" = 0 ] && break
    sleep 0.05
  done
  ruleset=$(ip netns exec "$HOSTNS" nft list ruleset) || fail "nft list ruleset failed in $HOSTNS"
  elements=$(grep -c 'berth-endpoint' <<<"$ruleset" || true)
  endpoints=$(berth_in_host ps --json | tr -d ' \n')
  [ "$veths" = 0 ] || fail "veth left: $(ip -n "$HOSTNS" -o link show type veth)"
  [ "$elements" = 0 ] || fail "map elements left: $(ip netns exec "$HOSTNS" nft list ruleset 2>/dev/null | grep berth-endpoint)"
  [ "$endpoints" = "[]" ] || fail "endpoints left: $endpoints"
  say "nothing left: no veth, no map element, no endpoint"
}

# A hook entry for config.json: only BERTH_STATE_DIR in its environment, no PATH.
hook_entry() {
  local stage=$1; shift
  jq -n --arg path "$HOOK" --arg stage "$stage" --arg state "$STATE" --args '{path: $path, args: ["berth-oci-hook", $stage],
    env: (["BERTH_STATE_DIR=\($state)"] + $ARGS.positional), timeout: 40}' "$@"
}
