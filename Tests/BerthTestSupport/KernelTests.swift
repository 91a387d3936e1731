import Foundation
import Testing

/// Gate for tests that touch the kernel: they need root. Outside CI a non-root run skips
/// them; with CI=true they run regardless, so a missing privilege fails instead of hiding.
public enum KernelTests {
    public static var enabled: Bool {
        getuid() == 0 || ProcessInfo.processInfo.environment["CI"] == "true"
    }

    /// A short unique suffix for names of kernel objects made by one test.
    public static func uniqueSuffix() -> String {
        let n = counter.add()
        return "\(getpid() % 100_000)x\(n)"
    }

    private static let counter = Counter()
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add() -> Int {
        lock.lock(); defer { lock.unlock() }
        value += 1
        return value
    }
}
