import BerthConfine

/// The cgroup lines of /proc/self/mountinfo on Berth's own machines: v1 controllers on a
/// tmpfs, each on its own mount, plus a controller-less cgroup2 at /sys/fs/cgroup/unified.
let hybridMountinfo = """
    22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
    31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
    32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
    33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
    34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
    35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
    36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
    39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
    40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
    41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
    """

/// A systemd host of the v1 era: cpu and cpuacct share one mount.
let combinedMountinfo = """
    30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
    33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
    34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
    35 30 0:31 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids
    """

/// A current distribution: cgroup v2 only.
let unifiedMountinfo = """
    35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
    """

/// Control files a new cgroup directory gets, by the tree it is in, with the kernel's
/// initial contents (what matters to Berth).
func fakeControlFiles(_ path: String) -> [String: String] {
    var files = ["cgroup.procs": ""]
    if path.hasPrefix("/sys/fs/cgroup/memory/") {
        files.merge(["memory.limit_in_bytes": "9223372036854771712\n", "memory.memsw.limit_in_bytes": "9223372036854771712\n",
                     "memory.usage_in_bytes": "0\n", "memory.stat": "cache 0\ntotal_inactive_file 0\n",
                     "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"]) { $1 }
    } else if path.hasPrefix("/sys/fs/cgroup/cpu,cpuacct/") || path.hasPrefix("/sys/fs/cgroup/cpu/") {
        files.merge(["cpu.cfs_period_us": "100000\n", "cpu.cfs_quota_us": "-1\n", "cpu.shares": "1024\n", "cpuacct.usage": "0\n"]) { $1 }
    } else if path.hasPrefix("/sys/fs/cgroup/cpuacct/") {
        files["cpuacct.usage"] = "0\n"
    } else if path.hasPrefix("/sys/fs/cgroup/cpuset/") {
        files.merge(["cpuset.cpus": "\n", "cpuset.mems": "\n"]) { $1 }
    } else if path.hasPrefix("/sys/fs/cgroup/devices/") {
        files.merge(["devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm\n"]) { $1 }
    } else if path.hasPrefix("/sys/fs/cgroup/pids/") {
        files.merge(["pids.max": "max\n", "pids.current": "0\n"]) { $1 }
    } else if path.hasPrefix("/sys/fs/cgroup/") {
        // v2: one directory with every enabled controller's files.
        files.merge(["cgroup.subtree_control": "\n", "cgroup.kill": "", "memory.max": "max\n", "memory.swap.max": "max\n", "memory.current": "0\n",
                     "memory.stat": "anon 0\ninactive_file 0\n", "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
                     "cpu.max": "max 100000\n", "cpu.weight": "100\n", "cpu.stat": "usage_usec 0\n",
                     "cpuset.cpus": "\n", "cpuset.mems": "\n", "pids.max": "max\n", "pids.current": "0\n"]) { $1 }
    }
    return files
}

/// The host before a test: the trees' roots with their files.
func fakeHost(_ hierarchy: CgroupHierarchy) -> FakeCgroupFilesystem {
    let fs = FakeCgroupFilesystem(controlFiles: fakeControlFiles)
    fs.seed(files: ["/sys/devices/system/cpu/online": "0-1\n"])
    switch hierarchy {
    case .unified(let path, _):
        fs.seed(directories: [path], files: [path + "/cgroup.subtree_control": "\n", path + "/cpuset.cpus.effective": "0-1\n",
                                             path + "/cpuset.mems.effective": "0\n"])
    case .legacy(let mounts, _):
        for mount in Set(mounts.values) {
            fs.seed(directories: [mount], files: [mount + "/cgroup.procs": "1\n"])
        }
        if let cpuset = mounts[.cpuset] {
            fs.seed(files: [cpuset + "/cpuset.cpus": "0-1\n", cpuset + "/cpuset.mems": "0\n",
                            cpuset + "/cpuset.effective_cpus": "0-1\n", cpuset + "/cpuset.effective_mems": "0\n"])
        }
    }
    return fs
}

extension CgroupHierarchy {
    static let hybrid = try! CgroupHierarchy.detect(mountinfo: hybridMountinfo) { _ in "hugetlb\n" }
    static let v2 = try! CgroupHierarchy.detect(mountinfo: unifiedMountinfo) { _ in "cpuset cpu io memory hugetlb pids rdma misc\n" }
}
