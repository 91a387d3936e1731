import Foundation
import Testing

/// Gate for tests that touch the kernel: they need root, and they must run inside
/// `berth_fenced` (scripts/lib.sh), never against the machine's own network namespace,
/// /run/netns and /var/lib/berth (a plain `sudo swift test` would).
///
/// Root inside the fence: they run. Otherwise they are skipped, except with CI=true: there
/// the gate throws, so each kernel test fails (unrun) instead of hiding.
public enum KernelTests {
    /// Use as `.enabled(if: try KernelTests.enabled)`.
    public static var enabled: Bool {
        get throws {
            if let reason = refusal {
                if ProcessInfo.processInfo.environment["CI"] == "true" { throw KernelTestsRefused(reason: reason) }
                return false
            }
            return true
        }
    }

    /// Whether kernel tests may run here (root, inside the fence), without CI's failure: for
    /// probes that should not touch the kernel otherwise.
    public static var allowed: Bool { refusal == nil }

    /// Why kernel tests may not run in this process, or nil when they may.
    public static let refusal: String? = {
        if getuid() != 0 { return "not root" }
        return Fence.refusal()
    }()

    /// A short unique suffix for names of kernel objects made by one test.
    public static func uniqueSuffix() -> String {
        let n = counter.add()
        return "\(getpid() % 100_000)x\(n)"
    }

    private static let counter = Counter()
}

/// A program or library a suite needs that scripts/test installs (tmux, Go and libcni's
/// sources, the reference CNI plugins): missing, the suite is skipped, except with CI=true,
/// where it fails instead (scripts/test installed it, so missing is a broken setup).
public enum Prerequisite {
    /// Use as `.enabled(if: try Prerequisite.installed(Tool.available, "tmux"))`.
    public static func installed(_ present: Bool, _ what: String) throws -> Bool {
        if !present, ProcessInfo.processInfo.environment["CI"] == "true" { throw PrerequisiteMissing(what: what) }
        return present
    }
}

public struct PrerequisiteMissing: Error, CustomStringConvertible {
    public let what: String
    public var description: String { "\(what) is missing (CI=true): scripts/test installs it" }
}

public struct KernelTestsRefused: Error, CustomStringConvertible {
    public let reason: String
    public var description: String {
        "kernel tests refused to run (CI=true): \(reason); run them through scripts/test or berth_fenced (scripts/lib.sh)"
    }
}

/// The checks that this process really is inside `berth_fenced`, not only told so.
enum Fence {
    /// The mount points the fence mounts a private tmpfs named "berth-fence" on.
    static let privateMounts = ["/run/netns", "/var/lib/berth"]

    static func refusal() -> String? {
        guard ProcessInfo.processInfo.environment["BERTH_FENCED"] == "1" else {
            return "not inside berth_fenced (BERTH_FENCED is not 1)"
        }
        // The private mounts: the last mount on each point (the one seen) is the fence's tmpfs.
        guard let mountinfo = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else {
            return "cannot read /proc/self/mountinfo"
        }
        for point in privateMounts {
            guard let source = topMountSource(mountinfo, at: point), source == ("tmpfs", "berth-fence") else {
                return "\(point) is not the fence's private tmpfs (BERTH_FENCED=1 without the fence?)"
            }
        }
        // The network namespace: the nearest ancestor outside the fence's mount namespace
        // (the shell that ran berth_fenced) has another network namespace than this process.
        guard let ownMount = namespace("self", "mnt"), let ownNet = namespace("self", "net") else {
            return "cannot read /proc/self/ns"
        }
        var pid = parent(of: "self")
        while let current = pid, current > 0 {
            guard let mount = namespace(String(current), "mnt") else {
                return "cannot read the mount namespace of ancestor \(current)"
            }
            if mount != ownMount {
                guard let net = namespace(String(current), "net") else {
                    return "cannot read the network namespace of ancestor \(current)"
                }
                return net == ownNet ? "the network namespace is the one outside the fence (process \(current)'s)" : nil
            }
            pid = parent(of: String(current))
        }
        return "no ancestor outside this mount namespace: not fenced"
    }

    /// (fstype, source) of the last mount on `point` in a mountinfo text.
    static func topMountSource(_ mountinfo: String, at point: String) -> (String, String)? {
        var found: (String, String)?
        for line in mountinfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[4] == point, let dash = fields.firstIndex(of: "-"), dash + 2 < fields.count else { continue }
            found = (String(fields[dash + 1]), String(fields[dash + 2]))
        }
        return found
    }

    static func namespace(_ pid: String, _ kind: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\(kind)")
    }

    static func parent(of pid: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("PPid:") {
            return Int(line.dropFirst(5).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
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
