#!/bin/bash
# lab.sh: section 9 of scripts/bench (alone: scripts/bench --lab), run by harness.sh in the
# fence's own network namespace (private /run and /var/lib/berth). Writes a 50-node chain — 49
# links with addresses on both ends, routes and ip_forward in every node — and times
# `berth lab up` and `berth lab down` of it, ROUNDS times, as a person runs them: each
# figure is one whole command, process start-up, YAML parsing and kernel work included.
# Then the same for a small lab with services: a run node (busybox httpd in a container)
# on a Berth network the lab creates, publishing a port, linked to a router.
#
#   lab.sh OUT ROUNDS
#
# Samples go to $WORK/raw-lab.csv (harness.sh appends it to OUT/raw.csv: section lab, method
# berth-lab, n = nodes, op up/down/web-up/web-down, µs), checks to OUT/checks.csv, command
# output to OUT/log/lab-*.log.
set -uo pipefail
export LC_ALL=C
OUT=${1:?OUT}
ROUNDS=${2:-5}
: "${BERTH:?}" "${WORK:?}"
NODES=50
now_us() { echo "${EPOCHREALTIME/./}"; }

file=$WORK/chain.yaml
{
    echo "name: chain"
    echo "nodes:"
    for ((i = 1; i <= NODES; i++)); do
        # Forward to the next node by default; middle nodes also route n1's subnet back.
        if ((i == 1)); then routes="\"default via 10.200.1.2\""
        elif ((i == NODES)); then routes="\"default via 10.200.$((NODES - 1)).1\""
        elif ((i == 2)); then routes="\"default via 10.200.2.2\""
        else routes="\"default via 10.200.$i.2\", \"10.200.1.0/24 via 10.200.$((i - 1)).1\""; fi
        echo "  n$i: { sysctls: { net.ipv4.ip_forward: 1 }, routes: [ $routes ] }"
    done
    echo "links:"
    for ((i = 1; i < NODES; i++)); do
        echo "  - endpoints: [ \"n$i:eth1\", \"n$((i + 1)):eth0\" ]"
        echo "    addresses: [ 10.200.$i.1/24, 10.200.$i.2/24 ]"
    done
} >"$file"

RAW=$WORK/raw-lab.csv
: >"$RAW"
mkdir -p "$OUT/log"
sample() { echo "lab,berth-lab,$1,$2,0,$3,$4" >>"$RAW"; }
check() { echo "$1,$2,$3,$4,$5,$6,$7,$([[ $6 == "$7" ]] && echo ok || echo FAIL)" >>"$OUT/checks.csv"; }
for ((r = 1; r <= ROUNDS; r++)); do
    t0=$(now_us)
    "$BERTH" lab up "$file" >"$OUT/log/lab-up-$r.log" 2>&1 || { cat "$OUT/log/lab-up-$r.log" >&2; exit 1; }
    t1=$(now_us)
    ns=$(ip netns list | grep -c '^chain-')
    ping=$(ip netns exec chain-n1 busybox ping -c 1 -W 2 -w 2 10.200.$((NODES - 1)).2 >/dev/null 2>&1 && echo ok || echo FAILED)
    t2=$(now_us)
    "$BERTH" lab down chain >"$OUT/log/lab-down-$r.log" 2>&1 || { cat "$OUT/log/lab-down-$r.log" >&2; exit 1; }
    t3=$(now_us)
    left=$(ip netns list | grep -c '^chain-')
    sample "$NODES" "$r" up $((t1 - t0))
    sample "$NODES" "$r" down $((t3 - t2))
    check lab "$NODES" "$r" ping "n1->n$NODES" ok "$ping"
    check lab "$NODES" "$r" namespaces-left chain- 0 "$left"
    printf 'round %d: up %d ms (%d namespaces, ping n1->n%d %s), down %d ms (%d left)\n' \
        "$r" $(( (t1 - t0) / 1000 )) "$ns" "$NODES" "$ping" $(( (t3 - t2) / 1000 )) "$left"
done

# Services: a network made and removed, an endpoint with a published port, a container.
rootfs=$WORK/rootfs
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/www"
cp /bin/busybox "$rootfs/bin/busybox" && ln -sf busybox "$rootfs/bin/httpd"
echo ok >"$rootfs/www/index.html"
web=$WORK/web.yaml
cat >"$web" <<EOF
name: web
nodes:
  r: { sysctls: { net.ipv4.ip_forward: 1 } }
  web:
    run: { rootfs: $rootfs, cmd: [ httpd, -f, -p, "80", -h, /www ] }
    network: lan
    publish: [ "8080:80" ]
networks:
  lan: { subnet: 10.201.0.0/24 }
links:
  - endpoints: [ "web:eth1", "r:eth1" ]
    addresses: [ 10.201.1.2/24, 10.201.1.1/24 ]
EOF
ip link set lo up
for ((r = 1; r <= ROUNDS; r++)); do
    t0=$(now_us)
    "$BERTH" lab up "$web" >"$OUT/log/lab-web-up-$r.log" 2>&1 || { cat "$OUT/log/lab-web-up-$r.log" >&2; exit 1; }
    t1=$(now_us)
    page=$(curl -s --max-time 2 http://127.0.0.1:8080/)
    t2=$(now_us)
    "$BERTH" lab down web >"$OUT/log/lab-web-down-$r.log" 2>&1 || { cat "$OUT/log/lab-web-down-$r.log" >&2; exit 1; }
    t3=$(now_us)
    sample 2 "$r" web-up $((t1 - t0))
    sample 2 "$r" web-down $((t3 - t2))
    check lab 2 "$r" page 127.0.0.1:8080 ok "${page:-MISSING}"
    printf 'round %d: web lab up %d ms (page through :8080: %s), down %d ms\n' "$r" $(( (t1 - t0) / 1000 )) "${page:-MISSING}" $(( (t3 - t2) / 1000 ))
done
median() { grep ",$1,[0-9]*\$" "$RAW" | cut -d, -f7 | sort -n | awk '{a[NR]=$1} END {printf "%d", a[int((NR+1)/2)] / 1000}'; }
echo "lab chain of $NODES nodes ($((NODES - 1)) links): median up $(median up) ms (target 250), down $(median down) ms (target 500)"
echo "lab with a network, a published port and a container: median up $(median web-up) ms, down $(median web-down) ms"
