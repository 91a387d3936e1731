public import BerthCore

/// A container's cgroup: its directory in each controller's tree (v1) or its one directory
/// (v2), named `<parent>/<id>`. A value: `CgroupManager` makes, reads and removes it.
public struct ContainerCgroup: Sendable, Hashable {
    /// The container's id, the last component of every directory.
    public let id: String
    /// 1 or 2.
    public let version: Int
    /// The container's directory in each controller's tree; on v2 all are the same.
    public let directories: [CgroupController: String]

    /// A cgroup of version `version` (1 or 2), with its directory in each controller's tree.
    public init(id: String, version: Int, directories: [CgroupController: String]) {
        self.id = id
        self.version = version
        self.directories = directories
    }

    /// Each distinct directory, sorted: v1 has one per mounted tree (`cpu,cpuacct` share one).
    public var paths: [String] { Array(Set(directories.values)).sorted() }

    /// The `cgroup.procs` file of each directory: a process that writes "0" to each is in the
    /// container's cgroup (what the container's process does before anything else).
    public var procsFiles: [String] { paths.map { $0 + "/cgroup.procs" } }

    /// The directory of `controller`, if the container is in that controller's tree.
    public func directory(_ controller: CgroupController) -> String? { directories[controller] }
}

extension BerthError.Object.Kind {
    /// A cgroup directory (its path names it).
    public static let cgroup = BerthError.Object.Kind(rawValue: "cgroup")
    /// A Linux capability, by the name given.
    public static let capability = BerthError.Object.Kind(rawValue: "capability")
}

extension BerthError.Object {
    /// The cgroup directory at `path`.
    public static func cgroup(_ path: String) -> BerthError.Object { BerthError.Object(.cgroup, path) }
}

extension BerthError.Operation {
    /// Creating a container's cgroup.
    public static let createCgroup = BerthError.Operation(rawValue: "create cgroup")
    /// Removing a container's cgroup.
    public static let removeCgroup = BerthError.Operation(rawValue: "remove cgroup")
}
