#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
internal import BerthNamespace
import Synchronization

/// The lock a network create holds from reading the subnets taken in a host namespace until
/// its gateway address is on its bridge, so that two Berth instances (two state
/// directories, each with its own state lock) creating networks at once never pick the
/// same free subnet: another instance's new network shows in the host's addresses only once
/// its gateway is there.
///
/// With the machine's kernel it is `flock(LOCK_EX)` on the host namespace's own nsfs file,
/// reopened (a new open file description, so two handles of one process exclude each other
/// too): every process that opens that namespace, by `/proc/PID/ns/net` or a bind mount under
/// `/run/netns`, reaches the same inode, so the lock is exactly as wide as the subnets it
/// guards — one per network namespace — with no file to create, no directory whose
/// ownership or symlinks to check, and nothing left behind. The kernel drops it when its
/// holder dies.
public final class SubnetChoiceLock: Sendable {
    private let releaseAction: Mutex<(@Sendable () -> Void)?>

    /// A held lock; `release` lets it go (once).
    public init(release: @escaping @Sendable () -> Void) {
        releaseAction = Mutex(release)
    }

    deinit { release() }

    /// Lets the lock go; later calls do nothing.
    public func release() {
        let action = releaseAction.withLock { action in
            defer { action = nil }
            return action
        }
        action?()
    }

    /// Takes the lock of `namespace` with the machine's kernel, waiting at most `wait.limit`
    /// for another process to let go.
    static func acquire(_ namespace: NetworkNamespace, wait: LockWait) throws(BerthError) -> SubnetChoiceLock {
        let path = "/proc/self/fd/\(namespace.descriptor)"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw .system("open the host namespace \(namespace.path) to lock its subnet choice", Errno.current, object: .namespace(namespace.path))
        }
        let start = MonotonicClock.now
        let deadline = start + wait.limit
        var pause = 50_000  // nanoseconds; a create holds it for milliseconds
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let error = Errno.current
            guard error.code == EWOULDBLOCK || error.code == EINTR else {
                close(fd)
                throw .system("lock the subnet choice of host namespace \(namespace.path)", error, object: .namespace(namespace.path))
            }
            let now = MonotonicClock.now
            guard now < deadline else {
                close(fd)
                throw timedOut(wait, namespace: namespace.path, waited: now - start)
            }
            var delay = timespec(tv_sec: 0, tv_nsec: pause)
            nanosleep(&delay, nil)
            pause = min(pause * 2, 2_000_000)
        }
        return SubnetChoiceLock { close(fd) }
    }

    /// The error of a wait for the lock of the host namespace at `namespace` that `wait`
    /// let run out after `waited` (the fake kernel's too).
    public static func timedOut(_ wait: LockWait, namespace: String, waited: Duration) -> BerthError {
        BerthError(.conflict, wait.timedOut(waitingFor: "the subnet choice of host namespace \(namespace)", waited: waited)
                       + "; another process (another Berth state directory) is creating a network there",
                   hint: "wait for it to finish, then try again", object: .namespace(namespace))
    }
}
