#ifndef BERTH_REAP_H
#define BERTH_REAP_H
// Deleting a link without waiting for it.
//
// The kernel deletes a veth pair synchronously, and the deletion waits for RCU grace
// periods (12–23 ms here) while its caller blocks. A detach has already unplugged the pair
// (renamed, down, off the bridge), so the wait serves no one: this hands the RTM_DELLINK to
// a detached grandchild and returns once that child exists. Swift cannot fork safely, so
// the children are C: both share the caller's memory (no copy of its page tables), and the
// grandchild makes raw system calls only, on a stack of its own that it unmaps at its exit.

/// Forks a detached process (a grandchild, reparented to init, so no zombie is left) that
/// enters the network namespace `netns_fd` (or stays in the caller's when it is -1), closes
/// every other descriptor, sends RTM_DELLINK for the link called `ifname` on a netlink
/// socket of its own and exits. Returns 0 once the grandchild is started, or -1 with errno
/// set (the caller then deletes the link itself). The deletion's own result is not reported:
/// a link that is still there later is found by its name and tag.
int berth_delete_link_detached(int netns_fd, const char *ifname);

/// Declares that the process exits right after its deletions (a CLI's detach): from then on
/// berth_delete_link_detached starts the deleter as the caller's own child and returns
/// without waiting for it to run; the caller's exit hands it to init. A process that lives
/// on must not call this.
void berth_reap_caller_exits(void);

/// For a process that exits right after its detach (berth_reap_caller_exits): starts a
/// detached child, sharing the caller's memory, that holds a copy of the descriptor `fd` and
/// closes it only after the caller has exited. Closing the last reference to an nfnetlink
/// socket waits for nf_tables' deferred frees of deleted objects (a flush of its destroy
/// work, which waits for an RCU grace period, ≈ 5–20 ms): with this the wait is the child's,
/// not the caller's exit's. Returns 0, or -1 with errno set (nothing started; the caller's
/// own close then waits as before).
int berth_linger_past_exit(int fd);

/// For a process about to exit: starts the same detached child as berth_linger_past_exit,
/// holding no descriptor (nothing if one runs already). Sharing the caller's memory, it keeps
/// that memory alive past the caller's exit, so the exit does not tear down the caller's page
/// tables and mappings (exit_mmap, which a runtime waits for); the child, woken by the exit,
/// does that instead and ends. Call it only right before exit, with everything written: it
/// flushes stdio and puts /dev/null on descriptors 0, 1 and 2 (the runtime's pipes end with
/// this process, never with the child), and the child lives until this process ends. Returns the child's pid, 0 when a
/// lingerer of berth_linger_past_exit runs already, or -1 with errno set (nothing started;
/// the exit does the teardown as before).
int berth_linger_memory_past_exit(void);

#endif
