#!/bin/sh
# Makes a busybox root filesystem for `berth run --rootfs` and lab run nodes, from the
# host's static busybox (Debian: apt-get install busybox-static; BUSYBOX=PATH for another),
# copied in: no download.
#
#   examples/make-web-rootfs.sh                           # examples/web-rootfs, the web node's
#                                                         # root filesystem in web-lan-wan.yaml
#   examples/make-web-rootfs.sh --all-applets /srv/busybox   # every applet: docs/run.md's
#
# DIR (default examples/web-rootfs) gets bin/busybox, links in bin/ for the applets the web
# node runs (sh httpd ps ip cat) or, with --all-applets, for every applet `busybox --list`
# names (sleep, ls, ping, …), an empty etc/ and tmp/, and a page in www/ ("hello", or in
# examples/web-rootfs the web node's greeting).
set -eu
usage="usage: $0 [--all-applets] [DIR]"
all=false
while [ $# -gt 0 ]; do
    case $1 in
        --all-applets) all=true; shift ;;
        -h|--help) echo "$usage"; exit 0 ;;
        --) shift; break ;;
        -*) echo "$0: unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -le 1 ] || { echo "$usage" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=${1:-$here/web-rootfs}
busybox=${BUSYBOX:-/bin/busybox}
"$busybox" --list | grep -qx httpd || { echo "$busybox has no httpd applet (install busybox-static)" >&2; exit 1; }
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/www"
cp "$busybox" "$root/bin/busybox"
if $all; then
    applets=$("$busybox" --list)
else
    applets="sh httpd ps ip cat"
fi
for applet in $applets; do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
if [ $# -eq 0 ]; then page="hello from the web node of web-lan-wan"; else page=hello; fi
echo "$page" > "$root/www/index.html"
echo "made $root"
