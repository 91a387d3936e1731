#!/usr/bin/env bash
# How soon a freshly attached container answers over IPv6: an attach as Berth makes it
# (host end enslaved and up at creation, peer born down in the container), then one batch
# inside (link up, addresses with nodad, default routes), and a probe that starts the
# moment the batch returns, sending every 5 ms. Addresses added before or after the link
# is set up. A measurement: it prints how many first answers took a second or more.
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-12}
ip netns add h; x h ip link set lo up; x h sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n h link add br0 type bridge; x h sysctl -qw net.ipv6.conf.br0.accept_ra=0
ip -n h link set br0 up; ip -n h addr add fd00:beef::1/64 dev br0 nodad; ip -n h addr add 10.90.0.1/24 dev br0
i=2
trial() { # trial ORDER DIRECTION FAMILY: sets MS to the first answer's delay in ms ("none": none in 3 s)
  local order=$1 dir=$2 fam=$3 c=t$i addr ns
  ip netns add $c; x $c ip link set lo up
  if [ $dir = in ]; then serve $c udp :: 7 c6; serve $c udp 0.0.0.0 7 c4; ns=h; [ $fam = 6 ] && addr=fd00:beef::$i || addr=10.90.0.$i
  else serve h udp :: 7 h6; serve h udp 0.0.0.0 7 h4; ns=$c; [ $fam = 6 ] && addr=fd00:beef::1 || addr=10.90.0.1; fi
  rm -f "$FACT_TMP"/go.$$; mkfifo "$FACT_TMP"/go.$$
  x $ns "$PY" "$HERE/firstanswer.py" $addr 7 "$FACT_TMP"/go.$$ > "$FACT_TMP"/first.$$ &
  local p=$!
  ip -n h link add vb$c master br0 up type veth peer name eth0 netns $c
  local up="link set eth0 up" addrs="addr add 10.90.0.$i/24 dev eth0
addr add fd00:beef::$i/64 dev eth0 nodad"
  if [ $order = before ]; then printf '%s\n%s\n' "$addrs" "$up"; else printf '%s\n%s\n' "$up" "$addrs"; fi > "$FACT_TMP"/batch.$$
  printf 'route add default via 10.90.0.1\nroute add default via fd00:beef::1\n' >> "$FACT_TMP"/batch.$$
  ip -n $c -b "$FACT_TMP"/batch.$$
  echo go > "$FACT_TMP"/go.$$; wait $p
  MS=$(cat "$FACT_TMP"/first.$$); i=$((i + 1))
  stop_servers
}
for order in after before; do
  for dir in in out; do
    for fam in 4 6; do
      slow=0; none=0
      for _ in $(seq "$RUNS"); do
        trial $order $dir $fam
        case $MS in none) none=$((none + 1));; *) [ "$MS" -ge 500 ] && slow=$((slow + 1));; esac
      done
      note "IPv$fam, $dir (in: host -> container, out: container -> host), addresses $order 'link set up': $slow of $RUNS first answers took >= 0.5 s, $none none in 3 s"
      [ $none = 0 ] && ok "IPv$fam $dir, addresses $order up: every first answer came within 3 s" || fail "IPv$fam $dir $order: $none unanswered"
    done
  done
done
finish
