#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CBerthShim
import BerthCore

/// Runs work on a dedicated, short-lived OS thread that enters a network namespace first.
///
/// `setns(2)` moves only the calling thread. A thread borrowed from Swift concurrency or
/// Dispatch would carry the namespace into unrelated work afterwards, so Berth never calls
/// `setns` on one: the thread made here switches, does its work (usually: open a socket,
/// which keeps the namespace it was created in), and exits.
enum NamespaceThread {
    /// Type-erased work for the C thread entry point, which cannot be generic.
    private class Task: @unchecked Sendable {
        func run() {}
    }

    /// What the thread's work ended with. Not `Result`: its `Failure: Error` requirement
    /// makes the runtime look up BerthError's conformance the first time, a scan of every
    /// conformance in the binary (about 0.1M instructions of a CLI attach).
    private enum Outcome<T> {
        case success(T)
        case failure(BerthError)
    }

    private final class TypedTask<T>: Task, @unchecked Sendable {
        let body: () throws(BerthError) -> T
        var result: Outcome<T>?

        init(_ body: @escaping () throws(BerthError) -> T) { self.body = body }

        override func run() {
            do { result = .success(try body()) } catch { result = .failure(error) }
        }
    }

    /// Calls `body` on a new thread, joined before returning, and hands back its result.
    static func run<T>(_ body: () throws(BerthError) -> T) throws(BerthError) -> T {
        // The caller blocks in pthread_join until the thread ends, so `body` never outlives
        // this call and nothing else touches `task` concurrently.
        let outcome: Outcome<T> = withoutActuallyEscaping(body) { escapable in
            let task = TypedTask<T>(escapable)
            var thread = pthread_t()
            let context = Unmanaged.passRetained(task as Task).toOpaque()
            // The thread starts on this CPU, which this thread leaves at once for the join
            // (CBerthShim's BerthCPUPin.h): no other CPU is woken or queued on.
            var pin = berth_cpu_pin()
            berth_cpu_pin_begin(&pin)
            defer { berth_cpu_pin_end(&pin) }
            let rc = pthread_create(&thread, nil, { raw in
                guard let raw else { return nil }
                let task = Unmanaged<Task>.fromOpaque(raw).takeRetainedValue()
                task.run()
                return nil
            }, context)
            if rc != 0 {
                Unmanaged<Task>.fromOpaque(context).release()
                return .failure(.system("start a thread to enter a network namespace", Errno(rc)))
            }
            pthread_join(thread, nil)
            return task.result ?? .failure(BerthError(.internalError, "namespace thread ended without a result"))
        }
        switch outcome {
        case .success(let value): return value
        case .failure(let error): throw error
        }
    }

    /// Calls `body` on a new thread that has first entered the namespace open at `fd`
    /// (`name` is how errors call it).
    static func run<T>(inNamespace fd: Int32, named name: String, _ body: () throws(BerthError) -> T) throws(BerthError) -> T {
        try run { () throws(BerthError) -> T in
            guard berth_setns(fd, BERTH_CLONE_NEWNET) == 0 else {
                throw .system("enter network namespace \(name)", .current, object: .namespace(name))
            }
            return try body()
        }
    }
}
