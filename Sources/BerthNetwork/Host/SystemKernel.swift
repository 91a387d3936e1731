#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
internal import CBerthShim
import SystemPackage
public import BerthNamespace
public import BerthNetlink
public import BerthNFTables

/// The machine's kernel: real netlink sockets (opened inside a namespace from a namespace
/// thread), `KernelBackend` for nftables, namespace files and `/proc`.
public final class SystemKernel: KernelAccess, Sendable {
    /// The machine's kernel. Holds nothing: sockets are opened per call.
    public init() {}

    /// Opens the namespace file `reference` names (`NetworkNamespace.open`); `.notFound` when there is none.
    public func openNamespace(_ reference: NamespaceReference) throws(BerthError) -> NetworkNamespace {
        try NetworkNamespace.open(reference)
    }

    /// `flock` on `namespace`'s nsfs file, reopened (`SubnetChoiceLock`).
    public func lockSubnetChoice(in namespace: NetworkNamespace, wait: LockWait) throws(BerthError) -> SubnetChoiceLock {
        try SubnetChoiceLock.acquire(namespace, wait: wait)
    }

    /// A new netlink socket on `bus`, opened inside `namespace` from a namespace thread (the caller's own namespace if nil).
    public func transport(_ bus: NetlinkSocket.Bus, in namespace: NetworkNamespace?) throws(BerthError) -> any NetlinkTransport {
        try NetlinkSocket(bus, in: namespace)
    }

    /// A new netlink socket on `bus` inside `namespace`, opened on the same namespace thread
    /// visit that first writes `sysctls` there.
    public func transport(_ bus: NetlinkSocket.Bus, in namespace: NetworkNamespace, writing sysctls: [SysctlWrite]) throws(BerthError) -> any NetlinkTransport {
        try NetlinkSocket(bus, in: namespace, writing: sysctls)
    }

    /// A `KernelBackend` on a new nfnetlink socket inside `namespace`, destroying natively
    /// until the kernel refuses it.
    public func nftables(in namespace: NetworkNamespace?) throws(BerthError) -> any NFTablesBackend {
        try KernelBackend(namespace: namespace)
    }

    /// The value of `key` (`net/ipv4/ip_forward`) without its trailing newlines; `.notFound`
    /// when the file does not exist. The caller's own namespace is read from /proc/sys on
    /// this thread, and there any failure to read (no permission too) is `.notFound`.
    public func sysctl(_ key: String, in namespace: NetworkNamespace?) throws(BerthError) -> String {
        if let namespace { return try namespace.sysctl(key) }
        // The caller's own namespace: /proc/sys/net shows the reading thread's namespace,
        // so no namespace thread is needed.
        let path = try NetworkNamespace.sysctlPath(key)
        guard var text = ProcFile.read(path) else {
            throw BerthError(.notFound, "sysctl \(path) does not exist")
        }
        while text.last == "\n" { text.removeLast() }
        return text
    }

    /// Writes `value` to `key` unless it holds it already; returns whether it wrote. The
    /// caller's own namespace is written from this thread.
    public func setSysctl(_ key: String, to value: String, in namespace: NetworkNamespace?) throws(BerthError) -> Bool {
        if let namespace { return try namespace.setSysctl(key, to: value) }
        // The caller's own namespace, written from this thread as `sysctl` reads it: no
        // descriptor opened and stat'ed only for the namespace's own-thread check.
        return try NetworkNamespace.setCallerSysctl(key, to: value)
    }

    /// "process NAME (pid N)" holding socket `inode`, found by reading every /proc/PID/fd
    /// link: slow on a busy host, for error messages only.
    public func socketOwner(inode: UInt32) -> String? {
        ProcFile.owner(ofSocket: inode)
    }

    /// Read once per process: one open, read and close of a 37-byte file.
    public func bootID() -> String? { Self.boot }

    private static let boot: String? = ProcFile.read("/proc/sys/kernel/random/boot_id").flatMap { text in
        let line = text.prefix { $0 != "\n" }
        return line.isEmpty ? nil : String(line)
    }

    /// Declares that this process exits right after its detaches, as a CLI does: from then on
    /// a deletion handed off (`deleteLinkInBackground`) is sent by a child of this process
    /// that it does not wait for, and that its exit hands to init (no wait for a busy CPU
    /// to run that child; docs/performance.md). A process that lives on — a runtime using
    /// the library, the supervisor — must not call it: it would keep a zombie per deletion.
    package static func processExitsAfterDetach() {
        berth_reap_caller_exits()
    }

    /// Declares that this process runs one per-container command and exits (`berth attach`
    /// and `detach`, `berth-cni`, `berth-oci-hook`): its namespace threads start on its
    /// thread's CPU (`NamespaceThread.startOnCallersCPU`; docs/performance.md, "The namespace
    /// thread's CPU"). A process that lives on — a runtime using the library — must not.
    package static func processRunsOneCommand() {
        NamespaceThread.startOnCallersCPU()
    }

    /// Right before a per-container command's process exits (`berth attach`/`detach`,
    /// `berth-cni`, `berth-oci-hook`): a child sharing its memory keeps that memory alive
    /// past the exit and tears it down afterwards (`berth_linger_memory_past_exit`), so the
    /// runtime waiting for the exit does not wait for the unmapping of a 23 MB binary's pages
    /// (docs/performance.md, "The exit's teardown"). Nothing if it cannot be started.
    /// Call it with everything written: stdin, stdout and stderr are /dev/null afterwards.
    package static func lingerPastExit() {
        Trace.mark("exit's teardown handed to a child")
        _ = berth_linger_memory_past_exit()
    }

    /// A detached grandchild sends the RTM_DELLINK (`berth_delete_link_detached`); when it
    /// cannot be started, the link is deleted here and the caller waits after all.
    public func deleteLinkInBackground(named name: InterfaceName, in namespace: NetworkNamespace?) throws(BerthError) {
        if berth_delete_link_detached(namespace?.descriptor ?? -1, name.rawValue) == 0 { return }
        let netlink = RouteNetlink(transport: try transport(.route, in: namespace), namespace: namespace)
        do {
            try netlink.deleteLink(.name(name))
        } catch where error.code == .notFound {}
    }
}

/// Small reads under /proc, without Foundation.
enum ProcFile {
    /// The whole file, or nil when it cannot be opened.
    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let data = try? FileDescriptor(rawValue: fd).readToEnd() else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// "process NAME (pid N)" holding the socket `inode`, found by scanning /proc/*/fd.
    static func owner(ofSocket inode: UInt32) -> String? {
        guard let proc = opendir("/proc") else { return nil }
        defer { closedir(proc) }
        let target = "socket:[\(inode)]"
        while let entry = readdir(proc) {
            let pid = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard Int32(pid) != nil, let fds = opendir("/proc/\(pid)/fd") else { continue }
            defer { closedir(fds) }
            while let fd = readdir(fds) {
                let name = withUnsafeBytes(of: fd.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                var buffer = [CChar](repeating: 0, count: 64)
                let count = readlink("/proc/\(pid)/fd/\(name)", &buffer, buffer.count - 1)
                guard count > 0 else { continue }
                let link = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if link == target {
                    var comm = read("/proc/\(pid)/comm") ?? "?"
                    while comm.last == "\n" { comm.removeLast() }
                    return "process \(comm) (pid \(pid))"
                }
            }
        }
        return nil
    }
}
