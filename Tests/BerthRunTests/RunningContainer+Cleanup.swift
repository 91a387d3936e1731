import BerthNetwork
import BerthRun

extension RunningContainer {
    /// Stops the container at once (SIGKILL) and removes it, ignoring what is already done:
    /// for a test's `defer` right after `Container.run`, so that a `try` or `#require` that
    /// throws part-way leaves no container behind. The sandbox's teardown cannot stop one
    /// this test process supervises: `berth rm -f` waits for a supervisor (this process)
    /// that never records the exit.
    func forceRemove(manager: NetworkManager) {
        _ = try? stop(timeout: .zero)
        _ = try? Container.remove(record.id, force: true, manager: manager)
    }
}
