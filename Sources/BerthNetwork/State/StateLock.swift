#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNamespace

/// The cross-process write lock: `flock(LOCK_EX)` on the `lock` file of the state directory.
///
/// SQLite's own locking already keeps the file consistent; this lock exists so that a whole
/// operation (read the free addresses, pick one, insert it) runs in one process at a time,
/// and so that a later caller can extend it over kernel work. flock belongs to the open file
/// description, so two `StateStore`s in one process exclude each other too, and the kernel
/// drops it when a process dies: a crash never leaves the lock held.
final class StateLock: Sendable {
    let descriptor: Int32
    let path: String

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    /// Takes the lock, waiting at most `wait.limit` for another process to let go; the
    /// error when it is not let go is worded by `wait` (`LockWait.timedOut`).
    func acquire(_ wait: LockWait) throws(BerthError) {
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return }
        let start = MonotonicClock.now
        let deadline = start + wait.limit
        // Polls instead of blocking in flock(2) so the wait has a deadline; the pause starts
        // short because a Berth transaction holds the lock for well under a millisecond.
        var pause: Int = 50_000  // nanoseconds
        while true {
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return }
            let err = Errno.current
            guard err.code == EWOULDBLOCK || err.code == EINTR else {
                throw .system("cannot lock \(path)", err)
            }
            let now = MonotonicClock.now
            guard now < deadline else {
                throw BerthError(.conflict, wait.timedOut(waitingFor: "the state lock \(path)", waited: now - start),
                                 hint: "another process is holding it; wait for it to finish or stop it", object: .state(path))
            }
            var delay = timespec(tv_sec: 0, tv_nsec: pause)
            nanosleep(&delay, nil)
            pause = min(pause * 2, 2_000_000)
        }
    }

    /// Takes the lock if it is free; false, without waiting, when another open file holds it.
    func tryAcquire() throws(BerthError) -> Bool {
        while true {
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return true }
            let err = Errno.current
            if err.code == EWOULDBLOCK { return false }
            guard err.code == EINTR else { throw .system("cannot lock \(path)", err) }
        }
    }

    func release() {
        flock(descriptor, LOCK_UN)
    }
}
