#!/bin/sh
# Makes examples/web-rootfs, the web node's root filesystem in web-lan-wan.yaml: a static
# busybox (Debian: apt-get install busybox-static) with the applets it runs, and a page.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$here/web-rootfs
busybox=${BUSYBOX:-/bin/busybox}
"$busybox" --list | grep -qx httpd || { echo "$busybox has no httpd applet (install busybox-static)" >&2; exit 1; }
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/www"
cp "$busybox" "$root/bin/busybox"
for applet in sh httpd ps ip cat; do ln -sf busybox "$root/bin/$applet"; done
echo "hello from the web node of web-lan-wan" > "$root/www/index.html"
echo "made $root"
