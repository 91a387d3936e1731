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
package enum NamespaceThread {
    /// Type-erased work for the C thread entry point, which cannot be generic.
    private class Task: @unchecked Sendable {
        /// The caller's CPU mask, pinned to its CPU while it starts this thread: the thread
        /// puts it back on itself first, so that nothing it starts (a lab node's supervisor
        /// and container) inherits one CPU.
        var pin = berth_cpu_pin()
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

    /// Declares that this process runs one command and exits: from then on each thread
    /// starts on its caller's CPU (`berth_cpu_pin_enable`). A long-lived process must not.
    package static func startOnCallersCPU() {
        berth_cpu_pin_enable()
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
            berth_cpu_pin_begin(&task.pin)
            defer { berth_cpu_pin_end(&task.pin) }
            let rc = pthread_create(&thread, nil, { raw in
                guard let raw else { return nil }
                let task = Unmanaged<Task>.fromOpaque(raw).takeRetainedValue()
                berth_cpu_pin_end(&task.pin)
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
