#!/bin/bash
# harness.sh: the measuring half of scripts/bench. scripts/bench installs, builds and
# then runs this inside a throwaway network + mount namespace (the fence), where
# /run, /var/lib/berth and /var/lib/cni are private tmpfs mounts:
#
#   harness.sh fenced OUT QUICK PEERS [DNS_ONLY]   every section (or only the DNS one), results into OUT
#                                          (BENCH_SECTIONS=startup,scale,lockstep,range,run,dns,hook,podman,lab
#                                          narrows them; default: all)
#   harness.sh method METHOD N ROUND       one method run, inside its own named host netns
#
# Each method run gets a fresh named host netns (bh-METHOD-nN-rROUND) that plays the host,
# so no method sees another's bridge, rules or state. Inside it the harness creates the
# container namespaces c1..cN (untimed), times every attach, checks the published ports of
# containers 1, N/2 and N with a real HTTP request, times every detach, then checks that no
# veth is left. Wall times come from $EPOCHREALTIME read in this bash process around a
# plain fork+exec of the tool, so no extra shell sits in the timed path.
#
# Files written to OUT: raw.csv (section,method,n,round,i,op,us), checks.csv, facts.csv
# (key,value: start-up, peak RSS, versions, notes) and log/*.log (tool output).
set -uo pipefail
export LC_ALL=C

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$BENCH/harness.sh
# scripts/bench --lab builds only berth, berth-cli and berth-lab; every other section needs its programs.
: "${BERTH:?}" "${WORK:?}" "${BERTH_CLI:=$(dirname "$BERTH")/berth-cli}"
[[ ${BENCH_SECTIONS:-} == lab ]] || : "${BERTH_BENCH:?}" "${BERTH_CNI:?}" "${FLOOR:?}" "${BERTH_DNS:?}" "${DNSLOAD:?}" "${HOOK:?}" "${HELLO:?}"

BR=bh0
SUBNET=10.88.0.0/16
PREFIX=16
GW=10.88.0.1
SUBNET6=fd00:88::/64
GW6=fd00:88::1
CPORT=80
HPORT_BASE=20000
NSP=c # container namespaces are $NSP1..$NSPN (section 1b gives each of its two runs its own)

die() { echo "bench: $*" >&2; exit 1; }
# Sets CPU_US to the CPU time (user + system, µs) of every child this shell has waited for,
# from `times` (run in this shell: a $(...) subshell has no children of its own). The kernel
# keeps it exact (scheduler run time), so CPU per operation over a loop holds up on a busy
# machine where wall times do not.
children_cpu() {
    local file=$WORK/times.$BASHPID
    { times; } >"$file"
    CPU_US=$(awk 'NR == 2 { n = split($1 " " $2, t, " "); us = 0
        for (k = 1; k <= n; k++) { split(t[k], p, "m"); us += (p[1] * 60 + substr(p[2], 1, length(p[2]) - 1)) * 1000000 }
        printf "%.0f\n", us }' "$file")
}
now_us() { echo "${EPOCHREALTIME/./}"; }
fact() { echo "$1,\"${2//\"/\'}\"" >>"$OUT/facts.csv"; }

# Per-container names and numbers for container $1.
container() {
    I=$1
    NS=$NSP$I
    NSPATH=/run/netns/$NS
    local k=$((I + 1)) # .0.1 is the gateway
    IP=10.88.$((k / 256)).$((k % 256))
    HPORT=$((HPORT_BASE + I))
    ID=bb$I
    VETH=bv$I
}

# Section 1b: a method run started by lockstep_section waits for its turn before each timed
# call and says when it is done; outside it these do nothing.
lockstep_turn() { [[ -z ${LOCKSTEP_DIR:-} ]] || read -r -t 300 _ <&"$LS_GO" || die "[$METHOD] lockstep: no turn came"; }
lockstep_done() { [[ -z ${LOCKSTEP_DIR:-} ]] || echo >&"$LS_DONE"; }

# Does `berth attach` publish ports yet? (-p arrived on main after this harness.)
berth_publishes() { "$BERTH" attach --help 2>&1 | grep -q -- '--publish'; }

# ------------------------------------------------------------------ methods
# m_prepare (untimed, once per run), m_attach / m_detach (timed, container vars set).
# Berth's networks are made with `--dns false`, as netavark's gets "dns_enabled": false and
# the floor has no resolver: a user network's default (DNS on) starts berth-dns, which
# re-reads the state after every attach and detach on the same 2 cores (docs/performance.md).
# WRAP is empty while timing; the peak-RSS pass sets it to /usr/bin/time.
WRAP=()

m_prepare() {
    case $METHOD in
        berth-cli | berth-lib)
            export BERTH_STATE_DIR=$STATE/berth
            "$BERTH" network create bhnet --subnet "$SUBNET" --gateway "$GW" --bridge "$BR" --dns false ;;
        berth-cli6)
            # Issue 15's figure: the same attach on a dual-stack network, -p on both families.
            export BERTH_STATE_DIR=$STATE/berth
            "$BERTH" network create bhnet --subnet "$SUBNET" --gateway "$GW" --subnet "$SUBNET6" --bridge "$BR" --dns false ;;
        floor) "$FLOOR" net "$BR" "$GW/$PREFIX" ;;
        shell) "$BENCH/lib/shell-net.sh" net "$BR" "$GW/$PREFIX" "$SUBNET" ;;
        netavark) source "$BENCH/lib/netavark.sh"; mkdir -p "$STATE/netavark" ;;
        cni) source "$BENCH/lib/cni.sh"; cni_prepare "$STATE" "$BR" "$SUBNET" "$GW" ;;
        berth-cni) source "$BENCH/lib/berth-cni.sh"; berth_cni_prepare "$STATE" "$BR" "$SUBNET" "$GW" ;;
        *) die "unknown method $METHOD" ;;
    esac
}

