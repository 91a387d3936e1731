public import SystemPackage

extension FileDescriptor {
    /// Reads until end of file, or until `limit` bytes are in (kernel files such as those
    /// under /proc and /sys report no size, so they are read to EOF). Reads interrupted by a
    /// signal are retried.
    public func readToEnd(limit: Int = 1 << 20) throws(Errno) -> [UInt8] {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while data.count < limit {
            let count = try withErrno { try buffer.withUnsafeMutableBytes { try read(into: $0) } }
            if count == 0 { break }
            data += buffer[..<count]
        }
        return data.count > limit ? Array(data.prefix(limit)) : data
    }

    /// Opens `path` close-on-exec (never inherited by a program Berth starts), with the
    /// error typed.
    static func open(closeOnExec path: String, _ mode: AccessMode, options: OpenOptions = [],
                     permissions: FilePermissions? = nil) throws(Errno) -> FileDescriptor {
        try withErrno { try FileDescriptor.open(path, mode, options: options.union(.closeOnExec), permissions: permissions) }
    }
}
