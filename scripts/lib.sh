# Shared by scripts/*: find the toolchain and install what Berth needs on Debian 12.
# Sourced, not run.

if [ -x /opt/swift/usr/bin/swift ]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi

# Debian packages: libraries Berth links, and the tools tests use as independent oracles
# (iproute2, nftables), to build fixtures (busybox-static) or to play a person at a terminal
# (tmux, for `berth run -it`). The product never runs them.
BERTH_APT_PACKAGES="libmnl-dev libnftnl-dev libsqlite3-dev pkg-config iproute2 nftables util-linux busybox-static procps curl tmux"

# berth_apt_install PKG...: apt-get install, with services kept from starting. Debian's
# maintainer scripts start what they install (dockerd, containerd) through invoke-rc.d or
# deb-systemd-invoke, in the machine's own network namespace, unless /usr/sbin/policy-rc.d
# refuses (exit 101). A fresh Debian 12 has none: write one for the install and remove it
# afterwards (also on failure or Ctrl-C); one that exists already is left as it is.
berth_apt_install() {
  (
    policy=/usr/sbin/policy-rc.d
    trap 'exit 130' INT TERM
    # noclobber: written only if absent, so the EXIT trap removes only this one.
    if [ ! -e "$policy" ] && [ ! -L "$policy" ] &&
      (set -C; printf '#!/bin/sh\n# Berth'"'"'s scripts, for one apt-get install: start no services\nexit 101\n' >"$policy") 2>/dev/null; then
      trap 'rm -f "$policy"' EXIT
      chmod 755 "$policy"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  )
}

berth_install_deps() {
  local missing=""
  for pkg in $BERTH_APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $pkg"
  done
  if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "scripts: missing Debian packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
      return 1
    fi
    echo "==> installing:$missing"
    apt-get update -qq
    berth_apt_install $missing
  fi
  if ! command -v swift >/dev/null 2>&1; then
    echo "scripts: no Swift toolchain on PATH (expected /opt/swift/usr/bin/swift)" >&2
    return 1
  fi
}

# scripts/lib/fence-reap, which every fence starts beside its command (see there).
BERTH_FENCE_REAP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/fence-reap

# Runs a command inside fresh network and mount namespaces with private /run/netns and
# /var/lib/berth: the second fence around tests and demos, so nothing they do can reach the
# machine's own network namespace, its named namespaces or its Berth state. Without those
# private mounts nothing runs (the tests would reach the real /run/netns and /var/lib/berth,
# `berth gc` included); lo up is best effort.
# When the command ends — by itself, or killed by a signal, SIGKILL included — whatever it
# left running inside the fence goes too (scripts/lib/fence-reap, started in a session of
# its own beside it, then kills every process of the fence's mount and network namespaces
# and their descendants): a `berth-dns` started with --detach outlives the test that started
# it until its network is empty, a test process that crashed ran no teardown, and a
# container of `berth run` (namespaces of its own, its supervisor in the fence) would keep
# running; any of them would keep the fence's namespaces alive.
# The command gets a temporary directory of the fence's own as TMPDIR (made here with
# mktemp, mode 1777 as /tmp; fence-reap removes it, with what is left in it, once the fence's
# processes are gone): the state directories tests make (NSTemporaryDirectory) are under it,
# and only states there, besides the fence's own /var/lib/berth, are the fence's for
# fence-reap to sweep — never a BERTH_STATE_DIR the command was given from outside, which the
# machine or another run may be using. (SwiftPM keeps its lock files in TMPDIR too: a fenced
# `swift test` takes them there, not in /tmp.)
# BERTH_FENCED=1 tells the tests they are fenced; they check it (KernelTests in
# Tests/BerthTestSupport: the private tmpfs mounts, a network namespace of their own) and run
# no kernel test without it.
berth_fenced() {
  mkdir -p /run/netns /var/lib/berth
  local fence_tmp
  fence_tmp=$(mktemp -d "${TMPDIR:-/tmp}/berth-fence.XXXXXX") && chmod 1777 "$fence_tmp" ||
    { echo "berth_fenced: cannot make the fence's temporary directory; not running $1" >&2; return 1; }
  BERTH_FENCE_REAP=$BERTH_FENCE_REAP BERTH_FENCE_TMP=$fence_tmp unshare --net --mount --propagation private -- sh -c '
    mount -t tmpfs -o mode=0755 berth-fence /run/netns &&
    mount -t tmpfs -o mode=0700 berth-fence /var/lib/berth ||
      { echo "berth_fenced: cannot mount the private /run/netns and /var/lib/berth; not running $1" >&2; exit 1; }
    ip link set lo up 2>/dev/null
    setsid -f bash "$BERTH_FENCE_REAP" $$ "$BERTH_FENCE_TMP" </dev/null >/dev/null 2>&1 ||
      { echo "berth_fenced: cannot start scripts/lib/fence-reap; not running $1" >&2; exit 1; }
    : >"$BERTH_FENCE_TMP/.fence-reap"
    export BERTH_FENCED=1 TMPDIR=$BERTH_FENCE_TMP
    unset BERTH_FENCE_REAP BERTH_FENCE_TMP
    exec "$@"' berth-fenced "$@"
  local status=$?
  # fence-reap removes the directory once it runs; a fence that failed before starting it
  # (unshare or a mount refused) leaves it empty, and it goes here.
  [ -e "$fence_tmp/.fence-reap" ] || rmdir "$fence_tmp" 2>/dev/null
  return $status
}
