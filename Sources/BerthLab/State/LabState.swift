#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
public import BerthNetwork
import BerthNamespace

/// Labs in Berth's shared state store, and the lock that runs one lab command at a time.
///
/// A lab command (`up`, `down`, garbage collection) spans many transactions and waits for
/// other processes (a container's supervisor, which writes the same store), so it cannot
/// hold the store's own lock throughout. It holds the lab lock instead: `flock` on
/// `lab.lock` in the state directory, dropped by the kernel when the process dies. Holding
/// it, a lab whose record has a pending spec is one whose `up` crashed.
public final class LabState: Sendable {
    /// The shared store (networks, endpoints and containers live there too).
    public let store: StateStore
    /// How long a lab command waits for another one to finish.
    public let lockTimeout: Duration

    /// The lab lock's file name inside the state directory.
    public static let lockName = "lab.lock"

    /// Labs in `store`; their tables are created or migrated here, on first use.
    public init(store: StateStore, lockTimeout: Duration = .seconds(120)) throws(BerthError) {
        self.store = store
        self.lockTimeout = lockTimeout
        try store.prepare(LabSchema.stateExtension)
    }

    /// A lab, or nil.
    public func record(named name: String) throws(BerthError) -> LabRecord? {
        try store.read { tx throws(BerthError) in try tx.lab(named: name) }
    }

    /// Every lab, by name.
    public func records() throws(BerthError) -> [LabRecord] {
        try store.read { tx throws(BerthError) in try tx.labs() }
    }

    /// Writes a lab's record (in one transaction: its nodes and networks with it).
    public func save(_ record: LabRecord) throws(BerthError) {
        try store.write { tx throws(BerthError) in try tx.save(record) }
    }

    /// Removes a lab's record.
    public func remove(named name: String) throws(BerthError) {
        try store.write { tx throws(BerthError) in _ = try tx.deleteLab(named: name) }
    }

    /// Runs `body` holding the lab lock.
    public func locked<T>(_ body: () throws(BerthError) -> T) throws(BerthError) -> T {
        let path = store.directory + "/" + Self.lockName
        // O_NOFOLLOW: a symlink planted in the state directory is refused, as the store refuses it.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw BerthError.system("open \(path)", .current).with(object: .state(path)) }
        defer { close(fd) }
        try acquire(fd, path: path)
        return try body()
    }

    /// Polls `flock` so that the wait has a deadline.
    private func acquire(_ fd: Int32, path: String) throws(BerthError) {
        let deadline = MonotonicClock.now + lockTimeout
        var pause = 1_000_000 // nanoseconds
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let error = Errno.current
            guard error.code == EWOULDBLOCK || error.code == EINTR else { throw BerthError.system("lock \(path)", error).with(object: .state(path)) }
            guard MonotonicClock.now < deadline else {
                throw BerthError(.conflict, "timed out after \(lockTimeout) waiting for another lab command to finish (lock \(path))",
                                 hint: "wait for it to finish or stop it", object: .state(path))
            }
            var delay = timespec(tv_sec: 0, tv_nsec: pause)
            nanosleep(&delay, nil)
            pause = min(pause * 2, 50_000_000)
        }
    }
}