m_attach() {
    case $METHOD in
        berth-cli | berth-cli6)
            if ((PUBLISH)); then
                "${WRAP[@]}" "$BERTH" attach bhnet --netns "$NSPATH" --ip "$IP" -p "$HPORT:$CPORT" --id "$ID"
            else
                "${WRAP[@]}" "$BERTH" attach bhnet --netns "$NSPATH" --ip "$IP" --id "$ID"
            fi ;;
        floor) "${WRAP[@]}" "$FLOOR" attach "$NSPATH" "$BR" "$VETH" "$IP/$PREFIX" "$GW" "$HPORT" "$CPORT" "$STATE/$ID.handle" ;;
        shell) "$BENCH/lib/shell-net.sh" attach "$NS" "$BR" "$VETH" "$IP/$PREFIX" "$GW" "$HPORT" "$CPORT" "$STATE/$ID.handle" ;;
        netavark) netavark_run setup "$STATE" "$NSPATH" "$ID" "$BR" "$SUBNET" "$GW" "$IP" "$HPORT" "$CPORT" ;;
        cni) cni_add "$STATE" "$ID" "$NSPATH" "$HPORT" "$CPORT" ;;
        berth-cni) berth_cni_add "$STATE" "$ID" "$NSPATH" "$HPORT" "$CPORT" ;;
    esac
}

m_detach() {
    case $METHOD in
        berth-cli | berth-cli6) "${WRAP[@]}" "$BERTH" detach "$ID" ;;
        floor) "${WRAP[@]}" "$FLOOR" detach "$VETH" "$STATE/$ID.handle" ;;
        shell) "$BENCH/lib/shell-net.sh" detach "$VETH" "$STATE/$ID.handle" ;;
        netavark) netavark_run teardown "$STATE" "$NSPATH" "$ID" "$BR" "$SUBNET" "$GW" "$IP" "$HPORT" "$CPORT" ;;
        cni) cni_del "$STATE" "$ID" "$NSPATH" "$HPORT" "$CPORT" ;;
        berth-cni) berth_cni_del "$STATE" "$ID" "$NSPATH" "$HPORT" "$CPORT" ;;
    esac
}

# ------------------------------------------------------------------- checks
# http_check LABEL NS PORT_IN_NS URL EXPECTED: busybox httpd in NS serves EXPECTED; the
# host namespace must fetch it from URL. Retries for up to 2 s while httpd starts.
http_check() {
    local label=$1 ns=$2 port=$3 url=$4 expected=$5 www=$STATE/www/$2-$3 pid body="" k
    mkdir -p "$www"
    echo "$expected" >"$www/index.html"
    ip netns exec "$ns" busybox httpd -f -p "$port" -h "$www" >&3 2>&3 &
    pid=$!
    echo "$pid" >>"$PIDS"
    for ((k = 0; k < 40; k++)); do
        # (busybox 1.35's wget -T segfaults, hence timeout(1))
        body=$(timeout 2 busybox wget -q -O - "$url" 2>/dev/null) && [[ $body == "$expected" ]] && break
        sleep 0.05
    done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    sed -i "/^$pid\$/d" "$PIDS" # reaped: never signal that number again
    local result=FAIL
    [[ $body == "$expected" ]] && result=ok
    echo "$METHOD,$N,$ROUND,$label,$url,$expected,${body:-none},$result" >>"$OUT/checks.csv"
    [[ $result == ok ]]
}

# Checks containers 1, N/2 and N through their published ports.
check_sample() {
    local i bad=0 url
    for i in 1 $(((N + 1) / 2)) "$N"; do
        container "$i"
        url="http://$GW:$HPORT/"
        # Without -p, Berth can only be checked straight at the container's address.
        [[ $METHOD == berth-* ]] && ((!PUBLISH)) && url="http://$IP:$CPORT/"
        http_check "c$i" "$NS" "$CPORT" "$url" "$ID" || bad=$((bad + 1))
        # A dual-stack network's IPv6 mapping too, through the bridge's IPv6 gateway.
        [[ $METHOD == berth-cli6 ]] && { http_check "c$i-v6" "$NS" "$CPORT" "http://[$GW6]:$HPORT/" "$ID" || bad=$((bad + 1)); }
    done
    return "$bad"
}

veths_left() {
    local k n
    for ((k = 0; k < 100; k++)); do
        n=$(ip -o link show type veth | wc -l)
        ((n == 0)) && break
        sleep 0.02
    done
    echo "$n"
}

