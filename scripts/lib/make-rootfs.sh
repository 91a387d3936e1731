#!/bin/sh
# make-rootfs.sh DIR (from the runtime recipes; used by scripts/accept-*) — build a minimal busybox rootfs usable as an OCI bundle rootfs
# or as an image for `podman import` / `docker import`.
# Needs: apt-get install busybox-static
set -eu
DIR=${1:?usage: make-rootfs.sh DIR}
BB=/bin/busybox
[ -x "$BB" ] || { echo "busybox-static missing: apt-get install -y busybox-static" >&2; exit 1; }
"$BB" --help 2>/dev/null | head -1 | grep -q BusyBox || { echo "$BB is not busybox" >&2; exit 1; }
file_is_static() { ! ldd "$1" >/dev/null 2>&1; }
file_is_static "$BB" || { echo "$BB is not static (install busybox-static)" >&2; exit 1; }

mkdir -p "$DIR"/bin "$DIR"/sbin "$DIR"/etc "$DIR"/proc "$DIR"/sys "$DIR"/dev "$DIR"/tmp "$DIR"/run "$DIR"/www "$DIR"/root "$DIR"/var
chmod 1777 "$DIR"/tmp
cp "$BB" "$DIR"/bin/busybox
for a in $("$BB" --list); do
  [ "$a" = busybox ] && continue
  ln -sf busybox "$DIR/bin/$a"
done
# /sbin and /usr/bin lookups (ip, ifconfig, udhcpc, ...) all resolve through PATH=/bin
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$DIR"/etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' > "$DIR"/etc/group
printf 'hosts: files dns\n' > "$DIR"/etc/nsswitch.conf
: > "$DIR"/etc/hosts
: > "$DIR"/etc/resolv.conf
echo "hello from busybox httpd" > "$DIR"/www/index.html
echo "rootfs ready: $DIR ($(du -sh "$DIR" | cut -f1))"
