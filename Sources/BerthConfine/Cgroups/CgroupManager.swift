#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
import BerthNamespace

/// Makes, reads and removes containers' cgroups, all under one Berth parent (`berth`, as
/// Docker uses `docker`): `<controller mount>/berth/<id>` on v1, `<v2 root>/berth/<id>` on v2.
/// It creates only under that parent, removes only what is there, and never touches others'
/// cgroups.
///
/// ```swift
/// let cgroups = try CgroupManager()                          // detects v1/v2 once
/// let cgroup = try cgroups.create(id: id, limits: limits)    // before the process exists
/// // … the container's process joins it before its command runs (ContainerProcess.spawn)
/// let stats = try cgroups.stats(cgroup)
/// let oomKilled = try cgroups.oomKills(cgroup) > 0          // after it ended
/// try cgroups.remove(cgroup)                                 // kills leftovers, rmdirs
/// ```
public struct CgroupManager: Sendable {
    /// The host's cgroup layout, detected or as given.
    public let hierarchy: CgroupHierarchy
    /// The directory (relative to each tree's root) that holds the containers' cgroups.
    public let parent: String
    let filesystem: any CgroupFilesystem

    /// The parent directory used unless told otherwise: `berth` under each tree's root.
    public static let defaultParent = "berth"

    /// Detects the host's hierarchy.
    public init(parent: String = defaultParent, filesystem: any CgroupFilesystem = KernelCgroupFilesystem()) throws(BerthError) {
        try self.init(hierarchy: CgroupHierarchy.detect(filesystem: filesystem), parent: parent, filesystem: filesystem)
    }

    /// A manager for a known hierarchy; throws unless `parent` is a relative path of plain names.
    public init(hierarchy: CgroupHierarchy, parent: String = defaultParent,
                filesystem: any CgroupFilesystem = KernelCgroupFilesystem()) throws(BerthError) {
        let components = parent.split(separator: "/", omittingEmptySubsequences: false)
        guard !components.isEmpty, components.allSatisfy({ Self.isName($0) }) else {
            throw .invalid("invalid cgroup parent \"\(parent)\"", hint: "give a relative path of plain names, such as berth", parameter: "parent")
        }
        self.hierarchy = hierarchy
        self.parent = parent
        self.filesystem = filesystem
    }

    /// A manager for the same hierarchy and filesystem under another parent (a caller that
    /// must also look where an older Berth put its containers' cgroups).
    public func withParent(_ parent: String) throws(BerthError) -> CgroupManager {
        try CgroupManager(hierarchy: hierarchy, parent: parent, filesystem: filesystem)
    }

    /// The controllers a container with `limits` joins: memory, cpu, cpuacct and pids
    /// whenever the host has them (for stats, OOM detection and later limits), cpuset only
    /// when limited (a v1 cpuset must be filled in before anything can join it), devices
    /// when its device nodes are restricted.
    func controllers(for limits: ResourceLimits, restrictDevices: Bool) -> [CgroupController] {
        var wanted: Set<CgroupController> = [.memory, .cpu, .cpuacct, .pids]
        if limits.cpusetCPUs != nil || limits.cpusetMems != nil { wanted.insert(.cpuset) }
        if restrictDevices { wanted.insert(.devices) }
        return wanted.intersection(hierarchy.controllers).sorted()
    }

    /// The cgroup of container `id`, whether or not it exists: where it is or would be, in
    /// `controllers` (by default every tree the host has).
    public func cgroup(id: String, controllers: [CgroupController]? = nil) -> ContainerCgroup {
        let chosen = controllers ?? CgroupController.allCases
        var directories: [CgroupController: String] = [:]
        for controller in chosen {
            guard let root = root(of: controller) else { continue }
            directories[controller] = root + "/" + parent + "/" + id
        }
        return ContainerCgroup(id: id, version: hierarchy.version, directories: directories)
    }

    /// The root of the tree holding `controller`.
    func root(of controller: CgroupController) -> String? {
        switch hierarchy {
        case .unified(let path, let controllers): controllers.contains(controller) ? path : nil
        case .legacy(let mounts, _): mounts[controller]
        }
    }

    /// The Berth parent in every tree the host has, for listing.
    var parentDirectories: [String] {
        switch hierarchy {
        case .unified(let path, _): [path + "/" + parent]
        case .legacy(let mounts, _): Array(Set(mounts.values)).sorted().map { $0 + "/" + parent }
        }
    }