# ------------------------------------------------------------ one method run
# Runs inside host netns bh-METHOD-nN-rROUND (entered with ip netns exec).
method_run() {
    METHOD=$1 N=$2 ROUND=$3
    STATE=$WORK/state/$METHOD-n$N-r$ROUND
    PIDS=$WORK/pids
    mkdir -p "$STATE"
    exec 3>>"$OUT/log/$METHOD-n$N-r$ROUND.log"
    PUBLISH=0
    berth_publishes && PUBLISH=1
    ATTACHED=()
    trap 'method_cleanup' EXIT
    trap 'exit 130' INT TERM
    ip link set lo up
    m_prepare >&3 2>&3 || die "[$METHOD] prepare failed (log: $OUT/log/$METHOD-n$N-r$ROUND.log)"

    local i t0 t1 raw=$WORK/raw-$METHOD-n$N-r$ROUND.csv tag=scale
    # Container namespace names (/run/netns is shared by every host netns): section 1b runs
    # two methods at once.
    NSP=c
    [[ -n ${LOCKSTEP_DIR:-} ]] && NSP=l-$METHOD-
    for ((i = 1; i <= N; i++)); do
        ip netns add "$NSP$i" || die "[$METHOD] ip netns add $NSP$i failed"
    done
    # Section 1b (lockstep_section): each timed call waits for its turn.
    if [[ -n ${LOCKSTEP_DIR:-} ]]; then
        tag=lockstep
        exec {LS_GO}<>"$LOCKSTEP_DIR/go.$METHOD" {LS_DONE}<>"$LOCKSTEP_DIR/done.$METHOD"
    fi

    if [[ $METHOD == berth-lib ]]; then
        lib_run "$raw"
        return
    fi

    local cpu0
    children_cpu
    cpu0=$CPU_US
    for ((i = 1; i <= N; i++)); do
        container "$i"
        lockstep_turn
        t0=${EPOCHREALTIME/./}
        m_attach >&3 2>&3 || die "[$METHOD] attach of container $i failed (log: $OUT/log/$METHOD-n$N-r$ROUND.log)"
        t1=${EPOCHREALTIME/./}
        lockstep_done
        ATTACHED+=("$i")
        echo "$tag,$METHOD,$N,$ROUND,$i,attach,$((t1 - t0))" >>"$raw"
    done
    children_cpu
    fact "cpu_us_attach.$METHOD.n$N.r$ROUND" $(((CPU_US - cpu0) / N))
    check_sample
    local bad=$?

    # Peak RSS of one more attach and detach, outside the timed samples.
    if [[ $METHOD == berth-cli || $METHOD == berth-cni || $METHOD == floor || $METHOD == netavark ]] && [[ $ROUND == 1 ]]; then
        container $((N + 1))
        ip netns add "$NS"
        WRAP=(/usr/bin/time -o "$WORK/rss" -f %M)
        m_attach >&3 2>&3 && fact "rss_attach_kb.$METHOD.n$N" "$(tail -n 1 "$WORK/rss")"
        m_detach >&3 2>&3 && fact "rss_detach_kb.$METHOD.n$N" "$(tail -n 1 "$WORK/rss")"
        WRAP=()
        ip netns del "$NS"
    fi

    for ((i = 1; i <= N; i++)); do
        container "$i"
        lockstep_turn
        t0=${EPOCHREALTIME/./}
        m_detach >&3 2>&3 || die "[$METHOD] detach of container $i failed (log: $OUT/log/$METHOD-n$N-r$ROUND.log)"
        t1=${EPOCHREALTIME/./}
        lockstep_done
        ATTACHED=("${ATTACHED[@]:1}")
        echo "$tag,$METHOD,$N,$ROUND,$i,detach,$((t1 - t0))" >>"$raw"
        ip netns del "$NS"
    done
    local left
    left=$(veths_left)
    echo "$METHOD,$N,$ROUND,veths-left,-,0,$left,$([[ $left == 0 ]] && echo ok || echo FAIL)" >>"$OUT/checks.csv"
    ((bad == 0 && left == 0))
}

# berth-lib: one berth-bench process attaches all, waits while the checks run, detaches.
lib_run() {
    local raw=$1 line="" lib_out=$WORK/lib-$N-$ROUND.csv publish=()
    ((PUBLISH)) || publish=(--no-publish)
    coproc LIB { exec "$BERTH_BENCH" --network bhnet --netns-prefix c --count "$N" --id-prefix bb \
        --first-ip 10.88.0.2 --host-port-base $((HPORT_BASE + 1)) --container-port "$CPORT" \
        --out "$lib_out" --pause "${publish[@]}" 2>&3; }
    local pid=$LIB_PID
    echo "$pid" >>"$PIDS"
    read -r line <&"${LIB[0]}"
    [[ $line == attached ]] || die "[berth-lib] berth-bench did not attach (got '$line'; log: $OUT/log/$METHOD-n$N-r$ROUND.log)"
    check_sample
    local bad=$?
    echo >&"${LIB[1]}"
    read -r line <&"${LIB[0]}"
    wait "$pid"
    local rc=$?
    sed -i "/^$pid\$/d" "$PIDS"
    ((rc == 0)) || die "[berth-lib] berth-bench failed (exit $rc)"
    # line: open_us=… maxrss_kb=…
    local kv
    for kv in $line; do fact "lib_${kv%%=*}.n$N.r$ROUND" "${kv#*=}"; done
    sed "s/^/scale,berth-lib,$N,$ROUND,/" "$lib_out" >>"$raw"
    for ((i = 1; i <= N; i++)); do ip netns del "$NSP$i"; done
    local left
    left=$(veths_left)
    echo "$METHOD,$N,$ROUND,veths-left,-,0,$left,$([[ $left == 0 ]] && echo ok || echo FAIL)" >>"$OUT/checks.csv"
    ((bad == 0 && left == 0))
}

# Best effort and untimed: undo what is still attached, stop our servers.
method_cleanup() {
    local i p
    trap - EXIT INT TERM
    for i in "${ATTACHED[@]}"; do container "$i"; m_detach >&3 2>&3; done
    ATTACHED=()
    if [[ -s $PIDS ]]; then
        while read -r p; do kill "$p" 2>/dev/null; done <"$PIDS"
    fi
    for p in /run/netns/c*; do [[ -e $p ]] && ip netns del "${p##*/}" 2>/dev/null; done
    return 0
}

# One method run in a fresh named host netns; failures are recorded, not fatal.
run_method() {
    local method=$1 n=$2 round=$3 host=bh-$1-n$2-r$3 t0=$SECONDS
    ip netns add "$host" || die "ip netns add $host failed"
    HOSTS+=("$host")
    # In the background and waited for: a foreground child would delay the INT/TERM trap
    # until it finished (timeout(1) runs it in a process group of its own).
    timeout -k 5 $((120 + n / 2)) ip netns exec "$host" bash "$SELF" method "$method" "$n" "$round" &
    CHILD=$!
    if wait "$CHILD"; then
        printf '  %-10s N=%-5s round %s: ok (%s s)\n' "$method" "$n" "$round" $((SECONDS - t0))
    else
        printf '  %-10s N=%-5s round %s: FAILED (log: %s)\n' "$method" "$n" "$round" "$OUT/log/$method-n$n-r$round.log" >&2
        echo "$method,$n,$round,run,-,ok,failed,FAIL" >>"$OUT/checks.csv"
    fi
    CHILD=""
    ip netns del "$host"
    HOSTS=("${HOSTS[@]:0:${#HOSTS[@]}-1}")
    # The kernel reaps deleted namespaces asynchronously, at times under rtnl: let it
    # finish before the next run's first container.
    sleep $((1 + n / 250))
}

