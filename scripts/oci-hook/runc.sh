#!/bin/bash
# runc.sh runc|crun: Berth's OCI hook under a low-level runtime, from a bundle whose
# config.json lists the hooks (createRuntime, prestart, poststop) and the annotation
# berth.publish=8080:80. Checks: the page through the published port from the host's
# address, 127.0.0.1 and a LAN peer; a second container asking for the same port fails
# to start and leaves the first intact; kill + delete leaves nothing; with a debug build,
# a hook the runtime kills at its timeout mid-attach leaves only what gc removes, and the
# container then starts. Run by scripts/accept-oci-hooks inside its fence.
set -euo pipefail
RT=${1:?usage: runc.sh runc|crun}
. "$(dirname "$0")/lib.sh"
OH_NAME=$RT
case $RT in
  runc) RTBIN=(runc) ;;
  crun) RTBIN=("$OH_DIR/crun-v1.sh") ;;   # the hybrid-cgroup workaround
  *) echo "usage: $0 runc|crun" >&2; exit 2 ;;
esac
W=$(mktemp -d /tmp/berth-oh-$RT.XXXXXX)
STATE=$W/state
RTROOT=$W/runtime-root
IDS=()
rt() { nsenter --net=/run/netns/"$HOSTNS" "${RTBIN[@]}" --root "$RTROOT" "$@"; }
cleanup() {
  local rc=$? id
  set +e
  for id in "${IDS[@]}"; do rt kill "$id" KILL >/dev/null 2>&1; done
  for id in "${IDS[@]}"; do rt delete -f "$id" >/dev/null 2>&1; done
  remove_host
  [ -n "${KEEP:-}" ] && echo "[$OH_NAME] kept $W" || rm -rf -- "$W"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_host "oh$$-$RT"
make_rootfs "$W/rootfs"

# bundle NAME [extra hook env...]: a config.json from `RT spec`, httpd as the process, a
# read-only shared rootfs, the hooks and the annotation.
bundle() {
  local name=$1; shift
  local dir=$W/$name
  mkdir -p "$dir"
  (cd "$dir" && "${RTBIN[@]}" spec)
  jq --arg rootfs "$W/rootfs" --argjson create "$(hook_entry createRuntime "$@")" --argjson prestart "$(hook_entry prestart "$@")" \
     --argjson poststop "$(hook_entry poststop)" '
    .process.terminal = false
    | .process.args = ["/bin/httpd", "-f", "-p", "80", "-h", "/www"]
    | .root = {path: $rootfs, readonly: true}
    | .annotations = {"berth.publish": "8080:80"}
    | .hooks = {createRuntime: [$create], prestart: [$prestart], poststop: [$poststop]}' \
    "$dir/config.json" >"$dir/config.json.new"
  mv "$dir/config.json.new" "$dir/config.json"
  echo "$dir"
}
run_container() { # ID BUNDLE: run -d, the container keeping a log file as its stdio
  IDS+=("$1")
  rt run -d --bundle "$2" "$1" >"$W/$1.log" 2>&1 </dev/null
}
stop_container() { # ID: httpd is pid 1 without a SIGTERM handler, so KILL; then delete (poststop)
  local i
  rt kill "$1" KILL
  for ((i = 0; i < 50; i++)); do [ "$(rt state "$1" | jq -r .status)" = stopped ] && break; sleep 0.1; done
  rt delete "$1"
}

say "$("${RTBIN[@]}" --version | head -n 1)"
run_container web "$(bundle web)" || fail "run web: $(cat "$W/web.log")"
say "run -d web: ok (createRuntime + prestart hooks)"
[ "$(berth_in_host ps --json | jq -r '.[].id')" = web ] || fail "berth ps: $(berth_in_host ps)"
check_published 8080

if run_container clash "$(bundle clash)"; then fail "a second container publishing 8080 started"; fi
if [ "$RT" = runc ]; then
  grep -q 'already published by endpoint web' "$W/clash.log" || fail "the clash does not name web: $(cat "$W/clash.log")"
  say "second container asking for 8080 refused: $(grep -o 'berth-oci-hook: [^\\]*' "$W/clash.log" | head -n 1)"
else
  # crun does not pass a hook's stderr on; it says which hook failed.
  grep -q 'error executing hook' "$W/clash.log" || fail "the clash failed otherwise: $(cat "$W/clash.log")"
  say "second container asking for 8080 refused: $(head -n 1 "$W/clash.log")"
fi
rt delete -f clash >/dev/null 2>&1 || true
[ "$(berth_in_host ps --json | jq -r '.[].id')" = web ] || fail "after the clash: $(berth_in_host ps)"
[ "$(ip -n "$HOSTNS" -o link show type veth | grep -c ': vb')" = 1 ] || fail "the clash left a veth"
check_published 8080

stop_container web
say "kill + delete web: ok (poststop hook)"
check_nothing_left

if [[ $HOOK == */debug/* ]]; then
  # The runtime kills a hook stuck after publishing (fail point) at its 2 s timeout.
  dir=$(bundle slow BERTH_FAILPOINT=attach.publish:hang)
  jq '.hooks.createRuntime[0].timeout = 2 | .hooks.prestart[0].timeout = 2' "$dir/config.json" >"$dir/c" && mv "$dir/c" "$dir/config.json"
  if run_container slow "$dir"; then fail "a container whose hook hung started"; fi
  mv "$W/slow.log" "$W/slow-killed.log"
  say "hook killed at its timeout: $(grep -o 'error running hook[^,"]*' "$W/slow-killed.log" | head -n 1 || head -n 1 "$W/slow-killed.log")"
  say "left by the killed hook once $RT gave up: $(ip -n "$HOSTNS" -o link show type veth | grep -c ': vb' || true) veth," \
      "$(ip netns exec "$HOSTNS" nft list ruleset 2>/dev/null | grep -c 'berth-endpoint slow' || true) map element(s)"
  rt delete -f slow >/dev/null 2>&1 || true
  gc=$(berth_in_host gc)
  say "then berth gc: $(echo "$gc" | tr '\n' ';')"
  check_nothing_left
  run_container slow "$(bundle slow2)" || fail "run after the killed hook: $(cat "$W/slow.log")"
  check_published 8080
  stop_container slow
  check_nothing_left
else
  say "timeout case skipped: fail points exist only in a debug build ($HOOK)"
fi
say "PASS"