    /// Makes container `id`'s cgroup with `limits` written, after checking them against the
    /// host: a limit whose controller the host lacks, a cpuset outside its CPUs or more CPUs
    /// than it has are refused, and nothing is made. A failure part-way removes what it made.
    ///
    /// `restrictDevices` (false for a privileged container) applies Docker's device allow-list
    /// (see `DeviceRule.docker`): in the devices controller's files on v1, as a
    /// `DeviceProgram` attached to the cgroup on v2.
    public func create(id: String, limits: ResourceLimits, restrictDevices: Bool = true) throws(BerthError) -> ContainerCgroup {
        try limits.validate()
        guard Self.isName(Substring(id)) else {
            throw .invalid("invalid container id \"\(id)\" for a cgroup", hint: "use letters, digits, '_', '.' and '-'", parameter: "id")
        }
        try checkHost(limits)
        if restrictDevices, case .legacy = hierarchy, !hierarchy.controllers.contains(.devices) {
            // As dockerd ("Devices cgroup isn't mounted"): without the allow-list, root in the
            // container keeps CAP_MKNOD and could make and open a node of the host's disks.
            throw BerthError(.unsupported, "this host's cgroups have no devices controller (\(hierarchy)), so the container's device nodes cannot be restricted",
                             hint: "mount the devices controller, or run the container privileged", object: .cgroup(parent), operation: .createCgroup)
        }
        let cgroup = self.cgroup(id: id, controllers: controllers(for: limits, restrictDevices: restrictDevices))
        var made: [String] = []
        // Parents this call made, removed again (if empty) when it fails.
        var madeParents: [String] = []
        do throws(BerthError) {
            for path in cgroup.paths {
                let parentPath = String(path.dropLast(id.count + 1))
                let prepareParent = { () throws(BerthError) in
                    try makeParent(parentPath, cpuset: cgroup.directories[.cpuset] == path, made: &madeParents)
                    if case .unified(let root, _) = hierarchy {
                        try enableControllers(cgroup.directories.keys.sorted(), root: root, parentPath: parentPath)
                    }
                }
                try prepareParent()
                do throws(BerthError) {
                    do throws(BerthError) {
                        try filesystem.makeDirectory(path)
                    } catch where errnoCode(error) == ENOENT {
                        // A gc of the same state removed the empty parent (`removeParentIfUnused`)
                        // between `makeParent` and this mkdir: make it again, once.
                        try prepareParent()
                        try filesystem.makeDirectory(path)
                    }
                } catch where errnoCode(error) == EEXIST {
                    // Left by a crash: garbage collection (`removeOrphans`) removes it.
                    throw BerthError(.alreadyExists, "cgroup \(path) of container \(id) already exists", object: .cgroup(path),
                                     operation: .createCgroup, remedy: .collectGarbage, cause: error)
                }
                made.append(path)
            }
            try write(limits, into: cgroup)
            // v2 has no devices files: the same allow-list is a program on the cgroup.
            if restrictDevices, case .unified = hierarchy, let path = cgroup.paths.first {
                try filesystem.attachDeviceProgram(DeviceProgram(rules: DeviceRule.docker), to: path)
            }
        } catch {
            for path in made.reversed() { try? filesystem.removeDirectory(path) }
            // One that holds another container's cgroup by now refuses (EBUSY) and stays.
            for path in madeParents.reversed() { try? filesystem.removeDirectory(path) }
            throw error
        }
        return cgroup
    }

    /// The Berth parent: made on first use and kept while it holds containers' cgroups
    /// (the default `berth` parent is always kept, as Docker keeps `docker`). Adds the
    /// directories it made to `made`, outermost first (even when it then fails).
    private func makeParent(_ path: String, cpuset: Bool, made: inout [String]) throws(BerthError) {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            guard !filesystem.exists(current) else { continue }
            do throws(BerthError) {
                try filesystem.makeDirectory(current)
                made.append(current)
            } catch where errnoCode(error) == EEXIST {}
        }
        // A v1 cpuset starts with no CPUs and no memory nodes, and no process (nor child
        // cpuset) can use it until it has both: give the parent its own parent's.
        if cpuset, hierarchy.version == 1 {
            let above = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
            for file in ["cpuset.cpus", "cpuset.mems"] where try Self.trimmed(filesystem.read(path + "/" + file)).isEmpty {
                try filesystem.write(path + "/" + file, Self.trimmed(try filesystem.read(above + "/" + file)))
            }
        }
    }

    static func isName(_ text: Substring) -> Bool {
        guard !text.isEmpty, text != ".", text != "..", text.utf8.count <= 255 else { return false }
        return text.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
        }
    }

    static func trimmed(_ text: String) -> String {
        String(text.drop { $0 == " " || $0 == "\n" }.reversed().drop { $0 == " " || $0 == "\n" }.reversed())
    }
}

/// The errno a filesystem error wraps, if any.
func errnoCode(_ error: BerthError) -> Int32? { (error.cause as? Errno)?.code }