# ------------------------------------------------------------ other sections

# Median of the wall times (µs) of running "$@" K times, printed in µs.
median_of() {
    local k=$1 j t0 t1
    shift
    local -a v=()
    for ((j = 0; j < k; j++)); do
        t0=${EPOCHREALTIME/./}
        "$@" >/dev/null 2>&1
        t1=${EPOCHREALTIME/./}
        v+=($((t1 - t0)))
    done
    printf '%s\n' "${v[@]}" | sort -n | sed -n "$(((k + 1) / 2))p"
}

# startup NAME CMD...: the median wall time of 31 runs, the mean CPU time of 31 more, and
# the minor page faults and peak RSS of one (GNU time's %R and %M), as facts startup_us.NAME,
# startup_cpu_us.NAME, startup_faults.NAME and startup_rss_kb.NAME. Faults are the steady
# measure on a busy machine: they count the pages a process touches, which is what its
# start-up mostly costs.
startup() {
    local name=$1 line cpu0
    shift
    fact "startup_us.$name" "$(median_of 31 "$@" </dev/null)"
    children_cpu
    cpu0=$CPU_US
    for ((line = 0; line < 31; line++)); do "$@" >/dev/null 2>&1 </dev/null; done
    children_cpu
    fact "startup_cpu_us.$name" $(((CPU_US - cpu0) / 31))
    line=$(/usr/bin/time -f '%R %M' "$@" 2>&1 >/dev/null </dev/null | tail -n 1)
    fact "startup_faults.$name" "${line% *}"
    fact "startup_rss_kb.$name" "${line#* }"
}

# The OCI hook's two cheapest calls: a stage with nothing to do (reads and checks the state
# only) and a poststop for an unknown container (also opens Berth's state).
hook_noop() { "$HOOK" poststart <"$WORK/hook-state.json"; }
hook_unknown() { BERTH_STATE_DIR=$WORK/state/hook-startup "$HOOK" poststop <"$WORK/hook-state.json"; }

# Each binary beside what a process costs at least: /bin/true, the C floor doing nothing,
# and a static Swift hello (the yardstick of the lean binaries). Names in fact keys must
# match summarize.py's STARTUP list.
startup_section() {
    startup true /bin/true
    startup floor "$FLOOR" noop
    startup hello "$HELLO"
    startup berth "$BERTH" --version
    startup berth_cli "$BERTH_CLI" --version
    startup berth_dns "$BERTH_DNS" --help
    (export CNI_COMMAND=VERSION; startup berth_cni "$BERTH_CNI")
    startup berth_oci_hook "$HOOK" --help
    echo '{"ociVersion":"1.0.2-dev","id":"bench-startup","status":"stopped","bundle":"/nonexistent"}' >"$WORK/hook-state.json"
    fact startup_us.hook_noop "$(median_of 31 hook_noop)"
    fact startup_us.hook_poststop_unknown "$(median_of 31 hook_unknown)"
    fact rss_kb.hook_poststop_unknown "$(BERTH_STATE_DIR=$WORK/state/hook-startup /usr/bin/time -f %M "$HOOK" poststop <"$WORK/hook-state.json" 2>&1 >/dev/null | tail -n 1)"
    fact load_average "$(cut -d ' ' -f 1-3 /proc/loadavg)"
}

# Section 2, inside host netns bh-range: one attach publishing 1,000 ports, then one more
# endpoint while 10,000 ports are published.
range_run() {
    METHOD=berth-range N=11 ROUND=1
    STATE=$WORK/state/range
    PIDS=$WORK/pids
    mkdir -p "$STATE"
    exec 3>>"$OUT/log/range.log"
    trap 'trap - EXIT; for p in /run/netns/r*; do [[ -e $p ]] && ip netns del "${p##*/}"; done' EXIT
    ip link set lo up
    export BERTH_STATE_DIR=$STATE/berth
    "$BERTH" network create bhnet --subnet "$SUBNET" --gateway "$GW" --bridge "$BR" --dns false >&3 2>&3 || die "[range] network create failed"
    local i j t0 t1 raw=$WORK/raw-range.csv reps=$1 ok=1
    for ((i = 1; i <= 11; i++)); do ip netns add "r$i"; done
    # 1,000 ports in one attach, attached and detached REPS times.
    for ((j = 1; j <= reps; j++)); do
        t0=${EPOCHREALTIME/./}
        "$BERTH" attach bhnet --netns /run/netns/r1 --ip 10.88.1.1 -p 20000-20999:20000-20999 --id range1 >&3 2>&3 || { echo "[range] 1,000-port attach failed" >&2; return 1; }
        t1=${EPOCHREALTIME/./}
        echo "range,berth-cli,1000,$j,1,attach-1000-ports,$((t1 - t0))" >>"$raw"
        if ((j == 1)); then
            http_check r1:20500 r1 20500 "http://$GW:20500/" range1 || ok=0
            fact rss_attach_kb.berth-cli.range "$(/usr/bin/time -f %M "$BERTH" attach bhnet --netns /run/netns/r11 --ip 10.88.1.11 -p 30000-30999:20000-20999 --id rss 2>&1 >&3 | tail -n 1)"
            "$BERTH" detach rss >&3 2>&3
        fi
        t0=${EPOCHREALTIME/./}
        "$BERTH" detach range1 >&3 2>&3 || return 1
        t1=${EPOCHREALTIME/./}
        echo "range,berth-cli,1000,$j,1,detach-1000-ports,$((t1 - t0))" >>"$raw"
    done
    # 10 endpoints x 1,000 ports = 10,000 published ports, then one more endpoint.
    for ((i = 1; i <= 10; i++)); do
        local lo=$((20000 + (i - 1) * 1000)) hi=$((20999 + (i - 1) * 1000))
        "$BERTH" attach bhnet --netns "/run/netns/r$i" --ip "10.88.1.$i" -p "$lo-$hi:$lo-$hi" --id "range$i" >&3 2>&3 || { echo "[range] attach of range$i failed" >&2; return 1; }
    done
    for ((j = 1; j <= reps; j++)); do
        t0=${EPOCHREALTIME/./}
        "$BERTH" attach bhnet --netns /run/netns/r11 --ip 10.88.1.11 -p 30001:80 --id extra >&3 2>&3 || return 1
        t1=${EPOCHREALTIME/./}
        echo "range,berth-cli,10000,$j,11,attach-at-10000-ports,$((t1 - t0))" >>"$raw"
        ((j == 1)) && { http_check r11 r11 80 "http://$GW:30001/" extra || ok=0; }
        t0=${EPOCHREALTIME/./}
        "$BERTH" detach extra >&3 2>&3 || return 1
        t1=${EPOCHREALTIME/./}
        echo "range,berth-cli,10000,$j,11,detach-at-10000-ports,$((t1 - t0))" >>"$raw"
    done
    http_check r7:26500 r7 26500 "http://$GW:26500/" range7 || ok=0
    for ((i = 1; i <= 10; i++)); do "$BERTH" detach "range$i" >&3 2>&3; done
    ((ok))
}

