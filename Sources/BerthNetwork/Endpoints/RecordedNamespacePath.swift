package import BerthCore

/// Which namespace paths an endpoint or a publication may record. The recorded path is how
/// `gc`, `check` and the OCI hook find the namespace again, from another process and much
/// later (`HostHandle.namespaceStatus`): a path that names the namespace only for the
/// process that opened it, or only while one of its descriptors or threads lives, would
/// make a running container's namespace look gone, and `gc` would take its endpoint (its
/// veth, address and ports) or its publication away.
///
/// Refused: `/proc/self/…` and `/proc/thread-self/…` (whoever opens them sees their own),
/// `/proc/PID/fd/N` (what `NetworkNamespace.createAnonymous()` gives: valid while that
/// descriptor is open), `/proc/PID/task/TID/…` of a thread other than the process's main
/// one (a thread's namespace, which its exit or a `setns` takes away), and any other path
/// inside a process's `/proc` directory than its `ns/net` (`/proc/PID/root/…`), and a
/// relative path (another process resolves it against its own directory). Accepted:
/// every other path, among them `/run/netns/NAME` and `/proc/PID/ns/net` (which names the
/// namespace as long as the container's process lives; `gc` finds a path whose process
/// ended, or whose pid now belongs to a process in another namespace, gone — the namespace
/// identity is recorded beside the path).
package enum RecordedNamespacePath {
    /// Throws when `path`, the path the caller's namespace reference opened (the one that
    /// would be recorded), cannot be recorded (see above); the error's object is the
    /// reference as the caller gave it (`reference`).
    package static func requireLasting(_ path: String, reference: String) throws(BerthError) {
        guard let reason = perProcessReason(path) else { return }
        throw BerthError(.invalidArgument, "namespace path \(path) \(reason), so it cannot be recorded as a container's namespace: "
                         + "garbage collection would find the namespace gone while the container still runs",
                         hint: "give the namespace a name under /run/netns, an absolute path, or /proc/PID/ns/net of the container's process",
                         object: .namespace(reference), parameter: "namespace", remedy: .chooseAnother(parameter: "namespace"))
    }

    /// Why `path` names its namespace only for a while or for one process, in words, or nil
    /// when it may be recorded.
    package static func perProcessReason(_ path: String) -> String? {
        guard path.hasPrefix("/") else {
            return "is relative, which gc, check and the OCI hook would resolve against their own working directories"
        }
        // Lexically, as the kernel walks it: `/proc/./self` and `/run/../proc/self` are
        // `/proc/self`. (A symlink elsewhere that leads into /proc is not followed.)
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        guard parts.count >= 2, parts[0] == "proc" else { return nil }
        let owner = parts[1]
        if owner == "self" || owner == "thread-self" {
            return "is a path of whichever process opens it (/proc/\(owner))"
        }
        guard owner.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        var rest = parts.dropFirst(2)
        if rest.first == "task", rest.count >= 2 {
            let thread = rest[rest.startIndex + 1]
            if thread != owner {
                return "is the namespace of thread \(thread) of process \(owner), which names it only while that thread lives and stays in it"
            }
            rest = rest.dropFirst(2)
        }
        if rest.elementsEqual(["ns", "net"]) { return nil }
        if rest.first == "fd" {
            return "is a file descriptor of process \(owner), which names the namespace only while that process keeps it open"
        }
        return "is a path inside process \(owner)'s /proc directory, which names the namespace only while that process lives"
    }
}
