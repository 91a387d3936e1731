public import BerthCore

/// The controllers Berth puts a container in.
public enum CgroupController: String, Sendable, Hashable, CaseIterable, Comparable {
    /// The kernel's controller names (v1 mount options, v2 `cgroup.controllers` words).
    case cpu, cpuacct, cpuset, devices, memory, pids

    public static func < (a: CgroupController, b: CgroupController) -> Bool { a.rawValue < b.rawValue }
}

/// Where the host's cgroup controllers are, read from /proc/self/mountinfo.
///
/// - `.unified`: cgroup v2, one tree (usually /sys/fs/cgroup) whose `cgroup.controllers`
///   lists the controllers; used when memory, cpu and pids are there.
/// - `.legacy`: cgroup v1, a tree per controller (/sys/fs/cgroup/memory, …; several may share
///   one mount, as in `cpu,cpuacct`). The "hybrid" layout (v1 controllers plus a cgroup2
///   mount at /sys/fs/cgroup/unified with no controllers, as on Berth's own machines) is
///   legacy for Berth's purposes: the v2 tree there has nothing to limit with.
public enum CgroupHierarchy: Sendable, Hashable, CustomStringConvertible {
    /// cgroup v2 mounted at `path`, with the controllers its root's `cgroup.controllers` lists.
    case unified(path: String, controllers: Set<CgroupController>)
    /// Mount point of each v1 controller; `unified` is the controller-less v2 mount of a
    /// hybrid host, if any (informational).
    case legacy(mounts: [CgroupController: String], unified: String?)

    /// The cgroup version: 2 for unified, 1 for legacy (hybrid included).
    public var version: Int {
        if case .unified = self { return 2 }
        return 1
    }

    /// The controllers the host can limit with.
    public var controllers: Set<CgroupController> {
        switch self {
        case .unified(_, let controllers): controllers
        case .legacy(let mounts, _): Set(mounts.keys)
        }
    }

    public var description: String {
        switch self {
        case .unified(let path, let controllers):
            "cgroup v2 at \(path) (\(controllers.sorted().map(\.rawValue).joined(separator: ", ")))"
        case .legacy(let mounts, let unified):
            "cgroup v1 (\(mounts.keys.sorted().map { "\($0.rawValue) at \(mounts[$0] ?? "")" }.joined(separator: ", ")))"
                + (unified.map { "; hybrid, controller-less cgroup2 at \($0)" } ?? "")
        }
    }

    /// Reads the host's layout: /proc/self/mountinfo, and the v2 tree's `cgroup.controllers`.
    public static func detect(filesystem: any CgroupFilesystem = KernelCgroupFilesystem()) throws(BerthError) -> CgroupHierarchy {
        let mountinfo = try filesystem.read("/proc/self/mountinfo")
        return try detect(mountinfo: mountinfo) { path throws(BerthError) in try filesystem.read(path + "/cgroup.controllers") }
    }

    /// The layout a mountinfo text describes; `controllersOf` reads a v2 mount's
    /// `cgroup.controllers`.
    public static func detect(mountinfo: String,
                              controllersOf: (String) throws(BerthError) -> String) throws(BerthError) -> CgroupHierarchy {
        var v1: [CgroupController: String] = [:]
        var v2: [String] = []
        for line in mountinfo.split(separator: "\n") {
            guard let mount = MountInfoLine(line) else { continue }
            switch mount.fsType {
            case "cgroup2":
                v2.append(mount.mountPoint)
            case "cgroup":
                for option in mount.superOptions.split(separator: ",") {
                    // The first mount of a controller wins: later ones are binds of it.
                    if let controller = CgroupController(rawValue: String(option)), v1[controller] == nil {
                        v1[controller] = mount.mountPoint
                    }
                }
            default:
                continue
            }
        }
        for path in v2 {
            let listed = Set(try controllersOf(path).split(whereSeparator: { $0 == " " || $0 == "\n" })
                .compactMap { CgroupController(rawValue: String($0)) })
            // v2 names no cpuacct: cpu.stat gives usage there.
            if listed.isSuperset(of: [.memory, .cpu, .pids]) { return .unified(path: path, controllers: listed.union([.cpuacct])) }
        }
        if !v1.isEmpty { return .legacy(mounts: v1, unified: v2.first) }
        if let path = v2.first {
            return .unified(path: path, controllers: Set(try controllersOf(path).split(whereSeparator: { $0 == " " || $0 == "\n" })
                .compactMap { CgroupController(rawValue: String($0)) }))
        }
        throw BerthError(.unsupported, "this host mounts no cgroup filesystem",
                         hint: "mount cgroup2 on /sys/fs/cgroup (or the v1 controllers) to limit containers")
    }
}

/// The fields of one /proc/self/mountinfo line that matter here.
struct MountInfoLine {
    let mountPoint: String
    let fsType: String
    let superOptions: String

    /// `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTIONS`.
    init?(_ line: Substring) {
        let fields = line.split(separator: " ")
        guard fields.count >= 10, let dash = fields.firstIndex(of: "-"), dash >= 6, dash + 3 < fields.count else { return nil }
        mountPoint = Self.unescape(fields[4])
        fsType = String(fields[dash + 1])
        superOptions = String(fields[dash + 3])
    }

    /// mountinfo writes space, tab, newline and backslash in paths as \ooo octal.
    static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        let raw = Array(field.utf8)
        var index = 0
        while index < raw.count {
            if raw[index] == UInt8(ascii: "\\"), index + 3 < raw.count,
               let value = UInt8(String(decoding: raw[(index + 1)...(index + 3)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(raw[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