# Section 4: `berth run` in the foreground, `true` with one published port vs
# --network none, REPS times each, inside host netns bh-run.
run_run() {
    local reps=$1 j t0 t1 raw=$WORK/raw-run.csv
    exec 3>>"$OUT/log/run.log"
    ip link set lo up
    export BERTH_STATE_DIR=$WORK/state/run
    mkdir -p "$BERTH_STATE_DIR"
    "$BERTH" network create bhnet --subnet "$SUBNET" --gateway "$GW" --bridge "$BR" --dns false >&3 2>&3 || return 1
    for ((j = 1; j <= reps; j++)); do
        t0=${EPOCHREALTIME/./}
        "$BERTH" run --network bhnet -p $((30000 + j)):80 -- true >&3 2>&3 || return 1
        t1=${EPOCHREALTIME/./}
        echo "run,berth-cli,1,$j,1,run-true-published,$((t1 - t0))" >>"$raw"
        t0=${EPOCHREALTIME/./}
        "$BERTH" run --network none -- true >&3 2>&3 || return 1
        t1=${EPOCHREALTIME/./}
        echo "run,berth-cli,1,$j,1,run-true-network-none,$((t1 - t0))" >>"$raw"
    done
}

run_section() {
    if ! "$BERTH" run --help 2>&1 | grep -q 'USAGE: berth run'; then
        echo "  berth run: not available (berth run --help fails); section skipped"
        fact berth_run "not available: berth run --help fails in this build"
        return 0
    fi
    ip netns add bh-run && HOSTS+=(bh-run)
    # nsenter, not `ip netns exec`: its /sys remount hides the cgroup mounts, and berth run
    # refuses a container it cannot confine (section 4 read "failed" since run got cgroups).
    nsenter --net=/run/netns/bh-run bash "$SELF" run $((QUICK ? 5 : 15)) &
    CHILD=$!
    if wait "$CHILD"; then
        echo "  berth run: ok"
        fact berth_run "measured"
    else
        echo "  berth run: FAILED (log: $OUT/log/run.log); its samples do not count" >&2
        fact berth_run "failed: $(tail -n 1 "$OUT/log/run.log" 2>/dev/null)"
        rm -f "$WORK/raw-run.csv"
    fi
    ip netns del bh-run
    HOSTS=()
}

# Section 7 (--peers): podman, inside host netns bh-podman.
podman_section() {
    if ! command -v podman >/dev/null; then
        echo "  podman: not installed; section skipped"
        fact podman "not installed"
        return 0
    fi
    ip netns add bh-podman && HOSTS+=(bh-podman)
    nsenter --net=/run/netns/bh-podman bash "$SELF" podman $((QUICK ? 5 : 10)) &
    CHILD=$!
    if wait "$CHILD"; then
        echo "  podman: ok"
        fact podman "measured"
    else
        echo "  podman: FAILED (log: $OUT/log/podman.log); its samples do not count" >&2
        fact podman "failed: $(tail -n 1 "$OUT/log/podman.log" 2>/dev/null)"
        rm -f "$WORK/raw-podman.csv"
    fi
    ip netns del bh-podman
    HOSTS=()
}

