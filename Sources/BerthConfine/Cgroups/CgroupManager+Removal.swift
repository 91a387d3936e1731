#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore

extension CgroupManager {
    /// The containers that have a cgroup under the Berth parent, in any tree.
    public func containerIDs() throws(BerthError) -> [String] {
        var ids: Set<String> = []
        for directory in parentDirectories {
            ids.formUnion(try filesystem.subdirectories(directory).filter { Self.isName(Substring($0)) })
        }
        return ids.sorted()
    }

    /// Container `id`'s cgroup as it exists now, in the trees where its directory is (what a
    /// command entering the container joins), or nil if it has none.
    public func existing(id: String) -> ContainerCgroup? {
        guard Self.isName(Substring(id)) else { return nil }
        let all = cgroup(id: id)
        let present = all.directories.filter { filesystem.exists($0.value) }
        return present.isEmpty ? nil : ContainerCgroup(id: id, version: all.version, directories: present)
    }

    /// Container `id`'s cgroup for a command entering it (`exec`). With `restrictDevices` (a
    /// container that is not privileged) a cgroup that cannot be found is refused, and on v1
    /// one without its devices tree too: the command would run outside the container's limits
    /// and, worse, outside its device allow-list, where root's CAP_MKNOD could make and open
    /// a node of the host's disks. Without, whatever exists (possibly nothing).
    public func entering(id: String, restrictDevices: Bool) throws(BerthError) -> ContainerCgroup? {
        let found = existing(id: id)
        guard restrictDevices else { return found }
        let expected = cgroup(id: id)
        guard let found else {
            throw BerthError(.notFound, "the cgroup of container \(id) is missing, so a command entering it would escape its limits and device allow-list",
                             hint: "start the container again: its cgroup is made afresh at each start",
                             object: .cgroup(expected.paths.first ?? id), operation: .exec)
        }
        if found.version == 1, found.directory(.devices) == nil {
            let path = expected.directory(.devices) ?? id
            throw BerthError(.notFound, "the devices cgroup of container \(id) is missing, so a command entering it would escape its device allow-list",
                             hint: "start the container again: its cgroup is made afresh at each start",
                             object: .cgroup(path), operation: .exec)
        }
        return found
    }

    /// The processes in a container's cgroup now, in cgroups nested in it too (pids as the
    /// caller's pid namespace sees them).
    public func processes(_ cgroup: ContainerCgroup) throws(BerthError) -> [Int32] {
        var pids: Set<Int32> = []
        for path in cgroup.paths {
            for directory in try subtree(path) {
                let text: String
                do throws(BerthError) { text = try filesystem.read(directory + "/cgroup.procs") } catch where errnoCode(error) == ENOENT { continue }
                pids.formUnion(text.split(separator: "\n").compactMap { Int32($0) })
            }
        }
        return pids.sorted()
    }

    /// `path` and every directory below it, deepest first (a container may make cgroups of
    /// its own inside its cgroup). A directory that is gone has nothing below it.
    func subtree(_ path: String) throws(BerthError) -> [String] {
        var directories: [String] = []
        for name in try filesystem.subdirectories(path) { directories += try subtree(path + "/" + name) }
        return directories + [path]
    }

    /// Removes a container's cgroup: SIGKILL to whatever still runs in it or in a cgroup
    /// nested in it (normally nothing: the command and its children ended with PID 1 of their
    /// namespace) — on v2 through `cgroup.kill` (Linux 5.14), which the kernel applies to the
    /// members of the whole subtree themselves, so no pid read from `cgroup.procs` can have
    /// been reused by another process by the time it is signalled; else, and on v1, to each
    /// pid listed in the subtree, pinned and found listed again first (`killAll`) —, then
    /// rmdir of the nested cgroups, deepest first, and of the cgroup once the kernel has let
    /// the last process go. A directory already gone is fine, so removing twice, or a cgroup
    /// half-made by a crash, works. Throws if processes remain after `timeout` (one stuck in
    /// the kernel, state D).
    public func remove(_ cgroup: ContainerCgroup, timeout: Duration = .seconds(10)) throws(BerthError) {
        let deadline = MonotonicClock.now + timeout
        while true {
            if try removeOnce(cgroup) { return }
            guard MonotonicClock.now < deadline else { throw stillBusy(cgroup) }
            usleep(2000)
        }
    }

