# runtime.sh: shared by the acceptance scripts that drive real container runtimes
# (scripts/accept-*). Sourced, not run, after scripts/lib.sh.
#
# Runtimes create state outside the private directories they are given (/run/containerd/s,
# libcni's /var/lib/cni, podman's /run/containers, ...). remember_absent PATH... notes which
# of them do not exist yet; remove_remembered deletes exactly those afterwards and leaves
# pre-existing ones alone.
ABSENT=()
remember_absent() { local p; for p in "$@"; do [ -e "$p" ] || ABSENT+=("$p"); done; }
remove_remembered() { local p; for p in "${ABSENT[@]}"; do rm -rf "$p"; done; }

# Serialises runtime runs with other users of the same machine when BERTH_RUNTIME_LOCK
# names a lock file (two podmans or containerds at once trip over their shared state):
# re-executes the calling script under flock(1).
runtime_lock() {
  if [ -n "${BERTH_RUNTIME_LOCK:-}" ] && [ -z "${BERTH_RUNTIME_LOCKED:-}" ]; then
    export BERTH_RUNTIME_LOCKED=1
    exec flock "$BERTH_RUNTIME_LOCK" "$@"
  fi
}

# runtime_fence SCRIPT [ARG...]: re-executes SCRIPT inside fresh network and mount
# namespaces with private tmpfs on /run (the runtime's sockets and state, the named
# namespaces), /var/lib/berth and, if it exists, /var/lib/cni (libcni's cache), as
# scripts/accept-oci-hooks does: whatever a runtime does by mistake stays out of the
# machine's own network namespace and state. Inside the fence it returns, after checking
# that it is one: /run is the fence's tmpfs and lo the only link (a BERTH_RUNTIME_FENCED=1
# from elsewhere is not taken for a fence). When the script ends, however it ends, what is
# still running in the fence is killed (scripts/lib/fence-reap, as in berth_fenced): shims,
# pods and daemons a failed cleanup left would otherwise keep the fence's namespaces alive.
runtime_fence() {
  if [ "${BERTH_RUNTIME_FENCED:-}" = 1 ]; then
    # The last mount on /run is the one seen (a systemd host has its own tmpfs beneath).
    [ "$(findmnt -n -o SOURCE --mountpoint /run | tail -n 1)" = berth-accept ] && [ "$(ip -o link show | grep -vc ': lo:')" = 0 ] ||
      { echo "$1: BERTH_RUNTIME_FENCED=1 but not inside runtime_fence's namespaces; not running" >&2; exit 1; }
    return 0
  fi
  export BERTH_RUNTIME_FENCED=1 BERTH_FENCE_REAP
  exec unshare --net --mount --propagation private -- sh -c '
    mkdir -p /var/lib/berth &&
    mount -t tmpfs -o mode=0755 berth-accept /run &&
    mount -t tmpfs -o mode=0700 berth-accept /var/lib/berth &&
    { [ ! -d /var/lib/cni ] || mount -t tmpfs -o mode=0700 berth-accept /var/lib/cni; } &&
    ip link set lo up &&
    setsid -f bash "$BERTH_FENCE_REAP" $$ </dev/null >/dev/null 2>&1 &&
    exec bash "$0" "$@"' "$@"
}

# Installs Debian packages that are missing (after apt-get update).
install_packages() {
  local missing="" pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $pkg"
  done
  [ -z "$missing" ] && return 0
  echo "==> installing:$missing"
  apt-get update -qq
  # berth_apt_install (scripts/lib.sh) keeps apt from starting containerd or dockerd.
  berth_apt_install $missing
}

# The berth-cni binary to test: BERTH_CNI_BIN, else a release build with a static stdlib.
berth_cni_binary() {
  if [ -n "${BERTH_CNI_BIN:-}" ]; then echo "$BERTH_CNI_BIN"; return; fi
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  # BERTH_FUNCTION_SECTIONS as in scripts/bench and the README (Package.swift).
  (cd "$root" && BERTH_FUNCTION_SECTIONS=1 swift build -c release --static-swift-stdlib --disable-local-rpath --product berth-cni >&2) || return 1
  echo "$(cd "$root" && BERTH_FUNCTION_SECTIONS=1 swift build -c release --static-swift-stdlib --disable-local-rpath --show-bin-path)/berth-cni"
}

# wait_http URL EXPECTED [NETNS]: GETs URL (from NETNS, if given) until the body is
# EXPECTED; prints the body; fails otherwise. 50 tries 0.1 s apart, each GET bounded to 1 s:
# about 5 s while the port refuses, up to about 55 s if it accepts and does not answer.
wait_http() {
  local url=$1 expected=$2 ns=${3:-} body="" i
  for i in $(seq 50); do
    if [ -n "$ns" ]; then body=$(ip netns exec "$ns" curl -s --max-time 1 "$url" || true); else body=$(curl -s --max-time 1 "$url" || true); fi
    [ "$body" = "$expected" ] && { echo "$body"; return 0; }
    sleep 0.1
  done
  echo "FAIL: GET $url gave '${body}', expected '$expected'" >&2
  return 1
}

# leftovers HOSTNS: what Berth left in the host namespace (veths, published elements).
# A witness that fails is printed as a leftover too, so the caller's check fails on it: a
# map that nft says does not exist is empty, a failing `ip` or `nft` is not "nothing left".
leftovers() {
  local ns=$1 links map out
  if links=$(ip -n "$ns" -o link show type veth 2>&1); then
    grep -o ' vb[0-9a-f]*' <<<"$links" || true
  else
    echo "(witness failed: ip -n $ns link show: $links)"
  fi
  for map in publish_any publish_addr; do
    if out=$(ip netns exec "$ns" nft list map ip berth "$map" 2>&1); then
      grep -o 'comment "[^"]*"' <<<"$out" || true
    elif ! grep -q '^Error: No such file or directory' <<<"$out"; then
      echo "(witness failed: nft list map ip berth $map: $out)"
    fi
  done
}

# settled_leftovers HOSTNS: leftovers once they are gone, or what is still left after about
# 5 s (100 x 0.05 s). A veth whose peer's namespace died is deleted by the kernel in the
# background, after the runtime's rm/stopp/rmp has returned: one look right after it can
# still see the veth. A failing witness is retried too, and printed if it still fails.
settled_leftovers() {
  local left i
  for ((i = 0; i < 100; i++)); do
    left=$(leftovers "$1")
    [ -z "$left" ] && return 0
    sleep 0.05
  done
  echo "$left"
}
