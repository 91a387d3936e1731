/// What makes two handles the same namespace: the device and inode of its nsfs file,
/// as `stat` reports them (and as `ip netns identify` compares them).
public struct NamespaceIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The device number of the nsfs file (`st_dev`).
    public let device: UInt64
    /// The inode number of the nsfs file (`st_ino`), unique per namespace on that device.
    public let inode: UInt64

    /// The identity with the given `stat` device and inode numbers.
    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    /// `net:[INODE]`, the form `readlink /proc/PID/ns/net` prints.
    public var description: String { "net:[\(inode)]" }
}