# Section 6, inside host netns bh-dns: berth-dns serving one network of 1,000 names on
# 10.88.0.1, a client namespace (bh-dnsc, 10.88.0.2) behind a veth pair, and the fake
# upstream (dnsload upstream) in bh-dnsu at 192.0.2.2. The resolver runs on CPU 0; the
# load generator and the upstream share CPU 1, so "one core" is the resolver's alone.
dns_run() {
    local quick=$1 secs=5 table=$WORK/dns-table pid="" up_pid="" i line kv
    ((quick)) && secs=2
    exec 3>>"$OUT/log/dns.log"
    ip link set lo up
    ip netns add bh-dnsc && ip netns add bh-dnsu || return 1
    trap 'kill "${pid:-}" "${up_pid:-}" 2>/dev/null; ip netns del bh-dnsc 2>/dev/null; ip netns del bh-dnsu 2>/dev/null' EXIT
    ip link add bd0 type veth peer name eth0 netns bh-dnsc
    ip addr add 10.88.0.1/16 dev bd0 && ip link set bd0 up
    ip -n bh-dnsc addr add 10.88.0.2/16 dev eth0 && ip -n bh-dnsc link set eth0 up && ip -n bh-dnsc link set lo up
    ip link add bu0 type veth peer name eth0 netns bh-dnsu
    ip addr add 192.0.2.1/24 dev bu0 && ip link set bu0 up
    ip -n bh-dnsu addr add 192.0.2.2/24 dev eth0 && ip -n bh-dnsu link set eth0 up
    {
        echo "network bench listen=10.88.0.1 subnet=10.88.0.0/16"
        for ((i = 1; i <= 1000; i++)); do echo "endpoint name-$i address=10.88.$((i / 250 + 1)).$((i % 250 + 1))"; done
    } >"$table"

    # Background processes whose first stdout line is "ready" (ip netns exec and taskset
    # exec, so $! is the server itself).
    ready() { local k; for ((k = 0; k < 500; k++)); do grep -qx ready "$1" 2>/dev/null && return 0; sleep 0.01; done; return 1; }
    ip netns exec bh-dnsu taskset -c 1 "$DNSLOAD" upstream 192.0.2.2 53 >"$WORK/dns-upstream.out" 2>&3 &
    up_pid=$!
    echo "$up_pid" >>"$PIDS"
    ready "$WORK/dns-upstream.out" || { echo "[dns] the fake upstream did not start" >&2; return 1; }
    taskset -c 0 "$BERTH_DNS" --table "$table" --upstream 192.0.2.2 >"$WORK/dns-server.out" 2>&3 &
    pid=$!
    echo "$pid" >>"$PIDS"
    ready "$WORK/dns-server.out" || { echo "[dns] berth-dns did not start (log: $OUT/log/dns.log)" >&2; return 1; }
    for ((i = 0; i < 100; i++)); do grep -q 'resident set' "$OUT/log/dns.log" && break; sleep 0.01; done
    fact dns_rss_kb.startup "$(sed -n 's/.*resident set \([0-9]*\) KiB after start-up.*/\1/p' "$OUT/log/dns.log" | tail -n 1)"
    fact dns_rss_kb.idle "$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")"
    fact dns_load_average "$(cut -d ' ' -f 1-3 /proc/loadavg)"

    # The resolver's CPU time (user + system, in clock ticks) from /proc/PID/stat.
    cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
    local hz
    hz=$(getconf CLK_TCK)
    # load LABEL WINDOW NAME-ARGS...: one dnsload run; besides its line, the resolver's CPU
    # time per answer, and answers per CPU-second (what one uncontended core would do:
    # robust to other load on the machine, which wall-clock figures are not).
    load() {
        local label=$1 window=$2 before after answered
        shift 2
        before=$(cpu_ticks)
        line=$(ip netns exec bh-dnsc taskset -c 1 "$DNSLOAD" query 10.88.0.1 53 --window "$window" --duration "$secs" "$@") || return 1
        after=$(cpu_ticks)
        echo "$label: $line cpu_ticks=$((after - before))" >&3
        for kv in $line; do fact "dns_${label}.${kv%%=*}" "${kv#*=}"; done
        answered=$(sed -n 's/.* total=\([0-9]*\).*/\1/p' <<<"$line")
        if ((after > before && answered > 0)); then
            fact "dns_${label}.cpu_us_per_query" "$(awk -v t=$((after - before)) -v hz="$hz" -v n="$answered" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')"
            fact "dns_${label}.qps_per_core" "$(awk -v t=$((after - before)) -v hz="$hz" -v n="$answered" 'BEGIN {printf "%.0f", n / (t / hz)}')"
        fi
    }
    load local_w1 1 --names name- 1000 || return 1
    load local_w16 16 --names name- 1000 || return 1
    load forwarded_w1 1 --name fwd.bench.example || return 1
    load forwarded_w16 16 --name fwd.bench.example || return 1
    fact dns_rss_kb.after "$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")"
    fact dns_rss_kb.anon "$(awk '/RssAnon/ {print $2}' "/proc/$pid/status")"
    fact dns_rss_kb.peak "$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")"
    # A reload of the 1,000-name table, as attach and detach will cause.
    local t0 t1
    t0=${EPOCHREALTIME/./}
    kill -HUP "$pid"
    for ((i = 0; i < 1000; i++)); do grep -q 'reloaded (SIGHUP)' "$OUT/log/dns.log" && break; sleep 0.01; done
    t1=${EPOCHREALTIME/./}
    fact dns_reload_us "$((t1 - t0))"
    kill "$pid" "$up_pid"
    wait "$pid" "$up_pid" 2>/dev/null
    return 0
}

dns_section() {
    ip netns add bh-dns && HOSTS+=(bh-dns)
    ip netns exec bh-dns bash "$SELF" dns "$QUICK" &
    CHILD=$!
    if wait "$CHILD"; then
        echo "  dns: ok"
        fact dns "measured"
    else
        echo "  dns: FAILED (log: $OUT/log/dns.log); its figures do not count" >&2
        fact dns "failed: $(tail -n 1 "$OUT/log/dns.log" 2>/dev/null)"
    fi
    ip netns del bh-dns
    HOSTS=()
}

