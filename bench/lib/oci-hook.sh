# oci-hook.sh: section 8 of scripts/bench. Times `runc run -d` of a busybox httpd bundle
# without hooks, with /bin/true as its createRuntime and poststop hooks (runc's own cost of
# running a hook, for context), with the C floor as them (`floor hook-attach`, `floor
# detach`: the least a hook can do for the same wiring, inside the same runc runs) and with
# berth-oci-hook (createRuntime + poststop, berth.publish=8080:80 on Berth's default
# network), REPS times each (the four in turn, in a balanced order: over every four reps each
# bundle runs first once and follows each of the other three once — a Williams design — so
# that no bundle always follows another's teardown; summarize.py pairs them by rep) after one
# untimed warm-up of the floor's and of Berth's that also checks their pages, and
# the `runc delete` that follows a kill (poststop runs in delete). Runs inside host netns
# bh-hook, entered with nsenter --net.

hook_run() {
    local reps=$1 j kind id t0 t1 raw=$WORK/raw-hook.csv b=$WORK/hook
    exec 3>>"$OUT/log/hook.log"
    ip link set lo up
    mkdir -p "$b"/rootfs/{bin,www,proc,sys,dev,tmp,etc}
    cp /bin/busybox "$b/rootfs/bin/busybox"
    ln -sf busybox "$b/rootfs/bin/httpd"
    echo hook-bench >"$b/rootfs/www/index.html"
    # The floor's bridge and table beside Berth's (untimed, as its `net` is in section 1).
    "$FLOOR" net bfh0 10.93.0.1/16 >&3 2>&3 || return 1
    for kind in plain true floor hook; do
        mkdir -p "$b/$kind"
        (cd "$b/$kind" && runc spec)
        jq --arg rootfs "$b/rootfs" --arg hook "$HOOK" --arg state "$WORK/state/hook" --arg kind "$kind" \
           --arg floor "$FLOOR" --arg handle "$b/floor.handle" '
          .process.terminal = false | .process.args = ["/bin/httpd", "-f", "-p", "80", "-h", "/www"]
          | .root = {path: $rootfs, readonly: true}
          | if $kind == "hook" then
              .annotations = {"berth.publish": "8080:80"}
              | .hooks = {createRuntime: [{path: $hook, args: ["berth-oci-hook", "createRuntime"], env: ["BERTH_STATE_DIR=\($state)"]}],
                          poststop: [{path: $hook, args: ["berth-oci-hook", "poststop"], env: ["BERTH_STATE_DIR=\($state)"]}]}
            elif $kind == "floor" then
              .hooks = {createRuntime: [{path: $floor, args: ["floor", "hook-attach", "bfh0", "fh0", "10.93.0.2/16", "10.93.0.1", "8081", "80", $handle]}],
                        poststop: [{path: $floor, args: ["floor", "detach", "fh0", $handle]}]}
            elif $kind == "true" then
              .hooks = {createRuntime: [{path: "/bin/true", args: ["true", "createRuntime"]}],
                        poststop: [{path: "/bin/true", args: ["true", "poststop"]}]}
            else . end' "$b/$kind/config.json" >"$b/$kind/c" && mv "$b/$kind/c" "$b/$kind/config.json"
    done
    # Kill, then wait until runc reports the container stopped.
    hook_stop() {
        runc kill "$1" KILL >&3 2>&3
        local k
        for ((k = 0; k < 200; k++)); do [[ $(runc state "$1" 2>/dev/null) == *'"status": "stopped"'* ]] && break; sleep 0.01; done
    }
    # Warm-up, untimed: run bundle $1 as $2, fetch its page from $3, record check $4, stop
    # and delete it. Returns 0 when the page came, 1 when not, 2 when runc failed.
    hook_warm() {
        runc run -d --bundle "$b/$1" "$2" </dev/null >&3 2>&3 || return 2
        local body="" result=FAIL k
        for ((k = 0; k < 40; k++)); do
            body=$(timeout 2 busybox wget -q -O - "$3" 2>/dev/null) && [[ $body == hook-bench ]] && break
            sleep 0.05
        done
        [[ $body == hook-bench ]] && result=ok
        echo "hook,1,1,$4,$3,hook-bench,${body:-none},$result" >>"$OUT/checks.csv"
        hook_stop "$2"
        runc delete "$2" >&3 2>&3
        [[ $result == ok ]]
    }
    # The floor's page through its DNAT from the host namespace's own address (the floor
    # sets no route_localnet, so not 127.0.0.1); Berth's first hook creates its default
    # network.
    local fresult=ok result=ok
    hook_warm floor fwarm http://10.93.0.1:8081/ runc-floor-hook
    case $? in 0) ;; 1) fresult=FAIL ;; *) return 1 ;; esac
    hook_warm hook warm http://127.0.0.1:8080/ runc-hook
    case $? in 0) ;; 1) result=FAIL ;; *) return 1 ;; esac
    local -a kinds=(plain true floor hook)
    # Rows of a Williams square for four: every ordered pair of bundles occurs once in four
    # reps. A kernel's deferred teardown of one container (its namespace, its veth) lands in
    # whichever run comes next; a plain rotation always ran the hooked bundle right after the
    # floor's and the plain one right after the hooked one.
    local -a order=(0 1 3 2  1 2 0 3  2 3 1 0  3 0 2 1)
    local n
    for ((j = 1; j <= reps; j++)); do
        for ((n = 0; n < 4; n++)); do
            kind=${kinds[order[(j % 4) * 4 + n]]}
            id=$kind$j
            t0=${EPOCHREALTIME/./}
            runc run -d --bundle "$b/$kind" "$id" </dev/null >&3 2>&3 || return 1
            t1=${EPOCHREALTIME/./}
            echo "hook,runc,1,$j,1,run-d-$kind,$((t1 - t0))" >>"$raw"
            hook_stop "$id"
            t0=${EPOCHREALTIME/./}
            runc delete "$id" >&3 2>&3 || return 1
            t1=${EPOCHREALTIME/./}
            echo "hook,runc,1,$j,1,delete-$kind,$((t1 - t0))" >>"$raw"
        done
    done
    local left
    left=$(BERTH_STATE_DIR=$WORK/state/hook "$BERTH" ps --json | tr -d ' \n')
    echo "hook,1,1,endpoints-left,-,[],$left,$([[ $left == "[]" ]] && echo ok || echo FAIL)" >>"$OUT/checks.csv"
    # The floor's poststop removes its handle file with its rule and veth.
    local fleft=ok
    [[ -e $b/floor.handle ]] && fleft=FAIL
    echo "hook,1,1,floor-left,-,none,$([[ $fleft == ok ]] && echo none || echo handle),$fleft" >>"$OUT/checks.csv"
    [[ $result == ok && $fresult == ok && $left == "[]" && $fleft == ok ]]
}
