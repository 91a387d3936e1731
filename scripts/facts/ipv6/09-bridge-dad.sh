#!/usr/bin/env bash
# A fresh bridge's link-local address and the first packet the host forwards into it. For a
# forwarded packet the host solicits the next hop's MAC from a link-local address of the
# outgoing link that is not tentative (ndisc_send_ns: ipv6_get_lladdr without
# IFA_F_TENTATIVE|IFA_F_OPTIMISTIC) and sends nothing while it has none; the bridge's
# link-local appears when it first has carrier (here at the up; a bridge Berth makes gets
# carrier with its first port) and goes through DAD. Each trial: a bridge made and set up, a container attached at once,
# and the LAN peer's first TCP connect to it through the host (as a published port's DNATed
# SYN goes), started the moment the attach is done.
. "$(dirname "$0")/lib.sh"
for ns in h lan; do ip netns add $ns; x $ns ip link set lo up; done
x h sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n h link add lan0 type veth peer name eth0 netns lan
ip -n h addr add fd00:121::1/64 dev lan0 nodad; ip -n h link set lan0 up
ip -n lan addr add fd00:121::2/64 dev eth0 nodad; ip -n lan link set eth0 up
ip -n lan -6 route add default via fd00:121::1
sleep 2 # lan0's own DAD over
i=0
trial() { # trial DAD: DAD is default, off (accept_dad=0 before the up) or slow (dad_transmits=5,
          # DAD as long as on a very loaded host); sets LL (the link-local's flags right after
          # the attach) and FIRST ("MS OUTCOME" of the first connect)
  local c=c$i br=br$i
  ip netns add $c; x $c ip link set lo up
  serve $c tcp :: 80 ctr
  rm -f "$FACT_TMP"/go.$$; mkfifo "$FACT_TMP"/go.$$
  x lan "$PY" "$HERE/firstconnect.py" fd00:$i::2 80 "$FACT_TMP"/go.$$ > "$FACT_TMP"/first.$$ &
  local p=$!
  ip -n h link add $br type bridge; x h sysctl -qw net.ipv6.conf.$br.accept_ra=0
  case $1 in off) x h sysctl -qw net.ipv6.conf.$br.accept_dad=0;; slow) x h sysctl -qw net.ipv6.conf.$br.dad_transmits=5;; esac
  ip -n h link set $br up; ip -n h addr add fd00:$i::1/64 dev $br nodad
  ip -n h link add vb$c master $br up type veth peer name eth0 netns $c
  printf 'link set eth0 up\naddr add fd00:%s::2/64 dev eth0 nodad\nroute add default via fd00:%s::1\n' $i $i > "$FACT_TMP"/batch.$$
  ip -n $c -6 -b "$FACT_TMP"/batch.$$
  LL=$(ip -n h -6 -o addr show dev $br scope link | awk '{ $1 = $2 = $3 = ""; print }' | sed 's/^ *//')
  echo go > "$FACT_TMP"/go.$$; wait $p
  FIRST=$(cat "$FACT_TMP"/first.$$); i=$((i + 1))
  stop_servers
}
RUNS=${RUNS:-3}
for dad in default off slow; do
  tentative=0; late=0; failed=""
  for _ in $(seq "$RUNS"); do
    trial $dad
    note "DAD $dad: link-local after the attach: $LL; first connect: $FIRST"
    case $LL in *tentative*) tentative=$((tentative + 1));; esac
    set -- $FIRST
    [ "$2" = answered ] || failed="$failed $2"
    [ "$1" -ge 500 ] && late=$((late + 1))
  done
  case $dad in
    # Whether DAD is still on when the connect starts depends on its random delay (up to
    # rtr_solicit_delay, 1 s, before the 1 s probe) and on how long the attach took.
    default) [ $tentative = "$RUNS" ] && [ $late -ge 1 ] && ok "with DAD the link-local is tentative right after the attach, $RUNS of $RUNS, and the first SYN went nowhere (answered only after a retransmission, >= 0.5 s) in $late of $RUNS" ||
               fail "with DAD: $tentative of $RUNS tentative, $late of $RUNS late, failures:$failed";;
    off) [ $tentative = 0 ] && [ $late = 0 ] && [ -z "$failed" ] && ok "accept_dad=0 before the up: the link-local is never tentative and the first SYN is answered at once, $RUNS of $RUNS" ||
           fail "accept_dad=0: $tentative tentative, $late late, failures:$failed";;
    slow) [ "$(echo $failed | tr ' ' '\n' | grep -c EHOSTUNREACH)" = "$RUNS" ] && ok "DAD longer than 3 s: the neighbour entry fails after 3 silent probes and the connect fails with EHOSTUNREACH (ICMPv6 address unreachable), whatever its timeout, $RUNS of $RUNS" ||
            fail "slow DAD: failures:$failed";;
  esac
done
finish
