import Foundation

/// The host's cgroup controllers as the files under /sys/fs/cgroup show them: a probe of
/// the tests' own, independent of `CgroupHierarchy.detect()` (which reads mountinfo), so
/// that a gate never depends on the code it tests.
public enum CgroupProbe {
    /// The controller names Berth knows (`CgroupController`'s raw values).
    static let known = ["cpu", "cpuacct", "cpuset", "devices", "memory", "pids"]

    /// 2 when /sys/fs/cgroup is a v2 tree with memory, cpu and pids; 1 when any v1
    /// controller has its tree there; nil without either.
    public static var version: Int? {
        if unifiedControllers.isSuperset(of: ["memory", "cpu", "pids"]) { return 2 }
        return legacyControllers.isEmpty ? nil : 1
    }

    /// The controllers Berth can limit with, by name: v2's `cgroup.controllers` (plus cpuacct,
    /// which v2 folds into cpu), or each v1 controller whose tree holds a `cgroup.procs`.
    public static var controllers: Set<String> {
        switch version {
        case 2: unifiedControllers.union(["cpuacct"])
        case 1: legacyControllers
        default: []
        }
    }

    /// Memory, cpu and pids are there: the limit tests can run.
    public static var usable: Bool { controllers.isSuperset(of: ["memory", "cpu", "pids"]) }

    private static var unifiedControllers: Set<String> {
        guard let text = try? String(contentsOfFile: "/sys/fs/cgroup/cgroup.controllers", encoding: .utf8) else { return [] }
        return Set(text.split(whereSeparator: \.isWhitespace).map(String.init)).intersection(known)
    }

    private static var legacyControllers: Set<String> {
        Set(known.filter { FileManager.default.fileExists(atPath: "/sys/fs/cgroup/\($0)/cgroup.procs") })
    }
}
