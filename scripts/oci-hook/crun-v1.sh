#!/bin/sh
# crun on a cgroup "hybrid" host whose cgroup2 hierarchy (/sys/fs/cgroup/unified) has
# controllers: crun 1.8.1 refuses that layout ("cgroups in hybrid mode not supported, drop
# all controllers from cgroupv2"), even with --cgroup-manager=disabled. crun runs here in a
# private mount namespace in which the cgroup2 mount is detached, so it sees plain cgroup
# v1; the host's mounts are untouched. Use it wherever "crun" is expected.
if grep -qs . /sys/fs/cgroup/unified/cgroup.controllers && [ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ]; then
  exec unshare -m --propagation private sh -c 'umount -l /sys/fs/cgroup/unified && exec crun "$@"' crun "$@"
fi
exec crun "$@"
