internal import CBerthShim
public import BerthCore

extension NetworkNamespace {
    /// Opens a socket inside this namespace, from a dedicated short-lived thread.
    ///
    /// The socket keeps this namespace for its whole life, so the returned descriptor may
    /// be used from any thread. The caller owns it and must close it.
    public func openSocket(domain: Int32, type: Int32, protocol proto: Int32) throws(BerthError) -> Int32 {
        try openSocket(domain: domain, type: type, protocol: proto, afterWriting: [])
    }

    /// Writes `sysctls` in order, then opens a socket, all from one dedicated short-lived
    /// thread inside this namespace (`/proc/sys/net` shows the opening thread's namespace).
    /// The writes are blind — no read first — as they are made for links just created,
    /// whose values are the defaults.
    ///
    /// The thread is a bare one (`berth_socket_in_namespace` in CBerthShim): it shares the
    /// caller's memory and descriptors, runs no Swift and makes raw system calls only, which
    /// costs a fraction of a pthread (no 8 MiB stack, no malloc arena, no join).
    public func openSocket(domain: Int32, type: Int32, protocol proto: Int32, afterWriting sysctls: [SysctlWrite]) throws(BerthError) -> Int32 {
        var paths: [String] = []
        paths.reserveCapacity(sysctls.count)
        for write in sysctls { paths.append(try Self.sysctlPath(write.key)) }

        // The C strings, each NUL-terminated, in one buffer: each path, then its value and a
        // newline. The buffer and the list of writes are scoped allocations, not arrays: each
        // array of a new element type costs a metadata build at its first use (perf8).
        var size = 0
        for index in sysctls.indices { size += paths[index].utf8.count + sysctls[index].value.utf8.count + 3 }
        var outcome = berth_namespace_outcome()
        let fd: Int32 = withUnsafeTemporaryAllocation(of: CChar.self, capacity: max(size, 1)) { strings in
            withUnsafeTemporaryAllocation(of: berth_sysctl_write.self, capacity: max(sysctls.count, 1)) { writes in
                var offset = 0
                func append(_ text: String, newline: Bool) -> UnsafePointer<CChar> {
                    let start = offset
                    for byte in text.utf8 {
                        strings[offset] = CChar(bitPattern: byte)
                        offset += 1
                    }
                    if newline {
                        strings[offset] = CChar(bitPattern: UInt8(ascii: "\n"))
                        offset += 1
                    }
                    strings[offset] = 0
                    offset += 1
                    return UnsafePointer(strings.baseAddress.unsafelyUnwrapped + start)
                }
                for index in sysctls.indices {
                    // The value's length counts its newline, not the NUL after it.
                    let path = append(paths[index], newline: false)
                    let value = append(sysctls[index].value, newline: true)
                    (writes.baseAddress.unsafelyUnwrapped + index).initialize(to: berth_sysctl_write(
                        path: path, value: value, value_length: sysctls[index].value.utf8.count + 1,
                        skip_if_missing: sysctls[index].skipIfMissing ? 1 : 0))
                }
                return berth_socket_in_namespace(descriptor, domain, type, proto, sysctls.isEmpty ? nil : UnsafePointer(writes.baseAddress),
                                                 Int32(sysctls.count), &outcome)
            }
        }
        guard fd < 0 else { return fd }
        throw failure(outcome, paths: paths, sysctls: sysctls)
    }

    /// Today's error for the step the thread stopped at, worded as the pthread version did.
    private func failure(_ outcome: berth_namespace_outcome, paths: [String], sysctls: [SysctlWrite]) -> BerthError {
        let error = Errno(outcome.error)
        let index = Int(outcome.sysctl)
        switch Int(outcome.step) {
        case BERTH_NAMESPACE_STEP_START:
            return .system("start a thread to enter a network namespace", error)
        case BERTH_NAMESPACE_STEP_ENTER:
            return .system("enter network namespace \(description)", error, object: .namespace(description))
        case BERTH_NAMESPACE_STEP_OPEN_SYSCTL where paths.indices.contains(index):
            return .system("open \(paths[index])", error)
        case BERTH_NAMESPACE_STEP_WRITE_SYSCTL where paths.indices.contains(index):
            return .system("write \(sysctls[index].value) to \(paths[index])", error)
        case BERTH_NAMESPACE_STEP_SOCKET:
            return .system("open a socket in network namespace \(self)", error, privilege: "CAP_NET_ADMIN", object: .namespace(description))
        default:
            return BerthError(.internalError, "namespace thread ended at unknown step \(outcome.step)")
        }
    }
}