    /// One pass of `remove`, which never waits: SIGKILL to whatever runs in `cgroup`'s
    /// subtree, or, when nothing does, rmdir of its directories, nested ones first. Returns
    /// whether the cgroup is gone (its directories were removed, or were gone already). A
    /// caller that must not hold a lock while the kernel lets the processes go makes each
    /// pass under it and waits outside.
    public func removeOnce(_ cgroup: ContainerCgroup) throws(BerthError) -> Bool {
        // On v2 `cgroup.kill` first, whatever the listing says: it reaches a process in a
        // nested cgroup or one forked after the listing, and costs nothing on an empty cgroup.
        let killedTree = cgroup.version == 2 && killTree(cgroup)
        let pids = try processes(cgroup)
        if !pids.isEmpty {
            if !killedTree { killAll(cgroup, pids: pids) }
            return false
        }
        var busy = false
        for path in cgroup.paths {
            for directory in try subtree(path) {
                do throws(BerthError) {
                    try filesystem.removeDirectory(directory)
                } catch where errnoCode(error) == ENOENT {
                } catch where errnoCode(error) == EBUSY {
                    // The last process is still exiting (or a nested cgroup was made meanwhile).
                    busy = true
                }
            }
        }
        return !busy
    }

    /// The error for a cgroup whose processes outlived every SIGKILL until the caller's
    /// deadline (`remove`'s `timeout`).
    public func stillBusy(_ cgroup: ContainerCgroup) -> BerthError {
        let pids = (try? processes(cgroup)) ?? []
        let remaining = cgroup.paths.first { filesystem.exists($0) } ?? cgroup.id
        return BerthError(.system, "cgroup of container \(cgroup.id) still has processes \(pids) after SIGKILL",
                          hint: "a process stuck in the kernel (state D) holds it; it is removed once it ends",
                          object: .cgroup(remaining), operation: .removeCgroup)
    }

    /// v2: "1" to the `cgroup.kill` of each of `cgroup`'s directories that exists. Returns
    /// whether every one that exists took it (false where the kernel has no `cgroup.kill`,
    /// before 5.14: the caller signals each pid then).
    private func killTree(_ cgroup: ContainerCgroup) -> Bool {
        var all = true
        for path in cgroup.paths where filesystem.exists(path) {
            let file = path + "/cgroup.kill"
            guard filesystem.exists(file), (try? filesystem.write(file, "1")) != nil else {
                all = false
                continue
            }
        }
        return all
    }

    /// SIGKILL to each of `pids` still in `cgroup`'s subtree. A pid read from `cgroup.procs`
    /// may have ended and been given to another process by now: each is pinned first (a
    /// pidfd), then the cgroup read again, and only one it still lists is signalled — through
    /// the pin, so the signal reaches the member that was listed, or (if that one ended
    /// since) nobody.
    private func killAll(_ cgroup: ContainerCgroup, pids: [Int32]) {
        let pinned = pids.compactMap { filesystem.pin($0) }
        guard !pinned.isEmpty, let members = try? Set(processes(cgroup)) else { return }
        for process in pinned where members.contains(process.pid) { _ = filesystem.kill(process) }
    }

    /// Removes the cgroups under the Berth parent of every container not in `keeping`
    /// (what `gc` does once it knows which containers are alive), killing what runs in them.
    /// Returns the ids removed.
    @discardableResult
    public func removeOrphans(keeping: Set<String>, timeout: Duration = .seconds(10)) throws(BerthError) -> [String] {
        var removed: [String] = []
        for id in try containerIDs() where !keeping.contains(id) {
            try remove(cgroup(id: id), timeout: timeout)
            removed.append(id)
        }
        return removed
    }

    /// Removes the Berth parent from every tree when it holds no container's cgroup: each
    /// state's own `berth-<instance>` (BerthRun's `Container.cgroupParent`), and an older
    /// Berth's `berth-<hash>` of a state's path, which nothing else would ever remove. Only a
    /// plain `berth` (`defaultParent`: the legacy parent of the default state directory,
    /// which that Berth never removed) is kept. A parent that still holds a cgroup (one made
    /// since the caller looked) refuses the rmdir (EBUSY) and is kept, and a create racing
    /// this makes the parent again (see `create`). Returns whether any was removed.
    @discardableResult
    public func removeParentIfUnused() -> Bool {
        guard parent != Self.defaultParent else { return false }
        var removed = false
        for directory in parentDirectories where filesystem.exists(directory) {
            guard ((try? filesystem.subdirectories(directory)) ?? ["?"]).isEmpty else { continue }
            if (try? filesystem.removeDirectory(directory)) != nil { removed = true }
        }
        return removed
    }
}