# Section 1b: the Berth CLI, the floor and berth-cni at N = SMALL, each in its own host netns
# as in section 1, their timed calls taking turns one by one (and which goes first rotating):
# the CLI's attach i, the floor's, berth-cni's; then the floor's attach i+1, berth-cni's, the
# CLI's… So a slow minute of this VM falls on both sides of issues 16's and 13's ratios
# alike, which runs of whole methods minutes apart cannot promise.
lockstep_section() {
    local n=$1 dir=$WORK/lockstep k m ok=1 t0=$SECONDS
    local -a methods=(berth-cli floor berth-cni) pids=() hosts=()
    local -A go=() fin=()
    rm -rf "$dir" && mkdir -p "$dir"
    for m in "${methods[@]}"; do
        mkfifo "$dir/go.$m" "$dir/done.$m"
        exec {k}<>"$dir/go.$m"; go[$m]=$k
        exec {k}<>"$dir/done.$m"; fin[$m]=$k
        ip netns add "bh-$m-lockstep" || die "ip netns add bh-$m-lockstep failed"
        hosts+=("bh-$m-lockstep"); HOSTS+=("bh-$m-lockstep")
        LOCKSTEP_DIR=$dir timeout -k 5 $((300 + 2 * n)) ip netns exec "bh-$m-lockstep" bash "$SELF" method "$m" "$n" L &
        pids+=($!)
    done
    # n attaches, then n detaches, in each run.
    for ((k = 1; k <= 2 * n && ok; k++)); do
        local r=$((k % ${#methods[@]}))
        local -a order=("${methods[@]:r}" "${methods[@]:0:r}")
        for m in "${order[@]}"; do
            echo >&"${go[$m]}"
            read -r -t 300 _ <&"${fin[$m]}" || { ok=0; break; }
        done
    done
    for k in "${pids[@]}"; do wait "$k" || ok=0; done
    for m in "${methods[@]}"; do eval "exec ${go[$m]}>&- ${fin[$m]}>&-"; done
    for m in "${hosts[@]}"; do ip netns del "$m"; done
    HOSTS=("${HOSTS[@]:0:${#HOSTS[@]}-${#hosts[@]}}")
    rm -rf "$dir"
    if ((ok)); then
        printf '  %-10s N=%-5s lockstep: ok (%s s)\n' "${methods[*]}" "$n" $((SECONDS - t0))
    else
        printf '  lockstep N=%s: FAILED (logs: %s)\n' "$n" "$OUT/log/*-n$n-rL.log" >&2
        echo "lockstep,$n,L,run,-,ok,failed,FAIL" >>"$OUT/checks.csv"
    fi
    sleep $((1 + n / 250))
}

# Section 1: every method at N = SMALL for ROUNDS rounds, then Berth's and the floor's at
# N = BIG once.
scale_section() {
    local small=$1 big=$2 rounds=$3
    local -a methods=(berth-cli berth-cli6 berth-lib floor berth-cni) big_methods=(berth-cli berth-lib floor)
    ((PEERS)) && methods+=(shell netavark cni)
    # BENCH_ONLY=m1,m2 narrows the methods (for working on the harness itself).
    if [[ -n ${BENCH_ONLY:-} ]]; then
        IFS=, read -r -a methods <<<"$BENCH_ONLY"
        IFS=, read -r -a big_methods <<<"$BENCH_ONLY"
    fi
    # --quick: the CLI and the floor only at N = BIG (issue 16 compares them at 50 and 1,000).
    ((QUICK)) && [[ -z ${BENCH_ONLY:-} ]] && big_methods=(berth-cli floor)
    local r m
    for ((r = 1; r <= rounds; r++)); do
        for m in "${methods[@]}"; do run_method "$m" "$small" "$r"; done
    done
    for m in "${big_methods[@]}"; do
        [[ $m == berth-* || $m == floor ]] && run_method "$m" "$big" 1
    done
}

# Section 8, inside host netns bh-hook (entered with nsenter --net: never `ip netns exec`
# for a runtime, its /sys remount hides the cgroup mounts): runc with and without
# berth-oci-hook (bench/lib/oci-hook.sh).
hook_section() {
    if ! command -v runc >/dev/null; then
        echo "  OCI hook: runc not installed; section skipped"
        fact hook "not measured: runc not installed"
        return 0
    fi
    fact version.runc "$(runc --version | head -n 1)"
    ip netns add bh-hook && HOSTS+=(bh-hook)
    nsenter --net=/run/netns/bh-hook bash "$SELF" hook $((QUICK ? 32 : 96)) &
    CHILD=$!
    if wait "$CHILD"; then
        echo "  OCI hook: ok"
        fact hook measured
    else
        echo "  OCI hook: FAILED (log: $OUT/log/hook.log); its samples do not count" >&2
        fact hook "failed: $(tail -n 1 "$OUT/log/hook.log" 2>/dev/null)"
        rm -f "$WORK/raw-hook.csv"
    fi
    CHILD=""
    ip netns del bh-hook
    HOSTS=()
}

# Section 9: labs (bench/lab.sh) in the fence's own namespace: a lab's nodes are named
# namespaces of their own, and the web lab publishes on this namespace's 127.0.0.1:8080.
lab_section() {
    if ! "$BERTH" lab ls --help >/dev/null 2>&1; then
        echo "  berth lab: not available (no berth-lab beside berth); section skipped"
        fact lab "skipped: berth lab ls --help fails"
        return 0
    fi
    local rc
    mkdir -p "$WORK/state/lab"
    BERTH_STATE_DIR=$WORK/state/lab bash "$BENCH/lab.sh" "$OUT" "$1" 2>&1 | tee "$OUT/log/lab.log" | sed 's/^/  /'
    rc=${PIPESTATUS[0]}
    if ((rc == 0)); then
        fact lab measured
    else
        echo "  lab: FAILED (log: $OUT/log/lab.log)" >&2
        fact lab "failed: see log/lab.log"
    fi
}

# --------------------------------------------------------------------- fenced
fenced() {
    OUT=$1 QUICK=$2 PEERS=$3 DNS_ONLY=${4:-0}
    export OUT
    PIDS=$WORK/pids
    : >"$PIDS"
    HOSTS=()
    CHILD=""
    trap 'fenced_cleanup' EXIT
    trap 'echo "bench: interrupted" >&2; exit 130' INT TERM
    mkdir -p /run/netns "$OUT/log" "$WORK/state"
    ip link set lo up
    echo "section,method,n,round,i,op,us" >"$OUT/raw.csv"
    echo "method,n,round,check,target,expected,got,result" >"$OUT/checks.csv"
    echo "key,value" >"$OUT/facts.csv"

    local publish=yes
    if ! berth_publishes; then
        publish=no
        echo "  NOTE: this berth has no -p/--publish: Berth attaches without publishing a port, and its"
        echo "        checks fetch from the container address directly. Berth's figures omit the DNAT work."
    fi
    fact berth_publish "$publish"
    fact machine "$(uname -r); $(nproc) CPUs; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    fact os "$(. /etc/os-release && echo "$PRETTY_NAME")"
    fact version.berth "$("$BERTH" --version)"
    fact version.floor "libmnl $(dpkg-query -W -f='${Version}' libmnl-dev), libnftnl $(dpkg-query -W -f='${Version}' libnftnl-dev)"
    fact version.shell "iproute2 $(dpkg-query -W -f='${Version}' iproute2), nftables $(dpkg-query -W -f='${Version}' nftables)"
    if ((PEERS)); then
        fact version.netavark "netavark $(dpkg-query -W -f='${Version}' netavark), iptables $(dpkg-query -W -f='${Version}' iptables)"
        fact version.cni "containernetworking-plugins $(dpkg-query -W -f='${Version}' containernetworking-plugins), iptables $(dpkg-query -W -f='${Version}' iptables)"
    fi

    if ((DNS_ONLY)); then
        echo "== 6. DNS resolver"
        dns_section
        return 0
    fi
    # BENCH_SECTIONS=startup,scale,lockstep,range,run,dns,hook,podman,lab narrows the sections (for
    # measuring one of them again; default: all).
    local sections=,${BENCH_SECTIONS:-startup,scale,lockstep,range,run,dns,hook,podman,lab},
    in_sections() { [[ $sections == *,$1,* ]]; }
    # A section left out is recorded as such (summarize.py says "not run", never "failed").
    skip_section() { echo "  skipped (BENCH_SECTIONS)"; fact "$1" "skipped (not in BENCH_SECTIONS)"; }

    local small=50 big=1000 rounds=3
    ((QUICK)) && rounds=1
    fact n_small "$small"
    fact n_big "$big"
    fact rounds "$rounds"

    echo "== start-up"
    if in_sections startup; then startup_section; else skip_section startup; fi

    echo "== 1. attach/detach vs size (N=$small x $rounds rounds, N=$big x 1)"
    if in_sections scale; then scale_section "$small" "$big" "$rounds"; else skip_section scale; fi

    echo "== 1b. the CLI, the floor and berth-cni call by call (N=$small)"
    if in_sections lockstep; then lockstep_section "$small"; else skip_section lockstep; fi

    echo "== 2. publishing a range"
    if ! in_sections range; then
        skip_section range
    elif [[ $publish == yes ]]; then
        ip netns add bh-range && HOSTS+=(bh-range)
        ip netns exec bh-range bash "$SELF" range $((QUICK ? 3 : 7)) &
        CHILD=$!
        if wait "$CHILD"; then
            echo "  range: ok"
            fact range measured
        else
            echo "  range: FAILED (log: $OUT/log/range.log)" >&2
            echo "berth-range,11,1,run,-,ok,failed,FAIL" >>"$OUT/checks.csv"
            fact range "failed: $(tail -n 1 "$OUT/log/range.log" 2>/dev/null)"
        fi
        ip netns del bh-range
        HOSTS=()
    else
        echo "  skipped: this berth cannot publish ports (-p)"
        fact range "skipped: berth attach has no -p"
    fi

    echo "== 4. berth run"
    if in_sections run; then run_section; else skip_section berth_run; fi

    echo "== 6. DNS resolver"
    if in_sections dns; then dns_section; else skip_section dns; fi

    if ((PEERS)); then
        echo "== 7. podman run --rm -p with berth-cni, netavark, the reference CNI chain, --network none"
        if in_sections podman; then podman_section; else skip_section podman; fi
    fi

    echo "== 8. OCI hook: runc run -d with and without berth-oci-hook"
    if in_sections hook; then hook_section; else skip_section hook; fi

    echo "== 9. labs: berth lab up/down of a 50-node chain and of a lab with a container"
    if in_sections lab; then lab_section $((QUICK ? 2 : 5)); else skip_section lab; fi

    cat "$WORK"/raw-*.csv >>"$OUT/raw.csv" 2>/dev/null
    return 0
}

fenced_cleanup() {
    local rc=$? p h
    trap - EXIT INT TERM
    # A method run still going: TERM reaches it through timeout(1) and runs its own cleanup.
    if [[ -n ${CHILD:-} ]]; then kill -TERM "$CHILD" 2>/dev/null; wait "$CHILD" 2>/dev/null; fi
    if [[ -s $PIDS ]]; then
        while read -r p; do kill "$p" 2>/dev/null; done <"$PIDS"
    fi
    for h in "${HOSTS[@]}"; do ip netns del "$h" 2>/dev/null; done
    exit "$rc"
}

case ${1:-} in
    fenced) shift; fenced "$@" ;;
    method) shift; OUT=${OUT:?}; method_run "$@" ;;
    range) shift; OUT=${OUT:?}; range_run "$@" ;;
    run) shift; OUT=${OUT:?}; run_run "$@" ;;
    podman) shift; OUT=${OUT:?}; source "$BENCH/lib/podman.sh"; podman_run "$@" ;;
    dns) shift; OUT=${OUT:?}; PIDS=$WORK/pids; dns_run "$@" ;;
    hook) shift; OUT=${OUT:?}; source "$BENCH/lib/oci-hook.sh"; hook_run "$@" ;;
    *) die "harness.sh is run by scripts/bench" ;;
esac
